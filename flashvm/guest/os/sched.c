/*
 * sched.c -- spinlocks, per-CPU state, run queues, sleep/wakeup, timer
 * ticks and interprocessor interrupts.
 *
 * One lock (sched_lock) protects task states, the per-CPU run queues and
 * sleeping; it is held across swtch() (xv6's discipline), so a task that
 * is switching out is never picked up elsewhere half-way.  Each CPU runs a
 * scheduler loop on its boot stack; tasks switch to it and back.  An idle
 * CPU first steals from the longest run queue, then executes WAIT.
 */
#include "kernel.h"
#include "fs.h"

struct cpu cpus[MAXCPU];
u32 cpu_kstack[MAXCPU];
struct task tasks[NTASK];
struct spinlock sched_lock = SPINLOCK_INIT("sched");
static int next_pid = 1;
#define HZ 100
static u32 tick_cycles;           /* Count ticks per timer tick */

/* ------------------------------------------------------------ spinlocks */
void spin_init(struct spinlock *l, const char *name)
{
    l->locked = 0;
    l->cpu = -1;
    l->name = name;
    l->cls = 0;
}

struct lockstat lockstat[MAXCPU][NLOCKCLASS];
const char *volatile lockclass[NLOCKCLASS];

/* the class (slot in lockstat) of a lock's name, claimed on first use; the
 * last slot takes the names that do not fit */
static int lock_class(struct spinlock *l)
{
    const char *name = l->name ? l->name : "unnamed";
    for (int i = 0; i < NLOCKCLASS - 1; i++) {
        const char *n = lockclass[i];
        if (!n) {
            const char *none = NULL;
            if (__atomic_compare_exchange_n(&lockclass[i], &none, name, 0,
                                            __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
                return i;
            n = none;
        }
        if (n == name || !strcmp(n, name)) return i;
    }
    lockclass[NLOCKCLASS - 1] = "other";
    return NLOCKCLASS - 1;
}

void push_off(void)
{
    u32 s = irq_off();
    struct cpu *c = mycpu();
    if (c->noff++ == 0)
        c->intena = s & ST_IE;
}

void pop_off(void)
{
    struct cpu *c = mycpu();
    if (c->noff < 1) panic("pop_off");
    if (--c->noff == 0 && c->intena)
        irq_on();
}

int spin_held(struct spinlock *l) { return l->locked && l->cpu == (int)cpuid(); }


/* A contended lock is held by a CPU that is not running at this moment as
 * far as this one can tell (the machine runs its CPUs in turns, and a holder
 * keeps a lock for far less than a turn): spinning on would only burn the
 * turn.  After a few tries the waiter marks itself in the lock's `waiters`
 * and sits in WAIT (interrupts stay masked; a pending interrupt still ends
 * WAIT) until the unlock sends it an IPI, as ARM's WFE/SEV do. */
#define SPIN_TRIES 8

static void lock_wait(struct spinlock *l)
{
    u32 me = 1u << cpuid();
    for (int i = 0; l->locked; i++) {
        if (mycpu()->pending_ipi & IPI_TLBFLUSH) {
            /* the holder may be waiting for this CPU's TLB flush */
            __atomic_fetch_and(&mycpu()->pending_ipi, ~IPI_TLBFLUSH, __ATOMIC_SEQ_CST);
            tlb_ipi_flush();
        }
        if (i < SPIN_TRIES || !smp_hw)
            continue;
        __atomic_fetch_or(&l->waiters, me, __ATOMIC_SEQ_CST);
        if (l->locked) {
            __asm__ volatile("wait" ::: "memory");
            /* take the IPI here (interrupts are masked), or WAIT would end at once from now on */
            ipi_poll();
        }
    }
}

void spin_lock(struct spinlock *l)
{
    push_off();
    if (spin_held(l))
        panic("recursive lock %s", l->name);
    if (!l->cls) l->cls = lock_class(l) + 1;
    struct lockstat *st = &lockstat[cpuid()][l->cls - 1];
    if (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE)) {
        u32 t0 = mfc0(9, 0);
        do {
            lock_wait(l);
        } while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE));
        st->contended++;
        st->wait_cycles += 2 * (u64)(u32)(mfc0(9, 0) - t0);   /* Count runs at half the clock */
    }
    st->acquired++;
    l->cpu = cpuid();
}

