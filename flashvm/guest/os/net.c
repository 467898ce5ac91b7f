/*
 * net.c -- the network interface driver (docs/machine.md, NET k) and the
 * MAGIC counter reader.
 *
 * Each NIC keeps its receiver armed on a 64 KB buffer; the receive
 * interrupt (HW3, CPU 0) copies the frame into a queue of up to 64 frames
 * and re-arms.  User programs see /dev/netN: write() sends one frame,
 * read() returns one frame (blocking unless O_NONBLOCK), ioctl
 * SIOCGIFHWADDR (0x8927) gives the 6-byte MAC.  /dev/magic reads the
 * MAGIC per-page miss counters: the 32-bit word at byte offset
 * 4 * (page * nnodes + node) is the count of misses to machine page `page`
 * from node `node`.
 *
 * Page-aligned payloads (the file service, docs/disco.md): the receiver is
 * armed NET_HDR bytes before a page boundary, so that a frame's bytes after
 * its first NET_HDR lie on whole pages (on Disco the monitor remaps such
 * pages instead of copying them).  A frame with at least one such page keeps
 * its receive buffer (a new one is armed): ioctl NETIO_RECVFILE then gives
 * its whole pages to a ramfs file as they are, without a copy.  Frames sent
 * with NETIO_SENDSLOT come from a numbered kernel buffer filled once and
 * sent again unchanged but for its header, so every receiver of the same
 * slot gets the same page.
 */
#include "kernel.h"
#include "fs.h"

#define NET_MAC_LO  0x00
#define NET_MAC_HI  0x04
#define NET_TX_ADDR 0x08
#define NET_TX_LEN  0x0C
#define NET_TX_CMD  0x10
#define NET_RX_ADDR 0x14
#define NET_RX_CAP  0x18
#define NET_RX_CMD  0x1C
#define NET_RX_LEN  0x20
#define NET_STATUS  0x24
#define NET_ACK     0x28
#define NET_IRQCPU  0x2C
#define NS_TX_DONE 1
#define NS_RX_DONE 2
#define NS_ERROR   4
#define MAXNET 4
#define QLEN 64
#define FRAME_MAX 65536
#define BUF_PAGES (FRAME_MAX / PAGE_SIZE)
#define RX_PAGES (BUF_PAGES + 1)
#define RX_SKEW (PAGE_SIZE - NET_HDR)
#define NSLOTS 256

struct frame { u32 len; u8 *data; u8 *buf; };   /* buf: a kept receive buffer (RX_PAGES pages) */
struct slot { u8 *buf; u32 pages; u32 len; };
struct nic {
    struct spinlock lock;
    int present;
    u8 mac[6];
    u8 *rx, *tx;
    struct frame q[QLEN];
    u32 head, tail;            /* free-running */
    u32 dropped;
    struct spinlock txlock;
    struct slot slots[NSLOTS];
};
static struct nic nics[MAXNET];
static unsigned nnets;

void net_init(void)
{
    nnets = MIN(bootinfo->nnets, MAXNET);
    for (unsigned k = 0; k < nnets; k++) {
        struct nic *n = &nics[k];
        u32 b = NET_BASE(k);
        spin_init(&n->lock, "nic");
        spin_init(&n->txlock, "nictx");
        u32 lo = rd32(b + NET_MAC_LO), hi = rd32(b + NET_MAC_HI);
        for (int i = 0; i < 4; i++) n->mac[i] = lo >> (8 * i);
        n->mac[4] = hi; n->mac[5] = hi >> 8;
        n->rx = page_alloc_n(RX_PAGES);
        n->tx = page_alloc_n(BUF_PAGES);
        if (!n->rx || !n->tx) continue;
        wr32(b + NET_IRQCPU, 0);
        wr32(b + NET_ACK, NS_TX_DONE | NS_RX_DONE | NS_ERROR);
        wr32(b + NET_RX_ADDR, KV2PA(n->rx) + RX_SKEW);
        wr32(b + NET_RX_CAP, FRAME_MAX);
        wr32(b + NET_RX_CMD, 1);
        n->present = 1;
        if (bootinfo->verbose)
            kprintf("net%u: %x:%x:%x:%x:%x:%x\n", k, n->mac[0], n->mac[1], n->mac[2],
                    n->mac[3], n->mac[4], n->mac[5]);
    }
}

unsigned net_count(void) { return nnets; }

