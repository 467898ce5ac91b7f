/*
 * fs.c -- VFS, ramfs, the flashfs glue, the initrd loader, open files and
 * fd tables, pipes, the console device and the file-related system calls.
 *
 * Inodes are either ramfs inodes (the in-memory tree: the struct holds the
 * data) or flashfs inodes (cached copies of on-disk attributes, kept in a
 * list for the life of the mount, freed after an unlinked file's last
 * close).  All file-system state is protected by one sleeping lock,
 * fs_mutex, because flashfs does disk I/O.  When disk 0 holds a flashfs
 * image it is the root; /dev is then a ramfs mounted on the disk's /dev.
 */
#include "fs.h"
#include "syscall.h"
#ifdef HAVE_FLASHFS
#include "fs/flashfs.h"
#endif

static struct mutex fs_mutex;
static struct inode *root;
static u32 next_ino = 1;

struct rdent {
    char name[NAME_MAX + 1];
    struct inode *ip;
    struct rdent *next;
};

#define FS_LOCK()   mutex_lock(&fs_mutex)
#define FS_UNLOCK() mutex_unlock(&fs_mutex)

#ifdef HAVE_FLASHFS
static struct fs *ffs;              /* the mounted flashfs (disk 0) */
static struct inode *icache;

static int ferr(int r)
{
    switch (r) {
    case -36: return -ENAMETOOLONG;
    case -39: return -ENOTEMPTY;
    case -117: return -EIO;
    }
    return r;
}

static void frefresh(struct inode *ip)
{
    struct fs_stat st;
    if (fs_stat(ffs, ip->ino, &st) == 0) {
        ip->mode = st.mode;
        ip->nlink = st.nlink;
        ip->size = (u32)st.size;
        ip->rdev = st.rdev;
        ip->mtime_ns = (u64)(st.mtime - 1700000000u) * 1000000000ULL;
        ip->ctime_ns = (u64)(st.ctime - 1700000000u) * 1000000000ULL;
        ip->atime_ns = (u64)(st.atime - 1700000000u) * 1000000000ULL;
    } else {
        ip->nlink = 0;
    }
}

static struct inode *fget(u32 ino)
{
    for (struct inode *ip = icache; ip; ip = ip->hnext)
        if (ip->ino == ino) return ip;
    struct inode *ip = kzalloc(sizeof *ip);
    if (!ip) return NULL;
    ip->flash = 1;
    ip->ino = ino;
    frefresh(ip);
    ip->hnext = icache;
    icache = ip;
    return ip;
}

static void fdrop(struct inode *ip)
{
    for (struct inode **pp = &icache; *pp; pp = &(*pp)->hnext)
        if (*pp == ip) { *pp = ip->hnext; break; }
    fs_release(ffs, ip->ino);
    kfree(ip);
}
#endif

/* ------------------------------------------------------------ ramfs inodes */
static struct inode *inode_new(u32 mode)
{
    struct inode *ip = kzalloc(sizeof *ip);
    if (!ip) return NULL;
    ip->ino = next_ino++;
    ip->mode = mode;
    return ip;
}

static void inode_free_data(struct inode *ip)
{
    if (ip->pages) {
        for (u32 i = 0; i < ip->npg; i++)
            if (ip->pages[i]) page_free(ip->pages[i]);
        kfree(ip->pages);
        ip->pages = NULL;
        ip->npg = 0;
    }
    ip->blob = NULL;
}

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
#ifdef HAVE_FLASHFS
        if (ip->flash) { fdrop(ip); if (!held) FS_UNLOCK(); return; }
#endif
        inode_free_data(ip);
        kfree(ip);
    }
    if (!held) FS_UNLOCK();
}

static int r_read(struct inode *ip, void *buf, u32 off, u32 n)
{
    if (off >= ip->size) return 0;
    n = MIN(n, ip->size - off);
    if (ip->blob) {
        memcpy(buf, ip->blob + off, n);
        return n;
    }
    u8 *d = buf;
    u32 done = 0;
    while (done < n) {
        u32 pg = (off + done) >> PAGE_SHIFT, po = (off + done) & (PAGE_SIZE - 1);
        u32 k = MIN(n - done, PAGE_SIZE - po);
        if (pg < ip->npg && ip->pages[pg])
            memcpy(d + done, ip->pages[pg] + po, k);
        else
            memset(d + done, 0, k);
        done += k;
    }
    return n;
}

static int inode_grow_pages(struct inode *ip, u32 npg)
{
    if (npg <= ip->npg) return 0;
    u32 cap = MAX(npg, ip->npg * 2);
    if (cap < 4) cap = 4;
    u8 **p = kzalloc(cap * sizeof(u8 *));
    if (!p) return -ENOSPC;
    if (ip->pages) {
        memcpy(p, ip->pages, ip->npg * sizeof(u8 *));
        kfree(ip->pages);
    }
    ip->pages = p;
    ip->npg = cap;
    return 0;
}

/* turn a blob-backed file into a page-backed one */
static int inode_unblob(struct inode *ip)
{
    if (!ip->blob) return 0;
    const u8 *b = ip->blob;
    u32 n = ip->size;
    ip->blob = NULL;
    if (inode_grow_pages(ip, (n + PAGE_SIZE - 1) >> PAGE_SHIFT)) return -ENOSPC;
    for (u32 off = 0; off < n; off += PAGE_SIZE) {
        u8 *pg = page_alloc();
        if (!pg) return -ENOSPC;
        memcpy(pg, b + off, MIN(PAGE_SIZE, n - off));
        ip->pages[off >> PAGE_SHIFT] = pg;
    }
    return 0;
}

static int r_write(struct inode *ip, const void *buf, u32 off, u32 n)
{
    if (off + n < off) return -EFBIG;
    if (inode_unblob(ip)) return -ENOSPC;
    if (inode_grow_pages(ip, (off + n + PAGE_SIZE - 1) >> PAGE_SHIFT)) return -ENOSPC;
    const u8 *s = buf;
    u32 done = 0;
    while (done < n) {
        u32 pg = (off + done) >> PAGE_SHIFT, po = (off + done) & (PAGE_SIZE - 1);
        u32 k = MIN(n - done, PAGE_SIZE - po);
        if (!ip->pages[pg]) {
            ip->pages[pg] = page_alloc();
            if (!ip->pages[pg]) break;
        }
        memcpy(ip->pages[pg] + po, s + done, k);
        done += k;
    }
    if (off + done > ip->size) ip->size = off + done;
    ip->mtime_ns = ip->ctime_ns = uptime_ns();
    return done ? (int)done : (n ? -ENOSPC : 0);
}

static int r_truncate(struct inode *ip, u32 len)
{
    if (inode_unblob(ip)) return -ENOSPC;
    if (len < ip->size) {
        for (u32 pg = (len + PAGE_SIZE - 1) >> PAGE_SHIFT; pg < ip->npg; pg++)
            if (ip->pages[pg]) { page_free(ip->pages[pg]); ip->pages[pg] = NULL; }
        if (len & (PAGE_SIZE - 1)) {
            u32 pg = len >> PAGE_SHIFT;
            if (pg < ip->npg && ip->pages[pg])
                memset(ip->pages[pg] + (len & (PAGE_SIZE - 1)), 0, PAGE_SIZE - (len & (PAGE_SIZE - 1)));
        }
    }
    ip->size = len;
    ip->mtime_ns = ip->ctime_ns = uptime_ns();
    return 0;
}

