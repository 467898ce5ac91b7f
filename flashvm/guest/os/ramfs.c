/*
 * ramfs.c -- the in-memory file system: inodes that hold their data (a
 * slice of the initrd blob until first modified, then a page array) and
 * directories as lists of entries.  Called by vfs.c with fs_mutex held.
 */
#include "fs.h"

static u32 next_ino = 1;

struct rdent {
    char name[NAME_MAX + 1];
    struct inode *ip;
    struct rdent *next;
};

struct inode *ramfs_new(u32 mode)
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

int ramfs_read(struct inode *ip, void *buf, u32 off, u32 n)
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
        u8 *pg = page_alloc_kind(1, HAL_KIND_CACHE);
        if (!pg) return -ENOSPC;
        memcpy(pg, b + off, MIN(PAGE_SIZE, n - off));
        ip->pages[off >> PAGE_SHIFT] = pg;
    }
    return 0;
}

/* make `page` (a whole page the caller owns) page `pg` of the file, which then holds at
 * least `end` bytes: how received file-service pages join a file without a copy */
int ramfs_adopt_page(struct inode *ip, u32 pg, u8 *page, u32 end)
{
    if (inode_unblob(ip) || inode_grow_pages(ip, pg + 1)) return -ENOSPC;
    if (ip->pages[pg]) page_free(ip->pages[pg]);
    ip->pages[pg] = page;
    pc_write(ip, page, pg << PAGE_SHIFT, MIN(PAGE_SIZE, end - (pg << PAGE_SHIFT)));
    if (end > ip->size) ip->size = end;
    ip->mtime_ns = ip->ctime_ns = uptime_ns();
    return 0;
}

int ramfs_write(struct inode *ip, const void *buf, u32 off, u32 n)
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
            ip->pages[pg] = page_alloc_kind(1, HAL_KIND_CACHE);
            if (!ip->pages[pg]) break;
        }
        memcpy(ip->pages[pg] + po, s + done, k);
        done += k;
    }
    if (off + done > ip->size) ip->size = off + done;
    ip->mtime_ns = ip->ctime_ns = uptime_ns();
    return done ? (int)done : (n ? -ENOSPC : 0);
}

int ramfs_truncate(struct inode *ip, u32 len)
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
            if (ip->nlink == 0 && ip->refs == 0)
                inode_free(ip);
            return;
        }
    }
}

/* an inode with no links and no references left (vfs.c inode_free) */
void ramfs_free(struct inode *ip)
{
    inode_free_data(ip);
    kfree(ip);
}

struct inode *ramfs_lookup(struct inode *dp, const char *name, int *err)
{
    struct rdent *d = dir_find(dp, name);
    if (!d) { *err = -ENOENT; return NULL; }
    return d->ip;
}

int ramfs_create(struct inode *dp, const char *name, u32 mode, struct inode **out)
{
    if (strlen(name) > NAME_MAX) return -ENAMETOOLONG;
    struct inode *ip = ramfs_new(mode);
    if (!ip) return -ENOSPC;
    if (S_ISDIR(mode)) ip->nlink = 1;
    ip->mtime_ns = ip->ctime_ns = ip->atime_ns = uptime_ns();
    int r = dir_link(dp, name, ip);
    if (r) { kfree(ip); return r; }
    *out = ip;
    return 0;
}

/* a hard link: `name` in `dp` for the non-directory `ip` */
int ramfs_link(struct inode *dp, const char *name, struct inode *ip)
{
    int r = dir_link(dp, name, ip);
    if (!r) ip->ctime_ns = uptime_ns();
    return r;
}

/* `ip` is `name` in `dp`, of the kind the caller asked for */
int ramfs_unlink(struct inode *dp, const char *name, struct inode *ip, int isdir)
{
    if (isdir && ip->dents) return -ENOTEMPTY;
    dir_unlink_ent(dp, name);
    return 0;
}

/* `ip` is `on` in `odp`; `dst`, if not NULL, is what `nn` in `ndp` names now */
int ramfs_rename(struct inode *odp, const char *on, struct inode *ndp, const char *nn,
                 struct inode *ip, struct inode *dst)
{
    int err;
    if (dst == ip) return 0;
    if (S_ISDIR(ip->mode)) {
        for (struct inode *a = ndp; ; a = a->parent) {
            if (a == ip) return -EINVAL;
            if (a == rootdir || !a->parent) break;
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

int ramfs_readdir(struct inode *dp, u64 *cookie, char *name, u32 *ino, int *type)
{
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
        u32 m = d->ip->mode;
        *type = S_ISDIR(m) ? 4 : S_ISCHR(m) ? 2 : S_ISBLK(m) ? 6 : S_ISLNK(m) ? 10 : 8;
    }
    *cookie = pos + 1;
    return 1;
}
