/*
 * sysproc.c -- the system calls for processes, memory, time, signals and
 * the machine (the file ones are in sysfile.c, the table in syscall.c).
 * Each handler takes the argument words a[] of the call and the trap frame.
 */
#include "fs.h"

static u64 rng = 0x9E3779B97F4A7C15ULL;

static long clock_get(u32 clk, u32 tp, int wide)
{
    struct task *t = current();
    u64 ns = uptime_ns();
    if (clk == 0 || clk == 8 || clk == 5 || clk == 11) ns += (u64)1700000000 * 1000000000ULL;  /* REALTIME */
    else if (clk == 2 || clk == 3) ns = ns - t->start_ns;      /* approximate CPU time */
    else if (clk != 1 && clk != 4 && clk != 6 && clk != 7) return -EINVAL;
    if (!tp) return 0;
    if (wide) {
        u32 v[4] = { (u32)(ns / 1000000000ULL), (u32)((ns / 1000000000ULL) >> 32), (u32)(ns % 1000000000ULL), 0 };
        return copyout(t->mm, tp, v, 16) ? -EFAULT : 0;
    }
    u32 v[2] = { (u32)(ns / 1000000000ULL), (u32)(ns % 1000000000ULL) };
    return copyout(t->mm, tp, v, 8) ? -EFAULT : 0;
}

static long do_sleep(u32 clk, int flags, u32 req, u32 rem, int wide)
{
    struct task *t = current();
    u64 ns;
    if (wide) {
        u32 v[4];
        if (copyin(t->mm, v, req, 16)) return -EFAULT;
        ns = ((u64)v[1] << 32 | v[0]) * 1000000000ULL + v[2];
    } else {
        u32 v[2];
        if (copyin(t->mm, v, req, 8)) return -EFAULT;
        ns = (u64)v[0] * 1000000000ULL + v[1];
    }
    u64 now = uptime_ns();
    u64 deadline;
    if (flags & 1) {              /* TIMER_ABSTIME */
        u64 base = (clk == 0) ? (u64)1700000000 * 1000000000ULL : 0;
        deadline = ns > base ? ns - base : now;
    } else {
        deadline = now + ns;
    }
    if (deadline <= now) return 0;
    spin_lock(&sched_lock);
    int r;
    do {
        r = sleep_until(NULL, &sched_lock, deadline);
    } while (r == 0 && uptime_ns() < deadline);
    spin_unlock(&sched_lock);
    if (r == -EINTR) {
        if (rem && !(flags & 1)) {
            u64 left = deadline > uptime_ns() ? deadline - uptime_ns() : 0;
            u32 v[4] = { (u32)(left / 1000000000ULL), 0, (u32)(left % 1000000000ULL), 0 };
            if (wide) copyout(t->mm, rem, v, 16);
            else { v[1] = v[2]; copyout(t->mm, rem, v, 8); }
        }
        return -EINTR;
    }
    return 0;
}

static long do_mmap(u32 addr, u32 len, u32 prot, u32 flags, int fd, u32 pgoff)
{
    struct task *t = current();
    if (len == 0) return -EINVAL;
    u32 vprot = (prot & 1 ? VM_READ : 0) | (prot & 2 ? VM_WRITE : 0) | (prot & 4 ? VM_EXEC : 0);
    u32 vflags = (flags & 1) ? VM_SHARED : 0;
    struct inode *ip = NULL;
    u32 filesz = 0;
    if (!(flags & 0x800)) {        /* not MAP_ANONYMOUS */
        struct file *f = fd_get(fd);
        if (!f) return -EBADF;
        if (f->type != F_INODE || !S_ISREG(f->ip->mode)) return -EACCES;
        ip = f->ip;
        u32 off = pgoff << PAGE_SHIFT;
        filesz = off < ip->size ? MIN(PGROUND(len), ip->size - off) : 0;
        vflags &= ~VM_SHARED;       /* shared file mappings are treated as private */
    }
    u32 plen = PGROUND(len);
    if (plen < len) return -ENOMEM;
    u32 va;
    if (flags & 0x10) {            /* MAP_FIXED */
        if (addr & (PAGE_SIZE - 1)) return -EINVAL;
        va = addr;
    } else {
        va = vm_find_free(t->mm, plen, PGDOWN(addr));
        if (!va) return -ENOMEM;
    }
    int r = vm_map(t->mm, va, plen, vprot, vflags, ip, pgoff << PAGE_SHIFT, filesz);
    return r ? r : (long)va;
}

