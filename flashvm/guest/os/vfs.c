/*
 * vfs.c -- the file-system layer above ramfs (ramfs.c) and flashfs
 * (fsglue.c): inode references, the operations that pick the file system
 * of an inode, path lookup, mounting the root and /dev at boot.
 *
 * All file-system state is protected by one sleeping lock, fs_mutex,
 * because flashfs does disk I/O.  When disk 0 holds a flashfs image it is
 * the root; /dev is then a ramfs mounted on the disk's /dev.
 */
#include "fs.h"

struct mutex fs_mutex;
struct inode *rootdir;

struct inode *idup(struct inode *ip)
{
    __atomic_add_fetch(&ip->refs, 1, __ATOMIC_SEQ_CST);
    return ip;
}

void iput(struct inode *ip)
{
    int held = mutex_held(&fs_mutex);
    if (!held) FS_LOCK();
    if (--ip->refs == 0 && ip->nlink == 0) {
        if (ip->flash) flash_release(ip);
        else ramfs_free(ip);
    }
    if (!held) FS_UNLOCK();
}

/* ------------------------------------------------------------ VFS operations
 * (fs_mutex held) */
int v_read(struct inode *ip, void *buf, u32 off, u32 n)
{
    return ip->flash ? flash_read(ip, buf, off, n) : ramfs_read(ip, buf, off, n);
}

int v_write(struct inode *ip, const void *buf, u32 off, u32 n)
{
    return ip->flash ? flash_write(ip, buf, off, n) : ramfs_write(ip, buf, off, n);
}

int v_truncate(struct inode *ip, u32 len)
{
    return ip->flash ? flash_truncate(ip, len) : ramfs_truncate(ip, len);
}

static struct inode *mounted_on(struct inode *ip)
{
    return ip && ip->mounted ? ip->mounted : ip;
}

struct inode *v_lookup(struct inode *dp, const char *name, int *err)
{
    *err = 0;
    if (!strcmp(name, ".")) return dp;
    if (!strcmp(name, "..")) {
        if (dp == rootdir) return dp;
        if (dp->covered) dp = dp->covered;
    }
    struct inode *ip;
    if (dp->flash) {
        ip = flash_lookup(dp, name, err);
    } else {
        if (!strcmp(name, "..")) return dp->parent ? dp->parent : dp;
        ip = ramfs_lookup(dp, name, err);
    }
    return ip ? mounted_on(ip) : NULL;
}

int v_create(struct inode *dp, const char *name, u32 mode, struct inode **out)
{
    return dp->flash ? flash_create(dp, name, mode, out) : ramfs_create(dp, name, mode, out);
}

int v_unlink(struct inode *dp, const char *name, int isdir)
{
    int err;
    if (!strcmp(name, ".") || !strcmp(name, "..")) return isdir ? -EINVAL : -EISDIR;
    struct inode *ip = v_lookup(dp, name, &err);
    if (!ip) return err;
    if (ip->covered) return -EBUSY;
    if (isdir && !S_ISDIR(ip->mode)) return -ENOTDIR;
    if (!isdir && S_ISDIR(ip->mode)) return -EISDIR;
    return dp->flash ? flash_unlink(dp, name, ip, isdir) : ramfs_unlink(dp, name, ip, isdir);
}

int v_rename(struct inode *odp, const char *on, struct inode *ndp, const char *nn)
{
    int err;
    if (odp->flash != ndp->flash) return -EXDEV;
    struct inode *ip = v_lookup(odp, on, &err);
    if (!ip) return err;
    if (!strcmp(on, ".") || !strcmp(on, "..") || !strcmp(nn, ".") || !strcmp(nn, "..")) return -EBUSY;
    struct inode *dst = v_lookup(ndp, nn, &err);
    return odp->flash ? flash_rename(odp, on, ndp, nn, ip, dst) : ramfs_rename(odp, on, ndp, nn, ip, dst);
}

/* one directory entry at *cookie; 1 = got one, 0 = end */
int v_readdir(struct inode *dp, u64 *cookie, char *name, u32 *ino, int *type)
{
    return dp->flash ? flash_readdir(dp, cookie, name, ino, type) : ramfs_readdir(dp, cookie, name, ino, type);
}

