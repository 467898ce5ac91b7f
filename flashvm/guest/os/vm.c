/*
 * vm.c -- address spaces: two-level page tables, VMAs, the TLB and ASIDs,
 * demand-zero / file-backed / copy-on-write faults, user memory access.
 *
 * A page directory is one page of 1024 words, each the kseg0 address of a
 * page of 1024 PTEs (4 MB of address space) or of the shared zero table.
 * PTEs are EntryLo values, so the refill handler (start.S) copies an
 * even/odd pair straight into EntryLo0/1.  Kernel code never touches user
 * addresses directly: copyin/copyout walk the tables and fault pages in.
 */
#include "kernel.h"
#include "fs.h"

static u32 *zero_table;           /* pte page with no valid entries */
u32 pgd_current[MAXCPU];
static int ntlb, nwired;

#define ASID_MASK 0xFF
#define ASID_VERSION 0x100

/* ------------------------------------------------------------ TLB */
static void tlb_write_index(int i, u32 hi, u32 lo0, u32 lo1)
{
    mtc0(0, 0, i);
    mtc0(10, 0, hi);
    mtc0(2, 0, lo0);
    mtc0(3, 0, lo1);
    __asm__ volatile("tlbwi\n\tehb" ::: "memory");
}

void tlb_flush_all(void)
{
    u32 s = irq_off();
    u32 old = mfc0(10, 0);
    mtc0(5, 0, 0);
    for (int i = nwired; i < ntlb; i++)
        tlb_write_index(i, KSEG0 + ((u32)i << 13), 0, 0);
    mtc0(10, 0, old);
    irq_restore(s);
}

void tlb_init(void)
{
    ntlb = ((mfc0(16, 1) >> 25) & 0x3F) + 1;
    nwired = mfc0(6, 0);              /* the mapped kernel's entries (start.S) */
    mtc0(5, 0, 0);                    /* PageMask 4K */
    tlb_flush_all();
    mtc0(10, 0, 0);
    if (!zero_table) {
        zero_table = page_alloc();
        assert(zero_table);
    }
}

static void get_new_asid(struct mm *mm, struct cpu *c)
{
    u32 a = c->asid_cache + 1;
    if ((a & ASID_MASK) == 0) {
        tlb_flush_all();
        if (a == 0) a = ASID_VERSION;
        a++;                         /* ASID 0 stays the kernel's */
    }
    c->asid_cache = a;
    mm->asid[c->id] = a;
}

void mm_activate(struct mm *mm)
{
    struct cpu *c = mycpu();
    if (!mm) {
        pgd_current[c->id] = (u32)zero_table - 0;   /* never walked: no user mode */
        mtc0(10, 0, 0);
        return;
    }
    if (((mm->asid[c->id] ^ c->asid_cache) & ~ASID_MASK) || !mm->asid[c->id])
        get_new_asid(mm, c);
    __atomic_fetch_or(&mm->cpumask, 1u << c->id, __ATOMIC_SEQ_CST);
    pgd_current[c->id] = (u32)mm->pgd;
    mtc0(10, 0, mm->asid[c->id] & ASID_MASK);
}

/* Forget mm's translations on every CPU but this one: their ASIDs of mm go
 * stale (a fresh one on its next activation there), and a CPU running mm
 * right now takes its new ASID before this returns. */
