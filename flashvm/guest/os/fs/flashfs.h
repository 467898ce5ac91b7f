/*
 * flashfs.h -- the flashfs file system library for the flashvm guest kernel.
 *
 * On-disk format: see docs/fs.md (the Python side, flashvm/fs/, implements
 * the same format).  This library is freestanding: it includes only
 * <stdint.h>, <stddef.h> and <stdbool.h>, never calls malloc, and does all
 * block I/O through the callbacks in struct fs_dev.
 *
 * Memory.  The caller provides a `struct fs` (the mounted-file-system state)
 * and one contiguous memory region for the buffer cache.  FS_CACHE_BYTES(n)
 * is the size of a region holding n buffers; at least FS_MIN_BUFS buffers are
 * required.  The region should be 4096-byte aligned (block data is placed
 * at its start; only 8-byte alignment is strictly required).  The device
 * callbacks only ever get buffers from this region (never a caller's
 * buffer), so with an aligned region they are 4096-aligned 4096-byte
 * blocks -- convenient for DMA.
 *
 * Buffer cache.  LRU, write-back: modified blocks stay in memory until they
 * are evicted or fs_sync() writes them (and the superblock) out.  A kernel
 * that wants durability calls fs_sync() (e.g. from sync(2), fsync(2) and
 * periodically) and fs_unmount() at shutdown.
 *
 * Concurrency.  The library is NOT thread-safe: the kernel calls it with
 * one lock held.
 *
 * Inodes.  Files are named by inode number (uint32_t); FS_ROOT_INO is the
 * root directory.  Inode 0 is never valid.
 *
 * Unlinked-but-open files.  When a name removal (fs_unlink, fs_rmdir, or
 * fs_rename replacing its target) drops an inode's link count to 0, the
 * library asks the kernel through dev->is_open(ctx, ino) whether that inode
 * is still open.  If it is not (or is_open is NULL) the inode and its blocks
 * are freed at once.  Otherwise the inode is put on the on-disk orphan list
 * and stays readable/writable; the kernel must call fs_release(ino) when the
 * last reference goes away, which frees it.  Orphans left by a crash are
 * freed by the next fs_mount().  Calling fs_release on an inode that still
 * has links is a harmless no-op, so a kernel may simply call it on every
 * last close.
 *
 * Errors.  Functions return 0 (or a non-negative count) on success and a
 * negative Linux errno value on failure (FS_ENOENT == -2, ...).
 *
 * Time.  dev->now(ctx) supplies the current time in seconds (Unix epoch);
 * if it is NULL all timestamps written by the library are 0.  The library
 * updates mtime/ctime on modification and ctime on metadata changes; it
 * never updates atime by itself (noatime) -- use fs_set_times().
 *
 * Symbolic links are not interpreted: fs_namei() and fs_lookup() never
 * follow them; fs_symlink()/fs_readlink() create and read them.
 */
#ifndef FLASHFS_H
#define FLASHFS_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

#define FS_BLOCK_SIZE   4096u
#define FS_ROOT_INO     1u
#define FS_NAME_MAX     255u
#define FS_NDIRECT      12u
#define FS_MIN_BUFS     8u
#define FS_VERSION      1u
#define FS_MAGIC        0x53464C46u   /* "FLFS" little-endian */
/* largest file: (12 + 1024 + 1024*1024) blocks of 4096 bytes */
#define FS_MAX_FILE_SIZE ((uint64_t)(12u + 1024u + 1024u * 1024u) * 4096u)

/* negative errno values returned by the library (Linux numbering) */
#define FS_EPERM        (-1)
#define FS_ENOENT       (-2)
#define FS_EIO          (-5)
#define FS_EBUSY        (-16)
#define FS_EEXIST       (-17)
#define FS_EXDEV        (-18)
#define FS_ENOTDIR      (-20)
#define FS_EISDIR       (-21)
#define FS_EINVAL       (-22)
#define FS_EFBIG        (-27)
#define FS_ENOSPC       (-28)
#define FS_EMLINK       (-31)
#define FS_ENAMETOOLONG (-36)
#define FS_ENOTEMPTY    (-39)
#define FS_EUCLEAN      (-117)       /* corrupted file system structure */

/* st_mode bits (same values as Linux) */
#define FS_S_IFMT   0170000u
#define FS_S_IFSOCK 0140000u
#define FS_S_IFLNK  0120000u
#define FS_S_IFREG  0100000u
#define FS_S_IFBLK  0060000u
#define FS_S_IFDIR  0040000u
#define FS_S_IFCHR  0020000u
#define FS_S_IFIFO  0010000u
#define FS_S_ISDIR(m) (((m) & FS_S_IFMT) == FS_S_IFDIR)
#define FS_S_ISREG(m) (((m) & FS_S_IFMT) == FS_S_IFREG)
#define FS_S_ISLNK(m) (((m) & FS_S_IFMT) == FS_S_IFLNK)

