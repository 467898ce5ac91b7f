/*
 * trap.c -- exception dispatch: interrupts, system calls, faults.
 */
#include "kernel.h"

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

/* Out of memory on a user page fault.  Memory is often short only for a
 * moment: eight `make -j2` builds on flash8's 256 MB peak at sixteen cc1s at
 * once, and their pages come back as each one exits (the machine's prompt
 * WAIT wake-up made those peaks overlap, and cc1s were killed).  So the task
 * sleeps a tick and faults again; it is killed only after OOM_WAIT_TICKS
 * such ticks in a row.  Returns 0 when it is time to kill. */
#define OOM_WAIT_TICKS 100              /* 1 s: below the 5 s without user progress that ends a run as stuck */
static struct spinlock oom_lock = SPINLOCK_INIT("oom");
static char oom_chan;

static int oom_wait(struct task *t)
{
    if (t->killed || t->oom_waits >= OOM_WAIT_TICKS)
        return 0;
    t->oom_waits++;
    spin_lock(&oom_lock);
    sleep_until(&oom_chan, &oom_lock, uptime_ns() + 10000000ULL);
    spin_unlock(&oom_lock);
    return 1;
}

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
        syscall(tf);
        break;
    case EXC_TLBL: case EXC_TLBS: case EXC_MOD:
        if (!user || !t || !t->mm) {
            dump_tf(tf);
            panic("kernel page fault (%s) at %x", excname[exc], tf->badvaddr);
        }
        {
            svc(FLASH_SVC_ENTER, FLASH_SVC_QUICK_FAULT);     /* vm_fault tags it otherwise */
            int r = vm_fault(t->mm, tf->badvaddr, exc != EXC_TLBL);
            svc(FLASH_SVC_EXIT, FLASH_SVC_QUICK_FAULT);      /* leaves the fault, whatever its kind */
            if (r == -ENOMEM && oom_wait(t)) {
                /* back to user mode: the instruction faults again */
            } else if (r == -ENOMEM) {
                /* always in the kernel log: a run that fails for want of memory says so */
                kprintf("pid %d (%s): out of memory, killed\n", t->pid, t->comm);
                send_signal(t, SIGKILL, 1);
            } else if (r) {
                user_fault(tf, SIGSEGV);
            } else {
                t->oom_waits = 0;
            }
        }
        break;
    case EXC_ADEL: case EXC_ADES:
        if (!user) { dump_tf(tf); panic("kernel address error"); }
        user_fault(tf, tf->badvaddr >= 0x80000000 ? SIGSEGV : SIGBUS);
        break;
    case EXC_IBE: case EXC_DBE:
        if (!user) {
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