static void tlb_flush_others(struct mm *mm)
{
    struct cpu *c = mycpu();
    u32 others = mm->cpumask & ~(1u << c->id);
    for (unsigned i = 0; i < ncpu; i++)
        if (others & (1u << i))
            mm->asid[i] = 0;
    u32 waitmask = 0;
    for (unsigned i = 0; i < ncpu; i++) {
        /* read another CPU's current task once: it may go idle (NULL) at any moment */
        struct task *ct = (others & (1u << i)) ? __atomic_load_n(&cpus[i].cur, __ATOMIC_ACQUIRE) : 0;
        if (ct && ct->mm == mm) {
            __atomic_fetch_or(&cpus[i].tlb_ackto, 1u << c->id, __ATOMIC_SEQ_CST);
            send_ipi(i, IPI_TLBFLUSH);
            waitmask |= 1u << i;
        }
    }
    /* synchronous shootdown: wait until each CPU still running this mm has
     * taken its new ASID (they do so in the IPI handler or while waiting for
     * a lock); serve our own requests meanwhile.  A CPU that has not yet is
     * not running at this moment (the machine runs CPUs in turns): rather
     * than spin, wait in WAIT for its acknowledgement, an IPI back. */
    for (int tries = 0; waitmask && smp_hw; tries++) {
        for (unsigned i = 0; i < ncpu; i++) {
            if (!(waitmask & (1u << i))) continue;
            /* asked again each time, before looking: an acknowledgement
             * of an earlier request may have used up the first asking */
            __atomic_fetch_or(&cpus[i].tlb_ackto, 1u << c->id, __ATOMIC_SEQ_CST);
            struct task *ct = __atomic_load_n(&cpus[i].cur, __ATOMIC_ACQUIRE);
            if (!(cpus[i].pending_ipi & IPI_TLBFLUSH) || !ct || ct->mm != mm)
                waitmask &= ~(1u << i);
        }
        if (c->pending_ipi & IPI_TLBFLUSH) {
            __atomic_fetch_and(&c->pending_ipi, ~IPI_TLBFLUSH, __ATOMIC_SEQ_CST);
            tlb_ipi_flush();
        }
        if (waitmask && tries >= 4) {
            __asm__ volatile("wait" ::: "memory");
            ipi_poll();
        }
    }
}

/* Forget every translation of mm: a fresh ASID here, stale ones elsewhere. */
void tlb_flush_mm(struct mm *mm)
{
    struct cpu *c = mycpu();
    struct task *t = c->cur;
    if (t && t->mm == mm) {
        get_new_asid(mm, c);
        mtc0(10, 0, mm->asid[c->id] & ASID_MASK);
    } else {
        mm->asid[c->id] = 0;
    }
    tlb_flush_others(mm);
}

/* IPI: our current mm's ASID was invalidated by another CPU. */
void tlb_ipi_flush(void)
{
    struct cpu *c = mycpu();
    /* who waits for this flush: taken before it, told after it (an initiator
     * that asks later looks at our request bit again before it waits) */
    u32 w = __atomic_exchange_n(&c->tlb_ackto, 0, __ATOMIC_SEQ_CST);
    struct task *t = c->cur;
    if (t && t->mm)
        mm_activate(t->mm);
    for (int i = 0; w; i++, w >>= 1)
        if (w & 1) send_ipi(i, 0);
}

/* Rewrite this CPU's TLB entry for va (if any) from the page table. */
static void tlb_update(struct mm *mm, u32 va, u32 *pte)
{
    struct cpu *c = mycpu();
    if (!c->cur || c->cur->mm != mm)
        return;
    u32 s = irq_off();
    u32 old = mfc0(10, 0);
    u32 *pair = (u32 *)((u32)pte & ~7);
    mtc0(10, 0, (va & ~0x1FFF) | (mm->asid[c->id] & ASID_MASK));
    __asm__ volatile("tlbp\n\tehb" ::: "memory");
    s32 idx = mfc0(0, 0);
    if (idx >= 0) {
        mtc0(2, 0, pair[0]);
        mtc0(3, 0, pair[1]);
        __asm__ volatile("tlbwi\n\tehb" ::: "memory");
    }
    mtc0(10, 0, old);
    irq_restore(s);
}

void tlb_flush_page(struct mm *mm, u32 va)
{
    (void)va;
    tlb_flush_mm(mm);
}

/* ------------------------------------------------------------ page tables */
static u32 *pte_lookup(struct mm *mm, u32 va, int alloc)
{
    u32 *pde = &mm->pgd[va >> 22];
    u32 *pt = (u32 *)*pde;
    if (pt == zero_table) {
        if (!alloc) return NULL;
        pt = page_alloc();
        if (!pt) return NULL;
        *pde = (u32)pt;
    }
    return &pt[(va >> 12) & 1023];
}

