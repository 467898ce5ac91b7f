/*
 * mm.c -- physical page allocator (node aware) and kmalloc.
 *
 * Every RAM page has a 16-bit reference count; 0 means free, RESERVED marks
 * the kernel image, boot info, the initrd and other pages that never return
 * to the pool.  With node-contiguous memory each node is a page range and a
 * CPU allocates from its own node first (CPU c is on node c * nnodes / ncpu),
 * falling back to the others in order.
 */
#include "kernel.h"

#define RESERVED 0xFFFF
u32 ram_bytes, nnodes, node_bytes;
static u32 npages;
static u16 *pgref;
static u32 nfree;
static u32 node_lo[MAXCPU], node_hi[MAXCPU], node_hint[MAXCPU];
static struct spinlock pg_lock = SPINLOCK_INIT("pages");
#ifdef KERNEL_HAL
/* the monitor shares machine pages between VMs: it is told of every page
 * that comes into use or goes out of it (monitor calls, one per page) */
static int hal_share;
static void hal_tell(u32 call, u32 page)
{
    *(volatile u32 *)(HAL_MCALL + call) = page << PAGE_SHIFT;
}

static void hal_tell_kind(u32 call, u32 page, u32 kind)
{
    *(volatile u32 *)(HAL_MCALL + call) = page << PAGE_SHIFT | kind;
}
#endif

u32 node_of_pa(u32 pa)
{
    if (node_bytes)
        return MIN(pa / node_bytes, nnodes - 1);
    if (bootinfo->interleave && nnodes)
        return (pa / bootinfo->interleave) % nnodes;
    return 0;
}

u32 cpu_node[MAXCPU];
int cpu_node_known;

static u32 my_node(void)
{
    if (nnodes <= 1 || !node_bytes)
        return 0;
    if (cpu_node_known)
        return MIN(cpu_node[cpuid()], nnodes - 1);
    return cpuid() * nnodes / ncpu;
}

void mm_init(u32 kernel_end_pa)
{
    ram_bytes = bootinfo->ram_bytes;
    nnodes = bootinfo->nnodes ? bootinfo->nnodes : 1;
    if (nnodes > MAXCPU) nnodes = MAXCPU;
    node_bytes = bootinfo->node_bytes;
    npages = ram_bytes >> PAGE_SHIFT;
#ifdef KERNEL_HAL
    hal_share = (bootinfo->flags & BOOT_SHARE) != 0;
#endif
    /* the reference counts live right after the kernel image */
    u32 pa = PGROUND(kernel_end_pa);
    pgref = PA2KV(pa);
    u32 tab = PGROUND(npages * sizeof(u16));
    memset(pgref, 0, tab);
    nfree = npages;
    mm_reserve(0, pa + tab);
    if (node_bytes && nnodes > 1) {
        for (u32 n = 0; n < nnodes; n++) {
            node_lo[n] = n * (node_bytes >> PAGE_SHIFT);
            node_hi[n] = MIN((n + 1) * (node_bytes >> PAGE_SHIFT), npages);
            node_hint[n] = node_lo[n];
        }
    } else {
        nnodes = nnodes ? nnodes : 1;
        node_lo[0] = 0;
        node_hi[0] = npages;
        node_hint[0] = 0;
        if (!node_bytes) {
            /* interleaved (or a single node): one pool */
            for (u32 n = 1; n < nnodes; n++) { node_lo[n] = 0; node_hi[n] = npages; node_hint[n] = 0; }
        }
    }
}

void mm_reserve(u32 pa, u32 len)
{
    for (u32 p = pa >> PAGE_SHIFT; p < PGROUND(pa + len) >> PAGE_SHIFT && p < npages; p++) {
        if (pgref[p] == 0)
            nfree--;
#ifdef KERNEL_HAL
        if (hal_share && pgref[p] != RESERVED)
            hal_tell(HAL_MC_RESERVE, p);
#endif
        pgref[p] = RESERVED;
    }
}

u32 pages_free(void) { return nfree; }

static int find_run(u32 node, int n)
{
    u32 lo = node_lo[node], hi = node_hi[node];
    u32 start = node_hint[node];
    if (start < lo || start >= hi) start = lo;
    for (int pass = 0; pass < 2; pass++) {
        u32 a = pass ? lo : start, b = pass ? start : hi;
        u32 run = 0;
        for (u32 p = a; p < b; p++) {
            if (pgref[p] == 0) {
                if (++run == (u32)n) {
                    u32 first = p + 1 - n;
                    node_hint[node] = p + 1;
                    return first;
                }
            } else {
                run = 0;
            }
        }
    }
    return -1;
}

u32 pages_available(void) { return nfree + pcache_pages(); }