long sys_brk(u32 *a, struct tf *tf)
{
    u32 newbrk = a[0];
    struct mm *mm = current()->mm;
    if (newbrk < mm->brk_start) return mm->brk;
    u32 oldend = PGROUND(mm->brk), newend = PGROUND(newbrk);
    if (newend > oldend) {
        /* must not run into another mapping */
        for (struct vma *v = mm->vmas; v; v = v->next)
            if (v->start < newend && v->end > oldend) return mm->brk;
        if (newend - oldend > pages_available() * PAGE_SIZE) return mm->brk;
        if (vm_map(mm, oldend, newend - oldend, VM_READ | VM_WRITE, 0, NULL, 0, 0)) return mm->brk;
    } else if (newend < oldend) {
        vm_unmap(mm, newend, oldend - newend);
    }
    mm->brk = newbrk;
    return newbrk;
}

long sys_execve(u32 *a, struct tf *tf)
{
    u32 upath = a[0], uargv = a[1], uenvp = a[2];
    struct task *t = current();
    /* gather path, argv and envp into one kernel buffer */
    enum { BUFSZ = 64 * 1024, MAXARGS = 1024 };
    char *buf = page_alloc_n(BUFSZ / PAGE_SIZE);
    char **vec = page_alloc_n(2);
    if (!buf || !vec) {
        if (buf) page_free_n(buf, BUFSZ / PAGE_SIZE);
        if (vec) page_free_n(vec, 2);
        return -ENOMEM;
    }
    long r;
    int n = copyinstr(t->mm, buf, upath, PATH_MAX);
    if (n < 0) { r = n; goto out; }
    u32 used = n + 1;
    int nv = 0;
    char **argv = vec, **envp = NULL;
    for (int pass = 0; pass < 2; pass++) {
        u32 uv = pass ? uenvp : uargv;
        if (pass) { vec[nv++] = NULL; envp = &vec[nv]; }
        for (int i = 0; uv; i++) {
            u32 up;
            if (get_user32(uv + 4 * i, &up)) { r = -EFAULT; goto out; }
            if (!up) break;
            if (nv >= MAXARGS - 2) { r = -E2BIG; goto out; }
            int k = copyinstr(t->mm, buf + used, up, BUFSZ - used);
            if (k < 0) { r = k == -ENAMETOOLONG ? -E2BIG : k; goto out; }
            vec[nv++] = buf + used;
            used += k + 1;
        }
    }
    vec[nv] = NULL;
    if (t->leader->nthreads > 1 && (r = exec_kill_others()) != 0) goto out;
    r = do_execve(buf, argv, envp);
    if (r == 0) r = RESULT_SET;
out:
    page_free_n(buf, BUFSZ / PAGE_SIZE);
    page_free_n(vec, 2);
    return r;
}

long sys_uname(u32 *a, struct tf *tf)
{
    u32 ubuf = a[0];
    char u[6 * 65];
    memset(u, 0, sizeof u);
    strcpy(u, "Linux");
    strcpy(u + 65, "flashvm");
    strcpy(u + 130, "6.1.0-flashvm");
    strcpy(u + 195, "#1 SMP");
    strcpy(u + 260, "mips");
    strcpy(u + 325, "(none)");
    return copyout(current()->mm, ubuf, u, sizeof u) ? -EFAULT : 0;
}