struct mm *mm_new(void)
{
    struct mm *mm = kzalloc(sizeof *mm);
    if (!mm) return NULL;
    mm->pgd = page_alloc();
    if (!mm->pgd) { kfree(mm); return NULL; }
    for (int i = 0; i < 1024; i++)
        mm->pgd[i] = (u32)zero_table;
    mm->refs = 1;
    mm->mmap_top = MMAP_TOP;
    spin_init(&mm->lock, "mm");
    return mm;
}

static void vma_free(struct vma *v)
{
    if (v->ip) iput(v->ip);
    kfree(v);
}

/* the PTEs of [start, end) a page table at a time; `fn` for each that is
 * not zero (the ranges are often large and sparse: thread stacks) */
static void for_ptes(struct mm *mm, u32 start, u32 end, void (*fn)(u32 *pte, u32 arg), u32 arg)
{
    for (u32 va = start; va < end; ) {
        u32 next = (va | 0x3FFFFF) + 1;          /* the next page table's first address */
        u32 stop = next && next < end ? next : end;
        u32 *pt = (u32 *)mm->pgd[va >> 22];
        if (pt != zero_table) {
            u32 *pte = &pt[(va >> 12) & 1023], *last = pte + ((stop - va + PAGE_SIZE - 1) >> 12);
            for (; pte < last; pte++)
                if (*pte) fn(pte, arg);
        }
        if (!next) break;
        va = next;
    }
}

static void unmap_pte(u32 *pte, u32 arg)
{
    (void)arg;
    if (*pte & PTE_P)
        page_unref(PTE_PA(*pte));
    *pte = 0;
}

static void unmap_ptes(struct mm *mm, u32 start, u32 end)
{
    for_ptes(mm, start, end, unmap_pte, 0);
}

void mm_put(struct mm *mm)
{
    if (__atomic_sub_fetch(&mm->refs, 1, __ATOMIC_SEQ_CST) > 0)
        return;
    for (struct vma *v = mm->vmas, *n; v; v = n) {
        n = v->next;
        unmap_ptes(mm, v->start, v->end);
        vma_free(v);
    }
    for (int i = 0; i < 512; i++)
        if (mm->pgd[i] != (u32)zero_table)
            page_free((void *)mm->pgd[i]);
    page_free(mm->pgd);
    kfree(mm);
}

struct vma *vma_find(struct mm *mm, u32 va)
{
    for (struct vma *v = mm->vmas; v; v = v->next) {
        if (va < v->start) return NULL;
        if (va < v->end) return v;
    }
    return NULL;
}

/* make sure no VMA straddles addr */
static int vma_split(struct mm *mm, u32 addr)
{
    for (struct vma *v = mm->vmas; v; v = v->next) {
        if (addr <= v->start) return 0;
        if (addr < v->end) {
            struct vma *n = kmalloc(sizeof *n);
            if (!n) return -ENOMEM;
            *n = *v;
            n->start = addr;
            u32 cut = addr - v->start;
            n->off = v->off + cut;
            n->filesz = v->filesz > cut ? v->filesz - cut : 0;
            if (n->ip) idup(n->ip);
            v->end = addr;
            v->filesz = MIN(v->filesz, cut);
            v->next = n;
            return 0;
        }
    }
    return 0;
}

/* A VMA's file reference is dropped with iput, which takes fs_mutex and so
 * may sleep: never with mm->lock (a spinlock) held.  vm_unmap_locked chains
 * the VMAs it removes on *dead; the caller frees them after the unlock. */
static void vmas_free(struct vma *v)
{
    for (struct vma *n; v; v = n) {
        n = v->next;
        vma_free(v);
    }
}

static void hide_pte(u32 *pte, u32 arg)
{
    (void)arg;
    *pte &= ~PTE_V;
}

