/*
 * dev.c -- device files: the console (also /dev/tty), /dev/null,
 * /dev/zero, /dev/urandom (and /dev/random), the network interfaces,
 * the MAGIC counters and the disks (block devices), and the /dev nodes for
 * them.  A character device's minor number (inode rdev) picks the device.
 */
#include "fs.h"

/* the nodes of /dev (`dev` is its directory) */
void dev_populate(struct inode *dev)
{
    struct inode *c = mkpath_in(dev, "console", S_IFCHR | 0620);
    c->rdev = DEV_CONSOLE;
    struct inode *tty = mkpath_in(dev, "tty", S_IFCHR | 0666);
    tty->rdev = DEV_CONSOLE;
    struct inode *nul = mkpath_in(dev, "null", S_IFCHR | 0666);
    nul->rdev = DEV_NULL;
    struct inode *zero = mkpath_in(dev, "zero", S_IFCHR | 0666);
    zero->rdev = DEV_ZERO;
    struct inode *ur = mkpath_in(dev, "urandom", S_IFCHR | 0666);
    ur->rdev = DEV_URANDOM;
    struct inode *rnd = mkpath_in(dev, "random", S_IFCHR | 0666);
    rnd->rdev = DEV_URANDOM;
    for (unsigned k = 0; k < net_count(); k++) {
        char name[24];
        snprintf(name, sizeof name, "net%u", k);
        struct inode *n = mkpath_in(dev, name, S_IFCHR | 0660);
        n->rdev = DEV_NET0 + k;
    }
    struct inode *mg = mkpath_in(dev, "magic", S_IFCHR | 0440);
    mg->rdev = DEV_MAGIC;
    for (unsigned k = 0; k < disk_count(); k++) {
        char name[24];
        snprintf(name, sizeof name, "disk%u", k);
        struct inode *b = mkpath_in(dev, name, S_IFBLK | 0660);
        b->rdev = k;
        b->size = disk_capacity(k) * 512;
    }
}

/* ------------------------------------------------------------ console */
/* one writer at a time for a whole write(): the buffer goes out in 256-byte
 * pieces (copied in, which may fault and sleep), and another CPU's write
 * must not land between them */
static struct mutex cons_mutex;
static int cons_mutex_ready;

/* the console files of init: fds 0, 1, 2 */
void console_fds(struct files *fs)
{
    if (!cons_mutex_ready) {
        mutex_init(&cons_mutex, "console");
        cons_mutex_ready = 1;
    }
    for (int i = 0; i < 3; i++) {
        struct file *f = file_alloc();
        f->type = F_CONS;
        f->minor = i;
        f->flags = i == 0 ? O_RDONLY : O_WRONLY;
        fs->fd[i] = f;
    }
}

long console_read(u32 ubuf, u32 n)
{
    char tmp[128];
    int k = cons_read(tmp, MIN(n, sizeof tmp));
    if (k > 0 && copyout(current()->mm, ubuf, tmp, k)) return -EFAULT;
    return k;
}

/* from the kernel buffer `kbuf`, or when it is NULL from user memory at
 * `ubuf`: all n bytes, in one piece of the console's output (short only
 * when the user buffer ends in an unmapped page) */
long console_write(struct file *f, const u8 *kbuf, u32 ubuf, u32 n)
{
    struct mm *mm = current()->mm;
    u8 tmp[256];
    u32 done = 0;
    long r = 0;
    if (cons_mutex_ready) mutex_lock(&cons_mutex);
    while (done < n) {
        u32 k = MIN(n - done, sizeof tmp);
        if (kbuf) memcpy(tmp, kbuf + done, k);
        else if (copyin(mm, tmp, ubuf + done, k)) { r = -EFAULT; break; }
        cons_write(f->minor == 2 ? 2 : 1, (char *)tmp, k);
        done += k;
    }
    if (cons_mutex_ready) mutex_unlock(&cons_mutex);
    return done ? (long)done : r;
}

/* ------------------------------------------------------------ character devices */
/* /dev/urandom: a PRNG (splitmix64) with the same seed at every boot, so a
 * run repeats exactly */
static u64 rand_state = 0x466C617368564D21ULL;
static struct spinlock rand_lock = SPINLOCK_INIT("urandom");

static long fill_read(u32 ubuf, u32 n, int random)
{
    u8 tmp[256];
    u32 done = 0;
    while (done < n) {
        u32 k = MIN(n - done, sizeof tmp);
        if (!random) {
            memset(tmp, 0, k);
        } else {
            spin_lock(&rand_lock);
            for (u32 i = 0; i < k; i += 8) {
                u64 z = (rand_state += 0x9E3779B97F4A7C15ULL);
                z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
                z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
                z ^= z >> 31;
                memcpy(tmp + i, &z, MIN(8, k - i));
            }
            spin_unlock(&rand_lock);
        }
        if (copyout(current()->mm, ubuf + done, tmp, k)) return done ? (long)done : -EFAULT;
        done += k;
    }
    return done;
}

long chr_read(struct file *f, u32 ubuf, u32 n)
{
    struct inode *ip = f->ip;
    if (ip->rdev == DEV_ZERO || ip->rdev == DEV_URANDOM) return fill_read(ubuf, n, ip->rdev == DEV_URANDOM);
    if (IS_DEV_NET(ip->rdev)) return net_recv(ip->rdev - DEV_NET0, ubuf, n, f->flags & O_NONBLOCK);
    if (ip->rdev == DEV_MAGIC) {
        long r = magic_read(f->off, ubuf, n);
        if (r > 0) f->off += r;
        return r;
    }
    return 0;
}

long chr_write(struct file *f, u32 ubuf, u32 n)
{
    struct inode *ip = f->ip;
    if (IS_DEV_NET(ip->rdev)) return net_send(ip->rdev - DEV_NET0, ubuf, n);
    return ip->rdev == DEV_NULL || ip->rdev == DEV_ZERO || ip->rdev == DEV_URANDOM ? (long)n : -EINVAL;
}

/* ------------------------------------------------------------ block devices */
long blk_rw(struct file *f, u32 ubuf, u32 n, int write)
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