long sys_rt_sigaction(u32 *a, struct tf *tf)
{
    int sig = a[0];
    u32 act = a[1], oact = a[2];
    struct task *t = current();
    if (sig < 1 || sig > NSIG) return -EINVAL;
    struct k_sigaction *ka = &t->sig->act[sig];
    u32 buf[6];
    if (oact) {
        buf[0] = ka->flags; buf[1] = ka->handler;
        buf[2] = (u32)ka->mask; buf[3] = (u32)(ka->mask >> 32); buf[4] = buf[5] = 0;
        if (copyout(t->mm, oact, buf, 24)) return -EFAULT;
    }
    if (act) {
        if (sig == SIGKILL || sig == SIGSTOP) return -EINVAL;
        if (copyin(t->mm, buf, act, 24)) return -EFAULT;
        ka->flags = buf[0];
        ka->handler = buf[1];
        ka->mask = (u64)buf[3] << 32 | buf[2];
        if (ka->handler == SIG_IGN || (ka->handler == SIG_DFL && (sig == SIGCHLD || sig == SIGWINCH || sig == SIGURG))) {
            /* drop what is pending */
            t->sigpending &= ~SIGBIT(sig);
        }
    }
    return 0;
}

long sys_rt_sigprocmask(u32 *a, struct tf *tf)
{
    int how = a[0];
    u32 set = a[1], oset = a[2];
    struct task *t = current();
    u64 old = t->sigmask;
    if (set) {
        u32 v[2];
        if (copyin(t->mm, v, set, 8)) return -EFAULT;
        u64 m = (u64)v[1] << 32 | v[0];
        if (how == 1) t->sigmask |= m;
        else if (how == 2) t->sigmask &= ~m;
        else if (how == 3) t->sigmask = m;
        else return -EINVAL;
        t->sigmask &= ~(SIGBIT(SIGKILL) | SIGBIT(SIGSTOP));
    }
    if (oset) {
        u32 v[4] = { (u32)old, (u32)(old >> 32), 0, 0 };
        if (copyout(t->mm, oset, v, 16)) return -EFAULT;
    }
    return 0;
}


/* ------------------------------------------------------------ processes */
long sys_exit(u32 *a, struct tf *tf) { do_exit((a[0] & 0xFF) << 8); }
long sys_exit_group(u32 *a, struct tf *tf) { do_exit_group((a[0] & 0xFF) << 8); }
long sys_fork(u32 *a, struct tf *tf) { return do_fork(SIGCHLD, 0, 0, 0, 0, tf); }
long sys_clone(u32 *a, struct tf *tf) { return do_fork(a[0], a[1], a[2], a[3], a[4], tf); }
long sys_wait4(u32 *a, struct tf *tf) { return do_wait4((s32)a[0], a[1], a[2], a[3]); }
long sys_waitpid(u32 *a, struct tf *tf) { return do_wait4((s32)a[0], a[1], a[2], 0); }
long sys_getpid(u32 *a, struct tf *tf) { return current()->tgid; }
long sys_gettid(u32 *a, struct tf *tf) { return current()->pid; }

long sys_getppid(u32 *a, struct tf *tf)
{
    struct task *t = current();
    return t->leader->parent ? t->leader->parent->tgid : 0;
}

/* calls that succeed and change nothing: the ids are all 0 (root), every
 * process is a group and session of its own, limits are not enforced */
long sys_zero(u32 *a, struct tf *tf) { return 0; }

/* the file systems keep no extended attributes (as a Linux file system
 * built without them: ls and cp take EOPNOTSUPP as "none") */
long sys_no_xattr(u32 *a, struct tf *tf) { return -EOPNOTSUPP; }

/* getresuid, getresgid: all three ids are 0 */
long sys_getresuid(u32 *a, struct tf *tf)
{
    u32 z = 0;
    for (int i = 0; i < 3; i++) if (a[i] && put_user32(a[i], z)) return -EFAULT;
    return 0;
}

long sys_set_thread_area(u32 *a, struct tf *tf)
{
    current()->tls = a[0];
    mtc0(4, 2, a[0]);
    return 0;
}