static int vm_unmap_locked(struct mm *mm, u32 start, u32 end, struct vma **dead)
{
    if (vma_split(mm, start) || vma_split(mm, end))
        return -ENOMEM;
    struct vma **pp = &mm->vmas, *before = *dead;
    int any = 0;
    while (*pp) {
        struct vma *v = *pp;
        if (v->start >= start && v->end <= end) {
            *pp = v->next;
            /* invalid first, freed after the flush: until then a thread on
             * another CPU may still reach the pages through its TLB (and a
             * refill meanwhile loads an invalid entry: the fault waits for
             * mm->lock, then finds no VMA) */
            for_ptes(mm, v->start, v->end, hide_pte, 0);
            v->next = *dead;
            *dead = v;
            any = 1;
        } else {
            pp = &v->next;
        }
    }
    if (!any) return 0;
    tlb_flush_mm(mm);
    for (struct vma *v = *dead; v != before; v = v->next)
        unmap_ptes(mm, v->start, v->end);
    return 0;
}

int vm_unmap(struct mm *mm, u32 start, u32 len)
{
    if (start & (PAGE_SIZE - 1)) return -EINVAL;
    u32 end = PGROUND(start + len);
    if (len == 0 || end <= start || end > USER_TOP) return -EINVAL;
    struct vma *dead = NULL;
    spin_lock(&mm->lock);
    int r = vm_unmap_locked(mm, start, end, &dead);
    spin_unlock(&mm->lock);
    vmas_free(dead);
    return r;
}

int vm_map(struct mm *mm, u32 start, u32 len, u32 prot, u32 flags, struct inode *ip,
           u32 off, u32 filesz)
{
    u32 end = PGROUND(start + len);
    if (start & (PAGE_SIZE - 1) || end <= start || end > USER_TOP || start < 0x1000)
        return -EINVAL;
    struct vma *dead = NULL;
    spin_lock(&mm->lock);
    int r = vm_unmap_locked(mm, start, end, &dead);
    if (r) { spin_unlock(&mm->lock); vmas_free(dead); return r; }
    struct vma **pp = &mm->vmas, *prev = NULL;
    while (*pp && (*pp)->start < start) { prev = *pp; pp = &(*pp)->next; }
    if (prev && !ip && !prev->ip && prev->end == start && prev->prot == prot &&
        prev->flags == flags) {
        prev->end = end;
        spin_unlock(&mm->lock);
        vmas_free(dead);
        return 0;
    }
    struct vma *v = kzalloc(sizeof *v);
    if (!v) { spin_unlock(&mm->lock); vmas_free(dead); return -ENOMEM; }
    v->start = start;
    v->end = end;
    v->prot = prot;
    v->flags = flags;
    v->ip = ip;
    if (ip) idup(ip);
    v->off = off;
    v->filesz = filesz;
    v->next = *pp;
    *pp = v;
    spin_unlock(&mm->lock);
    vmas_free(dead);
    return 0;
}

static void protect_pte(u32 *pte, u32 prot)
{
    if (!(*pte & PTE_P)) return;
    if (!(prot & VM_WRITE))
        *pte &= ~(PTE_D | PTE_SW_W);
    else
        *pte |= PTE_SW_W;
    if (!(prot & (VM_READ | VM_WRITE | VM_EXEC)))
        *pte &= ~PTE_V;
    else
        *pte |= PTE_V;
}

int vm_protect(struct mm *mm, u32 start, u32 len, u32 prot)
{
    if (start & (PAGE_SIZE - 1)) return -EINVAL;
    u32 end = PGROUND(start + len);
    if (end < start || end > USER_TOP) return -EINVAL;
    if (end == start) return 0;
    spin_lock(&mm->lock);
    /* the whole range must be mapped */
    u32 a = start;
    for (struct vma *v = mm->vmas; v && a < end; v = v->next) {
        if (v->end <= a) continue;
        if (v->start > a) break;
        a = v->end;
    }
    if (a < end) { spin_unlock(&mm->lock); return -ENOMEM; }
    if (vma_split(mm, start) || vma_split(mm, end)) { spin_unlock(&mm->lock); return -ENOMEM; }
    for (struct vma *v = mm->vmas; v; v = v->next) {
        if (v->start >= start && v->end <= end) {
            v->prot = prot;
            for_ptes(mm, v->start, v->end, protect_pte, prot);
        }
    }
    tlb_flush_mm(mm);
    spin_unlock(&mm->lock);
    return 0;
}