void spin_unlock(struct spinlock *l)
{
    if (!spin_held(l))
        panic("unlock of %s not held", l->name);
    l->cpu = -1;
    __atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
    if (l->waiters) {
        u32 w = __atomic_exchange_n(&l->waiters, 0, __ATOMIC_SEQ_CST);
        for (int c = 0; w; c++, w >>= 1)
            if (w & 1) send_ipi(c, 0);
    }
    pop_off();
}

/* ------------------------------------------------------------ mutexes */
void mutex_init(struct mutex *m, const char *name)
{
    spin_init(&m->lk, name);
    m->locked = 0;
    m->owner = NULL;
}

void mutex_lock(struct mutex *m)
{
    /* a mutex may sleep: taking one inside a spinlock is a bug even when it
     * happens not to be contended (say so here, not at the rare sleep) */
    if (current() && mycpu()->noff)
        panic("mutex %s taken with %d spinlock(s) held", m->lk.name, mycpu()->noff);
    spin_lock(&m->lk);
    while (m->locked) {
        if (!current()) panic("mutex %s contended before the scheduler runs", m->lk.name);
        sleep_on(m, &m->lk);
    }
    m->locked = 1;
    m->owner = current();
    spin_unlock(&m->lk);
}

void mutex_unlock(struct mutex *m)
{
    spin_lock(&m->lk);
    m->locked = 0;
    m->owner = NULL;
    wakeup(m);
    spin_unlock(&m->lk);
}

int mutex_held(struct mutex *m) { return m->locked && m->owner == current(); }

/* ------------------------------------------------------------ IPIs */
int smp_hw;                     /* the machine has the SMP block */

void send_ipi(int cpu, u32 what)
{
    __atomic_fetch_or(&cpus[cpu].pending_ipi, what, __ATOMIC_SEQ_CST);
    if (smp_hw && cpu != (int)cpuid())
        wr32(SMP_IPI_SEND, cpu);
}

/* serve this CPU's IPIs: from the interrupt, or after a WAIT with interrupts masked */
void ipi_poll(void)
{
    struct cpu *c = mycpu();
    wr32(SMP_IPI_ACK, 1);
    u32 p = __atomic_exchange_n(&c->pending_ipi, 0, __ATOMIC_SEQ_CST);
    if (p & IPI_TLBFLUSH) tlb_ipi_flush();
    if (p & IPI_RESCHED) c->need_resched = 1;
    if (p & IPI_HALT) { irq_off(); for (;;) __asm__ volatile("wait"); }
}

/* ------------------------------------------------------------ time */
u64 uptime_ns(void) { return time_ns(); }

void timer_init_cpu(void)
{
    if (!tick_cycles) {
        u32 hz = bootinfo->clock_hz ? bootinfo->clock_hz : 200000000;
        tick_cycles = hz / 2 / HZ;            /* Count runs at half the clock */
    }
    mtc0(11, 0, mfc0(9, 0) + tick_cycles);
}

/* Sleepers, under sched_lock: by wait channel in a small hash table, and the
 * timed ones in a queue sorted by deadline, so that neither a wakeup nor a
 * timer tick scans every task.  A sleeping task puts itself in and takes
 * itself out (sleep_common); whoever wakes it only changes its state, so a
 * task that was woken and has not run yet may still be listed: the scans
 * skip what is not T_SLEEPING. */
#define NSLPQ 64
static struct task *slpq[NSLPQ];
static struct task *timeq;

static struct task **slpq_bucket(void *chan)
{
    u32 a = (u32)chan;
    return &slpq[(a >> 3 ^ a >> 9 ^ a >> 15) % NSLPQ];
}

static void slpq_insert(struct task *t)
{
    struct task **b = slpq_bucket(t->chan);
    t->slp_next = *b;
    if (*b) (*b)->slp_pprev = &t->slp_next;
    t->slp_pprev = b;
    *b = t;
}