static struct rdent *dir_find(struct inode *dp, const char *name)
{
    for (struct rdent *d = dp->dents; d; d = d->next)
        if (!strcmp(d->name, name)) return d;
    return NULL;
}

static int dir_link(struct inode *dp, const char *name, struct inode *ip)
{
    if (strlen(name) > NAME_MAX) return -ENAMETOOLONG;
    struct rdent *d = kzalloc(sizeof *d);
    if (!d) return -ENOSPC;
    strcpy(d->name, name);
    d->ip = ip;
    struct rdent **pp = &dp->dents;
    while (*pp) pp = &(*pp)->next;
    *pp = d;
    ip->nlink++;
    if (S_ISDIR(ip->mode)) { ip->parent = dp; dp->nlink++; }
    dp->size++;
    dp->mtime_ns = dp->ctime_ns = uptime_ns();
    return 0;
}

static void dir_unlink_ent(struct inode *dp, const char *name)
{
    for (struct rdent **pp = &dp->dents; *pp; pp = &(*pp)->next) {
        if (!strcmp((*pp)->name, name)) {
            struct rdent *d = *pp;
            *pp = d->next;
            struct inode *ip = d->ip;
            ip->nlink--;
            if (S_ISDIR(ip->mode)) { dp->nlink--; ip->nlink--; }
            dp->size--;
            kfree(d);
            if (ip->nlink == 0 && ip->refs == 0) {
                inode_free_data(ip);
                kfree(ip);
            }
            return;
        }
    }
}

/* ------------------------------------------------------------ VFS operations
 * (fs_mutex held) */
static int v_read(struct inode *ip, void *buf, u32 off, u32 n)
{
#ifdef HAVE_FLASHFS
    if (ip->flash) return ferr(fs_read(ffs, ip->ino, off, buf, n));
#endif
    return r_read(ip, buf, off, n);
}

static int v_write(struct inode *ip, const void *buf, u32 off, u32 n)
{
#ifdef HAVE_FLASHFS
    if (ip->flash) {
        int r = ferr(fs_write(ffs, ip->ino, off, buf, n));
        if (r > 0 && off + r > ip->size) ip->size = off + r;
        ip->mtime_ns = ip->ctime_ns = uptime_ns();
        return r;
    }
#endif
    return r_write(ip, buf, off, n);
}

static int v_truncate(struct inode *ip, u32 len)
{
#ifdef HAVE_FLASHFS
    if (ip->flash) {
        int r = ferr(fs_truncate(ffs, ip->ino, len));
        if (!r) ip->size = len;
        return r;
    }
#endif
    return r_truncate(ip, len);
}

static struct inode *mounted_on(struct inode *ip)
{
    return ip && ip->mounted ? ip->mounted : ip;
}

static struct inode *v_lookup(struct inode *dp, const char *name, int *err)
{
    *err = 0;
    if (!strcmp(name, ".")) return dp;
    if (!strcmp(name, "..")) {
        if (dp == root) return dp;
        if (dp->covered) dp = dp->covered;
    }
#ifdef HAVE_FLASHFS
    if (dp->flash) {
        u32 ino;
        int r = ferr(fs_lookup(ffs, dp->ino, name, &ino));
        if (r) { *err = r; return NULL; }
        struct inode *ip = fget(ino);
        if (!ip) { *err = -ENOMEM; return NULL; }
        return mounted_on(ip);
    }
#endif
    if (!strcmp(name, "..")) return dp->parent ? dp->parent : dp;
    struct rdent *d = dir_find(dp, name);
    if (!d) { *err = -ENOENT; return NULL; }
    return mounted_on(d->ip);
}

static int v_create(struct inode *dp, const char *name, u32 mode, struct inode **out)
{
#ifdef HAVE_FLASHFS
    if (dp->flash) {
        u32 ino;
        int r = S_ISDIR(mode) ? ferr(fs_mkdir(ffs, dp->ino, name, mode & 07777, &ino))
                              : ferr(fs_create(ffs, dp->ino, name, mode, &ino));
        if (r) return r;
        frefresh(dp);
        *out = fget(ino);
        return *out ? 0 : -ENOMEM;
    }
#endif
    if (strlen(name) > NAME_MAX) return -ENAMETOOLONG;
    struct inode *ip = inode_new(mode);
    if (!ip) return -ENOSPC;
    if (S_ISDIR(mode)) ip->nlink = 1;
    ip->mtime_ns = ip->ctime_ns = ip->atime_ns = uptime_ns();
    int r = dir_link(dp, name, ip);
    if (r) { kfree(ip); return r; }
    *out = ip;
    return 0;
}

static int v_unlink(struct inode *dp, const char *name, int isdir)
{
    int err;
    if (!strcmp(name, ".") || !strcmp(name, "..")) return isdir ? -EINVAL : -EISDIR;
    struct inode *ip = v_lookup(dp, name, &err);
    if (!ip) return err;
    if (ip->covered) return -EBUSY;
    if (isdir && !S_ISDIR(ip->mode)) return -ENOTDIR;
    if (!isdir && S_ISDIR(ip->mode)) return -EISDIR;
#ifdef HAVE_FLASHFS
    if (dp->flash) {
        int r = isdir ? ferr(fs_rmdir(ffs, dp->ino, name)) : ferr(fs_unlink(ffs, dp->ino, name));
        if (r) return r;
        frefresh(dp);
        frefresh(ip);
        if (ip->nlink == 0 && ip->refs == 0) fdrop(ip);
        return 0;
    }
#endif
    if (isdir && ip->dents) return -ENOTEMPTY;
    dir_unlink_ent(dp, name);
    return 0;
}

static int v_rename(struct inode *odp, const char *on, struct inode *ndp, const char *nn)
{
    int err;
    if (odp->flash != ndp->flash) return -EXDEV;
    struct inode *ip = v_lookup(odp, on, &err);
    if (!ip) return err;
    if (!strcmp(on, ".") || !strcmp(on, "..") || !strcmp(nn, ".") || !strcmp(nn, "..")) return -EBUSY;
    struct inode *dst = v_lookup(ndp, nn, &err);
#ifdef HAVE_FLASHFS
    if (odp->flash) {
        int r = ferr(fs_rename(ffs, odp->ino, on, ndp->ino, nn));
        if (r) return r;
        frefresh(odp);
        frefresh(ndp);
        if (dst && dst != ip) {
            frefresh(dst);
            if (dst->nlink == 0 && dst->refs == 0) fdrop(dst);
        }
        return 0;
    }
#endif
    if (dst == ip) return 0;
    if (S_ISDIR(ip->mode)) {
        for (struct inode *a = ndp; ; a = a->parent) {
            if (a == ip) return -EINVAL;
            if (a == root || !a->parent) break;
        }
    }
    if (dst) {
        if (S_ISDIR(dst->mode) && !S_ISDIR(ip->mode)) return -EISDIR;
        if (!S_ISDIR(dst->mode) && S_ISDIR(ip->mode)) return -ENOTDIR;
        if (S_ISDIR(dst->mode) && dst->dents) return -ENOTEMPTY;
        dir_unlink_ent(ndp, nn);
    }
    ip->refs++;
    dir_unlink_ent(odp, on);
    if (S_ISDIR(ip->mode)) ip->nlink++;     /* dir_unlink_ent dropped '.' too */
    err = dir_link(ndp, nn, ip);
    if (S_ISDIR(ip->mode)) ip->nlink--;
    ip->refs--;
    return err;
}

