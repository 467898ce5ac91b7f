/*
 * pcache.c -- the page cache of file-backed mappings: one physical page per
 * (inode, file page), shared read-only by every process that maps it.
 *
 * Each inode with cached pages has an array `pc` (physical address of file
 * page i, 0 = none) and sits on the list `pc_inodes`.  The cache holds one
 * reference on each of its pages (mm.c's page counts); every PTE mapping it
 * holds another, so a page with count 1 is mapped by nobody and can be
 * dropped.  Dropping happens when memory runs out (page_alloc_n calls
 * pc_reclaim), when the inode is freed, and on truncation.  write(2) copies
 * its bytes into the cached pages too (pc_write), so a mapping sees them.
 *
 * Locks: pc_lock (a spinlock) guards the arrays and the list; it is taken
 * under mm->lock (faults) and takes pg_lock (page_ref/page_unref), never
 * the other way round, and nothing allocates while holding it.  Filling a
 * page reads the file, so it runs under fs_mutex, as do pc_write and
 * pc_truncate: a page is never filled from data a concurrent write() is
 * about to change without that write seeing the page.
 */
#include "kernel.h"
#include "fs.h"

static struct spinlock pc_lock = SPINLOCK_INIT("pcache");
static struct inode *pc_inodes;         /* inodes with a pc array */
static u32 pc_npages;                   /* pages the cache holds */

u32 pcache_pages(void) { return pc_npages; }

/* the cached page of file page `idx` with a reference for the caller, or 0 */
u32 pc_get(struct inode *ip, u32 idx)
{
    u32 pa = 0;
    spin_lock(&pc_lock);
    if (idx < ip->pc_n && ip->pc[idx]) {
        pa = ip->pc[idx];
        page_ref(pa);
    }
    spin_unlock(&pc_lock);
    return pa;
}

/* make ip->pc hold at least n entries (fs_mutex held: the only grower) */
static int pc_grow(struct inode *ip, u32 n)
{
    if (n <= ip->pc_n) return 0;
    u32 cap = ip->pc_n ? ip->pc_n : 16;
    while (cap < n) cap *= 2;
    u32 *a = kzalloc(cap * sizeof *a);
    if (!a) return -ENOMEM;
    spin_lock(&pc_lock);
    u32 *old = ip->pc;
    if (old) memcpy(a, old, ip->pc_n * sizeof *a);
    if (!old) {
        ip->pc_next = pc_inodes;
        pc_inodes = ip;
    }
    ip->pc = a;
    ip->pc_n = cap;
    spin_unlock(&pc_lock);
    kfree(old);
    return 0;
}

/* File page `idx` of ip, from the cache or read into it; returns its
 * physical address with a reference for the caller, or 0 (no memory).
 * May sleep (disk). */
u32 pc_fill(struct inode *ip, u32 idx)
{
    u32 pa = pc_get(ip, idx);
    if (pa) return pa;
    int held = mutex_held(&fs_mutex);       /* a fault in a copyout under it */
    if (!held) FS_LOCK();
    pa = pc_get(ip, idx);                   /* filled while we waited? */
    if (!pa && !pc_grow(ip, idx + 1)) {
        u8 *pg = page_alloc_kind(1, HAL_KIND_CACHE);
        if (pg) {
            u32 off = idx << PAGE_SHIFT;
            u32 n = off < ip->size ? MIN(PAGE_SIZE, ip->size - off) : 0;
            /* a whole page from the disk goes straight in (flash_read_page) */
            if (n && (n != PAGE_SIZE || inode_read_page(ip, off, pg)))
                inode_read(ip, pg, off, n);
            pa = KV2PA(pg);
            page_ref(pa);                   /* the caller's; page_alloc's is the cache's */
            spin_lock(&pc_lock);
            ip->pc[idx] = pa;
            pc_npages++;
            spin_unlock(&pc_lock);
        }
    }
    if (!held) FS_UNLOCK();
    return pa;
}

/* drop the cache's reference on entry idx (pc_lock held) */
static void pc_drop(struct inode *ip, u32 idx)
{
    u32 pa = ip->pc[idx];
    ip->pc[idx] = 0;
    pc_npages--;
    page_unref(pa);
}

/* write(2) wrote buf to [off, off + n) of ip: the cached pages get it too
 * (fs_mutex held) */
void pc_write(struct inode *ip, const void *buf, u32 off, u32 n)
{
    if (!ip->pc || !n) return;
    const u8 *s = buf;
    spin_lock(&pc_lock);
    for (u32 done = 0; done < n; ) {
        u32 idx = (off + done) >> PAGE_SHIFT, po = (off + done) & (PAGE_SIZE - 1);
        u32 k = MIN(n - done, PAGE_SIZE - po);
        if (idx < ip->pc_n && ip->pc[idx])
            memcpy((u8 *)PA2KV(ip->pc[idx]) + po, s + done, k);
        done += k;
    }
    spin_unlock(&pc_lock);
}

/* ip is now len bytes long: pages wholly past the end leave the cache (a
 * process still mapping one keeps it, privately), the last one is zeroed
 * past the end (fs_mutex held) */
void pc_truncate(struct inode *ip, u32 len)
{
    if (!ip->pc) return;
    spin_lock(&pc_lock);
    u32 first = (len + PAGE_SIZE - 1) >> PAGE_SHIFT;
    for (u32 i = first; i < ip->pc_n; i++)
        if (ip->pc[i]) pc_drop(ip, i);
    u32 po = len & (PAGE_SIZE - 1);
    if (po && (len >> PAGE_SHIFT) < ip->pc_n && ip->pc[len >> PAGE_SHIFT])
        memset((u8 *)PA2KV(ip->pc[len >> PAGE_SHIFT]) + po, 0, PAGE_SIZE - po);
    spin_unlock(&pc_lock);
}

/* the inode goes away: its pages leave the cache (fs_mutex held) */
void pc_forget_inode(struct inode *ip)
{
    if (!ip->pc) return;
    spin_lock(&pc_lock);
    for (u32 i = 0; i < ip->pc_n; i++)
        if (ip->pc[i]) pc_drop(ip, i);
    for (struct inode **pp = &pc_inodes; *pp; pp = &(*pp)->pc_next)
        if (*pp == ip) { *pp = ip->pc_next; break; }
    u32 *a = ip->pc;
    ip->pc = NULL;
    ip->pc_n = 0;
    spin_unlock(&pc_lock);
    kfree(a);
}

/* Memory is short: free up to `want` cached pages nobody maps (count 1:
 * the cache's own reference; it can only grow under pc_lock).  Returns how
 * many were freed.  Called from page_alloc_n with no lock held. */
u32 pc_reclaim(u32 want)
{
    u32 freed = 0;
    spin_lock(&pc_lock);
    for (struct inode *ip = pc_inodes; ip && freed < want; ip = ip->pc_next)
        for (u32 i = 0; i < ip->pc_n && freed < want; i++)
            if (ip->pc[i] && page_refcount(ip->pc[i]) == 1) {
                pc_drop(ip, i);
                freed++;
            }
    spin_unlock(&pc_lock);
    return freed;
}
