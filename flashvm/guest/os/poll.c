/*
 * poll.c -- poll, ppoll, select, pselect6 (and their time64 forms).
 *
 * Readiness: a pipe end by its buffer and the other end's count; the
 * console, files, devices and anything else are always ready (the console
 * never blocks: a read with no input is end of file).  A caller with nothing
 * ready sleeps on one wait channel that the pipes wake (poll_wake) when
 * their state changes, with a generation count so no change is missed
 * between the scan and the sleep.
 */
#include "fs.h"

#define POLLIN     0x0001
#define POLLPRI    0x0002
#define POLLOUT    0x0004           /* = POLLWRNORM on MIPS */
#define POLLERR    0x0008
#define POLLHUP    0x0010
#define POLLNVAL   0x0020
#define POLLRDNORM 0x0040

static struct spinlock poll_lock = SPINLOCK_INIT("poll");
static u32 poll_gen;
static int pollers;                 /* tasks in a poll: only then do pipes wake */
static char poll_chan;

void poll_wake(void)
{
    if (!__atomic_load_n(&pollers, __ATOMIC_SEQ_CST)) return;
    spin_lock(&poll_lock);
    poll_gen++;
    wakeup(&poll_chan);
    spin_unlock(&poll_lock);
}

static u32 file_poll(struct file *f)
{
    if (f->type == F_PIPE) return pipe_poll(f);
    return POLLIN | POLLRDNORM | POLLOUT;
}

/* a scan of the caller's fds: the number ready (or an error), results written back */
typedef long (*scan_fn)(void *ctx);

/* Scan until something is ready or `timeout_ns` passes (< 0: no limit;
 * 0: scan once).  -EINTR when a signal arrives. */
static long poll_loop(scan_fn scan, void *ctx, s64 timeout_ns)
{
    struct task *t = current();
    u64 deadline = timeout_ns > 0 ? uptime_ns() + timeout_ns : 0;
    long n;
    t->sc_restart = 0;
    __atomic_add_fetch(&pollers, 1, __ATOMIC_SEQ_CST);
    for (;;) {
        u32 gen = __atomic_load_n(&poll_gen, __ATOMIC_SEQ_CST);
        n = scan(ctx);
        if (n || timeout_ns == 0) break;
        if (deadline && uptime_ns() >= deadline) break;
        int r = 0;
        spin_lock(&poll_lock);
        if (gen == poll_gen)
            r = deadline ? sleep_until(&poll_chan, &poll_lock, deadline) : sleep_intr(&poll_chan, &poll_lock);
        spin_unlock(&poll_lock);
        if (r == -EINTR) { n = -EINTR; break; }
    }
    __atomic_sub_fetch(&pollers, 1, __ATOMIC_SEQ_CST);
    return n;
}

/* ------------------------------------------------------------ poll */
struct pollctx { u32 ufds, nfds; };

static long scan_pollfds(void *c)
{
    struct pollctx *p = c;
    struct mm *mm = current()->mm;
    long ready = 0;
    for (u32 i = 0; i < p->nfds; i++) {
        u32 w[2];                       /* int fd; short events, revents */
        if (copyin(mm, w, p->ufds + 8 * i, 8)) return -EFAULT;
        s32 fd = (s32)w[0];
        u32 events = w[1] & 0xFFFF, rev = 0;
        if (fd >= 0) {
            struct file *f = fd_get(fd);
            rev = f ? file_poll(f) & (events | POLLERR | POLLHUP) : POLLNVAL;
        }
        if (rev) ready++;
        w[1] = events | rev << 16;
        if (copyout(mm, p->ufds + 8 * i, w, 8)) return -EFAULT;
    }
    return ready;
}

/* a timespec at `uts` (NULL: none, -1) in ns; 64-bit fields when `wide` */
static int get_timeout(u32 uts, int wide, s64 *ns)
{
    *ns = -1;
    if (!uts) return 0;
    u32 v[4];
    if (copyin(current()->mm, v, uts, wide ? 16 : 8)) return -EFAULT;
    s64 sec = wide ? (s64)((u64)v[1] << 32 | v[0]) : (s32)v[0];
    s64 nsec = wide ? (s32)v[2] : (s32)v[1];
    if (sec < 0 || nsec < 0 || nsec >= 1000000000) return -EINVAL;
    *ns = sec * 1000000000LL + nsec;
    return 0;
}

/* ppoll and pselect6: the signal mask while waiting (at `umask`, if any) */
static int mask_push(u32 umask)
{
    struct task *t = current();
    if (!umask) return 0;
    u32 v[2];
    if (copyin(t->mm, v, umask, 8)) return -EFAULT;
    t->saved_mask = t->sigmask;
    t->saved_mask_valid = 1;
    t->sigmask = ((u64)v[1] << 32 | v[0]) & ~(SIGBIT(SIGKILL) | SIGBIT(SIGSTOP));
    return 1;
}