/* one directory entry at *cookie; 1 = got one, 0 = end */
static int v_readdir(struct inode *dp, u64 *cookie, char *name, u32 *ino, int *type)
{
#ifdef HAVE_FLASHFS
    if (dp->flash) {
        struct fs_dirent de;
        int r = ferr(fs_readdir(ffs, dp->ino, cookie, &de));
        if (r <= 0) return r;
        strlcpy(name, de.name, NAME_MAX + 1);
        *ino = de.ino;
        *type = de.type;
        return 1;
    }
#endif
    u64 pos = *cookie;
    if (pos == 0) { strcpy(name, "."); *ino = dp->ino; *type = 4; }
    else if (pos == 1) {
        strcpy(name, "..");
        struct inode *p = dp->covered ? dp->covered : dp->parent ? dp->parent : dp;
        *ino = p->ino; *type = 4;
    } else {
        struct rdent *d = dp->dents;
        for (u64 i = 2; d && i < pos; i++) d = d->next;
        if (!d) return 0;
        strcpy(name, d->name);
        *ino = d->ip->ino;
        *type = S_ISDIR(d->ip->mode) ? 4 : S_ISCHR(d->ip->mode) ? 2 : S_ISBLK(d->ip->mode) ? 6 : 8;
    }
    *cookie = pos + 1;
    return 1;
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
static struct inode *walk(struct inode *start, const char *path, int parent, char *last, int *err)
{
    struct inode *ip = (path[0] == '/') ? root : start;
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

static struct inode *cwd_of(int dirfd, int *err)
{
    struct task *t = current();
    if (dirfd == AT_FDCWD)
        return t->files->cwd;
    struct file *f = fd_get(dirfd);
    if (!f) { *err = -EBADF; return NULL; }
    if (f->type != F_INODE || !S_ISDIR(f->ip->mode)) { *err = -ENOTDIR; return NULL; }
    return f->ip;
}

struct inode *namei(const char *path, int *err)
{
    FS_LOCK();
    struct inode *ip = walk(current() ? current()->files->cwd : root, path, 0, NULL, err);
    if (ip) idup(ip);
    FS_UNLOCK();
    return ip;
}

/* ------------------------------------------------------------ initrd */
/* Blob: "FVRD", u32 count, then per entry: u32 mode, u32 size, u32 namelen,
 * name (padded to 4), data (padded to 4).  Directories are created on the
 * way; a mode with S_IFDIR makes an (empty) directory. */
static struct inode *mkpath_in(struct inode *top, const char *path, u32 mode)
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

static struct inode *mkpath(const char *path, u32 mode)
{
    struct inode *ip = mkpath_in(root, path, mode);
    if (!ip) panic("cannot create %s", path);
    return ip;
}

static void initrd_load(void)
{
    if (!bootinfo->initrd_pa || !bootinfo->initrd_size) return;
    const u8 *b = PA2KV(bootinfo->initrd_pa);
    const u32 *w = (const u32 *)b;
    if (w[0] != 0x44525646) { kprintf("initrd: bad magic %x\n", w[0]); return; }
    u32 count = w[1];
    u32 off = 8;
    for (u32 i = 0; i < count; i++) {
        const u32 *h = (const u32 *)(b + off);
        u32 mode = h[0], size = h[1], nlen = h[2];
        char name[PATH_MAX];
        u32 k = MIN(nlen, PATH_MAX - 1);
        memcpy(name, b + off + 12, k);
        name[k] = 0;
        off += 12 + ((nlen + 3) & ~3);
        struct inode *ip = mkpath(name, mode);
        if (S_ISREG(mode)) {
            if (ip->flash) {
                v_truncate(ip, 0);
                v_write(ip, b + off, 0, size);
            } else {
                ip->blob = b + off;
                ip->size = size;
            }
        }
        off += (size + 3) & ~3;
    }
}

/* ------------------------------------------------------------ mounting */
extern unsigned disk_count(void);
extern u32 disk_capacity(unsigned k);
extern int disk_rw(unsigned k, u64 off, void *buf, u32 n, int write);

#ifdef HAVE_FLASHFS
static int fdev_read(void *ctx, uint32_t b, void *buf)
{
    (void)ctx;
    return disk_rw(0, (u64)b * 4096, buf, 4096, 0) == 4096 ? 0 : -1;
}
static int fdev_write(void *ctx, uint32_t b, const void *buf)
{
    (void)ctx;
    return disk_rw(0, (u64)b * 4096, (void *)buf, 4096, 1) == 4096 ? 0 : -1;
}
static int fdev_is_open(void *ctx, uint32_t ino)
{
    (void)ctx;
    for (struct inode *ip = icache; ip; ip = ip->hnext)
        if (ip->ino == ino) return ip->refs > 0;
    return 0;
}
static uint32_t fdev_now(void *ctx)
{
    (void)ctx;
    return 1700000000u + (u32)(uptime_ns() / 1000000000ULL);
}

static int mount_flashfs(void)
{
    if (!disk_count() || disk_capacity(0) < 64) return 0;
    u32 sb[4];
    if (disk_rw(0, 0, sb, sizeof sb, 0) != sizeof sb || sb[0] != FS_MAGIC) return 0;
    enum { NBUF = 256 };
    u32 bytes = FS_CACHE_BYTES(NBUF);
    void *cache = page_alloc_n((bytes + PAGE_SIZE - 1) / PAGE_SIZE);
    ffs = kzalloc(sizeof *ffs);
    if (!cache || !ffs) panic("no memory for the flashfs cache");
    struct fs_dev dev = { NULL, fdev_read, fdev_write, fdev_is_open, fdev_now };
    int r = fs_mount(ffs, &dev, cache, bytes);
    if (r) {
        kprintf("disk0: flashfs mount failed (%d)\n", r);
        ffs = NULL;
        return 0;
    }
    root = fget(FS_ROOT_INO);
    root->refs++;
    if (bootinfo->verbose) kprintf("root file system: flashfs on disk0\n");
    return 1;
}
#endif

void fs_sync_all(void)
{
#ifdef HAVE_FLASHFS
    if (ffs) {
        FS_LOCK();
        int r = fs_sync(ffs);
        FS_UNLOCK();
        if (r) kprintf("fs_sync: error %d\n", r);
    }
#endif
}

void fs_init(void)
{
    mutex_init(&fs_mutex, "fs");
    int ondisk = 0;
#ifdef HAVE_FLASHFS
    ondisk = mount_flashfs();
#endif
    if (!ondisk) {
        root = inode_new(S_IFDIR | 0755);
        root->nlink = 2;
        root->refs = 1;
        root->parent = root;
        mkpath("/tmp", S_IFDIR | 01777);
    }
    /* /dev: ramfs, mounted on the disk's /dev when the root is on disk */
    struct inode *devmp = mkpath("/dev", S_IFDIR | 0755);
    struct inode *dev = devmp;
    if (ondisk) {
        dev = inode_new(S_IFDIR | 0755);
        dev->nlink = 2;
        dev->refs = 1;
        dev->covered = devmp;
        devmp->mounted = dev;
        devmp->refs++;
    }
    struct inode *c = mkpath_in(dev, "console", S_IFCHR | 0620);
    c->rdev = 1;
    struct inode *nul = mkpath_in(dev, "null", S_IFCHR | 0666);
    nul->rdev = 3;
    extern unsigned net_count(void);
    for (unsigned k = 0; k < net_count(); k++) {
        char name[24];
        snprintf(name, sizeof name, "net%u", k);
        struct inode *n = mkpath_in(dev, name, S_IFCHR | 0660);
        n->rdev = 0x10 + k;
    }
    struct inode *mg = mkpath_in(dev, "magic", S_IFCHR | 0440);
    mg->rdev = 4;
    for (unsigned k = 0; k < disk_count(); k++) {
        char name[24];
        snprintf(name, sizeof name, "disk%u", k);
        struct inode *b = mkpath_in(dev, name, S_IFBLK | 0660);
        b->rdev = k;
        b->size = disk_capacity(k) * 512;
    }
    initrd_load();
}

/* ------------------------------------------------------------ files */

struct file *file_alloc(void)
{
    struct file *f = kzalloc(sizeof *f);
    if (f) f->refs = 1;
    return f;
}

struct file *file_dup(struct file *f)
{
    __atomic_add_fetch(&f->refs, 1, __ATOMIC_SEQ_CST);
    return f;
}

void pipe_close(struct pipe *p, int writer);

void file_close(struct file *f)
{
    if (__atomic_sub_fetch(&f->refs, 1, __ATOMIC_SEQ_CST) > 0)
        return;
    if (f->type == F_INODE && f->ip) iput(f->ip);
    if (f->type == F_PIPE) pipe_close(f->pipe, (f->flags & O_ACCMODE) != O_RDONLY);
    kfree(f);
}

struct files *files_new(void)
{
    struct files *fs = kzalloc(sizeof *fs);
    if (!fs) return NULL;
    fs->refs = 1;
    spin_init(&fs->lock, "fdtab");
    fs->cwd = idup(root);
    strcpy(fs->cwdpath, "/");
    return fs;
}

struct files *files_dup(struct files *old)
{
    struct files *fs = kzalloc(sizeof *fs);
    if (!fs) return NULL;
    fs->refs = 1;
    spin_init(&fs->lock, "fdtab");
    spin_lock(&old->lock);
    for (int i = 0; i < NOFILE; i++)
        if (old->fd[i]) fs->fd[i] = file_dup(old->fd[i]);
    fs->cloexec = old->cloexec;
    fs->cwd = idup(old->cwd);
    strcpy(fs->cwdpath, old->cwdpath);
    spin_unlock(&old->lock);
    return fs;
}

void files_put(struct files *fs)
{
    if (__atomic_sub_fetch(&fs->refs, 1, __ATOMIC_SEQ_CST) > 0)
        return;
    for (int i = 0; i < NOFILE; i++)
        if (fs->fd[i]) file_close(fs->fd[i]);
    iput(fs->cwd);
    kfree(fs);
}

void files_cloexec(struct files *fs)
{
    for (int i = 0; i < NOFILE; i++)
        if ((fs->cloexec >> i) & 1 && fs->fd[i]) {
            file_close(fs->fd[i]);
            fs->fd[i] = NULL;
        }
    fs->cloexec = 0;
}

struct file *fd_get(int fd)
{
    struct files *fs = current()->files;
    if ((unsigned)fd >= NOFILE) return NULL;
    return fs->fd[fd];
}

int fd_install(struct file *f, int min, int cloexec)
{
    struct files *fs = current()->files;
    spin_lock(&fs->lock);
    for (int i = min; i < NOFILE; i++) {
        if (!fs->fd[i]) {
            fs->fd[i] = f;
            if (cloexec) fs->cloexec |= 1ULL << i;
            else fs->cloexec &= ~(1ULL << i);
            spin_unlock(&fs->lock);
            return i;
        }
    }
    spin_unlock(&fs->lock);
    return -EMFILE;
}

/* ------------------------------------------------------------ pipes */
#define PIPE_SIZE 4096
struct pipe {
    struct spinlock lock;
    u32 r, w;             /* free-running indices */
    int readers, writers;
    u8 buf[PIPE_SIZE];
};

void pipe_close(struct pipe *p, int writer)
{
    spin_lock(&p->lock);
    if (writer) p->writers--; else p->readers--;
    int dead = p->readers == 0 && p->writers == 0;
    wakeup(p);
    spin_unlock(&p->lock);
    if (dead) kfree(p);
}

static long pipe_read(struct file *f, u32 ubuf, u32 n)
{
    struct pipe *p = f->pipe;
    struct mm *mm = current()->mm;
    spin_lock(&p->lock);
    while (p->r == p->w) {
        if (p->writers == 0) { spin_unlock(&p->lock); return 0; }
        if (f->flags & O_NONBLOCK) { spin_unlock(&p->lock); return -EAGAIN; }
        if (sleep_intr(p, &p->lock)) { spin_unlock(&p->lock); return -EINTR; }
    }
    u32 done = 0;
    u8 tmp[256];
    while (done < n && p->r != p->w) {
        u32 k = 0;
        while (k < sizeof tmp && done + k < n && p->r != p->w)
            tmp[k++] = p->buf[p->r++ % PIPE_SIZE];
        spin_unlock(&p->lock);
        if (copyout(mm, ubuf + done, tmp, k)) { spin_lock(&p->lock); wakeup(p); spin_unlock(&p->lock); return done ? (long)done : -EFAULT; }
        done += k;
        spin_lock(&p->lock);
    }
    wakeup(p);
    spin_unlock(&p->lock);
    return done;
}

static long pipe_write_buf(struct file *f, const u8 *kbuf, u32 ubuf, u32 n)
{
    struct pipe *p = f->pipe;
    struct mm *mm = current()->mm;
    u32 done = 0;
    u8 tmp[256];
    spin_lock(&p->lock);
    while (done < n) {
        if (p->readers == 0) {
            spin_unlock(&p->lock);
            send_signal(current(), SIGPIPE, 0);
            return done ? (long)done : -EPIPE;
        }
        if (p->w - p->r == PIPE_SIZE) {
            if (f->flags & O_NONBLOCK) { spin_unlock(&p->lock); return done ? (long)done : -EAGAIN; }
            wakeup(p);
            if (sleep_intr(p, &p->lock)) { spin_unlock(&p->lock); return done ? (long)done : -EINTR; }
            continue;
        }
        u32 k = MIN(n - done, MIN((u32)sizeof tmp, PIPE_SIZE - (p->w - p->r)));
        if (kbuf) {
            memcpy(tmp, kbuf + done, k);
        } else {
            spin_unlock(&p->lock);
            if (copyin(mm, tmp, ubuf + done, k)) return done ? (long)done : -EFAULT;
            spin_lock(&p->lock);
            k = MIN(k, PIPE_SIZE - (p->w - p->r));
        }
        for (u32 i = 0; i < k; i++)
            p->buf[p->w++ % PIPE_SIZE] = tmp[i];
        done += k;
        wakeup(p);
    }
    spin_unlock(&p->lock);
    return done;
}

static int make_pipe(struct file **rf, struct file **wf)
{
    struct pipe *p = kzalloc(sizeof *p);
    if (!p) return -ENOMEM;
    spin_init(&p->lock, "pipe");
    p->readers = p->writers = 1;
    *rf = file_alloc();
    *wf = file_alloc();
    if (!*rf || !*wf) { kfree(p); kfree(*rf); kfree(*wf); return -ENOMEM; }
    (*rf)->type = (*wf)->type = F_PIPE;
    (*rf)->pipe = (*wf)->pipe = p;
    (*rf)->flags = O_RDONLY;
    (*wf)->flags = O_WRONLY;
    return 0;
}

/* ------------------------------------------------------------ devices */
extern long net_send(unsigned k, u32 ubuf, u32 len);
extern long net_recv(unsigned k, u32 ubuf, u32 cap, int nonblock);
extern int net_mac(unsigned k, u8 *mac);
extern long magic_read(u64 off, u32 ubuf, u32 n);

/* ------------------------------------------------------------ block devices */
extern int disk_rw(unsigned k, u64 off, void *buf, u32 n, int write);

static long blk_rw(struct file *f, u32 ubuf, u32 n, int write)
{
    struct mm *mm = current()->mm;
    u8 *tmp = page_alloc_n(4);
    if (!tmp) return -ENOMEM;
    u32 done = 0;
    long r = 0;
    while (done < n) {
        u32 k = MIN(n - done, 4 * PAGE_SIZE);
        if (write && copyin(mm, tmp, ubuf + done, k)) { r = -EFAULT; break; }
        int got = disk_rw(f->ip->rdev, f->off, tmp, k, write);
        if (got < 0) { r = got; break; }
        if (!write && got && copyout(mm, ubuf + done, tmp, got)) { r = -EFAULT; break; }
        f->off += got;
        done += got;
        if ((u32)got < k) break;
    }
    page_free_n(tmp, 4);
    return done ? (long)done : r;
}

/* ------------------------------------------------------------ read/write */
long file_read(struct file *f, u32 ubuf, u32 n)
{
    if ((f->flags & O_ACCMODE) == O_WRONLY) return -EBADF;
    struct mm *mm = current()->mm;
    switch (f->type) {
    case F_PIPE:
        return pipe_read(f, ubuf, n);
    case F_CONS: {
        char tmp[128];
        int k = cons_read(tmp, MIN(n, sizeof tmp));
        if (k > 0 && copyout(mm, ubuf, tmp, k)) return -EFAULT;
        return k;
    }
    case F_INODE: {
        struct inode *ip = f->ip;
        if (S_ISDIR(ip->mode)) return -EISDIR;
        if (S_ISCHR(ip->mode)) {
            if (ip->rdev >= 0x10 && ip->rdev < 0x14) return net_recv(ip->rdev - 0x10, ubuf, n, f->flags & O_NONBLOCK);
            if (ip->rdev == 4) {
                long r = magic_read(f->off, ubuf, n);
                if (r > 0) f->off += r;
                return r;
            }
            return 0;
        }
        if (S_ISBLK(ip->mode)) return blk_rw(f, ubuf, n, 0);
        u32 done = 0;
        u8 *tmp = page_alloc();
        if (!tmp) return -ENOMEM;
        while (done < n) {
            FS_LOCK();
            if (f->off >= ip->size) { FS_UNLOCK(); break; }
            int k = v_read(ip, tmp, f->off, MIN(n - done, PAGE_SIZE));
            FS_UNLOCK();
            if (k <= 0) break;
            if (copyout(mm, ubuf + done, tmp, k)) { page_free(tmp); return done ? (long)done : -EFAULT; }
            f->off += k;
            done += k;
        }
        page_free(tmp);
        return done;
    }
    }
    return -EBADF;
}


static long write_common(struct file *f, const u8 *kbuf, u32 ubuf, u32 n)
{
    if ((f->flags & O_ACCMODE) == O_RDONLY) return -EBADF;
    struct mm *mm = current()->mm;
    switch (f->type) {
    case F_PIPE:
        return pipe_write_buf(f, kbuf, ubuf, n);
    case F_CONS: {
        u8 tmp[256];
        u32 done = 0;
        while (done < n) {
            u32 k = MIN(n - done, sizeof tmp);
            if (kbuf) memcpy(tmp, kbuf + done, k);
            else if (copyin(mm, tmp, ubuf + done, k)) return done ? (long)done : -EFAULT;
            cons_write(f->minor == 2 ? 2 : 1, (char *)tmp, k);
            done += k;
        }
        return done;
    }
    case F_INODE: {
        struct inode *ip = f->ip;
        if (S_ISCHR(ip->mode)) {
            if (ip->rdev >= 0x10 && ip->rdev < 0x14) return net_send(ip->rdev - 0x10, ubuf, n);
            return ip->rdev == 3 ? (long)n : -EINVAL;   /* /dev/null */
        }
        if (S_ISBLK(ip->mode)) return blk_rw(f, ubuf, n, 1);
        u8 *tmp = page_alloc();
        if (!tmp) return -ENOMEM;
        u32 done = 0;
        while (done < n) {
            u32 k = MIN(n - done, PAGE_SIZE);
            if (kbuf) memcpy(tmp, kbuf + done, k);
            else if (copyin(mm, tmp, ubuf + done, k)) { page_free(tmp); return done ? (long)done : -EFAULT; }
            FS_LOCK();
            if (f->flags & O_APPEND) f->off = ip->size;
            int r = v_write(ip, tmp, f->off, k);
            FS_UNLOCK();
            if (r < 0) { page_free(tmp); return done ? (long)done : r; }
            f->off += r;
            done += r;
            if ((u32)r < k) break;
        }
        page_free(tmp);
        return done;
    }
    }
    return -EBADF;
}

long file_write(struct file *f, u32 ubuf, u32 n) { return write_common(f, NULL, ubuf, n); }
long file_write_k(struct file *f, const void *buf, u32 n) { return write_common(f, buf, 0, n); }

/* ------------------------------------------------------------ stat */
static void put32(u8 *b, u32 off, u32 v) { memcpy(b + off, &v, 4); }
static void put64(u8 *b, u32 off, u64 v) { memcpy(b + off, &v, 8); }

int vfs_stat(struct inode *ip, struct file *f, u32 ubuf, int statx)
{
    u32 mode, nlink = 1, size = 0, ino = 0, rdev = 0;
    u64 mt = 0, ct = 0, at = 0;
    if (ip) {
        mode = ip->mode; nlink = ip->nlink; size = S_ISDIR(ip->mode) ? 4096 : ip->size;
        ino = ip->ino; mt = ip->mtime_ns; ct = ip->ctime_ns; at = ip->atime_ns;
        rdev = S_ISCHR(ip->mode) ? (1 << 8) | ip->rdev : 0;
    } else if (f && f->type == F_PIPE) {
        mode = S_IFIFO | 0600;
    } else {
        mode = S_IFCHR | 0620;
        rdev = (5 << 8) | 1;
    }
    u32 blocks = (size + 511) / 512;
    u8 b[256];
    memset(b, 0, sizeof b);
    u64 dt = (u64)1700000000 * 1000000000ULL;
    mt += dt; ct += dt; at += dt;
    if (!statx) {
        put32(b, 0, 0x800);
        put64(b, 16, ino);
        put32(b, 24, mode);
        put32(b, 28, nlink);
        put32(b, 40, rdev);
        put64(b, 56, size);
        put32(b, 64, at / 1000000000); put32(b, 68, at % 1000000000);
        put32(b, 72, mt / 1000000000); put32(b, 76, mt % 1000000000);
        put32(b, 80, ct / 1000000000); put32(b, 84, ct % 1000000000);
        put32(b, 88, 4096);
        put64(b, 96, blocks);
        return copyout(current()->mm, ubuf, b, 104);
    }
    put32(b, 0, 0x7FF);
    put32(b, 4, 4096);
    put32(b, 16, nlink);
    b[28] = mode & 0xFF; b[29] = (mode >> 8) & 0xFF;
    put64(b, 32, ino);
    put64(b, 40, size);
    put64(b, 48, blocks);
    put64(b, 64, at / 1000000000); put32(b, 72, at % 1000000000);
    put64(b, 96, ct / 1000000000); put32(b, 104, ct % 1000000000);
    put64(b, 112, mt / 1000000000); put32(b, 120, mt % 1000000000);
    put32(b, 128, rdev >> 8); put32(b, 132, rdev & 0xFF);
    put32(b, 136, 8); put32(b, 140, 0);
    return copyout(current()->mm, ubuf, b, 256);
}

/* ------------------------------------------------------------ syscalls */
static int getpath(u32 upath, char *buf)
{
    int r = copyinstr(current()->mm, buf, upath, PATH_MAX);
    if (r < 0) return r;
    return 0;
}

static long do_openat(int dirfd, u32 upath, u32 flags, u32 mode)
{
    char path[PATH_MAX], last[NAME_MAX + 1];
    int err = getpath(upath, path);
    if (err) return err;
    if (!path[0]) return -ENOENT;
    FS_LOCK();
    struct inode *start = cwd_of(dirfd, &err);
    if (!start) { FS_UNLOCK(); return err; }
    struct inode *ip = walk(start, path, 0, NULL, &err);
    if (!ip && err == -ENOENT && (flags & O_CREAT)) {
        struct inode *dp = walk(start, path, 1, last, &err);
        if (!dp) { FS_UNLOCK(); return err; }
        if (!strcmp(last, ".") || !strcmp(last, "..")) { FS_UNLOCK(); return -EISDIR; }
        err = v_create(dp, last, S_IFREG | (mode & 07777), &ip);
        if (err) { FS_UNLOCK(); return err; }
    } else if (!ip) {
        FS_UNLOCK();
        return err;
    } else if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL)) {
        FS_UNLOCK();
        return -EEXIST;
    }
    if (S_ISDIR(ip->mode) && (flags & O_ACCMODE) != O_RDONLY) { FS_UNLOCK(); return -EISDIR; }
    if ((flags & O_DIRECTORY) && !S_ISDIR(ip->mode)) { FS_UNLOCK(); return -ENOTDIR; }
    if ((flags & O_TRUNC) && S_ISREG(ip->mode) && (flags & O_ACCMODE) != O_RDONLY)
        v_truncate(ip, 0);
    idup(ip);
    FS_UNLOCK();
    struct file *f = file_alloc();
    if (!f) { iput(ip); return -ENOMEM; }
    if (S_ISCHR(ip->mode) && ip->rdev == 1) {
        f->type = F_CONS;
        f->minor = 1;
        iput(ip);
    } else {
        f->type = F_INODE;
        f->ip = ip;
    }
    f->flags = flags & (O_ACCMODE | O_APPEND | O_NONBLOCK);
    int fd = fd_install(f, 0, flags & O_CLOEXEC);
    if (fd < 0) file_close(f);
    return fd;
}

