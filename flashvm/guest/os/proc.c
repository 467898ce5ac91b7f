/*
 * proc.c -- processes and threads: clone/fork, exit, wait4, signals, futexes.
 *
 * A task is a thread (Linux style).  Tasks of a thread group share the
 * leader's pid (tgid) and usually the mm, fd table and signal actions; the
 * group's `parent` is the process that waits for it.  A group is a zombie
 * when its last thread has exited; its leader then carries the wait status.
 */
#include "kernel.h"
#include "fs.h"
#include "syscall.h"

#define CLONE_VM             0x00000100
#define CLONE_FS             0x00000200
#define CLONE_FILES          0x00000400
#define CLONE_SIGHAND        0x00000800
#define CLONE_VFORK          0x00004000
#define CLONE_PARENT         0x00008000
#define CLONE_THREAD         0x00010000
#define CLONE_SETTLS         0x00080000
#define CLONE_PARENT_SETTID  0x00100000
#define CLONE_CHILD_CLEARTID 0x00200000
#define CLONE_CHILD_SETTID   0x01000000

struct task *init_task;

static struct sighand *sighand_new(void)
{
    struct sighand *s = kzalloc(sizeof *s);
    if (s) s->refs = 1;
    return s;
}

static void sighand_put(struct sighand *s)
{
    if (__atomic_sub_fetch(&s->refs, 1, __ATOMIC_SEQ_CST) == 0)
        kfree(s);
}

/* prepare t's kernel stack so that its first switch runs forkret -> user */
static void setup_kctx(struct task *t, void (*entry)(void))
{
    u32 *frame = (u32 *)((u8 *)t->tf - 24 - 48);
    memset(frame, 0, 48);
    frame[0] = (u32)t->tf;               /* s0 */
    frame[9] = (u32)entry;               /* ra */
    frame[10] = (u32)_gp;
    t->ctx_sp = (u32)frame;
}

int do_fork(u32 flags, u32 newsp, u32 ptid, u32 tls, u32 ctid, struct tf *tf)
{
    struct task *cur = current();
    if ((flags & CLONE_THREAD) && !(flags & CLONE_SIGHAND)) return -EINVAL;
    if ((flags & CLONE_SIGHAND) && !(flags & CLONE_VM)) return -EINVAL;
    struct task *t = task_alloc();
    if (!t) return -EAGAIN;
    if (flags & CLONE_VM) {
        t->mm = cur->mm;
        __atomic_add_fetch(&t->mm->refs, 1, __ATOMIC_SEQ_CST);
    } else {
        t->mm = mm_fork(cur->mm);
        if (!t->mm) { task_free(t); return -ENOMEM; }
    }
    if (flags & CLONE_FILES) {
        t->files = cur->files;
        __atomic_add_fetch(&t->files->refs, 1, __ATOMIC_SEQ_CST);
    } else {
        t->files = files_dup(cur->files);
    }
    if (flags & CLONE_SIGHAND) {
        t->sig = cur->sig;
        __atomic_add_fetch(&t->sig->refs, 1, __ATOMIC_SEQ_CST);
    } else {
        t->sig = sighand_new();
        if (t->sig) memcpy(t->sig->act, cur->sig->act, sizeof t->sig->act);
    }
    if (!t->files || !t->sig) {
        if (t->files) files_put(t->files);
        if (t->sig) sighand_put(t->sig);
        mm_put(t->mm);
        task_free(t);
        return -ENOMEM;
    }
    *t->tf = *tf;
    t->tf->regs[2] = 0;
    t->tf->regs[7] = 0;
    if (newsp) t->tf->regs[29] = newsp;
    t->tls = (flags & CLONE_SETTLS) ? tls : cur->tls;
    t->sigmask = cur->sigmask;
    memcpy(t->comm, cur->comm, sizeof t->comm);
    if (cur->mm) { fpu_save(t->fpu); t->fpu_valid = 1; }
    t->start_ns = uptime_ns();
    if (flags & CLONE_CHILD_CLEARTID) t->clear_tid = ctid;
    if (flags & CLONE_CHILD_SETTID) copyout(t->mm, ctid, &t->pid, 4);
    if (flags & CLONE_PARENT_SETTID) copyout(cur->mm, ptid, &t->pid, 4);
    setup_kctx(t, forkret);

    spin_lock(&sched_lock);
    if (flags & CLONE_THREAD) {
        struct task *l = cur->leader;
        t->tgid = cur->tgid;
        t->leader = l;
        t->parent = l->parent;
        t->gnext = l->gnext;
        l->gnext = t;
        l->nthreads++;
        t->exit_signal = 0;
    } else {
        t->tgid = t->pid;
        t->leader = t;
        t->nthreads = 1;
        t->parent = (flags & CLONE_PARENT) ? cur->leader->parent : cur->leader;
        t->exit_signal = flags & 0xFF;
    }
    int pid = t->pid;
    if (flags & CLONE_VFORK)
        t->vfork_parent = cur;
    make_runnable(t);
    /* vfork: the child borrows our memory (and often our stack) until it
     * execs or exits (vfork_release) */
    while (t->vfork_parent == cur)
        sleep_on(&t->vfork_parent, &sched_lock);
    spin_unlock(&sched_lock);
    return pid;
}

