/*
 * trap.c -- exception dispatch and the system-call table.
 */
#include "kernel.h"
#include "fs.h"
#include "syscall.h"

extern void interrupt(struct tf *tf);
static const char *excname[32] = {
    "Int", "Mod", "TLBL", "TLBS", "AdEL", "AdES", "IBE", "DBE", "Sys", "Bp", "RI", "CpU",
    "Ov", "Tr", "?14", "FPE",
};

static void dump_tf(struct tf *tf)
{
    kprintf("epc=%x cause=%x status=%x badva=%x ra=%x sp=%x\n", tf->epc, tf->cause,
            tf->status, tf->badvaddr, tf->regs[31], tf->regs[29]);
}

/* a fault in user mode that the kernel cannot fix: signal */
static void user_fault(struct tf *tf, int sig)
{
    struct task *t = current();
    if (bootinfo->verbose)
        kprintf("pid %d (%s): %s at epc=%x badva=%x -> signal %d\n", t->pid, t->comm,
                excname[(tf->cause >> 2) & 31] ? excname[(tf->cause >> 2) & 31] : "?",
                tf->epc, tf->badvaddr, sig);
    send_signal(t, sig, 0);
    /* a synchronous fault cannot be blocked or ignored into a loop */
    struct k_sigaction *a = &t->sig->act[sig];
    if ((t->sigmask & SIGBIT(sig)) || a->handler == SIG_IGN) {
        a->handler = SIG_DFL;
        t->sigmask &= ~SIGBIT(sig);
    }
}

static void do_syscall(struct tf *tf);

void trap(struct tf *tf)
{
    int exc = (tf->cause >> 2) & 31;
    int user = (tf->status & ST_KSU) != 0;
    struct task *t = current();
    switch (exc) {
    case EXC_INT:
        interrupt(tf);
        break;
    case EXC_SYS:
        if (!user) panic("syscall in kernel");
        do_syscall(tf);
        break;
    case EXC_TLBL: case EXC_TLBS: case EXC_MOD:
        if (!user || !t || !t->mm) {
            dump_tf(tf);
            panic("kernel page fault (%s) at %x", excname[exc], tf->badvaddr);
        }
        {
            int r = vm_fault(t->mm, tf->badvaddr, exc != EXC_TLBL);
            if (r == -ENOMEM) {
                if (bootinfo->verbose) kprintf("pid %d: out of memory, killed\n", t->pid);
                send_signal(t, SIGKILL, 1);
            } else if (r) {
                user_fault(tf, SIGSEGV);
            }
        }
        break;
    case EXC_ADEL: case EXC_ADES:
        if (!user) { dump_tf(tf); panic("kernel address error"); }
        user_fault(tf, tf->badvaddr >= 0x80000000 ? SIGSEGV : SIGBUS);
        break;
    case EXC_IBE: case EXC_DBE:
        if (!user) {
            extern volatile int probing, probe_failed;
            if (probing && exc == EXC_DBE) { probe_failed = 1; tf->epc += 4; break; }
            dump_tf(tf);
            panic("kernel bus error");
        }
        user_fault(tf, SIGBUS);
        break;
    case EXC_RI: {
        if (!user) { dump_tf(tf); panic("kernel reserved instruction"); }
        user_fault(tf, SIGILL);
        break;
    }
    case EXC_CPU:
        if (!user) { dump_tf(tf); panic("kernel coprocessor unusable"); }
        user_fault(tf, SIGILL);
        break;
    case EXC_BP:
        if (!user) { dump_tf(tf); panic("kernel breakpoint"); }
        user_fault(tf, SIGTRAP);
        break;
    case EXC_TR: {
        /* teq with code 7 is the compiler's division by zero */
        u32 insn = 0;
        if (user) copyin(t->mm, &insn, tf->epc + ((tf->cause & CAUSE_BD) ? 4 : 0), 4);
        if (!user) { dump_tf(tf); panic("kernel trap"); }
        user_fault(tf, ((insn >> 6) & 0x3FF) == 7 ? SIGFPE : SIGTRAP);
        break;
    }
    case EXC_OV: case EXC_FPE:
        if (!user) { dump_tf(tf); panic("kernel arithmetic exception"); }
        user_fault(tf, SIGFPE);
        break;
    default:
        dump_tf(tf);
        panic("unexpected exception %d", exc);
    }
    if (user) {
        struct cpu *c = mycpu();
        if (c->need_resched) yield();
        if (t->sigpending || t->killed) handle_signals(tf);
        t->in_syscall = 0;
        /* refresh this CPU's view: we may have moved */
        mtc0(4, 2, t->tls);
    }
}

/* ------------------------------------------------------------ syscalls */
#define RESULT_SET 0x7FFFFFFF     /* the handler set the frame itself */