static long do_iov(int fd, u32 iov, int cnt, int write)
{
    struct file *f = fd_get(fd);
    if (!f) return -EBADF;
    if (cnt < 0 || cnt > 1024) return -EINVAL;
    long total = 0;
    for (int i = 0; i < cnt; i++) {
        u32 v[2];
        if (copyin(current()->mm, v, iov + 8 * i, 8)) return total ? total : -EFAULT;
        if (!v[1]) continue;
        long r = write ? file_write(f, v[0], v[1]) : file_read(f, v[0], v[1]);
        if (r < 0) return total ? total : r;
        total += r;
        if ((u32)r < v[1]) break;
    }
    return total;
}

static long do_lseek(struct file *f, s64 off, int whence, s64 *res)
{
    if (f->type == F_PIPE) return -ESPIPE;
    if (f->type != F_INODE) { *res = 0; return 0; }
    s64 base;
    switch (whence) {
    case 0: base = 0; break;
    case 1: base = f->off; break;
    case 2: base = f->ip->size; break;
    default: return -EINVAL;
    }
    if (base + off < 0) return -EINVAL;
    f->off = base + off;
    if (S_ISDIR(f->ip->mode)) f->dirpos = f->off;
    *res = f->off;
    return 0;
}

static long do_getdents64(int fd, u32 ubuf, u32 count)
{
    struct file *f = fd_get(fd);
    if (!f) return -EBADF;
    if (f->type != F_INODE || !S_ISDIR(f->ip->mode)) return -ENOTDIR;
    u8 *tmp = page_alloc();
    if (!tmp) return -ENOMEM;
    u32 lim = MIN(count, PAGE_SIZE);
    u32 n = 0;
    long r = 0;
    FS_LOCK();
    struct inode *dp = f->ip;
    u64 pos = f->off;
    char name[NAME_MAX + 1];
    for (;;) {
        u64 next = pos;
        u32 ino;
        int type;
        int got = v_readdir(dp, &next, name, &ino, &type);
        if (got < 0) { r = got; break; }
        if (got == 0) break;
        u32 nl = strlen(name);
        u32 reclen = (19 + nl + 1 + 7) & ~7;
        if (n + reclen > lim) {
            if (n == 0) r = -EINVAL;
            break;
        }
        memset(tmp + n, 0, reclen);
        put64(tmp + n, 0, ino);
        put64(tmp + n, 8, next);
        tmp[n + 16] = reclen & 0xFF; tmp[n + 17] = reclen >> 8;
        tmp[n + 18] = type;
        memcpy(tmp + n + 19, name, nl);
        n += reclen;
        pos = next;
    }
    FS_UNLOCK();
    if (!r) {
        if (n && copyout(current()->mm, ubuf, tmp, n)) r = -EFAULT;
        else { f->off = pos; r = n; }
    }
    page_free(tmp);
    return r;
}