/* t execs or exits: its vfork parent, if any, may run again */
void vfork_release(struct task *t)
{
    if (!t->vfork_parent) return;
    spin_lock(&sched_lock);
    t->vfork_parent = NULL;
    wakeup(&t->vfork_parent);
    spin_unlock(&sched_lock);
}

/* ------------------------------------------------------------ exit */
static void reparent_children(struct task *leader)
{
    for (int i = 0; i < NTASK; i++) {
        struct task *c = &tasks[i];
        if (c->state != T_UNUSED && c->parent == leader && c != leader) {
            c->parent = init_task;
            if (c->state == T_ZOMBIE && c->leader == c && c->nthreads == 0)
                wakeup(init_task);
        }
    }
}


static noreturn void halt_with_init_status(int wstatus)
{
    int code = (wstatus & 0x7F) ? 128 + (wstatus & 0x7F) : (wstatus >> 8) & 0xFF;
    shutdown_io();
    if (bootinfo->verbose)
        kprintf("init exited: status %d\n", code);
    for (unsigned i = 0; i < ncpu; i++)
        if (i != cpuid() && cpus[i].started) send_ipi(i, IPI_HALT);
    machine_halt(code);
}

noreturn void do_exit(int wstatus)
{
    struct task *t = current();
    if (t->clear_tid && t->mm) {
        u32 zero = 0;
        if (!copyout(t->mm, t->clear_tid, &zero, 4))
            futex_wake_addr(t->mm, t->clear_tid, 1);
    }
    if (t->leader == init_task && init_task->nthreads == 1)
        fs_sync_all();          /* init is going: the machine halts next */
    vfork_release(t);
    struct mm *mm = t->mm;
    spin_lock(&sched_lock);
    t->mm = NULL;
    spin_unlock(&sched_lock);
    mm_activate(NULL);
    if (mm) mm_put(mm);
    if (t->files) { files_put(t->files); t->files = NULL; }
    if (t->sig) { sighand_put(t->sig); t->sig = NULL; }

    spin_lock(&sched_lock);
    struct task *l = t->leader;
    l->nthreads--;
    if (l->execing) wakeup(&l->nthreads);
    if (l->group_exiting) wstatus = l->group_exit;
    if (l->nthreads == 0) {
        /* the whole group is gone */
        l->exit_status = wstatus;
        if (l == init_task)
            halt_with_init_status(wstatus);
        reparent_children(l);
        if (l->exit_signal && l->parent)
            send_signal(l->parent, l->exit_signal, 1);
        if (l->parent) wakeup(l->parent);
        if (t != l) {
            l->state = T_ZOMBIE;
            /* unlink t from the group list */
            for (struct task *p = l; p; p = p->gnext)
                if (p->gnext == t) { p->gnext = t->gnext; break; }
            t->state = T_DEAD;
        } else {
            t->state = T_ZOMBIE;
        }
    } else if (t == l) {
        t->state = T_ZOMBIE;         /* leader waits for its threads */
    } else {
        for (struct task *p = l; p; p = p->gnext)
            if (p->gnext == t) { p->gnext = t->gnext; break; }
        t->state = T_DEAD;
    }
    sched();
    panic("zombie ran");
}