void net_interrupt(void)
{
    for (unsigned k = 0; k < nnets; k++) {
        struct nic *n = &nics[k];
        if (!n->present) continue;
        u32 b = NET_BASE(k);
        u32 st = rd32(b + NET_STATUS);
        if (st & (NS_TX_DONE | NS_ERROR))
            wr32(b + NET_ACK, st & (NS_TX_DONE | NS_ERROR));
        if (st & NS_RX_DONE) {
            u32 len = rd32(b + NET_RX_LEN);
            /* a frame with whole pages keeps its buffer: no copy of them */
            u8 *fresh = len >= NET_HDR + PAGE_SIZE && len <= FRAME_MAX ? page_alloc_n(RX_PAGES) : NULL;
            u8 *copy = !fresh && len <= FRAME_MAX ? kmalloc(len ? len : 1) : NULL;
            spin_lock(&n->lock);
            if ((fresh || copy) && n->tail - n->head < QLEN) {
                if (fresh) {
                    n->q[n->tail % QLEN] = (struct frame){ len, n->rx + RX_SKEW, n->rx };
                    n->rx = fresh;
                    fresh = NULL;
                } else {
                    memcpy(copy, n->rx + RX_SKEW, len);
                    n->q[n->tail % QLEN] = (struct frame){ len, copy, NULL };
                    copy = NULL;
                }
                n->tail++;
                wakeup(n);
            } else {
                n->dropped++;
            }
            spin_unlock(&n->lock);
            if (fresh) page_free_n(fresh, RX_PAGES);
            kfree(copy);
            wr32(b + NET_ACK, NS_RX_DONE);
            wr32(b + NET_RX_ADDR, KV2PA(n->rx) + RX_SKEW);
            wr32(b + NET_RX_CMD, 1);
        }
    }
}

long net_send(unsigned k, u32 ubuf, u32 len)
{
    if (k >= nnets || !nics[k].present) return -ENXIO;
    if (len == 0 || len > FRAME_MAX) return -EINVAL;
    struct nic *n = &nics[k];
    /* the copy may fault pages in: do it before taking the lock */
    u8 *tmp = page_alloc_n(BUF_PAGES);
    if (!tmp) return -ENOMEM;
    if (copyin(current()->mm, tmp, ubuf, len)) { page_free_n(tmp, BUF_PAGES); return -EFAULT; }
    spin_lock(&n->txlock);
    memcpy(n->tx, tmp, len);
    u32 b = NET_BASE(k);
    wr32(b + NET_TX_ADDR, KV2PA(n->tx));
    wr32(b + NET_TX_LEN, len);
    wr32(b + NET_TX_CMD, 1);               /* copied at once */
    u32 st = rd32(b + NET_STATUS);
    spin_unlock(&n->txlock);
    page_free_n(tmp, BUF_PAGES);
    return (st & NS_ERROR) && !(st & NS_TX_DONE) ? -EIO : (long)len;
}

long net_recv(unsigned k, u32 ubuf, u32 cap, int nonblock)
{
    if (k >= nnets || !nics[k].present) return -ENXIO;
    struct nic *n = &nics[k];
    spin_lock(&n->lock);
    while (n->head == n->tail) {
        if (nonblock) { spin_unlock(&n->lock); return -EAGAIN; }
        if (sleep_intr(n, &n->lock)) { spin_unlock(&n->lock); return -EINTR; }
    }
    struct frame f = n->q[n->head % QLEN];
    n->head++;
    spin_unlock(&n->lock);
    u32 m = MIN(f.len, cap);
    long r = copyout(current()->mm, ubuf, f.data, m) ? -EFAULT : (long)m;
    if (f.buf) page_free_n(f.buf, RX_PAGES);
    else kfree(f.data);
    return r;
}

/* the next frame: its first NET_HDR bytes (at most hcap) to the user at uhdr, the rest
 * into ramfs file `ip` at byte `off` (page-aligned): whole pages of a kept buffer become
 * the file's pages as they are.  Returns the frame's length. */
