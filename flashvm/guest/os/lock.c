/*
 * lock.c -- advisory file locks: POSIX record locks (fcntl F_GETLK/F_SETLK/
 * F_SETLKW and their 64-bit forms) and BSD whole-file locks (flock).
 *
 * One table for the machine, a list of (inode, owner, kind, type, [start,
 * end)).  A POSIX lock's owner is the process (tgid): the process's locks on
 * a file go when it closes any descriptor of that file, and at exit (which
 * closes them all).  An flock lock's owner is the open file: it goes when
 * that file's last descriptor closes.  The two kinds do not conflict with
 * each other, as on Linux.  A waiter in F_SETLKW/flock sleeps until some
 * lock is released; there is no deadlock detection.
 */
#include "kernel.h"
#include "fs.h"

#define RDLCK 0                 /* F_RDLCK, F_WRLCK, F_UNLCK (MIPS: as generic) */
#define WRLCK 1
#define UNLCK 2
#define K_POSIX 0
#define K_FLOCK 1
#define EDEADLK 45
#define ENOLCK 46
#define END_OF_ALL (~0ULL)

struct plock {
    struct inode *ip;
    u32 owner;
    int kind, type;
    u64 start, end;
    struct plock *next;
};

static struct plock *locks;
static struct spinlock lock_lk = SPINLOCK_INIT("flock");
static int nlocks;              /* a quick "none at all" for close */

static int conflicts(const struct plock *l, struct inode *ip, u32 owner, int kind, int type,
                     u64 start, u64 end)
{
    return l->ip == ip && l->kind == kind && l->owner != owner && l->start < end && start < l->end &&
           (l->type == WRLCK || type == WRLCK);
}

static struct plock *find_conflict(struct inode *ip, u32 owner, int kind, int type, u64 start, u64 end)
{
    for (struct plock *l = locks; l; l = l->next)
        if (conflicts(l, ip, owner, kind, type, start, end)) return l;
    return NULL;
}

/* remove owner's locks over [start, end), splitting those that straddle it;
 * `spare` is a preallocated entry for the one split that may be needed */
static void carve(struct inode *ip, u32 owner, int kind, u64 start, u64 end, struct plock **spare)
{
    for (struct plock **pp = &locks, *l; (l = *pp); ) {
        if (l->ip != ip || l->owner != owner || l->kind != kind || l->end <= start || end <= l->start) {
            pp = &l->next;
            continue;
        }
        if (l->start < start && l->end > end) {        /* a hole in the middle */
            struct plock *r = *spare;
            *spare = NULL;
            *r = *l;
            r->start = end;
            l->end = start;
            r->next = l->next;
            l->next = r;
            nlocks++;
            return;
        }
        if (l->start < start) { l->end = start; pp = &l->next; continue; }
        if (l->end > end) { l->start = end; pp = &l->next; continue; }
        *pp = l->next;
        kfree(l);
        nlocks--;
    }
}

/* set (type RDLCK/WRLCK) or clear (UNLCK) owner's lock on [start, end) */
static long lock_set(struct inode *ip, u32 owner, int kind, int type, u64 start, u64 end, int wait)
{
    struct plock *n = kmalloc(sizeof *n), *spare = kmalloc(sizeof *spare);
    if (!n || !spare) { kfree(n); kfree(spare); return -ENOLCK; }
    long r = 0;
    spin_lock(&lock_lk);
    if (type != UNLCK) {
        while (find_conflict(ip, owner, kind, type, start, end)) {
            if (!wait) { r = -EAGAIN; goto out; }
            if ((r = sleep_intr(&locks, &lock_lk))) goto out;
        }
    }
    carve(ip, owner, kind, start, end, &spare);
    if (type != UNLCK) {
        *n = (struct plock){ ip, owner, kind, type, start, end, locks };
        locks = n;
        n = NULL;
        nlocks++;
    }
    wakeup(&locks);             /* a release or a downgrade may let a waiter in */
out:
    spin_unlock(&lock_lk);
    kfree(n);
    kfree(spare);
    return r;
}

/* the file `f` of this process is closing: its POSIX locks on the file go;
 * on the file's last close (`last`), its flock lock too */
