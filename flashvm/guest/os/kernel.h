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

/* ------------------------------------------------------------- lib.c */
void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
size_t strnlen(const char *s, size_t n);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strcpy(char *d, const char *s);
char *strchr(const char *s, int c);
size_t strlcpy(char *d, const char *s, size_t n);
int vsnprintf(char *buf, size_t n, const char *fmt, va_list ap);
int snprintf(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
noreturn void panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
#define assert(x) do { if (unlikely(!(x))) panic("assertion failed: %s (%s:%d)", #x, __FILE__, __LINE__); } while (0)

/* console: stream 1 = stdout, 2 = stderr, 3 = kernel log */
void cons_write(int stream, const char *s, size_t n);
int cons_read(char *buf, size_t n);
noreturn void machine_halt(int status);
u64 time_ns(void);
extern int console_framed;

/* ------------------------------------------------------------- boot info */
/* struct bootinfo (with the OS-private words initrd_pa, initrd_size,
 * console_mode, verbose) comes from flash_layout.h, through mips.h */
#define BOOTINFO_MAGIC FLASH_BOOTINFO_MAGIC
#define BOOT_VIRTUAL   FLASH_BOOT_VIRTUAL   /* flags: running in a Disco VM (the monitor wires the kernel window) */
extern struct bootinfo *bootinfo;
extern unsigned ncpu;

/* ------------------------------------------------------------- spinlocks */
struct spinlock {
    volatile u32 locked;
    int cpu;
    const char *name;
};
#define SPINLOCK_INIT(n) { 0, -1, n }
void spin_init(struct spinlock *l, const char *name);
void spin_lock(struct spinlock *l);
void spin_unlock(struct spinlock *l);
int spin_held(struct spinlock *l);
void push_off(void);
void pop_off(void);

/* sleeping locks (may be held across disk I/O) */
struct task;
struct mutex {
    struct spinlock lk;
    int locked;
    struct task *owner;
};
void mutex_init(struct mutex *m, const char *name);
void mutex_lock(struct mutex *m);
void mutex_unlock(struct mutex *m);
int mutex_held(struct mutex *m);

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
void send_ipi(int cpu, u32 what);

/* ------------------------------------------------------------- memory */
extern u32 ram_bytes, nnodes, node_bytes;
void mm_init(u32 kernel_end_pa);
void mm_reserve(u32 pa, u32 len);
void *page_alloc(void);                /* zeroed 4 KB page (kseg0 address), or NULL */
void *page_alloc_n(int n);             /* n contiguous zeroed pages */
void page_free(void *p);
void page_free_n(void *p, int n);
void page_ref(u32 pa);
int page_refcount(u32 pa);
void page_unref(u32 pa);               /* drop a reference; frees at zero */
u32 pages_free(void);
void *kmalloc(size_t n);
void *kzalloc(size_t n);
void kfree(void *p);
u32 node_of_pa(u32 pa);

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
struct mm *mm_new(void);
struct mm *mm_fork(struct mm *old);
void mm_put(struct mm *mm);
void mm_activate(struct mm *mm);
int vm_map(struct mm *mm, u32 start, u32 len, u32 prot, u32 flags, struct inode *ip, u32 off, u32 filesz);
int vm_unmap(struct mm *mm, u32 start, u32 len);
int vm_protect(struct mm *mm, u32 start, u32 len, u32 prot);
u32 vm_find_free(struct mm *mm, u32 len, u32 hint);
int vm_fault(struct mm *mm, u32 va, int write);
int copyout(struct mm *mm, u32 dst, const void *src, u32 n);
int copyin(struct mm *mm, void *dst, u32 src, u32 n);
int copyinstr(struct mm *mm, char *dst, u32 src, u32 max);
int put_user32(u32 va, u32 v);
int get_user32(u32 va, u32 *v);
void tlb_init(void);
void tlb_flush_all(void);
void tlb_flush_page(struct mm *mm, u32 va);
void tlb_flush_mm(struct mm *mm);
void tlb_ipi_flush(void);
struct vma *vma_find(struct mm *mm, u32 va);

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
    int cpu;                      /* CPU whose run queue holds it */
    int on_rq;
    struct task *rq_next;
    u32 tls;
    u32 clear_tid;
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
    u64 cpu_ns, last_ns;
    u32 fpu[33];
    int fpu_valid;
    int affinity;                 /* -1: any */
    int in_syscall;               /* returning from a system call (restart bookkeeping) */
    int sc_restart;               /* it may be restarted after a SA_RESTART handler */
    u32 sc_nr, sc_a3;             /* its original v0 and a3 */
    u64 saved_mask;               /* rt_sigsuspend: the mask to restore */
    int saved_mask_valid;
    char comm[16];
};
extern struct task tasks[NTASK];
extern struct spinlock sched_lock;
void sched_init(void);
noreturn void scheduler(void);
void yield(void);
void sched(void);
void sleep_on(void *chan, struct spinlock *lk);
int sleep_intr(void *chan, struct spinlock *lk);    /* returns -EINTR when a signal arrives */
int sleep_until(void *chan, struct spinlock *lk, u64 deadline_ns);
void wakeup(void *chan);
void wakeup_task(struct task *t);
void make_runnable(struct task *t);
struct task *task_alloc(void);
void task_free(struct task *t);
struct task *task_by_pid(int pid);
void timer_tick(void);
void timer_init_cpu(void);
void check_timeouts(void);
u64 uptime_ns(void);

/* proc.c */
int do_fork(u32 flags, u32 newsp, u32 ptid, u32 tls, u32 ctid, struct tf *tf);
noreturn void do_exit(int status);
noreturn void do_exit_group(int status);
int do_wait4(int pid, u32 status_ptr, int options, u32 rusage);
int send_signal(struct task *t, int sig, int group);
int do_kill(int pid, int sig);
void handle_signals(struct tf *tf);
int sys_rt_sigreturn(struct tf *tf);
int do_execve(const char *path, char **argv, char **envp);
struct task *start_init(void);
extern struct task *init_task;
extern void forkret(void);
extern void trap_return(void);
void user_return_check(struct tf *tf);

/* futex */
int do_futex(u32 uaddr, int op, u32 val, u32 timeout, u32 uaddr2, u32 val3);
void futex_wake_addr(struct mm *mm, u32 uaddr, int n);

/* ------------------------------------------------------------- start.S */
void swtch(u32 *save_sp, u32 new_sp);
void fpu_save(u32 *buf);
void fpu_restore(u32 *buf);
extern char vec_refill[], vec_refill_end[], vec_general[], vec_general_end[];
extern char _text_start[], _end[];
void secondary_entry(void);
void secondary_virtual(void);

/* ------------------------------------------------------------- trap.c */
void trap(struct tf *tf);
long syscall_dispatch(struct tf *tf);

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
#endif