noreturn void do_exit_group(int wstatus)
{
    struct task *t = current();
    spin_lock(&sched_lock);
    struct task *l = t->leader;
    if (!l->group_exiting) {
        l->group_exiting = 1;
        l->group_exit = wstatus;
    }
    for (struct task *p = l; p; p = p->gnext) {
        if (p != t && p->state != T_ZOMBIE && p->state != T_DEAD) {
            p->killed = 1;
            if (p->state == T_SLEEPING) {
                p->chan = (void *)1;
                p->wake_ns = 0;
                make_runnable(p);
            } else if (p->state == T_RUNNING && p->cpu != (int)cpuid()) {
                send_ipi(p->cpu, IPI_RESCHED);
            }
        }
    }
    spin_unlock(&sched_lock);
    do_exit(wstatus);
}

/* ------------------------------------------------------------ wait4 */
/* an o32 struct rusage (72 bytes): ns of CPU time as user time, the rest 0 */
int put_rusage(u32 uaddr, u64 ns)
{
    u32 ru[18];
    memset(ru, 0, sizeof ru);
    ru[0] = (u32)(ns / 1000000000ULL);
    ru[1] = (u32)((ns % 1000000000ULL) / 1000);
    return copyout(current()->mm, uaddr, ru, sizeof ru) ? -EFAULT : 0;
}

#define WNOHANG 1
int do_wait4(int pid, u32 status_ptr, int options, u32 rusage)
{
    struct task *me = current()->leader;
    int intr = 0;
    spin_lock(&sched_lock);
    for (;;) {
        int have = 0;
        for (int i = 0; i < NTASK; i++) {
            struct task *c = &tasks[i];
            if (c->state == T_UNUSED || c->state == T_DEAD || c->parent != me || c->leader != c)
                continue;
            if (pid > 0 && c->pid != pid) continue;
            have = 1;
            if (c->state == T_ZOMBIE && c->nthreads == 0) {
                int cpid = c->pid, st = c->exit_status;
                u64 ns = c->group_ns + c->child_ns;
                me->child_ns += ns;
                c->state = T_DEAD;
                /* a zombie leader is off every CPU (sched_lock was held across its switch) */
                task_free(c);
                spin_unlock(&sched_lock);
                if (status_ptr && put_user32(status_ptr, st)) return -EFAULT;
                if (rusage && put_rusage(rusage, ns)) return -EFAULT;
                return cpid;
            }
        }
        if (!have) { spin_unlock(&sched_lock); return -ECHILD; }
        if (options & WNOHANG) { spin_unlock(&sched_lock); return 0; }
        if (intr) { spin_unlock(&sched_lock); return -EINTR; }
        /* a signal (say SIGCHLD) may wake us: look at the children once more first */
        intr = sleep_intr(me, &sched_lock) != 0;
    }
}

/* ------------------------------------------------------------ signals */
static int sig_default_ignored(int sig)
{
    return sig == SIGCHLD || sig == SIGWINCH || sig == SIGURG || sig == SIGCONT || sig == SIGPWR;
}