static void timeq_insert(struct task *t, u64 when)
{
    struct task **pp = &timeq;
    while (*pp && (*pp)->tq_when <= when)
        pp = &(*pp)->tq_next;
    t->tq_when = when;
    t->tq_next = *pp;
    if (*pp) (*pp)->tq_pprev = &t->tq_next;
    t->tq_pprev = pp;
    *pp = t;
}

static void sleepers_remove(struct task *t)
{
    if (t->slp_pprev) {
        *t->slp_pprev = t->slp_next;
        if (t->slp_next) t->slp_next->slp_pprev = t->slp_pprev;
        t->slp_pprev = NULL;
    }
    if (t->tq_pprev) {
        *t->tq_pprev = t->tq_next;
        if (t->tq_next) t->tq_next->tq_pprev = t->tq_pprev;
        t->tq_pprev = NULL;
    }
}

void timer_tick(void)
{
    struct cpu *c = mycpu();
    u32 cmp = mfc0(11, 0) + tick_cycles;
    /* skip ticks we slept through */
    if ((s32)(cmp - mfc0(9, 0)) < 100)
        cmp = mfc0(9, 0) + tick_cycles;
    mtc0(11, 0, cmp);
    c->ticks++;
    /* a look without the lock first: most ticks have nothing to do */
    struct task *first = timeq;
    int due = first && first->tq_when <= uptime_ns();
    if (!due && !(c->rq_head && c->cur && c->cur != c->idle))
        return;
    spin_lock(&sched_lock);
    check_timeouts();
    if (c->rq_head && c->cur && c->cur != c->idle)
        c->need_resched = 1;
    spin_unlock(&sched_lock);
}

/* wake sleepers whose deadline passed; sched_lock held */
void check_timeouts(void)
{
    if (!timeq) return;
    u64 now = uptime_ns();
    for (struct task *t = timeq; t && t->tq_when <= now; t = t->tq_next) {
        if (t->state == T_SLEEPING && t->wake_ns && t->wake_ns <= now) {
            t->wake_ns = 0;
            t->chan = NULL;
            make_runnable(t);
        }
    }
}

/* ------------------------------------------------------------ tasks */
struct task *task_alloc(void)
{
    spin_lock(&sched_lock);
    struct task *t = NULL;
    for (int i = 0; i < NTASK; i++)
        if (tasks[i].state == T_UNUSED) { t = &tasks[i]; break; }
    if (!t) { spin_unlock(&sched_lock); return NULL; }
    memset(t, 0, sizeof *t);
    t->state = T_EMBRYO;
    t->pid = next_pid++;
    spin_unlock(&sched_lock);
    t->kstack = page_alloc_n(KSTACK_SIZE / PAGE_SIZE);
    if (!t->kstack) { t->state = T_UNUSED; return NULL; }
    t->tf = (struct tf *)(t->kstack + KSTACK_SIZE - TF_FRAME + 24);
    t->affinity = -1;
    t->cpu = -1;
    return t;
}

void task_free(struct task *t)
{
    if (t->kstack) page_free_n(t->kstack, KSTACK_SIZE / PAGE_SIZE);
    t->kstack = NULL;
    t->state = T_UNUSED;
}

struct task *task_by_pid(int pid)
{
    for (int i = 0; i < NTASK; i++)
        if (tasks[i].state != T_UNUSED && tasks[i].state != T_DEAD && tasks[i].pid == pid)
            return &tasks[i];
    return NULL;
}

/* ------------------------------------------------------------ run queues */
static void rq_push(struct cpu *c, struct task *t)
{
    t->rq_next = NULL;
    if (c->rq_tail) c->rq_tail->rq_next = t; else c->rq_head = t;
    c->rq_tail = t;
    c->nrun++;
    t->on_rq = 1;
    t->cpu = c->id;
}

static struct task *rq_pop(struct cpu *c)
{
    struct task *t = c->rq_head;
    if (!t) return NULL;
    c->rq_head = t->rq_next;
    if (!c->rq_head) c->rq_tail = NULL;
    c->nrun--;
    t->on_rq = 0;
    return t;
}

