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
    /* atomic: idup takes a reference without fs_mutex (under an mm's spinlock) */
    if (__atomic_sub_fetch(&ip->refs, 1, __ATOMIC_SEQ_CST) == 0 && ip->nlink == 0)
        inode_free(ip);
    if (!held) FS_UNLOCK();
}

/* an inode with no links and no references left */
void inode_free(struct inode *ip)
{
    struct inode *dp = ip->hint_dir;
    kfree(ip->hint_name);
    pc_forget_inode(ip);
    if (ip->flash) flash_release(ip);
    else ramfs_free(ip);
    if (dp) iput(dp);
}

/* ------------------------------------------------------------ VFS operations
 * (fs_mutex held) */
int v_read(struct inode *ip, void *buf, u32 off, u32 n)
{
    return ip->flash ? flash_read(ip, buf, off, n) : ramfs_read(ip, buf, off, n);
}

/* the page cache (pcache.c) follows every change of a file's data */
int v_write(struct inode *ip, const void *buf, u32 off, u32 n)
{
    int r = ip->flash ? flash_write(ip, buf, off, n) : ramfs_write(ip, buf, off, n);
    if (r > 0) pc_write(ip, buf, off, r);
    return r;
}

int v_truncate(struct inode *ip, u32 len)
{
    int r = ip->flash ? flash_truncate(ip, len) : ramfs_truncate(ip, len);
    if (!r) pc_truncate(ip, len);
    return r;
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
        if (ip && ip->proc && procfs_hidden(ip)) { *err = -ENOENT; return NULL; }
    }
    return ip ? mounted_on(ip) : NULL;
}

/* the target of the symbolic link `ip` (not NUL-terminated); its length */
int v_readlink(struct inode *ip, char *buf, u32 n)
{
    if (!S_ISLNK(ip->mode)) return -EINVAL;
    if (ip->proc) return procfs_readlink(ip, buf, n);
    return ip->flash ? flash_readlink(ip, buf, n) : ramfs_read(ip, buf, 0, n);
}

int v_symlink(struct inode *dp, const char *name, const char *target)
{
    if (dp->proc) return -EACCES;
    if (dp->flash) return flash_symlink(dp, name, target);
    struct inode *ip;
    int r = ramfs_create(dp, name, S_IFLNK | 0777, &ip);
    if (r) return r;
    u32 n = strlen(target);
    r = ramfs_write(ip, target, 0, n);
    if (r == (int)n) return 0;
    ramfs_unlink(dp, name, ip, 0);
    return r < 0 ? r : -ENOSPC;
}

/* a new name `name` in `dp` for the non-directory `ip` */
int v_link(struct inode *dp, const char *name, struct inode *ip)
{
    if (S_ISDIR(ip->mode)) return -EPERM;
    if (dp->flash != ip->flash || dp->proc || ip->proc) return -EXDEV;
    return dp->flash ? flash_link(dp, name, ip) : ramfs_link(dp, name, ip);
}

int v_create(struct inode *dp, const char *name, u32 mode, struct inode **out)
{
    if (dp->proc) return -EACCES;
    return dp->flash ? flash_create(dp, name, mode, out) : ramfs_create(dp, name, mode, out);
}

int v_unlink(struct inode *dp, const char *name, int isdir)
{
    int err;
    if (!strcmp(name, ".") || !strcmp(name, "..")) return isdir ? -EINVAL : -EISDIR;
    if (dp->proc) return -EACCES;
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
    if (odp->proc || ndp->proc) return -EACCES;
    struct inode *ip = v_lookup(odp, on, &err);
    if (!ip) return err;
    if (!strcmp(on, ".") || !strcmp(on, "..") || !strcmp(nn, ".") || !strcmp(nn, "..")) return -EBUSY;
    struct inode *dst = v_lookup(ndp, nn, &err);
    return odp->flash ? flash_rename(odp, on, ndp, nn, ip, dst) : ramfs_rename(odp, on, ndp, nn, ip, dst);
}

/* one directory entry at *cookie; 1 = got one, 0 = end */
int v_readdir(struct inode *dp, u64 *cookie, char *name, u32 *ino, int *type)
{
    if (dp->flash) return flash_readdir(dp, cookie, name, ino, type);
    for (;;) {
        int r = ramfs_readdir(dp, cookie, name, ino, type);
        int err;
        if (r <= 0 || !dp->proc || v_lookup(dp, name, &err)) return r;
    }
}