/* group: the signal is for the process (any thread may take it) */
int send_signal(struct task *t, int sig, int group)
{
    if (sig <= 0 || sig > 64) return -EINVAL;
    int held = spin_held(&sched_lock);
    if (!held) spin_lock(&sched_lock);
    if (group) {
        struct task *l = t->leader, *pick = NULL;
        for (struct task *p = l; p; p = p->gnext)
            if (p->state != T_ZOMBIE && p->state != T_DEAD && !(p->sigmask & SIGBIT(sig))) { pick = p; break; }
        if (!pick)
            for (struct task *p = l; p; p = p->gnext)
                if (p->state != T_ZOMBIE && p->state != T_DEAD) { pick = p; break; }
        t = pick;
    }
    if (!t || t->state == T_ZOMBIE || t->state == T_DEAD) {
        if (!held) spin_unlock(&sched_lock);
        return 0;
    }
    struct k_sigaction *a = t->sig ? &t->sig->act[sig] : NULL;
    int ignored = a && (a->handler == SIG_IGN || (a->handler == SIG_DFL && sig_default_ignored(sig)));
    if (sig == SIGKILL || !ignored) {
        t->sigpending |= SIGBIT(sig);
        if (sig == SIGKILL) t->killed = 1;
        if (t->state == T_SLEEPING && t->sleep_intr && (sig == SIGKILL || !(t->sigmask & SIGBIT(sig)))) {
            t->chan = (void *)1;
            t->wake_ns = 0;
            make_runnable(t);
        } else if (t->state == T_RUNNING && t->cpu != (int)cpuid()) {
            send_ipi(t->cpu, IPI_RESCHED);
        }
    }
    if (!held) spin_unlock(&sched_lock);
    return 0;
}

int do_kill(int pid, int sig)
{
    if (sig < 0 || sig > 64) return -EINVAL;
    struct task *me = current();
    if (pid == 0 || pid == -1) {
        /* no process groups: 0 means ourselves; -1 everyone but init */
        if (pid == 0) return sig ? send_signal(me, sig, 1) : 0;
        spin_lock(&sched_lock);
        for (int i = 0; i < NTASK; i++) {
            struct task *t = &tasks[i];
            if (t->state != T_UNUSED && t->state != T_DEAD && t->state != T_ZOMBIE &&
                t->leader == t && t != init_task && t != me->leader && sig)
                send_signal(t, sig, 1);
        }
        spin_unlock(&sched_lock);
        return 0;
    }
    if (pid < 0) pid = -pid;
    spin_lock(&sched_lock);
    struct task *t = task_by_pid(pid);
    if (!t || t->leader != t || (t->state == T_ZOMBIE && t->nthreads == 0)) {
        spin_unlock(&sched_lock);
        return -ESRCH;
    }
    if (sig) send_signal(t, sig, 1);
    spin_unlock(&sched_lock);
    return 0;
}

/* MIPS o32 rt signal frame: argument area, trampoline, siginfo, our
 * saved context (trap frame, FPU, mask). */
struct sigframe {
    u32 argsave[4];
    u32 tramp[2];
    u32 siginfo[32];
    struct tf tf;
    u32 fpu[33];
    u64 mask;
};