int inode_read(struct inode *ip, void *buf, u32 off, u32 n)
{
    int held = mutex_held(&fs_mutex);
    if (!held) FS_LOCK();
    int r = v_read(ip, buf, off, n);
    if (!held) FS_UNLOCK();
    return r;
}

int inode_write(struct inode *ip, const void *buf, u32 off, u32 n)
{
    int held = mutex_held(&fs_mutex);
    if (!held) FS_LOCK();
    int r = v_write(ip, buf, off, n);
    if (!held) FS_UNLOCK();
    return r;
}

/* ------------------------------------------------------------ path lookup */
/* Walk `path` from `start`; with `parent`, stop before the last component
 * and copy it to `last`.  fs_mutex held. */
struct inode *walk(struct inode *start, const char *path, int parent, char *last, int *err)
{
    struct inode *ip = (path[0] == '/') ? rootdir : start;
    char name[NAME_MAX + 1];
    const char *p = path;
    *err = 0;
    for (;;) {
        while (*p == '/') p++;
        if (!*p) {
            if (parent) { *err = -EINVAL; return NULL; }
            return ip;
        }
        const char *q = p;
        while (*q && *q != '/') q++;
        if (q - p > NAME_MAX) { *err = -ENAMETOOLONG; return NULL; }
        memcpy(name, p, q - p);
        name[q - p] = 0;
        const char *r = q;
        while (*r == '/') r++;
        if (!S_ISDIR(ip->mode)) { *err = -ENOTDIR; return NULL; }
        if (parent && !*r) {
            strcpy(last, name);
            return ip;
        }
        struct inode *n = v_lookup(ip, name, err);
        if (!n) return NULL;
        ip = n;
        p = q;
    }
}

struct inode *namei(const char *path, int *err)
{
    FS_LOCK();
    struct inode *ip = walk(current() ? current()->files->cwd : rootdir, path, 0, NULL, err);
    if (ip) idup(ip);
    FS_UNLOCK();
    return ip;
}

/* Create the directories on `path` under `top` as needed and its last
 * component with `mode` (or find them).  fs_mutex held or not needed yet. */
struct inode *mkpath_in(struct inode *top, const char *path, u32 mode)
{
    char comp[NAME_MAX + 1];
    struct inode *dp = top;
    const char *p = path;
    for (;;) {
        while (*p == '/') p++;
        const char *q = p;
        while (*q && *q != '/') q++;
        if (q == p) return dp;
        u32 n = MIN((u32)(q - p), NAME_MAX);
        memcpy(comp, p, n);
        comp[n] = 0;
        const char *r = q;
        while (*r == '/') r++;
        int lastc = !*r;
        int err;
        struct inode *ip = v_lookup(dp, comp, &err);
        if (!ip && v_create(dp, comp, lastc ? mode : (S_IFDIR | 0755), &ip))
            return NULL;
        if (lastc) return ip;
        dp = ip;
        p = q;
    }
}

struct inode *mkpath(const char *path, u32 mode)
{
    struct inode *ip = mkpath_in(rootdir, path, mode);
    if (!ip) panic("cannot create %s", path);
    return ip;
}

/* the root (flashfs on disk 0, else an empty ramfs with /tmp), /dev, then
 * the initrd's files */
void fs_init(void)
{
    mutex_init(&fs_mutex, "fs");
    int ondisk = flash_mount();
    if (!ondisk) {
        rootdir = ramfs_new(S_IFDIR | 0755);
        rootdir->nlink = 2;
        rootdir->refs = 1;
        rootdir->parent = rootdir;
        mkpath("/tmp", S_IFDIR | 01777);
    }
    /* /dev: ramfs, mounted on the disk's /dev when the root is on disk */
    struct inode *devmp = mkpath("/dev", S_IFDIR | 0755);
    struct inode *dev = devmp;
    if (ondisk) {
        dev = ramfs_new(S_IFDIR | 0755);
        dev->nlink = 2;
        dev->refs = 1;
        dev->covered = devmp;
        devmp->mounted = dev;
        devmp->refs++;
    }
    dev_populate(dev);
    initrd_load();
}