int inode_read(struct inode *ip, void *buf, u32 off, u32 n)
{
    int held = mutex_held(&fs_mutex);
    if (!held) FS_LOCK();
    int r = v_read(ip, buf, off, n);
    if (!held) FS_UNLOCK();
    return r;
}

/* a whole page of a file on the disk, straight into a page-aligned page
 * (flash_read_page); -1: read it with inode_read instead */
int inode_read_page(struct inode *ip, u32 off, void *page)
{
    if (!ip->flash) return -1;
    int held = mutex_held(&fs_mutex);
    if (!held) FS_LOCK();
    int r = flash_read_page(ip, off, page);
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
/* remember the first directory and name `ip` was found under */
static void set_hint(struct inode *dp, const char *name, struct inode *ip)
{
    if (ip->hint_dir || ip == dp || ip == rootdir || !strcmp(name, ".."))
        return;
    u32 n = strlen(name) + 1;
    char *s = kmalloc(n);
    if (!s) return;
    memcpy(s, name, n);
    ip->hint_name = s;
    ip->hint_dir = idup(dp);
}

/* Walk `path` from `start`, following symbolic links (relative ones from
 * the directory holding the link; at most MAXSYMLINKS, then ELOOP).  With
 * WALK_PARENT, stop before the last component and copy it to `last`; with
 * WALK_NOFOLLOW, a link in the last component is returned itself.
 * fs_mutex held. */
struct inode *walk(struct inode *start, const char *path, int flags, char *last, int *err)
{
    char buf[PATH_MAX], link[PATH_MAX], name[NAME_MAX + 1];
    int links = 0;
    *err = 0;
    if (strlcpy(buf, path, sizeof buf) >= sizeof buf) { *err = -ENAMETOOLONG; return NULL; }
    struct inode *ip = (buf[0] == '/') ? rootdir : start;
    const char *p = buf;
    for (;;) {
        while (*p == '/') p++;
        if (!*p) {
            if (flags & WALK_PARENT) { *err = -EINVAL; return NULL; }
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
        if ((flags & WALK_PARENT) && !*r) {
            strcpy(last, name);
            return ip;
        }
        struct inode *n = v_lookup(ip, name, err);
        if (!n) return NULL;
        set_hint(ip, name, n);
        if (S_ISLNK(n->mode) && (*r || *q == '/' || !(flags & WALK_NOFOLLOW))) {
            if (++links > MAXSYMLINKS) { *err = -ELOOP; return NULL; }
            int len = v_readlink(n, link, sizeof link);
            if (len < 0) { *err = len; return NULL; }
            if (len == 0) { *err = -ENOENT; return NULL; }
            u32 rest = strlen(q);
            if (len + rest + 1 > sizeof link) { *err = -ENAMETOOLONG; return NULL; }
            memcpy(link + len, q, rest + 1);
            strcpy(buf, link);
            p = buf;
            if (buf[0] == '/') ip = rootdir;
            continue;               /* the target, from the link's directory */
        }
        ip = n;
        p = q;
    }
}

/* The absolute path of `ip` from the names it was found under (each
 * checked to still lead to it); -ENOENT when one no longer does.
 * fs_mutex held. */
int v_path(struct inode *ip, char *out, u32 cap)
{
    u32 pos = cap - 1;
    out[pos] = 0;
    for (int depth = 0; ip != rootdir; depth++) {
        if (!ip->hint_dir && ip->covered) { ip = ip->covered; continue; }
        struct inode *dp = ip->hint_dir;
        int err;
        if (!dp || depth > 64 || v_lookup(dp, ip->hint_name, &err) != ip) return -ENOENT;
        u32 n = strlen(ip->hint_name);
        if (n + 1 > pos) return -ENAMETOOLONG;
        pos -= n;
        memcpy(out + pos, ip->hint_name, n);
        out[--pos] = '/';
        ip = dp;
    }
    if (pos == cap - 1) out[--pos] = '/';
    memmove(out, out + pos, cap - pos);
    return cap - 1 - pos;
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
    /* /nfs: a ramfs where the file service's client puts what it mounts (docs/disco.md); only in
     * a Disco VM, whose root disk is a private overlay (a persistent root is left as it is) */
    if (ondisk && bootinfo->nnets && (bootinfo->flags & BOOT_VIRTUAL)) {
        struct inode *mp = mkpath("/nfs", S_IFDIR | 0755);
        if (!mp->mounted) {
            struct inode *r = ramfs_new(S_IFDIR | 0755);
            r->nlink = 2;
            r->refs = 1;
            r->covered = mp;
            mp->mounted = r;
            mp->refs++;
        }
    }
    procfs_init();
    initrd_load();
}
