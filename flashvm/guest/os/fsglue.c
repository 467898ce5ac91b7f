/*
 * fsglue.c -- the flashfs library (fs/flashfs.c) behind the VFS: its block
 * device is disk 0, and its inodes are cached as `struct inode`s (copies of
 * the on-disk attributes, kept in a list for the life of the mount, freed
 * after an unlinked file's last close).  Called with fs_mutex held.
 */
#include "fs.h"
#include "fs/flashfs.h"

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

struct inode *flash_iget(u32 ino)
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

/* forget an inode that has no links and no references left (vfs.c inode_free) */
void flash_release(struct inode *ip)
{
    for (struct inode **pp = &icache; *pp; pp = &(*pp)->hnext)
        if (*pp == ip) { *pp = ip->hnext; break; }
    fs_release(ffs, ip->ino);
    kfree(ip);
}

int flash_read(struct inode *ip, void *buf, u32 off, u32 n)
{
    return ferr(fs_read(ffs, ip->ino, off, buf, n));
}

/* read the whole page at `off` (page-aligned, inside the file) of `ip` into
 * the page-aligned `page` straight from the disk (a page-cache fill the
 * monitor may serve by sharing a machine page); -1 when it cannot (a hole,
 * a newer copy in the buffer cache): the caller copies instead */
int flash_read_page(struct inode *ip, u32 off, void *page)
{
    u32 bno;
    if (!ffs || fs_file_block(ffs, ip->ino, off, &bno) || !bno || off + PAGE_SIZE > ip->size)
        return -1;
    return disk_read_page(0, (u64)bno * 4096, page) ? -1 : 0;
}

int flash_write(struct inode *ip, const void *buf, u32 off, u32 n)
{
    int r = ferr(fs_write(ffs, ip->ino, off, buf, n));
    if (r > 0 && off + r > ip->size) ip->size = off + r;
    ip->mtime_ns = ip->ctime_ns = uptime_ns();
    return r;
}

int flash_truncate(struct inode *ip, u32 len)
{
    int r = ferr(fs_truncate(ffs, ip->ino, len));
    if (!r) ip->size = len;
    return r;
}

struct inode *flash_lookup(struct inode *dp, const char *name, int *err)
{
    u32 ino;
    int r = ferr(fs_lookup(ffs, dp->ino, name, &ino));
    if (r) { *err = r; return NULL; }
    struct inode *ip = flash_iget(ino);
    if (!ip) { *err = -ENOMEM; return NULL; }
    return ip;
}

int flash_create(struct inode *dp, const char *name, u32 mode, struct inode **out)
{
    u32 ino;
    int r = S_ISDIR(mode) ? ferr(fs_mkdir(ffs, dp->ino, name, mode & 07777, &ino))
                          : ferr(fs_create(ffs, dp->ino, name, mode, &ino));
    if (r) return r;
    frefresh(dp);
    *out = flash_iget(ino);
    return *out ? 0 : -ENOMEM;
}

int flash_symlink(struct inode *dp, const char *name, const char *target)
{
    u32 ino;
    int r = ferr(fs_symlink(ffs, dp->ino, name, target, &ino));
    if (!r) frefresh(dp);
    return r;
}

int flash_readlink(struct inode *ip, char *buf, u32 n)
{
    return ferr(fs_readlink(ffs, ip->ino, buf, n));
}

/* a hard link: `name` in `dp` for the non-directory `ip` */
int flash_link(struct inode *dp, const char *name, struct inode *ip)
{
    int r = ferr(fs_link(ffs, ip->ino, dp->ino, name));
    if (r) return r;
    frefresh(dp);
    frefresh(ip);
    return 0;
}

/* block and inode counts for statfs */
void flash_statfs(u32 *blocks, u32 *bfree, u32 *files, u32 *ffree)
{
    fs_statfs(ffs, blocks, bfree, files, ffree);
}

/* `ip` is `name` in `dp`, of the kind the caller asked for */
int flash_unlink(struct inode *dp, const char *name, struct inode *ip, int isdir)
{
    int r = isdir ? ferr(fs_rmdir(ffs, dp->ino, name)) : ferr(fs_unlink(ffs, dp->ino, name));
    if (r) return r;
    frefresh(dp);
    frefresh(ip);
    if (ip->nlink == 0 && ip->refs == 0) inode_free(ip);
    return 0;
}

/* `ip` is `on` in `odp`; `dst`, if not NULL, is what `nn` in `ndp` names now */
int flash_rename(struct inode *odp, const char *on, struct inode *ndp, const char *nn,
                 struct inode *ip, struct inode *dst)
{
    int r = ferr(fs_rename(ffs, odp->ino, on, ndp->ino, nn));
    if (r) return r;
    frefresh(odp);
    frefresh(ndp);
    if (dst && dst != ip) {
        frefresh(dst);
        if (dst->nlink == 0 && dst->refs == 0) inode_free(dst);
    }
    return 0;
}

int flash_readdir(struct inode *dp, u64 *cookie, char *name, u32 *ino, int *type)
{
    struct fs_dirent de;
    int r = ferr(fs_readdir(ffs, dp->ino, cookie, &de));
    if (r <= 0) return r;
    strlcpy(name, de.name, NAME_MAX + 1);
    *ino = de.ino;
    *type = de.type;
    return 1;
}

/* ------------------------------------------------------------ mounting */
static int fdev_read(void *ctx, uint32_t b, void *buf)
{
    (void)ctx;
    /* buffer-cache blocks are page-aligned pages: DMA them whole */
    if (!((u32)buf & (PAGE_SIZE - 1)) && disk_read_page(0, (u64)b * 4096, buf) == 0)
        return 0;
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

/* mount disk 0 as the root when it holds a flashfs image; 1 = mounted */
int flash_mount(void)
{
    if (!disk_count() || disk_capacity(0) < 64) return 0;
    u32 sb[4];
    if (disk_rw(0, 0, sb, sizeof sb, 0) != sizeof sb || sb[0] != FS_MAGIC) return 0;
    enum { NBUF = 256 };
    u32 bytes = FS_CACHE_BYTES(NBUF);
    void *cache = page_alloc_kind((bytes + PAGE_SIZE - 1) / PAGE_SIZE, HAL_KIND_CACHE);   /* the block cache */
    ffs = kzalloc(sizeof *ffs);
    if (!cache || !ffs) panic("no memory for the flashfs cache");
    struct fs_dev dev = { NULL, fdev_read, fdev_write, fdev_is_open, fdev_now };
    int r = fs_mount(ffs, &dev, cache, bytes);
    if (r) {
        kprintf("disk0: flashfs mount failed (%d)\n", r);
        ffs = NULL;
        return 0;
    }
    rootdir = flash_iget(FS_ROOT_INO);
    rootdir->refs++;
    if (bootinfo->verbose) kprintf("root file system: flashfs on disk0\n");
    return 1;
}

void fs_sync_all(void)
{
    if (ffs) {
        FS_LOCK();
        int r = fs_sync(ffs);
        FS_UNLOCK();
        if (r) kprintf("fs_sync: error %d\n", r);
    }
}