long sys_set_tid_address(u32 *a, struct tf *tf)
{
    struct task *t = current();
    t->clear_tid = a[0];
    return t->pid;
}

long sys_sched_yield(u32 *a, struct tf *tf)
{
    yield();
    return 0;
}

long sys_sched_getaffinity(u32 *a, struct tf *tf)
{
    u32 mask = ncpu >= 32 ? 0xFFFFFFFF : (1u << ncpu) - 1;
    if (a[1] < 4) return -EINVAL;
    return copyout(current()->mm, a[2], &mask, 4) ? -EFAULT : 4;
}

long sys_sched_setaffinity(u32 *a, struct tf *tf)
{
    /* pid 0 (or the caller) only; a mask of every started CPU means any, else its lowest CPU */
    struct task *t = current();
    u32 mask = 0, all = ncpu >= 32 ? 0xFFFFFFFF : (1u << ncpu) - 1;
    if (a[1] < 4) return -EINVAL;
    if (get_user32(a[2], &mask)) return -EFAULT;
    if (!(mask & all)) return -EINVAL;
    if (a[0] && (u32)t->pid != a[0]) return 0;
    set_affinity((mask & all) == all ? -1 : __builtin_ctz(mask & all));
    return 0;
}

long sys_getcpu(u32 *a, struct tf *tf)
{
    u32 c = cpuid();
    if (a[0] && put_user32(a[0], c)) return -EFAULT;
    if (a[1] && put_user32(a[1], 0)) return -EFAULT;
    return 0;
}

/* RLIMIT_STACK is STACK_SIZE, RLIMIT_NOFILE is NOFILE, the rest unlimited */
static long get_rlimit(u32 res, u32 old, int wide)
{
    u64 cur = ~0ULL, max = ~0ULL;
    if (res == 3) { cur = STACK_SIZE; }             /* RLIMIT_STACK */
    else if (res == 5) { cur = max = NOFILE; }      /* RLIMIT_NOFILE (mips) */
    if (!old) return 0;
    if (wide) {
        u64 v[2] = { cur, max };
        return copyout(current()->mm, old, v, 16) ? -EFAULT : 0;
    }
    u32 v[2] = { (u32)MIN(cur, 0x7FFFFFFFULL), (u32)MIN(max, 0x7FFFFFFFULL) };
    return copyout(current()->mm, old, v, 8) ? -EFAULT : 0;
}

long sys_prlimit64(u32 *a, struct tf *tf) { return get_rlimit(a[1], a[3], 1); }
long sys_getrlimit(u32 *a, struct tf *tf) { return get_rlimit(a[0], a[1], 0); }

long sys_sysinfo(u32 *a, struct tf *tf)
{
    u32 v[16];
    memset(v, 0, sizeof v);
    v[0] = uptime_ns() / 1000000000ULL;
    v[4] = ram_bytes; v[5] = pages_available() * PAGE_SIZE;
    v[10] = 0; v[13] = 1;
    return copyout(current()->mm, a[0], v, 64) ? -EFAULT : 0;
}

/* RUSAGE_SELF: the group's threads, live and exited; RUSAGE_CHILDREN: the
 * reaped children; RUSAGE_THREAD: the caller */
long sys_getrusage(u32 *a, struct tf *tf)
{
    struct task *t = current(), *l = t->leader;
    u64 ns = 0;
    spin_lock(&sched_lock);
    if ((s32)a[0] == -1) {
        ns = l->child_ns;
    } else if (a[0] == 1) {
        ns = t->cpu_ns;
    } else if (a[0] == 0) {
        ns = l->group_ns;
        for (struct task *p = l; p; p = p->gnext)
            if (p->state != T_ZOMBIE && p->state != T_DEAD) ns += p->cpu_ns;
    } else {
        spin_unlock(&sched_lock);
        return -EINVAL;
    }
    u64 now = uptime_ns();
    if (a[0] != (u32)-1 && now > t->last_ns) ns += now - t->last_ns;   /* the caller's current slice */
    spin_unlock(&sched_lock);
    return put_rusage(a[1], ns);
}

