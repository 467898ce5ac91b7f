/*
 * disk.c -- the DMA disk controller driver (docs/machine.md, DISK k).
 *
 * One request at a time per controller.  A task issues it and sleeps until
 * the completion interrupt (HW2, routed to CPU 0); before the scheduler runs
 * and while the kernel is shutting down, completion is polled instead.
 * Transfers go through a page-aligned bounce buffer of up to 16 pages.
 */
#include "kernel.h"
#include "fs.h"

#define DISK_SECTOR   0x00
#define DISK_COUNT    0x04
#define DISK_ADDR     0x08
#define DISK_CMD      0x0C
#define DISK_STATUS   0x10
#define DISK_ACK      0x14
#define DISK_CAPACITY 0x18
#define DISK_IRQCPU   0x1C
#define ST_BUSY  1
#define ST_DONE  2
#define ST_ERROR 4
#define MAXDISK 16

struct disk {
    struct spinlock lock;
    int present;
    u32 capacity;              /* sectors */
    int busy;                  /* a task owns the controller */
    volatile int polled;       /* a CPU polls for the completion: the interrupt leaves it alone */
    volatile int done;
    volatile u32 status;
    u8 *bounce;                /* 16 pages */
};
static struct disk disks[MAXDISK];
static unsigned ndisks;
int disk_polling = 1;          /* no sleeping yet (boot) or any more (halt) */

void disk_init(void)
{
    ndisks = MIN(bootinfo->ndisks, MAXDISK);
    for (unsigned k = 0; k < ndisks; k++) {
        struct disk *d = &disks[k];
        spin_init(&d->lock, "disk");
        d->capacity = rd32(DISK_BASE(k) + DISK_CAPACITY);
        wr32(DISK_BASE(k) + DISK_IRQCPU, 0);
        wr32(DISK_BASE(k) + DISK_ACK, 1);
        d->bounce = page_alloc_n(16);
        d->present = d->bounce != NULL;
        if (bootinfo->verbose)
            kprintf("disk%u: %u sectors (%u KB)\n", k, d->capacity, d->capacity / 2);
    }
}

unsigned disk_count(void) { return ndisks; }
u32 disk_capacity(unsigned k) { return k < ndisks ? disks[k].capacity : 0; }

void disk_interrupt(void)
{
    for (unsigned k = 0; k < ndisks; k++) {
        struct disk *d = &disks[k];
        if (d->polled) continue;
        u32 st = rd32(DISK_BASE(k) + DISK_STATUS);
        if (st & (ST_DONE | ST_ERROR)) {
            wr32(DISK_BASE(k) + DISK_ACK, 1);
            spin_lock(&d->lock);
            d->status = st;
            d->done = 1;
            wakeup(d);
            spin_unlock(&d->lock);
        }
    }
}

/* start a command on controller k: four register writes, or in the HAL build
 * (under Disco) one monitor call with the whole request, as the paper's drivers */
static void disk_issue(unsigned k, u32 cmd, u32 sector, u32 count, u32 pa)
{
#ifdef KERNEL_HAL
    static volatile struct { u32 disk, sector, count, addr, cmd; } req[MAXCPU];
    volatile typeof(req[0]) *r = &req[cpuid()];
    r->disk = k;
    r->sector = sector;
    r->count = count;
    r->addr = pa;
    r->cmd = cmd;
    *(volatile u32 *)(HAL_MCALL + HAL_MC_DISK) = KV2PA((void *)r);
#else
    wr32(DISK_BASE(k) + DISK_SECTOR, sector);
    wr32(DISK_BASE(k) + DISK_COUNT, count);
    wr32(DISK_BASE(k) + DISK_ADDR, pa);
    wr32(DISK_BASE(k) + DISK_CMD, cmd);
#endif
}

/* one command of up to 16 pages (128 sectors) at guest-physical `pa`
 * (the bounce buffer, or a caller's page-aligned page) */