static long do_mkdirat(int dirfd, u32 upath, u32 mode)
{
    char path[PATH_MAX], last[NAME_MAX + 1];
    int err = getpath(upath, path);
    if (err) return err;
    FS_LOCK();
    struct inode *start = cwd_of(dirfd, &err);
    struct inode *dp = start ? walk(start, path, 1, last, &err) : NULL;
    if (!dp) { FS_UNLOCK(); return err == -EINVAL ? -EEXIST : err; }
    struct inode *ip;
    if (v_lookup(dp, last, &err)) { FS_UNLOCK(); return -EEXIST; }
    err = v_create(dp, last, S_IFDIR | (mode & 07777), &ip);
    FS_UNLOCK();
    return err;
}

static long do_unlinkat(int dirfd, u32 upath, int flags)
{
    char path[PATH_MAX], last[NAME_MAX + 1];
    int err = getpath(upath, path);
    if (err) return err;
    FS_LOCK();
    struct inode *start = cwd_of(dirfd, &err);
    struct inode *dp = start ? walk(start, path, 1, last, &err) : NULL;
    if (!dp) { FS_UNLOCK(); return err == -EINVAL ? -EBUSY : err; }
    err = v_unlink(dp, last, (flags & AT_REMOVEDIR) != 0);
    FS_UNLOCK();
    return err;
}