static u64 rng = 0x9E3779B97F4A7C15ULL;

static long sys_clock(u32 clk, u32 tp, int wide)
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

static long sys_sleep(u32 clk, int flags, u32 req, u32 rem, int wide)
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

static long sys_mmap(u32 addr, u32 len, u32 prot, u32 flags, int fd, u32 pgoff)
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

static long sys_brk(u32 newbrk)
{
    struct mm *mm = current()->mm;
    if (newbrk < mm->brk_start) return mm->brk;
    u32 oldend = PGROUND(mm->brk), newend = PGROUND(newbrk);
    if (newend > oldend) {
        /* must not run into another mapping */
        for (struct vma *v = mm->vmas; v; v = v->next)
            if (v->start < newend && v->end > oldend) return mm->brk;
        if (newend - oldend > pages_free() * PAGE_SIZE) return mm->brk;
        if (vm_map(mm, oldend, newend - oldend, VM_READ | VM_WRITE, 0, NULL, 0, 0)) return mm->brk;
    } else if (newend < oldend) {
        vm_unmap(mm, newend, oldend - newend);
    }
    mm->brk = newbrk;
    return newbrk;
}

static long sys_execve(u32 upath, u32 uargv, u32 uenvp)
{
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
    extern int exec_kill_others(void);
    if (t->leader->nthreads > 1 && (r = exec_kill_others()) != 0) goto out;
    r = do_execve(buf, argv, envp);
    if (r == 0) r = RESULT_SET;
out:
    page_free_n(buf, BUFSZ / PAGE_SIZE);
    page_free_n(vec, 2);
    return r;
}