#ifdef KERNEL_HAL
void *page_alloc_kind(int n, u32 kind)
#else
void *page_alloc_n(int n)
#endif
{
    int p;
    for (int tries = 0; ; tries++) {
        spin_lock(&pg_lock);
        u32 me = my_node();
        p = -1;
        if ((u32)n <= nfree) {
            for (u32 k = 0; k < nnodes && p < 0; k++)
                p = find_run((me + k) % nnodes, n);
        }
        if (p >= 0) break;
        spin_unlock(&pg_lock);
        /* out of pages: take back page-cache pages nobody maps, a batch at a time */
        if (tries >= 8 || !pc_reclaim(MAX(64, 4 * n)))
            return NULL;
    }
    for (int i = 0; i < n; i++)
        pgref[p + i] = 1;
    nfree -= n;
    spin_unlock(&pg_lock);
    void *va = PA2KV((u32)p << PAGE_SHIFT);
#ifdef KERNEL_HAL
    /* the monitor zeroes pages anyway (isolation): ask it instead of doing it */
    for (int i = 0; i < n; i++) {
        if (hal_share)
            hal_tell_kind(HAL_MC_ALLOC, (u32)p + i, kind);
        else
            hal_tell(HAL_MC_ZERO, (u32)p + i);
    }
#else
    memset(va, 0, n * PAGE_SIZE);
#endif
    return va;
}

#ifdef KERNEL_HAL
void *page_alloc_n(int n) { return page_alloc_kind(n, HAL_KIND_DATA); }
#endif

void *page_alloc(void) { return page_alloc_n(1); }

void page_free_n(void *va, int n)
{
    u32 p = KV2PA(va) >> PAGE_SHIFT;
    spin_lock(&pg_lock);
    for (int i = 0; i < n; i++) {
        assert(pgref[p + i] == 1);
        pgref[p + i] = 0;
    }
    nfree += n;
    spin_unlock(&pg_lock);
#ifdef KERNEL_HAL
    for (int i = 0; i < n; i++)          /* a hint: the monitor may take the page back */
        hal_tell(hal_share ? HAL_MC_RELEASE : HAL_MC_FREE, p + i);
#endif
}

void page_free(void *va) { page_free_n(va, 1); }

void page_ref(u32 pa)
{
    spin_lock(&pg_lock);
    u32 p = pa >> PAGE_SHIFT;
    assert(pgref[p] != 0);
    if (pgref[p] != RESERVED)
        pgref[p]++;
    spin_unlock(&pg_lock);
}

int page_refcount(u32 pa)
{
    return pgref[pa >> PAGE_SHIFT];
}

void page_unref(u32 pa)
{
    spin_lock(&pg_lock);
    u32 p = pa >> PAGE_SHIFT;
    assert(pgref[p] != 0);
    int freed = pgref[p] != RESERVED && --pgref[p] == 0;
    if (freed)
        nfree++;
    spin_unlock(&pg_lock);
#ifdef KERNEL_HAL
    if (freed && hal_share)              /* the last reference: the page is free */
        hal_tell(HAL_MC_RELEASE, p);
#else
    (void)freed;
#endif
}

/* ------------------------------------------------------------ kmalloc */
#define NCLASS 8                     /* 16 .. 2048 bytes */
struct freeobj { struct freeobj *next; };
static struct freeobj *freelist[NCLASS];
static struct spinlock km_lock = SPINLOCK_INIT("kmalloc");
struct khdr { u32 cls; u32 npages; };

void *kmalloc(size_t n)
{
    n += sizeof(struct khdr);
    if (n > 2048) {
        int np = (n + PAGE_SIZE - 1) >> PAGE_SHIFT;
        struct khdr *h = page_alloc_n(np);
        if (!h) return NULL;
        h->cls = 0xFF;
        h->npages = np;
        return h + 1;
    }
    int c = 0;
    while ((16u << c) < n) c++;
    spin_lock(&km_lock);
    if (!freelist[c]) {
        spin_unlock(&km_lock);
        u8 *pg = page_alloc();
        if (!pg) return NULL;
        spin_lock(&km_lock);
        u32 sz = 16u << c;
        for (u32 off = 0; off + sz <= PAGE_SIZE; off += sz) {
            struct freeobj *f = (struct freeobj *)(pg + off);
            f->next = freelist[c];
            freelist[c] = f;
        }
    }
    struct freeobj *f = freelist[c];
    freelist[c] = f->next;
    spin_unlock(&km_lock);
    struct khdr *h = (struct khdr *)f;
    h->cls = c;
    h->npages = 0;
    return h + 1;
}

void *kzalloc(size_t n)
{
    void *p = kmalloc(n);
    if (p) memset(p, 0, n);
    return p;
}

void kfree(void *p)
{
    if (!p) return;
    struct khdr *h = (struct khdr *)p - 1;
    if (h->cls == 0xFF) {
        page_free_n(h, h->npages);
        return;
    }
    assert(h->cls < NCLASS);
    int c = h->cls;
    spin_lock(&km_lock);
    struct freeobj *f = (struct freeobj *)h;
    f->next = freelist[c];
    freelist[c] = f;
    spin_unlock(&km_lock);
}