static void deliver(struct tf *tf, int sig, struct k_sigaction *a)
{
    struct task *t = current();
    if (t->in_syscall) {
        /* an interrupted system call: restart it or report EINTR */
        t->in_syscall = 0;
        if (tf->regs[7] == 1 && tf->regs[2] == EINTR && t->sc_restart && (a->flags & SA_RESTART)) {
            tf->regs[2] = t->sc_nr;
            tf->regs[7] = t->sc_a3;
            tf->epc -= 4;
        }
    }
    u32 sp = (tf->regs[29] - sizeof(struct sigframe)) & ~7u;
    struct sigframe fr;
    memset(&fr, 0, sizeof fr);
    fr.tramp[0] = 0x24020000 | NR_rt_sigreturn;     /* li v0, rt_sigreturn */
    fr.tramp[1] = 0x0000000C;                        /* syscall */
    fr.siginfo[0] = sig;
    fr.tf = *tf;
    fpu_save(fr.fpu);
    fr.mask = t->sigmask;
    if (t->saved_mask_valid) {
        fr.mask = t->saved_mask;
        t->saved_mask_valid = 0;
    }
    if (copyout(t->mm, sp, &fr, sizeof fr)) {
        do_exit_group(SIGSEGV);
    }
    tf->regs[4] = sig;
    tf->regs[5] = sp + offsetof(struct sigframe, siginfo);
    tf->regs[6] = sp + offsetof(struct sigframe, tf);
    tf->regs[29] = sp;
    tf->regs[31] = sp + offsetof(struct sigframe, tramp);
    tf->regs[25] = a->handler;
    tf->epc = a->handler;
    t->sigmask |= a->mask;
    if (!(a->flags & SA_NODEFER)) t->sigmask |= SIGBIT(sig);
    t->sigmask &= ~(SIGBIT(SIGKILL) | SIGBIT(SIGSTOP));
    if (a->flags & SA_RESETHAND) a->handler = SIG_DFL;
}

int do_sigreturn(struct tf *tf)
{
    struct task *t = current();
    struct sigframe fr;
    if (copyin(t->mm, &fr, tf->regs[29], sizeof fr))
        do_exit_group(SIGSEGV);
    u32 status = tf->status;
    *tf = fr.tf;
    tf->status = status;
    fpu_restore(fr.fpu);
    t->sigmask = fr.mask & ~(SIGBIT(SIGKILL) | SIGBIT(SIGSTOP));
    return 0;
}

/* on the way back to user mode */
void handle_signals(struct tf *tf)
{
    struct task *t = current();
    if (t->killed && t->leader->execing && t->leader->execing != t && !t->leader->group_exiting)
        do_exit(0);                 /* another thread of the group is in execve */
    if (t->killed) do_exit_group(t->leader->group_exiting ? t->leader->group_exit : SIGKILL);
    for (;;) {
        u64 ready = t->sigpending & ~t->sigmask;
        if (!ready) return;
        int sig = __builtin_ctzll(ready) + 1;
        t->sigpending &= ~SIGBIT(sig);
        struct k_sigaction *a = &t->sig->act[sig];
        if (a->handler == SIG_IGN) continue;
        if (a->handler == SIG_DFL) {
            if (sig_default_ignored(sig)) continue;
            if (sig == SIGSTOP || sig == SIGTSTP || sig == SIGTTIN || sig == SIGTTOU) continue;
            int core = sig == SIGQUIT || sig == SIGILL || sig == SIGABRT || sig == SIGFPE ||
                       sig == SIGSEGV || sig == SIGBUS || sig == SIGSYS || sig == SIGTRAP;
            (void)core;
            do_exit_group(sig);
        }
        deliver(tf, sig, a);
        return;
    }
}

/* ------------------------------------------------------------ futex */
static struct spinlock futex_lock = SPINLOCK_INIT("futex");
struct fwait { struct mm *mm; u32 addr; struct task *t; int woken; struct fwait *next; };
static struct fwait *fwaiters;

void futex_wake_addr(struct mm *mm, u32 uaddr, int n)
{
    int woken = 0;
    spin_lock(&futex_lock);
    for (struct fwait *w = fwaiters; w && woken < n; w = w->next) {
        if (w->mm == mm && w->addr == uaddr && !w->woken) {
            w->woken = 1;
            woken++;
            wakeup(w);
        }
    }
    spin_unlock(&futex_lock);
}

static int futex_wake_n(struct mm *mm, u32 uaddr, int n, u32 uaddr2, int n2)
{
    int woken = 0, moved = 0;
    spin_lock(&futex_lock);
    for (struct fwait *w = fwaiters; w; w = w->next) {
        if (w->mm != mm || w->addr != uaddr || w->woken) continue;
        if (woken < n) {
            w->woken = 1;
            woken++;
            wakeup(w);
        } else if (uaddr2 && moved < n2) {
            w->addr = uaddr2;
            moved++;
        }
    }
    spin_unlock(&futex_lock);
    return woken + moved;
}