/* sched_lock held */
void make_runnable(struct task *t)
{
    if (t->state == T_RUNNABLE && t->on_rq) return;
    t->state = T_RUNNABLE;
    int target = t->affinity >= 0 ? t->affinity : t->cpu;
    if (target < 0 || !cpus[target].started) {
        /* new task: the least loaded CPU */
        target = cpuid();
        for (unsigned i = 0; i < ncpu; i++) {
            struct cpu *c = &cpus[i];
            if (!c->started) continue;
            int load = c->nrun + (c->cur && c->cur != c->idle);
            struct cpu *b = &cpus[target];
            int bload = b->nrun + (b->cur && b->cur != b->idle);
            if (load < bload) target = i;
        }
    }
    rq_push(&cpus[target], t);
    if (target != (int)cpuid())
        send_ipi(target, IPI_RESCHED);
    else if (cpus[target].cur != t)
        cpus[target].need_resched = 1;
}

/* an idle CPU takes a task from the longest queue; sched_lock held */
static struct task *steal(struct cpu *me)
{
    struct cpu *best = NULL;
    for (unsigned i = 0; i < ncpu; i++) {
        struct cpu *c = &cpus[i];
        if (c == me || !c->rq_head || c->rq_head->affinity >= 0) continue;
        if (!best || c->nrun > best->nrun) best = c;
    }
    if (!best) return NULL;
    return rq_pop(best);
}

/* sched_setaffinity of the calling task: run only on CPU `cpu` (-1: any) */
void set_affinity(int cpu)
{
    spin_lock(&sched_lock);
    struct task *t = current();
    t->affinity = cpu;
    if (cpu >= 0 && cpu != (int)cpuid()) {
        t->state = T_RUNNABLE;
        rq_push(&cpus[cpu], t);
        send_ipi(cpu, IPI_RESCHED);
        sched();
    }
    spin_unlock(&sched_lock);
}

/* ------------------------------------------------------------ switching */
void sched(void)
{
    struct cpu *c = mycpu();
    struct task *t = c->cur;
    if (!spin_held(&sched_lock)) panic("sched: lock");
    if (c->noff != 1) panic("sched: locks held (%d)", c->noff);
    if (t->mm && t->fpu_valid >= 0) { fpu_save(t->fpu); t->fpu_valid = 1; }
    u32 intena = c->intena;
    swtch(&t->ctx_sp, c->sched_ctx);
    mycpu()->intena = intena;
}

void yield(void)
{
    spin_lock(&sched_lock);
    struct task *t = current();
    struct cpu *c = mycpu();
    c->need_resched = 0;
    if (c->rq_head) {
        t->state = T_RUNNABLE;
        rq_push(c, t);
        sched();
    }
    spin_unlock(&sched_lock);
}

/* the first thing a new task runs (from forkret in start.S) */
void forkret_c(void)
{
    spin_unlock(&sched_lock);
}

noreturn void scheduler(void)
{
    struct cpu *c = mycpu();
    for (;;) {
        spin_lock(&sched_lock);
        struct task *t = rq_pop(c);
        if (!t) t = steal(c);
        if (t) {
            c->need_resched = 0;
            t->state = T_RUNNING;
            t->cpu = c->id;
            c->cur = t;
            cpu_kstack[c->id] = (u32)t->kstack + KSTACK_SIZE;
            mm_activate(t->mm);
            mtc0(4, 2, t->tls);          /* UserLocal: the thread pointer */
            if (t->fpu_valid > 0) fpu_restore(t->fpu);
            t->last_ns = uptime_ns();
            svc(FLASH_SVC_TASK, (u32)t);     /* its services are its own, wherever it runs */
            swtch(&c->sched_ctx, t->ctx_sp);
            c = mycpu();
            c->cur = c->idle;
            svc(FLASH_SVC_TASK, 0);
            t->cpu_ns += uptime_ns() - t->last_ns;
            if (t->state == T_DEAD || t->state == T_ZOMBIE)
                t->leader->group_ns += t->cpu_ns;    /* before wait4 can see it: we hold sched_lock */
            if (t->state == T_DEAD)
                task_free(t);
            spin_unlock(&sched_lock);
            continue;
        }
        /* nothing to run: a resched request whose task another CPU took is
         * stale; left set, it would keep this CPU cycling through sched_lock */
        c->need_resched = 0;
        spin_unlock(&sched_lock);
        /* nothing to run: wait for an interrupt.  The look at the run queue and
         * the WAIT happen with interrupts masked: enabled, an IPI_RESCHED that
         * came between the two was taken and served before the WAIT, which then
         * slept on with the woken task in our queue until the next timer tick.
         * Masked, the interrupt stays pending and ends the WAIT at once (as in
         * lock_wait); it is taken in the short window that follows. */
        if (!c->rq_head && !c->need_resched)
            __asm__ volatile("wait" ::: "memory");
        irq_on();
        irq_off();
    }
}