/* put the mask back; after EINTR, once the handler's frame is set up with it */
static long mask_pop(int pushed, long r, struct tf *tf)
{
    struct task *t = current();
    if (pushed <= 0) return r;
    if (r == -EINTR) {
        tf->regs[2] = EINTR;
        tf->regs[7] = 1;
        handle_signals(tf);
        r = RESULT_SET;
    }
    if (t->saved_mask_valid) { t->sigmask = t->saved_mask; t->saved_mask_valid = 0; }
    return r;
}

long sys_poll(u32 *a, struct tf *tf)
{
    struct pollctx p = { a[0], a[1] };
    if (p.nfds > 4096) return -EINVAL;
    s32 ms = (s32)a[2];
    return poll_loop(scan_pollfds, &p, ms < 0 ? -1 : (s64)ms * 1000000);
}

static long do_ppoll(u32 *a, struct tf *tf, int wide)
{
    struct pollctx p = { a[0], a[1] };
    if (p.nfds > 4096) return -EINVAL;
    s64 ns;
    int r = get_timeout(a[2], wide, &ns);
    if (r) return r;
    int pushed = mask_push(a[3]);
    if (pushed < 0) return pushed;
    return mask_pop(pushed, poll_loop(scan_pollfds, &p, ns), tf);
}

long sys_ppoll(u32 *a, struct tf *tf) { return do_ppoll(a, tf, 0); }
long sys_ppoll_time64(u32 *a, struct tf *tf) { return do_ppoll(a, tf, 1); }

/* ------------------------------------------------------------ select */
struct selctx {
    u32 nfds, uset[3];
    u32 in[3][NOFILE / 32];          /* the sets asked for */
};

static long scan_select(void *c)
{
    struct selctx *s = c;
    u32 out[3][NOFILE / 32];
    memset(out, 0, sizeof out);
    long ready = 0;
    for (u32 fd = 0; fd < s->nfds; fd++) {
        u32 w = fd / 32, bit = 1u << (fd % 32);
        if (!((s->in[0][w] | s->in[1][w] | s->in[2][w]) & bit)) continue;
        struct file *f = fd_get(fd);
        if (!f) return -EBADF;
        u32 m = file_poll(f);
        u32 hit[3] = { m & (POLLIN | POLLHUP | POLLERR), m & (POLLOUT | POLLERR), m & POLLPRI };
        for (int k = 0; k < 3; k++)
            if ((s->in[k][w] & bit) && hit[k]) { out[k][w] |= bit; ready++; }
    }
    if (!ready) return 0;
    u32 bytes = (s->nfds + 31) / 32 * 4;
    for (int k = 0; k < 3; k++)
        if (s->uset[k] && copyout(current()->mm, s->uset[k], out[k], bytes)) return -EFAULT;
    return ready;
}

static long do_select(u32 nfds, const u32 *uset, s64 ns)
{
    struct selctx s;
    struct mm *mm = current()->mm;
    memset(&s, 0, sizeof s);
    if ((s32)nfds < 0) return -EINVAL;
    u32 words = (nfds + 31) / 32;
    s.nfds = MIN(nfds, NOFILE);
    for (int k = 0; k < 3; k++) {
        s.uset[k] = uset[k];
        if (!uset[k]) continue;
        for (u32 w = 0; w < words; w++) {
            u32 v;
            if (copyin(mm, &v, uset[k] + 4 * w, 4)) return -EFAULT;
            if (w < NOFILE / 32) s.in[k][w] = v;
            else if (v) return -EBADF;   /* no fd that high is open */
        }
    }
    long r = poll_loop(scan_select, &s, ns);
    if (r == 0) {                        /* timed out: the sets come back empty */
        u32 zero = 0;
        for (int k = 0; k < 3; k++)
            for (u32 w = 0; uset[k] && w < words; w++)
                if (copyout(mm, uset[k] + 4 * w, &zero, 4)) return -EFAULT;
    }
    return r;
}

/* _newselect: a struct timeval (seconds, microseconds) */
long sys__newselect(u32 *a, struct tf *tf)
{
    s64 ns = -1;
    if (a[4]) {
        u32 v[2];
        if (copyin(current()->mm, v, a[4], 8)) return -EFAULT;
        if ((s32)v[0] < 0 || (s32)v[1] < 0) return -EINVAL;
        ns = (s64)v[0] * 1000000000LL + (s64)v[1] * 1000;
    }
    return do_select(a[0], &a[1], ns);
}

static long do_pselect6(u32 *a, struct tf *tf, int wide)
{
    s64 ns;
    int r = get_timeout(a[4], wide, &ns);
    if (r) return r;
    u32 sig[2] = { 0, 0 };              /* { const sigset_t *ss; size_t ss_len } */
    if (a[5] && copyin(current()->mm, sig, a[5], 8)) return -EFAULT;
    int pushed = mask_push(sig[0]);
    if (pushed < 0) return pushed;
    return mask_pop(pushed, do_select(a[0], &a[1], ns), tf);
}

long sys_pselect6(u32 *a, struct tf *tf) { return do_pselect6(a, tf, 0); }
long sys_pselect6_time64(u32 *a, struct tf *tf) { return do_pselect6(a, tf, 1); }