long sys_getrandom(u32 *a, struct tf *tf)
{
    u8 tmp[256];
    u32 n = MIN(a[1], sizeof tmp);
    for (u32 i = 0; i < n; i++) {
        rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
        tmp[i] = rng >> 24;
    }
    return copyout(current()->mm, a[0], tmp, n) ? -EFAULT : (long)n;
}

long sys_reboot(u32 *a, struct tf *tf) { machine_halt(a[3]); }

#define PR_SET_NAME 15
#define PR_GET_NAME 16
#define PR_SET_FP_MODE 45
#define PR_GET_FP_MODE 46
#define PR_FP_MODE_FR 1

/* prctl: the name, and the FPU mode as Linux gives it on a CPU that runs
 * o32 with Status.FR = 0 only (exec.c); the other options succeed and do
 * nothing */
long sys_prctl(u32 *a, struct tf *tf)
{
    struct task *t = current();
    switch (a[0]) {
    case PR_SET_NAME: {
        char name[16];
        int n = copyinstr(t->mm, name, a[1], sizeof name);
        if (n == -EFAULT) return -EFAULT;
        name[sizeof name - 1] = 0;
        strlcpy(t->comm, name, sizeof t->comm);
        return 0;
    }
    case PR_GET_NAME:
        return copyout(t->mm, a[1], t->comm, sizeof t->comm) ? -EFAULT : 0;
    case PR_GET_FP_MODE:
        return 0;
    case PR_SET_FP_MODE:
        if (a[1] & ~3u) return -EINVAL;
        return a[1] == 0 ? 0 : -EOPNOTSUPP;
    default:
        return 0;
    }
}

/* ------------------------------------------------------------ memory */
long sys_mmap2(u32 *a, struct tf *tf) { return do_mmap(a[0], a[1], a[2], a[3], a[4], a[5]); }

long sys_mmap(u32 *a, struct tf *tf)
{
    if (a[5] & (PAGE_SIZE - 1)) return -EINVAL;
    return do_mmap(a[0], a[1], a[2], a[3], a[4], a[5] >> PAGE_SHIFT);
}

long sys_munmap(u32 *a, struct tf *tf) { return vm_unmap(current()->mm, a[0], a[1]); }

long sys_mprotect(u32 *a, struct tf *tf)
{
    u32 vprot = (a[2] & 1 ? VM_READ : 0) | (a[2] & 2 ? VM_WRITE : 0) | (a[2] & 4 ? VM_EXEC : 0);
    return vm_protect(current()->mm, a[0], a[1], vprot);
}

long sys_mremap(u32 *a, struct tf *tf) { return -ENOMEM; }

/* ------------------------------------------------------------ time */
long sys_clock_gettime(u32 *a, struct tf *tf) { return clock_get(a[0], a[1], 0); }
long sys_clock_gettime64(u32 *a, struct tf *tf) { return clock_get(a[0], a[1], 1); }

/* the resolution is 1 ns */
long sys_clock_getres(u32 *a, struct tf *tf)
{
    if (!a[1]) return 0;
    u32 v[4] = { 0, 0, 0, 0 };
    v[1] = 1;
    return copyout(current()->mm, a[1], v, 8) ? -EFAULT : 0;
}

long sys_clock_getres_time64(u32 *a, struct tf *tf)
{
    if (!a[1]) return 0;
    u32 v[4] = { 0, 0, 0, 0 };
    v[2] = 1;
    return copyout(current()->mm, a[1], v, 16) ? -EFAULT : 0;
}

long sys_gettimeofday(u32 *a, struct tf *tf)
{
    if (!a[0]) return 0;
    u64 ns = uptime_ns() + (u64)1700000000 * 1000000000ULL;
    u32 v[2] = { (u32)(ns / 1000000000ULL), (u32)((ns % 1000000000ULL) / 1000) };
    return copyout(current()->mm, a[0], v, 8) ? -EFAULT : 0;
}