/* ------------------------------------------------------------ sleeping */
static int sleep_common(void *chan, struct spinlock *lk, int intr, u64 deadline)
{
    struct task *t = current();
    if (lk != &sched_lock) {
        spin_lock(&sched_lock);
        spin_unlock(lk);
    }
    int r = 0;
    if (intr && (t->killed || (t->sigpending & ~t->sigmask))) {
        r = -EINTR;
    } else {
        t->chan = chan;
        t->sleep_intr = intr;
        t->wake_ns = deadline;
        t->state = T_SLEEPING;
        slpq_insert(t);
        if (deadline) timeq_insert(t, deadline);
        sched();
        sleepers_remove(t);
        if (deadline && t->wake_ns == 0 && t->chan == NULL)
            r = -ETIMEDOUT;
        t->chan = NULL;
        t->wake_ns = 0;
        t->sleep_intr = 0;
        if (!r && intr && (t->killed || (t->sigpending & ~t->sigmask)))
            r = -EINTR;
    }
    if (lk != &sched_lock) {
        spin_unlock(&sched_lock);
        spin_lock(lk);
    }
    return r;
}

void sleep_on(void *chan, struct spinlock *lk) { sleep_common(chan, lk, 0, 0); }
int sleep_intr(void *chan, struct spinlock *lk) { return sleep_common(chan, lk, 1, 0); }
int sleep_until(void *chan, struct spinlock *lk, u64 deadline)
{
    return sleep_common(chan, lk, 1, deadline ? deadline : 1);
}

static void wakeup_locked(void *chan)
{
    for (struct task *t = *slpq_bucket(chan); t; t = t->slp_next) {
        if (t->state == T_SLEEPING && t->chan == chan) {
            t->chan = (void *)1;        /* woken, not timed out */
            t->wake_ns = 0;
            make_runnable(t);
        }
    }
}

void wakeup(void *chan)
{
    if (spin_held(&sched_lock)) {
        wakeup_locked(chan);
        return;
    }
    spin_lock(&sched_lock);
    wakeup_locked(chan);
    spin_unlock(&sched_lock);
}

/* wake a task sleeping interruptibly (signal delivery) */
void wakeup_task(struct task *t)
{
    int held = spin_held(&sched_lock);
    if (!held) spin_lock(&sched_lock);
    if (t->state == T_SLEEPING && t->sleep_intr) {
        t->chan = (void *)1;
        t->wake_ns = 0;
        make_runnable(t);
    }
    if (!held) spin_unlock(&sched_lock);
}

/* ------------------------------------------------------------ interrupts */
void interrupt(struct tf *tf)
{
    u32 pend = tf->cause & tf->status & 0xFF00;
    if (pend & CAUSE_IP(7))
        timer_tick();
    if (pend & CAUSE_IP(3))
        ipi_poll();
    if (pend & CAUSE_IP(4)) {
        disk_interrupt();
    }
    if (pend & CAUSE_IP(5)) {
        net_interrupt();
    }
}

void sched_init(void)
{
    for (int i = 0; i < MAXCPU; i++)
        cpus[i].id = i;
}