/* directory entry types (Linux DT_* values, usable directly in getdents64) */
#define FS_DT_UNKNOWN 0
#define FS_DT_FIFO    1
#define FS_DT_CHR     2
#define FS_DT_DIR     4
#define FS_DT_BLK     6
#define FS_DT_REG     8
#define FS_DT_LNK     10
#define FS_DT_SOCK    12

/* The block device.  Block numbers are in 4096-byte units (block b covers
 * 512-byte sectors 8b..8b+7).  read/write return 0 on success, nonzero on
 * failure (reported to callers as FS_EIO). */
struct fs_dev {
    void *ctx;
    int (*read)(void *ctx, uint32_t blockno, void *buf4096);
    int (*write)(void *ctx, uint32_t blockno, const void *buf4096);
    /* optional: nonzero if the kernel still holds inode `ino` open */
    int (*is_open)(void *ctx, uint32_t ino);
    /* optional: current time, seconds since the Unix epoch */
    uint32_t (*now)(void *ctx);
};

/* One buffer-cache slot (private; exposed only for FS_CACHE_BYTES). */
struct fs_buf {
    uint8_t *data;          /* FS_BLOCK_SIZE bytes */
    uint32_t blockno;
    int32_t hnext;          /* hash chain */
    int32_t prev, next;     /* LRU list, head = most recently used */
    uint16_t refcnt;
    uint8_t valid, dirty;
};

#define FS_CACHE_BYTES(nbufs) \
    ((size_t)(nbufs) * (FS_BLOCK_SIZE + sizeof(struct fs_buf) + sizeof(int32_t)) + 8u)

/* Mounted file-system state (caller-allocated; all fields private). */
struct fs {
    struct fs_dev dev;
    /* superblock copy */
    uint32_t total_blocks, ninodes;
    uint32_t bbitmap_start, bbitmap_blocks;
    uint32_t ibitmap_start, ibitmap_blocks;
    uint32_t itable_start, itable_blocks, data_start;
    uint32_t free_blocks, free_inodes, orphan_head;
    bool sb_dirty;
    uint32_t balloc_hint, ialloc_hint;
    /* buffer cache */
    struct fs_buf *bufs;
    int32_t *hash;
    uint32_t nbufs;
    int32_t lru_head, lru_tail;
};

/* Attributes of an inode. */
struct fs_stat {
    uint32_t ino;
    uint32_t mode;          /* type and permission bits (st_mode) */
    uint32_t nlink;
    uint32_t uid, gid;
    uint64_t size;          /* bytes */
    uint32_t blocks;        /* allocated 512-byte sectors (st_blocks) */
    uint32_t atime, mtime, ctime;
    uint32_t blksize;       /* FS_BLOCK_SIZE */
    uint32_t rdev;          /* device number of a device special file */
};

/* One directory entry as returned by fs_readdir. */
struct fs_dirent {
    uint32_t ino;
    uint8_t type;           /* FS_DT_* */
    uint8_t namelen;
    char name[FS_NAME_MAX + 1];   /* NUL-terminated */
};

/* --- mounting --------------------------------------------------------- */

/* Mount the file system on `dev`, using `cache`/`cache_bytes` for the buffer
 * cache.  Checks the superblock (magic, version, geometry) and frees any
 * orphan inodes left over from before.  Errors: FS_EINVAL (bad superblock or
 * too small a cache), FS_EIO. */
int fs_mount(struct fs *fs, const struct fs_dev *dev, void *cache, size_t cache_bytes);

/* Write every dirty buffer and the superblock to the device. */
int fs_sync(struct fs *fs);

/* fs_sync, then forget the cache; `fs` may be reused for another mount. */
int fs_unmount(struct fs *fs);

/* Free blocks / free inodes / total blocks (for statfs). */
void fs_statfs(struct fs *fs, uint32_t *total_blocks, uint32_t *free_blocks,
               uint32_t *total_inodes, uint32_t *free_inodes);

/* --- names ------------------------------------------------------------ */

/* Look `name` (one component, NUL-terminated, no '/') up in directory
 * `dir`.  "." and ".." are ordinary entries.  Errors: FS_ENOENT,
 * FS_ENOTDIR, FS_ENAMETOOLONG, FS_EINVAL (empty name or one containing
 * '/'), FS_EIO. */
int fs_lookup(struct fs *fs, uint32_t dir, const char *name, uint32_t *ino);

/* Resolve an absolute or root-relative path ("/a/b", "a/b"; repeated and
 * trailing slashes are ignored).  Symlinks are not followed. */
int fs_namei(struct fs *fs, const char *path, uint32_t *ino);

/* --- attributes ------------------------------------------------------- */