static long sys_uname(u32 ubuf)
{
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

static long sys_sigaction(int sig, u32 act, u32 oact)
{
    struct task *t = current();
    if (sig < 1 || sig > NSIG) return -EINVAL;
    struct k_sigaction *a = &t->sig->act[sig];
    u32 buf[6];
    if (oact) {
        buf[0] = a->flags; buf[1] = a->handler;
        buf[2] = (u32)a->mask; buf[3] = (u32)(a->mask >> 32); buf[4] = buf[5] = 0;
        if (copyout(t->mm, oact, buf, 24)) return -EFAULT;
    }
    if (act) {
        if (sig == SIGKILL || sig == SIGSTOP) return -EINVAL;
        if (copyin(t->mm, buf, act, 24)) return -EFAULT;
        a->flags = buf[0];
        a->handler = buf[1];
        a->mask = (u64)buf[3] << 32 | buf[2];
        if (a->handler == SIG_IGN || (a->handler == SIG_DFL && (sig == SIGCHLD || sig == SIGWINCH || sig == SIGURG))) {
            /* drop what is pending */
            t->sigpending &= ~SIGBIT(sig);
        }
    }
    return 0;
}

static long sys_sigprocmask(int how, u32 set, u32 oset)
{
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

static long syscall(u32 nr, u32 *a, struct tf *tf)
{
    struct task *t = current();
    switch (nr) {
    case NR_exit:
        do_exit((a[0] & 0xFF) << 8);
    case NR_exit_group:
        do_exit_group((a[0] & 0xFF) << 8);
    case NR_fork:
        return do_fork(SIGCHLD, 0, 0, 0, 0, tf);
    case NR_clone:
        return do_fork(a[0], a[1], a[2], a[3], a[4], tf);
    case NR_execve:
        return sys_execve(a[0], a[1], a[2]);
    case NR_wait4:
        return do_wait4((s32)a[0], a[1], a[2], a[3]);
    case NR_waitpid:
        return do_wait4((s32)a[0], a[1], a[2], 0);
    case NR_getpid: return t->tgid;
    case NR_gettid: return t->pid;
    case NR_getppid: return t->leader->parent ? t->leader->parent->tgid : 0;
    case NR_getuid: case NR_geteuid: case NR_getgid: case NR_getegid: return 0;
    case NR_getpgid: case NR_getpgrp: case NR_getsid: return t->tgid;
    case NR_setpgid: case NR_setsid: return 0;
    case NR_getresuid: case NR_getresgid: {
        u32 z = 0;
        for (int i = 0; i < 3; i++) if (a[i] && put_user32(a[i], z)) return -EFAULT;
        return 0;
    }
    case NR_set_thread_area:
        t->tls = a[0];
        mtc0(4, 2, a[0]);
        return 0;
    case NR_set_tid_address:
        t->clear_tid = a[0];
        return t->pid;
    case NR_set_robust_list:
        return 0;
    case NR_brk:
        return sys_brk(a[0]);
    case NR_mmap2:
        return sys_mmap(a[0], a[1], a[2], a[3], a[4], a[5]);
    case NR_mmap:
        if (a[5] & (PAGE_SIZE - 1)) return -EINVAL;
        return sys_mmap(a[0], a[1], a[2], a[3], a[4], a[5] >> PAGE_SHIFT);
    case NR_munmap:
        return vm_unmap(t->mm, a[0], a[1]);
    case NR_mprotect: {
        u32 vprot = (a[2] & 1 ? VM_READ : 0) | (a[2] & 2 ? VM_WRITE : 0) | (a[2] & 4 ? VM_EXEC : 0);
        return vm_protect(t->mm, a[0], a[1], vprot);
    }
    case NR_madvise: case NR_msync: case NR_mlock: case NR_munlock:
        return 0;
    case NR_mremap:
        return -ENOMEM;
    case NR_uname:
        return sys_uname(a[0]);
    case NR_clock_gettime:
        return sys_clock(a[0], a[1], 0);
    case NR_clock_gettime64:
        return sys_clock(a[0], a[1], 1);
    case NR_clock_getres: case NR_clock_getres_time64: {
        if (!a[1]) return 0;
        u32 v[4] = { 0, 0, 0, 0 };
        if (nr == NR_clock_getres) { v[1] = 1; return copyout(t->mm, a[1], v, 8) ? -EFAULT : 0; }
        v[2] = 1;
        return copyout(t->mm, a[1], v, 16) ? -EFAULT : 0;
    }
    case NR_gettimeofday: {
        if (!a[0]) return 0;
        u64 ns = uptime_ns() + (u64)1700000000 * 1000000000ULL;
        u32 v[2] = { (u32)(ns / 1000000000ULL), (u32)((ns % 1000000000ULL) / 1000) };
        return copyout(t->mm, a[0], v, 8) ? -EFAULT : 0;
    }
    case NR_time: {
        u32 s = (u32)((uptime_ns() / 1000000000ULL) + 1700000000ULL);
        if (a[0] && put_user32(a[0], s)) return -EFAULT;
        return s;
    }
    case NR_times: {
        u32 ticks = (u32)(uptime_ns() / 10000000ULL);
        if (a[0]) {
            u32 v[4] = { ticks, 0, 0, 0 };
            if (copyout(t->mm, a[0], v, 16)) return -EFAULT;
        }
        return ticks;
    }
    case NR_nanosleep:
        t->sc_restart = 0;
        return sys_sleep(1, 0, a[0], a[1], 0);
    case NR_clock_nanosleep:
        return sys_sleep(a[0], a[1], a[2], a[3], 0);
    case NR_clock_nanosleep_time64:
        return sys_sleep(a[0], a[1], a[2], a[3], 1);
    case NR_sched_yield:
        yield();
        return 0;
    case NR_sched_getaffinity: {
        u32 mask = ncpu >= 32 ? 0xFFFFFFFF : (1u << ncpu) - 1;
        if (a[1] < 4) return -EINVAL;
        return copyout(t->mm, a[2], &mask, 4) ? -EFAULT : 4;
    }
    case NR_sched_setaffinity: {
        /* pid 0 only; a mask of every started CPU means any, else its lowest CPU */
        u32 mask = 0, all = ncpu >= 32 ? 0xFFFFFFFF : (1u << ncpu) - 1;
        if (a[1] < 4) return -EINVAL;
        if (get_user32(a[2], &mask)) return -EFAULT;
        if (!(mask & all)) return -EINVAL;
        if (a[0] && (u32)t->pid != a[0]) return 0;
        extern void set_affinity(int cpu);
        set_affinity((mask & all) == all ? -1 : __builtin_ctz(mask & all));
        return 0;
    }
    case NR_getcpu: {
        u32 c = cpuid();
        if (a[0] && put_user32(a[0], c)) return -EFAULT;
        if (a[1] && put_user32(a[1], 0)) return -EFAULT;
        return 0;
    }
    case NR_getrandom: {
        u8 tmp[256];
        u32 n = MIN(a[1], sizeof tmp);
        for (u32 i = 0; i < n; i++) {
            rng ^= rng << 13; rng ^= rng >> 7; rng ^= rng << 17;
            tmp[i] = rng >> 24;
        }
        return copyout(t->mm, a[0], tmp, n) ? -EFAULT : (long)n;
    }
    case NR_prlimit64: case NR_getrlimit: {
        u32 res = nr == NR_prlimit64 ? a[1] : a[0];
        u32 old = nr == NR_prlimit64 ? a[3] : a[1];
        u64 cur = ~0ULL, max = ~0ULL;
        if (res == 3) { cur = STACK_SIZE; }             /* RLIMIT_STACK */
        else if (res == 5) { cur = max = NOFILE; }      /* RLIMIT_NOFILE (mips) */
        if (!old) return 0;
        if (nr == NR_prlimit64) {
            u64 v[2] = { cur, max };
            return copyout(t->mm, old, v, 16) ? -EFAULT : 0;
        }
        u32 v[2] = { (u32)MIN(cur, 0x7FFFFFFFULL), (u32)MIN(max, 0x7FFFFFFFULL) };
        return copyout(t->mm, old, v, 8) ? -EFAULT : 0;
    }
    case NR_setrlimit:
        return 0;
    case NR_rt_sigaction:
        return sys_sigaction(a[0], a[1], a[2]);
    case NR_rt_sigprocmask:
        return sys_sigprocmask(a[0], a[1], a[2]);
    case NR_rt_sigpending: {
        u32 v[4] = { (u32)t->sigpending, (u32)(t->sigpending >> 32), 0, 0 };
        return copyout(t->mm, a[0], v, MIN(a[1], 16)) ? -EFAULT : 0;
    }
    case NR_rt_sigreturn:
        sys_rt_sigreturn(tf);
        return RESULT_SET;
    case NR_pause:
        t->sc_restart = 0;
        spin_lock(&sched_lock);
        while (sleep_intr(t, &sched_lock) == 0) ;
        spin_unlock(&sched_lock);
        return -EINTR;
    case NR_rt_sigsuspend: {
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
    case NR_sigaltstack:
        if (a[1]) { u32 v[3] = { 0, 2, 0 }; copyout(t->mm, a[1], v, 12); }
        return 0;
    case NR_kill:
        return do_kill((s32)a[0], a[1]);
    case NR_tkill: case NR_tgkill: {
        int tid = nr == NR_tkill ? (s32)a[0] : (s32)a[1];
        int sig = nr == NR_tkill ? a[1] : a[2];
        spin_lock(&sched_lock);
        struct task *x = task_by_pid(tid);
        if (!x || x->state == T_ZOMBIE) { spin_unlock(&sched_lock); return -ESRCH; }
        if (sig) send_signal(x, sig, 0);
        spin_unlock(&sched_lock);
        return 0;
    }
    case NR_futex: case NR_futex_time64:
        return do_futex(a[0], a[1], a[2], a[3], a[4], a[5]);
    case NR_sysinfo: {
        u32 v[16];
        memset(v, 0, sizeof v);
        v[0] = uptime_ns() / 1000000000ULL;
        v[4] = ram_bytes; v[5] = pages_free() * PAGE_SIZE;
        v[10] = 0; v[13] = 1;
        return copyout(t->mm, a[0], v, 64) ? -EFAULT : 0;
    }
    case NR_getrusage: {
        u8 z[72];
        memset(z, 0, sizeof z);
        return copyout(t->mm, a[1], z, sizeof z) ? -EFAULT : 0;
    }
    case NR_prctl:
        return 0;
    case NR_reboot:
        machine_halt(a[3]);
    }
    return fs_syscall(nr, a, tf);
}

/* system calls with arguments on the user stack (o32: beyond a0..a3) */
static int more_args(u32 nr)
{
    switch (nr) {
    case NR_mmap: case NR_mmap2: case NR_clone: case NR_futex: case NR_futex_time64:
    case NR_pread64: case NR_pwrite64: case NR__llseek: case NR_statx: case NR_renameat2:
    case NR_waitid: case NR_preadv: case NR_pwritev: case NR_ppoll: case NR_pselect6:
    case NR_sendto: case NR_recvfrom: case NR_mremap: case NR_ipc: case NR_splice:
        return 1;
    }
    return 0;
}

static void do_syscall(struct tf *tf)
{
    struct task *t = current();
    u32 nr = tf->regs[2];
    u32 a[8] = { tf->regs[4], tf->regs[5], tf->regs[6], tf->regs[7], 0, 0, 0, 0 };
    if (nr == NR_syscall) {
        nr = a[0];
        a[0] = a[1]; a[1] = a[2]; a[2] = a[3];
        copyin(t->mm, &a[3], tf->regs[29] + 16, 16);
    } else if (more_args(nr)) {
        copyin(t->mm, &a[4], tf->regs[29] + 16, 16);
    }
    tf->epc += 4;
    t->sc_nr = tf->regs[2];
    t->sc_a3 = tf->regs[7];
    t->sc_restart = 1;
    long r = syscall(nr, a, tf);
    t->in_syscall = 1;
    if (r == RESULT_SET)
        return;
    if (r == -ENOSYS && bootinfo->verbose > 1)
        kprintf("pid %d: unknown syscall %u\n", t->pid, nr);
    if (r < 0 && r > -4096) {
        tf->regs[2] = -r;
        tf->regs[7] = 1;
    } else {
        tf->regs[2] = r;
        tf->regs[7] = 0;
    }
}