static long do_renameat(int od, u32 uold, int nd, u32 unew)
{
    char op[PATH_MAX], np[PATH_MAX], ol[NAME_MAX + 1], nl[NAME_MAX + 1];
    int err = getpath(uold, op);
    if (!err) err = getpath(unew, np);
    if (err) return err;
    FS_LOCK();
    struct inode *s1 = cwd_of(od, &err);
    struct inode *odp = s1 ? walk(s1, op, 1, ol, &err) : NULL;
    struct inode *s2 = odp ? cwd_of(nd, &err) : NULL;
    struct inode *ndp = s2 ? walk(s2, np, 1, nl, &err) : NULL;
    if (!ndp) { FS_UNLOCK(); return err == -EINVAL ? -EBUSY : err; }
    err = v_rename(odp, ol, ndp, nl);
    FS_UNLOCK();
    return err;
}

/* canonical absolute path of `path` relative to `cwd` (no symlinks) */
static int path_join(const char *cwd, const char *path, char *out)
{
    char buf[2 * PATH_MAX];
    if (path[0] == '/') strlcpy(buf, path, sizeof buf);
    else snprintf(buf, sizeof buf, "%s/%s", cwd, path);
    u32 n = 0;
    out[0] = 0;
    const char *p = buf;
    for (;;) {
        while (*p == '/') p++;
        if (!*p) break;
        const char *q = p;
        while (*q && *q != '/') q++;
        u32 l = q - p;
        if (l == 1 && p[0] == '.') {
        } else if (l == 2 && p[0] == '.' && p[1] == '.') {
            while (n > 0 && out[n - 1] != '/') n--;
            if (n > 0) n--;
            out[n] = 0;
        } else {
            if (n + 1 + l >= PATH_MAX) return -ENAMETOOLONG;
            out[n++] = '/';
            memcpy(out + n, p, l);
            n += l;
            out[n] = 0;
        }
        p = q;
    }
    if (n == 0) strcpy(out, "/");
    return 0;
}