int fs_stat(struct fs *fs, uint32_t ino, struct fs_stat *st);
/* Set atime and mtime (ctime becomes now). */
int fs_set_times(struct fs *fs, uint32_t ino, uint32_t atime, uint32_t mtime);
/* Change the permission bits (07777) of `ino`; the type bits are kept. */
int fs_chmod(struct fs *fs, uint32_t ino, uint32_t mode);
int fs_chown(struct fs *fs, uint32_t ino, uint32_t uid, uint32_t gid);

/* --- file data -------------------------------------------------------- */

/* Read up to `len` bytes at `off`; returns the number of bytes read (0 at or
 * past end of file).  Holes read as zeros.  Works on any inode type;
 * FS_EISDIR for directories. */
int32_t fs_read(struct fs *fs, uint32_t ino, uint64_t off, void *buf, uint32_t len);
/* The device block with file offset `off` (block-aligned) in *bno, 0 when
 * there is none or the cache holds a newer (dirty) copy: for reading it
 * straight from the device into a page. */
int fs_file_block(struct fs *fs, uint32_t ino, uint64_t off, uint32_t *bno);

/* Write `len` bytes at `off`, allocating blocks and extending the file as
 * needed (a gap past the old end becomes a hole).  Returns the number of
 * bytes written, which is short only when the disk fills up after some
 * bytes were written; FS_ENOSPC if nothing could be written, FS_EFBIG past
 * FS_MAX_FILE_SIZE, FS_EISDIR for directories. */
int32_t fs_write(struct fs *fs, uint32_t ino, uint64_t off, const void *buf, uint32_t len);

/* Set the size: shrinking frees blocks, growing leaves a hole. */
int fs_truncate(struct fs *fs, uint32_t ino, uint64_t size);

/* --- namespace -------------------------------------------------------- */

/* Create a file named `name` in `dir`.  `mode` holds the type and
 * permission bits; a zero type means a regular file.  Directories must be
 * made with fs_mkdir.  uid/gid start as 0 (see fs_chown).  Errors:
 * FS_EEXIST, FS_ENOSPC (no inode, or no block to grow the directory),
 * FS_ENOTDIR, FS_ENAMETOOLONG, FS_EINVAL. */
int fs_create(struct fs *fs, uint32_t dir, const char *name, uint32_t mode, uint32_t *ino);

/* fs_create for any non-directory type, with a device number (st_rdev)
 * for character/block special files. */
int fs_mknod(struct fs *fs, uint32_t dir, const char *name, uint32_t mode,
             uint32_t rdev, uint32_t *ino);

/* Make a directory (with "." and ".."); `mode` = permission bits. */
int fs_mkdir(struct fs *fs, uint32_t dir, const char *name, uint32_t mode, uint32_t *ino);

/* Make a symbolic link named `name` pointing to `target`. */
int fs_symlink(struct fs *fs, uint32_t dir, const char *name, const char *target, uint32_t *ino);

/* Read a symlink's target into buf (not NUL-terminated); returns length. */
int32_t fs_readlink(struct fs *fs, uint32_t ino, char *buf, uint32_t len);

/* New hard link `name` in `dir` to the non-directory `ino`.  FS_EPERM for
 * directories, FS_EMLINK at 65535 links. */
int fs_link(struct fs *fs, uint32_t ino, uint32_t dir, const char *name);

/* Remove the non-directory entry `name` (FS_EISDIR for a directory). */
int fs_unlink(struct fs *fs, uint32_t dir, const char *name);

/* Remove the empty directory `name`.  FS_ENOTEMPTY if it has entries other
 * than "." and "..", FS_ENOTDIR, FS_EINVAL for ".", FS_EBUSY for the root. */
int fs_rmdir(struct fs *fs, uint32_t dir, const char *name);

/* POSIX rename(2): an existing target is replaced atomically with respect
 * to the library (a directory may only replace an empty directory, a
 * non-directory only a non-directory: FS_EISDIR / FS_ENOTDIR /
 * FS_ENOTEMPTY); renaming a directory into its own subtree is FS_EINVAL;
 * renaming a file onto another link of itself does nothing. */
int fs_rename(struct fs *fs, uint32_t olddir, const char *oldname,
              uint32_t newdir, const char *newname);

/* Iterate over a directory.  Set *cookie = 0 to start; each call stores the
 * next entry in *de, advances *cookie and returns 1; returns 0 at the end.
 * The cookie is a byte offset in the directory (use it as getdents64's
 * d_off); it stays valid when entries are added or removed between calls
 * (entries added/removed meanwhile may or may not be seen). */
int fs_readdir(struct fs *fs, uint32_t dir, uint64_t *cookie, struct fs_dirent *de);

/* The kernel dropped its last reference to `ino`: free it if it has no
 * links left (see "Unlinked-but-open files" above). */
int fs_release(struct fs *fs, uint32_t ino);

#endif /* FLASHFS_H */