u32 vm_find_free(struct mm *mm, u32 len, u32 hint)
{
    len = PGROUND(len);
    u32 best = 0;
    spin_lock(&mm->lock);
    if (hint && !(hint & (PAGE_SIZE - 1)) && hint >= 0x10000 && hint + len <= MMAP_TOP &&
        hint + len > hint) {
        int ok = 1;
        for (struct vma *v = mm->vmas; v; v = v->next)
            if (v->start < hint + len && v->end > hint) { ok = 0; break; }
        if (ok) { spin_unlock(&mm->lock); return hint; }
    }
    u32 lo = 0x10000;
    for (struct vma *v = mm->vmas; ; v = v->next) {
        u32 hi = v ? MIN(v->start, mm->mmap_top) : mm->mmap_top;
        if (hi >= lo + len && hi > lo)
            best = hi - len;            /* highest gap wins: keep going */
        if (!v) break;
        if (v->end > lo) lo = v->end;
        if (lo >= mm->mmap_top) break;
    }
    spin_unlock(&mm->lock);
    return best;
}

/* ------------------------------------------------------------ faults */
/* Whether page `rel` of file mapping v comes from the page cache: a page
 * aligned in the file, wholly file data in this mapping or the file's last
 * page (the cache has zeros past the end).  Not: the partial last page of
 * an ELF segment, whose bytes past p_filesz must read as zero although the
 * file goes on.  File mappings are private (do_mmap), never VM_SHARED. */
static int cacheable(struct vma *v, u32 rel)
{
    u32 off = v->off + rel;
    if (off & (PAGE_SIZE - 1)) return 0;
    return rel + PAGE_SIZE <= v->filesz || v->off + v->filesz >= v->ip->size;
}

/* Handle a fault with mm->lock held.  A page that needs file data is read
 * by the caller without the lock (the read may sleep): then this returns
 * 1 with *need_file set, and is called again with that page in *prepared. */