static long do_chdir(u32 upath)
{
    char path[PATH_MAX], canon[PATH_MAX];
    int err = getpath(upath, path);
    if (err) return err;
    struct inode *ip = namei(path, &err);
    if (!ip) return err;
    if (!S_ISDIR(ip->mode)) { iput(ip); return -ENOTDIR; }
    struct files *fs = current()->files;
    err = path_join(fs->cwdpath, path, canon);
    if (err) { iput(ip); return err; }
    struct inode *old = fs->cwd;
    fs->cwd = ip;
    strcpy(fs->cwdpath, canon);
    iput(old);
    return 0;
}

static long do_fstatat(int dirfd, u32 upath, u32 ubuf, int flags, int statx)
{
    char path[PATH_MAX];
    int err = getpath(upath, path);
    if (err) return err;
    if (!path[0]) {
        if (!(flags & AT_EMPTY_PATH)) return -ENOENT;
        if (dirfd == AT_FDCWD) return vfs_stat(current()->files->cwd, NULL, ubuf, statx);
        struct file *f = fd_get(dirfd);
        if (!f) return -EBADF;
        return vfs_stat(f->type == F_INODE ? f->ip : NULL, f, ubuf, statx);
    }
    FS_LOCK();
    struct inode *start = cwd_of(dirfd, &err);
    struct inode *ip = start ? walk(start, path, 0, NULL, &err) : NULL;
    if (ip) idup(ip);
    FS_UNLOCK();
    if (!ip) return err;
    int r = vfs_stat(ip, NULL, ubuf, statx);
    iput(ip);
    return r;
}