static int disk_cmd_at(unsigned k, u32 cmd, u32 sector, u32 count, u32 pa)
{
    struct disk *d = &disks[k];
    int poll = disk_polling || !current() || spin_held(&sched_lock);
    d->done = 0;
    if (poll) {
        /* the completion interrupt (on CPU 0, perhaps another CPU than this)
         * must not acknowledge what this CPU waits for, or it waits forever */
        __atomic_store_n(&d->polled, 1, __ATOMIC_SEQ_CST);
        disk_issue(k, cmd, sector, count, pa);
        u32 st;
        while (!((st = rd32(DISK_BASE(k) + DISK_STATUS)) & (ST_DONE | ST_ERROR)))
            ;
        wr32(DISK_BASE(k) + DISK_ACK, 1);
        d->status = st;
        __atomic_store_n(&d->polled, 0, __ATOMIC_SEQ_CST);
    } else {
        spin_lock(&d->lock);
        disk_issue(k, cmd, sector, count, pa);
        while (!d->done)
            sleep_on(d, &d->lock);
        spin_unlock(&d->lock);
    }
    return (d->status & ST_ERROR) ? -EIO : 0;
}

static int disk_cmd(unsigned k, u32 cmd, u32 sector, u32 count)
{
    return disk_cmd_at(k, cmd, sector, count, KV2PA(disks[k].bounce));
}

static void disk_acquire(struct disk *d)
{
    spin_lock(&d->lock);
    while (d->busy)
        sleep_on(&d->busy, &d->lock);
    d->busy = 1;
    spin_unlock(&d->lock);
}

static void disk_release(struct disk *d)
{
    spin_lock(&d->lock);
    d->busy = 0;
    wakeup(&d->busy);
    spin_unlock(&d->lock);
}

/* read/write `n` bytes at byte offset `off` (any alignment) from/to buf */
int disk_rw(unsigned k, u64 off, void *buf, u32 n, int write)
{
    if (k >= ndisks || !disks[k].present) return -ENXIO;
    struct disk *d = &disks[k];
    u64 cap = (u64)d->capacity * 512;
    if (off >= cap) return 0;
    if (off + n > cap) n = cap - off;
    u8 *p = buf;
    u32 done = 0;
    int r = 0;
    disk_acquire(d);
    while (done < n) {
        u64 pos = off + done;
        u32 sector = pos / 512, skip = pos % 512;
        u32 bytes = MIN(n - done, 16 * PAGE_SIZE - skip);
        u32 count = (skip + bytes + 511) / 512;
        if (!write || skip || (bytes % 512)) {
            if ((r = disk_cmd(k, 1, sector, count))) break;
        }
        if (write) {
            memcpy(d->bounce + skip, p + done, bytes);
            if ((r = disk_cmd(k, 2, sector, count))) break;
        } else {
            memcpy(p + done, d->bounce + skip, bytes);
        }
        done += bytes;
    }
    disk_release(d);
    return r ? r : (int)done;
}

/* read the page-sized, page-aligned block at byte offset `off` straight into
 * the page-aligned page `page` (no bounce buffer): a whole-page DMA the
 * monitor may serve by mapping a machine page it already holds (Disco's
 * global disk cache, paper section 4.2.5); under such a monitor only
 * (boot-info flag BOOT_SHARE), -EINVAL otherwise */
int disk_read_page(unsigned k, u64 off, void *page)
{
    if (k >= ndisks || !disks[k].present) return -ENXIO;
    if (!(bootinfo->flags & BOOT_SHARE))
        return -EINVAL;          /* only a sharing monitor gains by it: the bounce buffer otherwise */
    struct disk *d = &disks[k];
    if ((off & (PAGE_SIZE - 1)) || ((u32)page & (PAGE_SIZE - 1)) || off + PAGE_SIZE > (u64)d->capacity * 512)
        return -EINVAL;
    disk_acquire(d);
    int r = disk_cmd_at(k, 1, off / 512, PAGE_SIZE / 512, KV2PA(page));
    disk_release(d);
    return r;
}

void disk_flush_all(void)
{
    for (unsigned k = 0; k < ndisks; k++) {
        if (!disks[k].present) continue;
        disk_cmd(k, 3, 0, 1);
    }
}