static int fault_locked(struct mm *mm, u32 va, int write, u8 **prepared, struct vma *need[1])
{
    struct vma *v = vma_find(mm, va);
    if (!v)
        return -EFAULT;
    if (write ? !(v->prot & VM_WRITE) : !(v->prot & (VM_READ | VM_EXEC | VM_WRITE)))
        return -EFAULT;
    u32 *pte = pte_lookup(mm, va, 1);
    if (!pte)
        return -ENOMEM;
    u32 page = va & ~(PAGE_SIZE - 1);
    u32 wbits = (v->prot & VM_WRITE) ? PTE_SW_W : 0;
    if ((*pte & (PTE_P | PTE_V)) == PTE_P)
        *pte |= PTE_V;
    if (!(*pte & PTE_P)) {
        u32 rel = page - v->start;
        u8 *pg;
        if (v->ip && rel < v->filesz && cacheable(v, rel)) {
            /* the page cache's page: read-only here, copied on the first
             * write (a write fault copies it at once) */
            svc(FLASH_SVC_TAG, FLASH_SVC_OTHER_FAULT);      /* a file page, read or not yet */
            u32 pa = pc_get(v->ip, (v->off + rel) >> PAGE_SHIFT);
            if (!pa) {
                need[0] = v;
                return 1;
            }
            if (write) {
                pg = page_alloc_kind(1, HAL_KIND_USER);
                if (!pg) { page_unref(pa); return -ENOMEM; }
                memcpy(pg, PA2KV(pa), PAGE_SIZE);
                page_unref(pa);
                *pte = PTE_MK(KV2PA(pg)) | PTE_CACHED | PTE_V | PTE_P | PTE_D | wbits;
            } else {
                *pte = PTE_MK(pa) | PTE_CACHED | PTE_V | PTE_P | wbits;
            }
            tlb_update(mm, va, pte);
            return 0;
        }
        if (v->ip && rel < v->filesz) {
            if (!*prepared) {
                need[0] = v;
                svc(FLASH_SVC_TAG, FLASH_SVC_OTHER_FAULT);
                return 1;
            }
            pg = *prepared;
            *prepared = NULL;
        } else {
            svc(FLASH_SVC_TAG, FLASH_SVC_DEMAND_ZERO);
            pg = page_alloc_kind(1, HAL_KIND_USER);
            if (!pg)
                return -ENOMEM;
        }
        u32 d = (v->prot & VM_WRITE) ? PTE_D : 0;
        *pte = PTE_MK(KV2PA(pg)) | PTE_CACHED | PTE_V | PTE_P | d | wbits;
    } else if (write && !(*pte & PTE_D)) {
        u32 pa = PTE_PA(*pte);
        if (page_refcount(pa) == 1 || (v->flags & VM_SHARED)) {
            *pte |= PTE_D;
        } else {
            svc(FLASH_SVC_TAG, FLASH_SVC_OTHER_FAULT);
            u8 *pg = page_alloc_kind(1, HAL_KIND_USER);
            if (!pg)
                return -ENOMEM;
            memcpy(pg, PA2KV(pa), PAGE_SIZE);
            *pte = PTE_MK(KV2PA(pg)) | PTE_CACHED | PTE_V | PTE_P | PTE_D | wbits;
            /* The page moved: another CPU that ran mm (a thread now, or this
             * process before it migrated here) may still hold the old read-only
             * translation under mm's ASID there, and would go on reading the
             * old page -- which its other sharer (the fork's other side),
             * once it is the last one, writes in place.  On 8 CPUs a shell
             * then read its command substitution's data from the wrong page
             * (empty `$(...)`, segfaults).  tlb_update below only rewrites
             * this CPU's entry: drop mm's translations everywhere else first,
             * before the old page can be unreferenced. */
            tlb_flush_others(mm);
            page_unref(pa);
        }
    }
    tlb_update(mm, va, pte);
    return 0;
}

int vm_fault(struct mm *mm, u32 va, int write)
{
    u8 *prepared = NULL;
    u32 pinned = 0;
    for (int tries = 0; tries < 4; tries++) {
        struct vma *need[1] = { NULL };
        spin_lock(&mm->lock);
        int r = fault_locked(mm, va, write, &prepared, need);
        struct inode *ip = NULL;
        u32 off = 0, n = 0;
        int cached = 0;
        if (r == 1) {
            /* file data: read it without the lock, then try again */
            struct vma *v = need[0];
            u32 rel = (va & ~(PAGE_SIZE - 1)) - v->start;
            ip = idup(v->ip);
            off = v->off + rel;
            n = MIN(PAGE_SIZE, v->filesz - rel);
            cached = cacheable(v, rel);
        }
        spin_unlock(&mm->lock);
        if (pinned) { page_unref(pinned); pinned = 0; }
        if (r != 1) {
            if (prepared) page_free(prepared);
            return r;
        }
        if (cached) {
            /* into the page cache; our reference keeps it there (it cannot
             * be reclaimed) until the next try has mapped it */
            pinned = pc_fill(ip, off >> PAGE_SHIFT);
            iput(ip);
            if (!pinned) return -ENOMEM;
            continue;
        }
        prepared = page_alloc_kind(1, HAL_KIND_USER);
        if (!prepared) { iput(ip); return -ENOMEM; }
        if (n != PAGE_SIZE || (off & (PAGE_SIZE - 1)) || inode_read_page(ip, off, prepared))
            inode_read(ip, prepared, off, n);
        iput(ip);
    }
    if (prepared) page_free(prepared);
    if (pinned) page_unref(pinned);
    return -EFAULT;
}

