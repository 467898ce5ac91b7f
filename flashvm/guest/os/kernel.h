/*
 * kernel.h -- shared declarations of the flashvm guest kernel.
 */
#ifndef OS_KERNEL_H
#define OS_KERNEL_H
#include <stdint.h>
#include <stddef.h>
#include <stdarg.h>
#include "mips.h"
#include "errno.h"

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int32_t s32;
typedef int64_t s64;

#define PAGE_SIZE  4096
#define PAGE_SHIFT 12
#define PGROUND(x) (((x) + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1))
#define PGDOWN(x)  ((x) & ~(PAGE_SIZE - 1))

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define noreturn __attribute__((noreturn))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define assert(x) do { if (unlikely(!(x))) panic("assertion failed: %s (%s:%d)", #x, __FILE__, __LINE__); } while (0)

extern int console_framed;
extern int disk_polling;                /* disk.c: poll instead of sleeping */
extern volatile int probing, probe_failed;   /* main.c: a bus error while probing is skipped */

/* ------------------------------------------------------------- boot info */
/* struct bootinfo (with the OS-private words initrd_pa, initrd_size,
 * console_mode, verbose) comes from flash_layout.h, through mips.h */
#define BOOTINFO_MAGIC FLASH_BOOTINFO_MAGIC
#define BOOT_VIRTUAL   FLASH_BOOT_VIRTUAL   /* flags: running in a Disco VM (the monitor wires the kernel window) */
#define BOOT_SHARE     FLASH_BOOT_SHARE     /* flags: the monitor shares pages between VMs (mm.c tells it of each page) */
extern struct bootinfo *bootinfo;
extern unsigned ncpu;

/* ------------------------------------------------------------- spinlocks */
struct spinlock {
    volatile u32 locked;
    int cpu;
    const char *name;
    int cls;                  /* its lockstat class + 1 (0: not looked up yet) */
    volatile u32 waiters;     /* CPUs sleeping in WAIT for it (bit per CPU): unlock wakes them */
};
#define SPINLOCK_INIT(n) { 0, -1, n, 0 }
/* contention counters per lock name and CPU, read by the host after a run
 * (flashvm/lockstats.py): acquisitions, contended acquisitions, cycles waited */
#define NLOCKCLASS 32
struct lockstat { u32 acquired, contended; u64 wait_cycles; };
extern struct lockstat lockstat[MAXCPU][NLOCKCLASS];
extern const char *volatile lockclass[NLOCKCLASS];

/* sleeping locks (may be held across disk I/O) */
struct task;
struct mutex {
    struct spinlock lk;
    int locked;
    struct task *owner;
};

/* ------------------------------------------------------------- per-CPU */
struct task;
struct cpu {
    int id;
    int started;
    struct task *volatile cur;
    struct task *idle;
    u32 sched_ctx;            /* the scheduler's saved sp */
    int noff;                 /* push_off depth */
    u32 intena;               /* Status.IE before the first push_off */
    u32 asid_cache;           /* next ASID (low 8 bits) | generation */
    int need_resched;
    u64 ticks;
    volatile u32 pending_ipi; /* bits: IPI_* */
    volatile u32 tlb_ackto;   /* CPUs waiting for this one to take a TLB flush: IPI them after */
    struct task *rq_head, *rq_tail;
    int nrun;
    u64 idle_ticks;
} __attribute__((aligned(64)));
extern struct cpu cpus[MAXCPU];
extern u32 cpu_kstack[MAXCPU];        /* kernel stack top for exceptions from user mode */
extern u32 pgd_current[MAXCPU];       /* page directory the refill handler walks */
static inline struct cpu *mycpu(void) { return &cpus[cpuid()]; }
static inline struct task *current(void) { return cpus[cpuid()].cur; }
#define IPI_RESCHED  1
#define IPI_TLBFLUSH 2
#define IPI_HALT     4

/* ------------------------------------------------------------- memory */
extern u32 ram_bytes, nnodes, node_bytes;
extern u32 cpu_node[MAXCPU];           /* each CPU's node (SMP block) */
extern int cpu_node_known;

/* ------------------------------------------------------------- vm.c */
#define VM_READ   1
#define VM_WRITE  2
#define VM_EXEC   4
#define VM_SHARED 8
#define VM_STACK  16
#define VM_GROWS  32
struct inode;
struct vma {
    u32 start, end, prot, flags;
    struct inode *ip;
    u32 off;                 /* file offset of start */
    u32 filesz;              /* file bytes mapped (rest zero) */
    struct vma *next;
};
struct mm {
    u32 *pgd;
    struct vma *vmas;
    u32 brk_start, brk;
    u32 mmap_top;
    int refs;
    struct spinlock lock;
    u32 asid[MAXCPU];
    volatile u32 cpumask;      /* CPUs that may hold TLB entries for it */
};
#define USER_TOP   FLASH_USER_TOP
#define STACK_SIZE (8 << 20)
#define MMAP_TOP   (USER_TOP - (128 << 20))

/* ------------------------------------------------------------- tasks */
#define NTASK 256
enum { T_UNUSED, T_EMBRYO, T_RUNNABLE, T_RUNNING, T_SLEEPING, T_ZOMBIE, T_DEAD };
#define NSIG 128
struct k_sigaction {
    u32 handler, flags, restorer;
    u64 mask;
};
struct sighand {
    int refs;
    struct k_sigaction act[NSIG + 1];
};
struct files;
struct task {
    int state;
    int pid, tgid;
    struct task *parent;          /* the process that waits for this group */
    struct task *leader;          /* thread-group leader */
    struct task *gnext;           /* next thread in the group (leader's list) */
    int nthreads;                 /* leader: live threads of the group */
    struct mm *mm;
    struct files *files;
    struct sighand *sig;
    u32 ctx_sp;                   /* saved kernel sp (swtch) */
    u8 *kstack;                   /* KSTACK_SIZE bytes */
    struct tf *tf;                /* user frame at the top of kstack */
    void *chan;                   /* sleeping on */
    struct task *slp_next, **slp_pprev;   /* its wait channel's bucket while sleeping */
    struct task *tq_next, **tq_pprev;     /* the deadline queue while in a timed sleep */
    u64 tq_when;                  /* its place in the deadline queue */
    int cpu;                      /* CPU whose run queue holds it */
    int on_rq;
    struct task *rq_next;
    u32 tls;
    u32 clear_tid;
    struct task *vfork_parent;    /* CLONE_VFORK: sleeps until this task execs or exits */
    u64 sigpending;               /* thread-directed */
    u64 sigmask;
    int exit_status;              /* wait status, valid in ZOMBIE */
    int exit_signal;              /* signal to the parent on exit (SIGCHLD) */
    int group_exit;               /* leader: exit_group in progress, status */
    int group_exiting;
    struct task *execing;         /* leader: a thread is in execve, the others must go */
    int killed;                   /* SIGKILL pending */
    int sleep_intr;               /* sleeping interruptibly */
    u64 wake_ns;                  /* timed sleep deadline (0 = none) */
    u64 start_ns;
    u64 cpu_ns, last_ns;          /* time on a CPU; when it was last put on one */
    u64 group_ns, child_ns;       /* leader: CPU time of the group's exited threads, of its reaped children */
    u32 fpu[33];
    int fpu_valid;
    int affinity;                 /* -1: any */
    int in_syscall;               /* returning from a system call (restart bookkeeping) */
    int sc_restart;               /* it may be restarted after a SA_RESTART handler */
    u32 sc_nr, sc_a3;             /* its original v0 and a3 */
    u64 saved_mask;               /* rt_sigsuspend: the mask to restore */
    int saved_mask_valid;
    char comm[16];
    int oom_waits;                /* ticks waited in a row for a page (trap.c) */
};
extern struct task tasks[NTASK];
extern struct spinlock sched_lock;
extern struct task *init_task;
extern int smp_hw;                     /* the machine has the SMP block */

/* start.S, the linker script */
extern char vec_refill[], vec_refill_end[], vec_general[], vec_general_end[];
extern char _text_start[], _end[];
extern char boot_stack_top[], _gp[];

/* ------------------------------------------------------------- system calls */
#define RESULT_SET 0x7FFFFFFF     /* a handler's result: it set the frame itself */

/* ------------------------------------------------------------- signals */
#define SIGHUP 1
#define SIGINT 2
#define SIGQUIT 3
#define SIGILL 4
#define SIGTRAP 5
#define SIGABRT 6
#define SIGEMT 7
#define SIGFPE 8
#define SIGKILL 9
#define SIGBUS 10
#define SIGSEGV 11
#define SIGSYS 12
#define SIGPIPE 13
#define SIGALRM 14
#define SIGTERM 15
#define SIGUSR1 16
#define SIGUSR2 17
#define SIGCHLD 18
#define SIGPWR 19
#define SIGWINCH 20
#define SIGURG 21
#define SIGIO 22
#define SIGSTOP 23
#define SIGTSTP 24
#define SIGCONT 25
#define SIGTTIN 26
#define SIGTTOU 27
#define SIGVTALRM 28
#define SIGPROF 29
#define SIGXCPU 30
#define SIGXFSZ 31
#define SIG_DFL 0
#define SIG_IGN 1
#define SA_NOCLDSTOP 0x1
#define SA_SIGINFO 0x8
#define SA_NODEFER 0x40000000
#define SA_RESETHAND 0x80000000
#define SA_RESTART 0x10000000
#define SA_ONSTACK 0x08000000
#define SIGBIT(s) (1ULL << ((s) - 1))
#include "defs.h"
#endif