long net_recv_file(unsigned k, struct inode *ip, u32 off, u32 uhdr, u32 hcap)
{
    if (k >= nnets || !nics[k].present) return -ENXIO;
    if (off & (PAGE_SIZE - 1)) return -EINVAL;
    struct nic *n = &nics[k];
    spin_lock(&n->lock);
    while (n->head == n->tail) {
        if (sleep_intr(n, &n->lock)) { spin_unlock(&n->lock); return -EINTR; }
    }
    struct frame f = n->q[n->head % QLEN];
    n->head++;
    spin_unlock(&n->lock);
    long r = f.len;
    u32 h = MIN(MIN(f.len, NET_HDR), hcap);
    if (copyout(current()->mm, uhdr, f.data, h)) r = -EFAULT;
    u32 body = f.len > NET_HDR ? f.len - NET_HDR : 0;
    u32 whole = f.buf ? body / PAGE_SIZE : 0;
    FS_LOCK();
    for (u32 i = 0; i < whole && r >= 0; i++) {     /* buffer page i + 1 holds body page i */
        if (ramfs_adopt_page(ip, (off >> PAGE_SHIFT) + i, f.buf + (i + 1) * PAGE_SIZE, off + (i + 1) * PAGE_SIZE))
            r = -ENOSPC;
    }
    if (r >= 0 && body > whole * PAGE_SIZE &&
        ramfs_write(ip, f.data + NET_HDR + whole * PAGE_SIZE, off + whole * PAGE_SIZE,
                    body - whole * PAGE_SIZE) < 0)
        r = -ENOSPC;
    FS_UNLOCK();
    if (f.buf) {
        for (u32 i = 0; i < RX_PAGES; i++)
            if (i == 0 || i > whole || r < 0) page_free(f.buf + i * PAGE_SIZE);
    } else {
        kfree(f.data);
    }
    return r;
}

/* send slot `s`: filled from the user's frame (ubuf, len) when ubuf != 0, then its first
 * NET_HDR bytes replaced by the user's header at uhdr, and sent */
long net_send_slot(unsigned k, u32 s, u32 ubuf, u32 len, u32 uhdr)
{
    if (k >= nnets || !nics[k].present) return -ENXIO;
    if (s >= NSLOTS) return -EINVAL;
    struct nic *n = &nics[k];
    struct slot *sl = &n->slots[s];
    if (ubuf) {
        if (len < NET_HDR || len > FRAME_MAX) return -EINVAL;
        u32 pages = 1 + (len - NET_HDR + PAGE_SIZE - 1) / PAGE_SIZE;
        if (sl->buf && sl->pages != pages) { page_free_n(sl->buf, sl->pages); sl->buf = NULL; }
        if (!sl->buf && !(sl->buf = page_alloc_n(pages))) return -ENOMEM;
        sl->pages = pages;
        sl->len = len;
        if (copyin(current()->mm, sl->buf + RX_SKEW, ubuf, len)) { sl->len = 0; return -EFAULT; }
    }
    if (!sl->len) return -ENOENT;
    if (copyin(current()->mm, sl->buf + RX_SKEW, uhdr, NET_HDR)) return -EFAULT;
    spin_lock(&n->txlock);
    u32 b = NET_BASE(k);
    wr32(b + NET_TX_ADDR, KV2PA(sl->buf) + RX_SKEW);
    wr32(b + NET_TX_LEN, sl->len);
    wr32(b + NET_TX_CMD, 1);
    u32 st = rd32(b + NET_STATUS);
    spin_unlock(&n->txlock);
    return (st & NS_ERROR) && !(st & NS_TX_DONE) ? -EIO : (long)sl->len;
}

int net_mac(unsigned k, u8 *mac)
{
    if (k >= nnets || !nics[k].present) return -ENXIO;
    memcpy(mac, nics[k].mac, 6);
    return 0;
}

/* ------------------------------------------------------------ MAGIC */
#define MAGIC_PAGE   0x00
#define MAGIC_NODE   0x04
#define MAGIC_COUNT  0x08
#define MAGIC_NNODES 0x24
static struct spinlock magic_lock = SPINLOCK_INIT("magic");

long magic_read(u64 off, u32 ubuf, u32 n)
{
    u32 nn = bootinfo->nnodes ? bootinfo->nnodes : 1;
    u32 words[64];
    u32 done = 0;
    if (off & 3 || n & 3) return -EINVAL;
    while (done < n) {
        u32 k = MIN((n - done) / 4, 64u);
        spin_lock(&magic_lock);
        for (u32 i = 0; i < k; i++) {
            u64 slot = (off + done) / 4 + i;
            wr32(MAGIC_BASE + MAGIC_PAGE, (u32)(slot / nn));
            wr32(MAGIC_BASE + MAGIC_NODE, (u32)(slot % nn));
            words[i] = rd32(MAGIC_BASE + MAGIC_COUNT);
        }
        spin_unlock(&magic_lock);
        if (copyout(current()->mm, ubuf + done, words, 4 * k)) return done ? (long)done : -EFAULT;
        done += 4 * k;
    }
    return done;
}