/* fork: share every page; private writable ones become copy-on-write */
struct mm *mm_fork(struct mm *old)
{
    struct mm *mm = mm_new();
    if (!mm) return NULL;
    spin_lock(&old->lock);
    mm->brk_start = old->brk_start;
    mm->brk = old->brk;
    mm->mmap_top = old->mmap_top;
    struct vma **tail = &mm->vmas;
    for (struct vma *v = old->vmas; v; v = v->next) {
        struct vma *n = kmalloc(sizeof *n);
        if (!n) goto fail;
        *n = *v;
        n->next = NULL;
        if (n->ip) idup(n->ip);
        *tail = n;
        tail = &n->next;
        for (u32 va = v->start; va < v->end; ) {
            u32 *pt = (u32 *)old->pgd[va >> 22];
            if (pt == zero_table) {
                va = (va & ~0x3FFFFF) + 0x400000;
                if (!va) break;
                continue;
            }
            u32 *pte = &pt[(va >> 12) & 1023];
            if (*pte & PTE_P) {
                u32 *npte = pte_lookup(mm, va, 1);
                if (!npte) goto fail;
                if (!(v->flags & VM_SHARED))
                    *pte &= ~PTE_D;
                *npte = *pte;
                page_ref(PTE_PA(*pte));
            }
            va += PAGE_SIZE;
        }
    }
    tlb_flush_mm(old);
    spin_unlock(&old->lock);
    return mm;
fail:
    tlb_flush_mm(old);
    spin_unlock(&old->lock);
    mm_put(mm);
    return NULL;
}

/* ------------------------------------------------------------ user access */
static u8 *user_page(struct mm *mm, u32 va, int write)
{
    if (va >= USER_TOP)
        return NULL;
    for (int tries = 0; tries < 3; tries++) {
        u32 *pt = (u32 *)mm->pgd[va >> 22];
        u32 pte = pt[(va >> 12) & 1023];
        if ((pte & PTE_V) && (!write || (pte & PTE_D)))
            return (u8 *)PA2KV(PTE_PA(pte)) + (va & (PAGE_SIZE - 1));
        if (vm_fault(mm, va, write))
            return NULL;
    }
    return NULL;
}

int copyout(struct mm *mm, u32 dst, const void *src, u32 n)
{
    const u8 *s = src;
    while (n) {
        u8 *p = user_page(mm, dst, 1);
        if (!p) return -EFAULT;
        u32 k = MIN(n, PAGE_SIZE - (dst & (PAGE_SIZE - 1)));
        memcpy(p, s, k);
        s += k; dst += k; n -= k;
    }
    return 0;
}

int copyin(struct mm *mm, void *dst, u32 src, u32 n)
{
    u8 *d = dst;
    while (n) {
        u8 *p = user_page(mm, src, 0);
        if (!p) return -EFAULT;
        u32 k = MIN(n, PAGE_SIZE - (src & (PAGE_SIZE - 1)));
        memcpy(d, p, k);
        d += k; src += k; n -= k;
    }
    return 0;
}

/* copy a NUL-terminated string; returns its length or -EFAULT/-ENAMETOOLONG */
int copyinstr(struct mm *mm, char *dst, u32 src, u32 max)
{
    u32 i = 0;
    while (i < max) {
        u8 *p = user_page(mm, src + i, 0);
        if (!p) return -EFAULT;
        u32 k = MIN(max - i, PAGE_SIZE - ((src + i) & (PAGE_SIZE - 1)));
        for (u32 j = 0; j < k; j++) {
            dst[i + j] = p[j];
            if (!p[j]) return i + j;
        }
        i += k;
    }
    return -ENAMETOOLONG;
}

int put_user32(u32 va, u32 v) { return copyout(current()->mm, va, &v, 4); }
int get_user32(u32 va, u32 *v) { return copyin(current()->mm, v, va, 4); }