long sys_time(u32 *a, struct tf *tf)
{
    u32 s = (u32)((uptime_ns() / 1000000000ULL) + 1700000000ULL);
    if (a[0] && put_user32(a[0], s)) return -EFAULT;
    return s;
}

long sys_times(u32 *a, struct tf *tf)
{
    u32 ticks = (u32)(uptime_ns() / 10000000ULL);
    if (a[0]) {
        u32 v[4] = { ticks, 0, 0, 0 };
        if (copyout(current()->mm, a[0], v, 16)) return -EFAULT;
    }
    return ticks;
}

long sys_nanosleep(u32 *a, struct tf *tf)
{
    current()->sc_restart = 0;
    return do_sleep(1, 0, a[0], a[1], 0);
}

long sys_clock_nanosleep(u32 *a, struct tf *tf) { return do_sleep(a[0], a[1], a[2], a[3], 0); }
long sys_clock_nanosleep_time64(u32 *a, struct tf *tf) { return do_sleep(a[0], a[1], a[2], a[3], 1); }

/* ------------------------------------------------------------ signals */
long sys_rt_sigpending(u32 *a, struct tf *tf)
{
    struct task *t = current();
    u32 v[4] = { (u32)t->sigpending, (u32)(t->sigpending >> 32), 0, 0 };
    return copyout(t->mm, a[0], v, MIN(a[1], 16)) ? -EFAULT : 0;
}

long sys_rt_sigreturn(u32 *a, struct tf *tf)
{
    do_sigreturn(tf);
    return RESULT_SET;
}

long sys_pause(u32 *a, struct tf *tf)
{
    struct task *t = current();
    t->sc_restart = 0;
    spin_lock(&sched_lock);
    while (sleep_intr(t, &sched_lock) == 0) ;
    spin_unlock(&sched_lock);
    return -EINTR;
}

long sys_rt_sigsuspend(u32 *a, struct tf *tf)
{
    struct task *t = current();
    u32 v[2];
    if (copyin(t->mm, v, a[0], 8)) return -EFAULT;
    t->saved_mask = t->sigmask;
    t->saved_mask_valid = 1;
    t->sigmask = ((u64)v[1] << 32 | v[0]) & ~(SIGBIT(SIGKILL) | SIGBIT(SIGSTOP));
    spin_lock(&sched_lock);
    while (sleep_intr(t, &sched_lock) == 0) ;
    spin_unlock(&sched_lock);
    tf->regs[2] = EINTR;
    tf->regs[7] = 1;
    handle_signals(tf);          /* the frame records the mask from before */
    if (t->saved_mask_valid) { t->sigmask = t->saved_mask; t->saved_mask_valid = 0; }
    return RESULT_SET;
}

/* there is no alternate signal stack: report SS_DISABLE */
long sys_sigaltstack(u32 *a, struct tf *tf)
{
    if (a[1]) { u32 v[3] = { 0, 2, 0 }; copyout(current()->mm, a[1], v, 12); }
    return 0;
}

long sys_kill(u32 *a, struct tf *tf) { return do_kill((s32)a[0], a[1]); }

/* signal one thread */
static long thread_kill(int tid, int sig)
{
    spin_lock(&sched_lock);
    struct task *x = task_by_pid(tid);
    if (!x || x->state == T_ZOMBIE) { spin_unlock(&sched_lock); return -ESRCH; }
    if (sig) send_signal(x, sig, 0);
    spin_unlock(&sched_lock);
    return 0;
}

long sys_tkill(u32 *a, struct tf *tf) { return thread_kill((s32)a[0], a[1]); }
long sys_tgkill(u32 *a, struct tf *tf) { return thread_kill((s32)a[1], a[2]); }

/* futex and futex_time64 */
long sys_futex(u32 *a, struct tf *tf) { return do_futex(a[0], a[1], a[2], a[3], a[4], a[5]); }
