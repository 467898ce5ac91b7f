/*
 * fs.h -- the file system of the flashvm guest kernel: inodes, open
 * files, fd tables, device minors, the file-system lock.
 *
 * An inode belongs to ramfs (ramfs.c: an in-memory tree, populated at boot
 * from the initrd blob the host places in RAM) or to flashfs on disk 0
 * (fsglue.c); vfs.c picks the file system of each operation.
 */
#ifndef OS_FS_H
#define OS_FS_H
#include "kernel.h"

#define S_IFMT   0170000
#define S_IFDIR  0040000
#define S_IFCHR  0020000
#define S_IFREG  0100000
#define S_IFIFO  0010000
#define S_IFBLK  0060000
#define S_ISBLK(m) (((m) & S_IFMT) == S_IFBLK)
#define S_IFLNK  0120000
#define S_ISDIR(m) (((m) & S_IFMT) == S_IFDIR)
#define S_ISREG(m) (((m) & S_IFMT) == S_IFREG)
#define S_ISCHR(m) (((m) & S_IFMT) == S_IFCHR)
#define S_ISLNK(m) (((m) & S_IFMT) == S_IFLNK)

#define O_ACCMODE   3
#define O_RDONLY    0
#define O_WRONLY    1
#define O_RDWR      2
#define O_APPEND    0x0008
#define O_NONBLOCK  0x0080
#define O_CREAT     0x0100
#define O_TRUNC     0x0200
#define O_EXCL      0x0400
#define O_DIRECTORY 0x10000
#define O_NOFOLLOW  0x20000
#define O_CLOEXEC   0x80000
#define AT_FDCWD    (-100)
#define AT_SYMLINK_NOFOLLOW 0x100
#define AT_REMOVEDIR 0x200
#define AT_SYMLINK_FOLLOW 0x400
#define AT_EMPTY_PATH 0x1000

#define NAME_MAX 255
#define PATH_MAX 256
#define NOFILE 64
#define MAXSYMLINKS 40      /* symbolic links followed in one lookup, then ELOOP */

/* walk() flags: stop before the last component; do not follow a symbolic
 * link in the last component (a trailing slash still follows it) */
#define WALK_PARENT   1
#define WALK_NOFOLLOW 2

struct rdent;
struct inode {
    int refs;
    u32 ino;
    u32 mode;               /* S_IF* | permissions */
    u32 nlink;
    u32 size;
    u32 rdev;               /* character devices: minor */
    u64 mtime_ns, ctime_ns, atime_ns;
    /* ramfs */
    const u8 *blob;         /* initrd bytes, until the file is first modified */
    u8 **pages;             /* else: page array */
    u32 npg;                /* capacity of pages[] */
    struct rdent *dents;    /* directories */
    struct inode *parent;
    /* mounts and flashfs */
    u8 flash;               /* backed by flashfs (ino is its inode number) */
    struct inode *mounted;  /* a file system is mounted on this directory */
    struct inode *covered;  /* root of a mounted file system: its mount point */
    struct inode *hnext;    /* flashfs inode cache */
    /* the directory and name it was first found under (a counted reference
     * and a kmalloc'd string): how /proc names files */
    struct inode *hint_dir;
    char *hint_name;
    int proc;               /* a /proc node: its kind (procfs.c), 0 = none */
    /* the page cache (pcache.c): physical address of each cached file page */
    u32 *pc;
    u32 pc_n;               /* entries in pc[] */
    struct inode *pc_next;  /* the list of inodes with a pc[] */
};

struct pipe;
enum { F_NONE, F_INODE, F_PIPE, F_CONS };
struct file {
    int refs;
    int type;
    u32 flags;              /* O_* (access mode, O_APPEND, O_NONBLOCK) */
    u64 off;
    struct inode *ip;
    struct pipe *pipe;
    int minor;              /* console: 0 stdin, 1 stdout, 2 stderr */
    u32 dirpos;
};

struct files {
    int refs;
    struct spinlock lock;
    struct file *fd[NOFILE];
    u64 cloexec;
    struct inode *cwd;
    char cwdpath[PATH_MAX];
};

/* character device minors (inode rdev); a block device's is the disk number */
#define DEV_CONSOLE 1
#define DEV_NULL    3
#define DEV_MAGIC   4
#define DEV_ZERO    5
#define DEV_URANDOM 9
#define DEV_NET0    0x10         /* net0 .. net3 */
#define IS_DEV_NET(rdev) ((rdev) >= DEV_NET0 && (rdev) < DEV_NET0 + 4)

/* vfs.c: one sleeping lock for all file-system state (flashfs does disk I/O) */
extern struct mutex fs_mutex;
extern struct inode *rootdir;
#define FS_LOCK()   mutex_lock(&fs_mutex)
#define FS_UNLOCK() mutex_unlock(&fs_mutex)
#endif