void locks_on_close(struct file *f, int last)
{
    if (!nlocks || f->type != F_INODE || !f->ip) return;
    struct task *t = current();
    spin_lock(&lock_lk);
    int any = 0;
    for (struct plock **pp = &locks, *l; (l = *pp); ) {
        if (l->ip == f->ip && ((l->kind == K_POSIX && t && l->owner == (u32)t->tgid) ||
                               (last && l->kind == K_FLOCK && l->owner == (u32)f))) {
            *pp = l->next;
            kfree(l);
            nlocks--;
            any = 1;
        } else {
            pp = &l->next;
        }
    }
    if (any) wakeup(&locks);
    spin_unlock(&lock_lk);
}

/* fcntl's lock commands: `cmd` is F_GETLK (14 on MIPS), F_SETLK (6), F_SETLKW (7),
 * or F_GETLK64 (33), F_SETLK64 (34), F_SETLKW64 (35) with struct flock64 */
long fcntl_lock(struct file *f, u32 cmd, u32 uaddr)
{
    int is64 = cmd >= 33;
    int get = cmd == 14 || cmd == 33, wait = cmd == 7 || cmd == 35;
    struct mm *mm = current()->mm;
    /* struct flock (o32): short type, whence; s32 start, len, sysid; pid; pad[4]
     * struct flock64:     short type, whence; pad; s64 start, len; s32 pid */
    u8 buf[36];
    u32 size = is64 ? 32 : 36;
    if (copyin(mm, buf, uaddr, size) < 0) return -EFAULT;
    int16_t type = *(int16_t *)buf, whence = *(int16_t *)(buf + 2);
    s64 start, len;
    if (is64) { memcpy(&start, buf + 8, 8); memcpy(&len, buf + 16, 8); }
    else { start = *(s32 *)(buf + 4); len = *(s32 *)(buf + 8); }
    if (f->type != F_INODE || !f->ip) return -EBADF;
    if (whence == 1) start += (s64)f->off;
    else if (whence == 2) start += (s64)f->ip->size;
    else if (whence != 0) return -EINVAL;
    if (len < 0) { start += len; len = -len; }
    if (start < 0) return -EINVAL;
    u64 s = (u64)start, e = len ? (u64)start + (u64)len : END_OF_ALL;
    if (type != RDLCK && type != WRLCK && type != UNLCK) return -EINVAL;
    u32 owner = current()->tgid;
    if (get) {
        if (type == UNLCK) return -EINVAL;
        spin_lock(&lock_lk);
        struct plock *l = find_conflict(f->ip, owner, K_POSIX, type, s, e);
        struct plock c = l ? *l : (struct plock){ 0 };
        spin_unlock(&lock_lk);
        if (!l) {
            *(int16_t *)buf = UNLCK;
        } else {
            s64 cs = (s64)c.start, cl = c.end == END_OF_ALL ? 0 : (s64)(c.end - c.start);
            *(int16_t *)buf = (int16_t)c.type;
            *(int16_t *)(buf + 2) = 0;
            if (is64) { memcpy(buf + 8, &cs, 8); memcpy(buf + 16, &cl, 8); *(s32 *)(buf + 24) = (s32)c.owner; }
            else { *(s32 *)(buf + 4) = (s32)cs; *(s32 *)(buf + 8) = (s32)cl; *(s32 *)(buf + 16) = (s32)c.owner; }
        }
        return copyout(mm, uaddr, buf, size) ? -EFAULT : 0;
    }
    u32 acc = f->flags & O_ACCMODE;
    if ((type == RDLCK && acc == O_WRONLY) || (type == WRLCK && acc == O_RDONLY)) return -EBADF;
    return lock_set(f->ip, owner, K_POSIX, type, s, e, wait);
}

/* flock(fd, LOCK_SH 1 | LOCK_EX 2 | LOCK_UN 8, with LOCK_NB 4) */
long sys_flock(u32 *a, struct tf *tf)
{
    struct file *f = fd_get(a[0]);
    if (!f) return -EBADF;
    if (f->type != F_INODE || !f->ip) return -EINVAL;
    u32 op = a[1] & ~4u;
    int type = op == 1 ? RDLCK : op == 2 ? WRLCK : op == 8 ? UNLCK : -1;
    if (type < 0) return -EINVAL;
    /* a conversion drops the old lock first, as Linux does */
    if (type != UNLCK) lock_set(f->ip, (u32)f, K_FLOCK, UNLCK, 0, END_OF_ALL, 0);
    return lock_set(f->ip, (u32)f, K_FLOCK, type, 0, END_OF_ALL, !(a[1] & 4));
}