int do_futex(u32 uaddr, int op, u32 val, u32 utime, u32 uaddr2, u32 val3)
{
    struct task *t = current();
    struct mm *mm = t->mm;
    int cmd = op & 0x7F;
    int realtime = op & 256;
    (void)val3;
    if (uaddr & 3) return -EINVAL;
    switch (cmd) {
    case 0: case 9: {          /* FUTEX_WAIT, FUTEX_WAIT_BITSET */
        u64 deadline = 0;
        if (utime) {
            u32 ts[2];
            if (copyin(mm, ts, utime, 8)) return -EFAULT;
            u64 ns = (u64)ts[0] * 1000000000ULL + ts[1];
            if (cmd == 0) deadline = uptime_ns() + ns;
            else {
                u64 base = realtime ? (u64)1700000000 * 1000000000ULL : 0;
                deadline = ns > base ? ns - base : 1;
            }
        }
        struct fwait w = { mm, uaddr, t, 0, NULL };
        u32 cur;
        if (get_user32(uaddr, &cur)) return -EFAULT;
        spin_lock(&futex_lock);
        /* re-read under the lock (the page is resident now) */
        if (get_user32(uaddr, &cur)) { spin_unlock(&futex_lock); return -EFAULT; }
        if (cur != val) { spin_unlock(&futex_lock); return -EAGAIN; }
        w.next = fwaiters;
        fwaiters = &w;
        int r = 0;
        while (!w.woken && !r) {
            r = deadline ? sleep_until(&w, &futex_lock, deadline) : sleep_intr(&w, &futex_lock);
        }
        for (struct fwait **pp = &fwaiters; *pp; pp = &(*pp)->next)
            if (*pp == &w) { *pp = w.next; break; }
        spin_unlock(&futex_lock);
        if (w.woken) return 0;
        return r;
    }
    case 1: case 10:           /* FUTEX_WAKE, FUTEX_WAKE_BITSET */
        return futex_wake_n(mm, uaddr, val, 0, 0);
    case 3:                    /* FUTEX_REQUEUE */
        return futex_wake_n(mm, uaddr, val, uaddr2, utime);
    case 4: {                  /* FUTEX_CMP_REQUEUE */
        u32 cur;
        if (get_user32(uaddr, &cur)) return -EFAULT;
        if (cur != val3) return -EAGAIN;
        return futex_wake_n(mm, uaddr, val, uaddr2, utime);
    }
    }
    return -ENOSYS;
}

/* execve in a multi-threaded process: every other thread exits first.
 * Returns -EINTR (and gives up) if this thread is killed meanwhile. */
int exec_kill_others(void)
{
    struct task *t = current(), *l = t->leader;
    spin_lock(&sched_lock);
    if (l->nthreads <= 1) { spin_unlock(&sched_lock); return 0; }
    if (l->execing || l->group_exiting) { spin_unlock(&sched_lock); return -EAGAIN; }
    l->execing = t;
    for (struct task *p = l; p; p = p->gnext) {
        if (p == t || p->state == T_ZOMBIE || p->state == T_DEAD) continue;
        p->killed = 1;
        if (p->state == T_SLEEPING) {
            p->chan = (void *)1;
            p->wake_ns = 0;
            make_runnable(p);
        } else if (p->state == T_RUNNING && p->cpu != (int)cpuid()) {
            send_ipi(p->cpu, IPI_RESCHED);
        }
    }
    while (l->nthreads > 1)
        sleep_on(&l->nthreads, &sched_lock);
    l->execing = NULL;
    spin_unlock(&sched_lock);
    return 0;
}