long fs_syscall(int nr, u32 *a, struct tf *tf)
{
    struct file *f;
    struct task *t = current();
    switch (nr) {
    case NR_read:
        if (!(f = fd_get(a[0]))) return -EBADF;
        return file_read(f, a[1], a[2]);
    case NR_write:
        if (!(f = fd_get(a[0]))) return -EBADF;
        return file_write(f, a[1], a[2]);
    case NR_readv:
        return do_iov(a[0], a[1], a[2], 0);
    case NR_writev:
        return do_iov(a[0], a[1], a[2], 1);
    case NR_pread64: case NR_pwrite64: {
        if (!(f = fd_get(a[0]))) return -EBADF;
        if (f->type != F_INODE) return -ESPIPE;
        u64 save = f->off;
        f->off = ((u64)a[5] << 32) | a[4];
        long r = nr == NR_pread64 ? file_read(f, a[1], a[2]) : file_write(f, a[1], a[2]);
        f->off = save;
        return r;
    }
    case NR_open:
        return do_openat(AT_FDCWD, a[0], a[1], a[2]);
    case NR_openat:
        return do_openat(a[0], a[1], a[2], a[3]);
    case NR_creat:
        return do_openat(AT_FDCWD, a[0], O_CREAT | O_WRONLY | O_TRUNC, a[1]);
    case NR_close: {
        struct files *fs = t->files;
        if ((unsigned)a[0] >= NOFILE) return -EBADF;
        spin_lock(&fs->lock);
        f = fs->fd[a[0]];
        fs->fd[a[0]] = NULL;
        spin_unlock(&fs->lock);
        if (!f) return -EBADF;
        file_close(f);
        return 0;
    }
    case NR_lseek: {
        if (!(f = fd_get(a[0]))) return -EBADF;
        s64 res;
        long r = do_lseek(f, (s32)a[1], a[2], &res);
        return r ? r : (long)res;
    }
    case NR__llseek: {
        if (!(f = fd_get(a[0]))) return -EBADF;
        s64 res;
        long r = do_lseek(f, (s64)(((u64)a[1] << 32) | a[2]), a[4], &res);
        if (r) return r;
        return copyout(t->mm, a[3], &res, 8);
    }
    case NR_dup:
        if (!(f = fd_get(a[0]))) return -EBADF;
        file_dup(f);
        {
            int fd = fd_install(f, 0, 0);
            if (fd < 0) file_close(f);
            return fd;
        }
    case NR_dup2: case NR_dup3: {
        if (!(f = fd_get(a[0]))) return -EBADF;
        if ((unsigned)a[1] >= NOFILE) return -EBADF;
        if (a[0] == a[1]) return nr == NR_dup3 ? -EINVAL : (long)a[1];
        struct files *fs = t->files;
        file_dup(f);
        spin_lock(&fs->lock);
        struct file *old = fs->fd[a[1]];
        fs->fd[a[1]] = f;
        if (nr == NR_dup3 && (a[2] & O_CLOEXEC)) fs->cloexec |= 1ULL << a[1];
        else fs->cloexec &= ~(1ULL << a[1]);
        spin_unlock(&fs->lock);
        if (old) file_close(old);
        return a[1];
    }
    case NR_fcntl: case NR_fcntl64: {
        if (!(f = fd_get(a[0]))) return -EBADF;
        struct files *fs = t->files;
        switch (a[1]) {
        case 0: case 1030: {     /* F_DUPFD, F_DUPFD_CLOEXEC */
            file_dup(f);
            int fd = fd_install(f, a[2], a[1] == 1030);
            if (fd < 0) file_close(f);
            return fd;
        }
        case 1: return (fs->cloexec >> a[0]) & 1;
        case 2:
            if (a[2] & 1) fs->cloexec |= 1ULL << a[0]; else fs->cloexec &= ~(1ULL << a[0]);
            return 0;
        case 3: return f->flags;
        case 4: f->flags = (f->flags & ~(O_APPEND | O_NONBLOCK)) | (a[2] & (O_APPEND | O_NONBLOCK)); return 0;
        default: return -EINVAL;
        }
    }
    case NR_pipe: case NR_pipe2: {
        struct file *rf, *wf;
        int r = make_pipe(&rf, &wf);
        if (r) return r;
        u32 fl = nr == NR_pipe2 ? a[1] : 0;
        if (fl & O_NONBLOCK) { rf->flags |= O_NONBLOCK; wf->flags |= O_NONBLOCK; }
        int fd0 = fd_install(rf, 0, fl & O_CLOEXEC);
        if (fd0 < 0) { file_close(rf); file_close(wf); return fd0; }
        int fd1 = fd_install(wf, 0, fl & O_CLOEXEC);
        if (fd1 < 0) { t->files->fd[fd0] = NULL; file_close(rf); file_close(wf); return fd1; }
        if (nr == NR_pipe) {
            tf->regs[3] = fd1;
            return fd0;
        }
        int fds[2] = { fd0, fd1 };
        if (copyout(t->mm, a[0], fds, 8)) return -EFAULT;
        return 0;
    }
    case NR_ioctl:
        if (!(f = fd_get(a[0]))) return -EBADF;
        if (a[1] == 0x8927 && f->type == F_INODE && S_ISCHR(f->ip->mode) &&
            f->ip->rdev >= 0x10 && f->ip->rdev < 0x14) {   /* SIOCGIFHWADDR: the MAC */
            u8 mac[6];
            int r = net_mac(f->ip->rdev - 0x10, mac);
            if (r) return r;
            return copyout(t->mm, a[2], mac, 6) ? -EFAULT : 0;
        }
        if (a[1] == 0x467F) {         /* FIONREAD */
            u32 n = 0;
            if (f->type == F_INODE && f->off < f->ip->size) n = f->ip->size - f->off;
            else if (f->type == F_PIPE) n = f->pipe->w - f->pipe->r;
            else if (f->type != F_INODE) return -ENOTTY;
            return put_user32(a[2], n);
        }
        return -ENOTTY;
    case NR_fstat64:
        if (!(f = fd_get(a[0]))) return -EBADF;
        return vfs_stat(f->type == F_INODE ? f->ip : NULL, f, a[1], 0);
    case NR_stat64: case NR_lstat64:
        return do_fstatat(AT_FDCWD, a[0], a[1], 0, 0);
    case NR_fstatat64:
        return do_fstatat(a[0], a[1], a[2], a[3], 0);
    case NR_statx:
        return do_fstatat(a[0], a[1], a[4], a[2], 1);
    case NR_getdents64:
        return do_getdents64(a[0], a[1], a[2]);
    case NR_mkdir:
        return do_mkdirat(AT_FDCWD, a[0], a[1]);
    case NR_mkdirat:
        return do_mkdirat(a[0], a[1], a[2]);
    case NR_unlink:
        return do_unlinkat(AT_FDCWD, a[0], 0);
    case NR_rmdir:
        return do_unlinkat(AT_FDCWD, a[0], AT_REMOVEDIR);
    case NR_unlinkat:
        return do_unlinkat(a[0], a[1], a[2]);
    case NR_rename:
        return do_renameat(AT_FDCWD, a[0], AT_FDCWD, a[1]);
    case NR_renameat: case NR_renameat2:
        return do_renameat(a[0], a[1], a[2], a[3]);
    case NR_getcwd: {
        struct files *fs = t->files;
        u32 n = strlen(fs->cwdpath) + 1;
        if (a[1] < n) return -ERANGE;
        if (copyout(t->mm, a[0], fs->cwdpath, n)) return -EFAULT;
        return n;
    }
    case NR_chdir:
        return do_chdir(a[0]);
    case NR_fchdir: {
        if (!(f = fd_get(a[0]))) return -EBADF;
        return -ENOSYS;
    }
    case NR_access: case NR_faccessat: case NR_faccessat2: {
        char path[PATH_MAX];
        u32 up = nr == NR_access ? a[0] : a[1];
        int err = getpath(up, path);
        if (err) return err;
        FS_LOCK();
        struct inode *start = cwd_of(nr == NR_access ? AT_FDCWD : (int)a[0], &err);
        struct inode *ip = start ? walk(start, path, 0, NULL, &err) : NULL;
        FS_UNLOCK();
        return ip ? 0 : err;
    }
    case NR_ftruncate64: case NR_truncate64: {
        u32 len = a[2];
        if (nr == NR_ftruncate64) {
            if (!(f = fd_get(a[0]))) return -EBADF;
            if (f->type != F_INODE || !S_ISREG(f->ip->mode)) return -EINVAL;
            FS_LOCK();
            int r = v_truncate(f->ip, len);
            FS_UNLOCK();
            return r;
        }
        char path[PATH_MAX];
        int err = getpath(a[0], path);
        if (err) return err;
        struct inode *ip = namei(path, &err);
        if (!ip) return err;
        FS_LOCK();
        int r = S_ISREG(ip->mode) ? v_truncate(ip, len) : -EISDIR;
        FS_UNLOCK();
        iput(ip);
        return r;
    }
    case NR_fsync: case NR_fdatasync: case NR_sync:
        return 0;
    case NR_umask:
        return 022;
    case NR_readlink: case NR_readlinkat:
        return -EINVAL;
    case NR_chmod: case NR_fchmod: case NR_fchmodat: case NR_chown: case NR_lchown:
    case NR_fchown: case NR_fchownat: case NR_utimensat:
        return 0;
    }
    return -ENOSYS;
}

/* the console files of init: fds 0, 1, 2 */
void console_fds(struct files *fs)
{
    for (int i = 0; i < 3; i++) {
        struct file *f = file_alloc();
        f->type = F_CONS;
        f->minor = i;
        f->flags = i == 0 ? O_RDONLY : O_WRONLY;
        fs->fd[i] = f;
    }
}
