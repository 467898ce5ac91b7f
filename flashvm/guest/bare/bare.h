/*
 * bare.h -- runtime for freestanding (kernel-mode) flashvm guest programs.
 *
 * Programs built with flashvm.toolchain.build_bare() get crt0.S (entry
 * `_start`), trap.S (exception trampolines) and bare.c (this API) linked in.
 * `int main(void)` runs in kernel mode with Status = CU1 (FPU usable,
 * FR=0, BEV=0, ERL=0, EXL=0, IE=0) and EBase = 0x80000000; its return value
 * is written to the POWER register, which halts the machine.
 *
 * This header is also included by the assembly files (__ASSEMBLER__ set), so
 * only #defines appear outside the C-only section.
 */
#ifndef FLASHVM_BARE_H
#define FLASHVM_BARE_H

#include "flash_layout.h"   /* the machine's addresses (generated, flashvm/machine/layout.py) */

/* ------------------------------------------------------------------ machine */
#define RAM_PHYS_BASE    0x00000000
#define RAM_SIZE_DEFAULT (64 << 20)      /* 64 MB unless the machine says otherwise */
#define KSEG0_BASE       FLASH_KSEG0     /* cached, unmapped */
#define KSEG1_BASE       FLASH_KSEG1     /* uncached, unmapped */
#define KSEG2_BASE       FLASH_KSSEG     /* mapped (kernel) */
#define KSEG0(pa)        ((pa) | KSEG0_BASE)
#define KSEG1(pa)        ((pa) | KSEG1_BASE)
#define PHYS(va)         ((va) & 0x1FFFFFFF)

#define EBASE_ADDR       0x80000000      /* exception base set by crt0 */
#define VEC_TLB_REFILL   0x000
#define VEC_CACHE_ERR    0x100
#define VEC_GENERAL      0x180
#define VEC_INTERRUPT    0x200           /* used only when Cause.IV = 1 */

/* devices: physical FLASH_DEV_BASE, used through kseg1; 32-bit registers, lw/sw */
#define DEV_PHYS_BASE    FLASH_DEV_BASE
#define UART_BASE        KSEG1(FLASH_UART_BASE)
#define UART_TX          (UART_BASE + 0x00)  /* write: print one byte */
#define UART_RX          (UART_BASE + 0x04)  /* read: a byte, or -1 if none */
#define UART_STATUS      (UART_BASE + 0x08)
#define POWER_BASE       KSEG1(FLASH_POWER_BASE)
#define POWER_HALT       (POWER_BASE + 0x00) /* write: halt with that exit status */
#define TIMER_BASE       KSEG1(FLASH_TIMER_BASE)
#define TIMER_NS_LO      (TIMER_BASE + 0x00) /* simulated time in ns, low 32 bits */
#define TIMER_NS_HI      (TIMER_BASE + 0x04) /* high 32 bits */
#define SMP_BASE         KSEG1(FLASH_SMP_BASE)   /* docs/machine.md, "SMP block" */
#define SMP_CPUNUM       (SMP_BASE + 0x000)
#define SMP_NCPU         (SMP_BASE + 0x004)
#define SMP_IPI_SEND     (SMP_BASE + 0x008)
#define SMP_IPI_ACK      (SMP_BASE + 0x00C)
#define SMP_NODE_OF_CPU  (SMP_BASE + 0x014)
#define SMP_RELEASE(k)   (SMP_BASE + 0x100 + 4 * (k))
#define MAGIC_BASE       KSEG1(FLASH_MAGIC_BASE)
#define MAGIC_PAGE       (MAGIC_BASE + 0x00)
#define MAGIC_NODE       (MAGIC_BASE + 0x04)
#define MAGIC_COUNT      (MAGIC_BASE + 0x08)
#define MAGIC_NNODES     (MAGIC_BASE + 0x24)
/* The kernel's window on physical memory: kseg0, or for a program relinked
 * in the supervisor segment to run under Disco (link-ksseg.ld, -DBARE_KSSEG)
 * the mapped alias 0xC0000000 + pa that the monitor wires. */
#ifdef BARE_KSSEG
#define KWIN_BASE        FLASH_KSSEG
#else
#define KWIN_BASE        FLASH_KSEG0
#endif
#define KWIN(pa)         ((pa) | KWIN_BASE)
#define BOOTINFO_BASE    (KWIN_BASE + FLASH_BOOTINFO_PA)  /* struct bootinfo, written by the host (docs/machine.md) */

/* CP0 registers, Status/Cause bits, exception codes, EntryLo: guest/include */
#include "mips_cp0.h"

/* --------------------------------------------------------------- trapframe */
/* Word offsets (bytes) inside struct trapframe; used by trap.S. */
#define TF_REGS      0     /* regs[0..31]; regs[26], regs[27] (k0/k1) are not saved */
#define TF_HI        128
#define TF_LO        132
#define TF_EPC       136
#define TF_STATUS    140
#define TF_CAUSE     144
#define TF_BADVADDR  148
#define TF_ENTRYHI   152
#define TF_VECTOR    156   /* VEC_TLB_REFILL / VEC_GENERAL / VEC_INTERRUPT */
#define TF_SIZE      160
/* the stack frame built by trap.S: 16 bytes of o32 argument area + frame */
#define TRAP_FRAME_BYTES (16 + TF_SIZE)
#define TRAP_STACK_BYTES 16384

#ifndef __ASSEMBLER__
/* ====================================================================== C */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Saved state of the interrupted context.  The handler may change any field
 * (e.g. epc += 4 to skip a syscall, regs[2] for a return value, status to
 * return to user mode, entryhi to switch ASID); trap.S restores them all and
 * executes eret. */
struct trapframe {
    uint32_t regs[32];
    uint32_t hi, lo;
    uint32_t epc;
    uint32_t status;
    uint32_t cause;
    uint32_t badvaddr;
    uint32_t entryhi;
    uint32_t vector;
};
_Static_assert(sizeof(struct trapframe) == TF_SIZE, "trapframe layout");

typedef void (*trap_handler_t)(struct trapframe *tf);

/* Register names for tf->regs[] */
enum { R_ZERO, R_AT, R_V0, R_V1, R_A0, R_A1, R_A2, R_A3,
       R_T0, R_T1, R_T2, R_T3, R_T4, R_T5, R_T6, R_T7,
       R_S0, R_S1, R_S2, R_S3, R_S4, R_S5, R_S6, R_S7,
       R_T8, R_T9, R_K0, R_K1, R_GP, R_SP, R_FP, R_RA };

/* ------------------------------------------------------------ MMIO access */
static inline void mmio_write32(uint32_t addr, uint32_t v)
{
    *(volatile uint32_t *)(uintptr_t)addr = v;
}
static inline uint32_t mmio_read32(uint32_t addr)
{
    return *(volatile uint32_t *)(uintptr_t)addr;
}

/* -------------------------------------------------------------- CP0 / misc */
#define __BARE_STR(x) #x
#define __BARE_XSTR(x) __BARE_STR(x)

/* mfc0(CP0_STATUS, 0) / mtc0(CP0_PRID, 1, v): register and select must be
 * integer constants (macros are fine).  mtc0 is followed by ehb. */
#define mfc0(reg, sel) ({                                                    \
        uint32_t __v;                                                        \
        __asm__ volatile("mfc0 %0, $" __BARE_XSTR(reg) ", " __BARE_XSTR(sel) \
                         : "=r"(__v));                                       \
        __v; })
#define mtc0(reg, sel, val) do {                                             \
        uint32_t __v = (uint32_t)(val);                                      \
        __asm__ volatile("mtc0 %0, $" __BARE_XSTR(reg) ", " __BARE_XSTR(sel) \
                         "\n\tehb" : : "r"(__v) : "memory");                 \
    } while (0)

#define read_c0_status()     mfc0(CP0_STATUS, 0)
#define write_c0_status(v)   mtc0(CP0_STATUS, 0, v)
#define read_c0_cause()      mfc0(CP0_CAUSE, 0)
#define write_c0_cause(v)    mtc0(CP0_CAUSE, 0, v)
#define read_c0_epc()        mfc0(CP0_EPC, 0)
#define write_c0_epc(v)      mtc0(CP0_EPC, 0, v)
#define read_c0_badvaddr()   mfc0(CP0_BADVADDR, 0)
#define read_c0_count()      mfc0(CP0_COUNT, 0)
#define write_c0_count(v)    mtc0(CP0_COUNT, 0, v)
#define read_c0_compare()    mfc0(CP0_COMPARE, 0)
#define write_c0_compare(v)  mtc0(CP0_COMPARE, 0, v)
#define read_c0_index()      mfc0(CP0_INDEX, 0)
#define write_c0_index(v)    mtc0(CP0_INDEX, 0, v)
#define read_c0_random()     mfc0(CP0_RANDOM, 0)
#define read_c0_entrylo0()   mfc0(CP0_ENTRYLO0, 0)
#define write_c0_entrylo0(v) mtc0(CP0_ENTRYLO0, 0, v)
#define read_c0_entrylo1()   mfc0(CP0_ENTRYLO1, 0)
#define write_c0_entrylo1(v) mtc0(CP0_ENTRYLO1, 0, v)
#define read_c0_entryhi()    mfc0(CP0_ENTRYHI, 0)
#define write_c0_entryhi(v)  mtc0(CP0_ENTRYHI, 0, v)
#define read_c0_pagemask()   mfc0(CP0_PAGEMASK, 0)
#define write_c0_pagemask(v) mtc0(CP0_PAGEMASK, 0, v)
#define read_c0_wired()      mfc0(CP0_WIRED, 0)
#define write_c0_wired(v)    mtc0(CP0_WIRED, 0, v)
#define read_c0_context()    mfc0(CP0_CONTEXT, 0)
#define write_c0_context(v)  mtc0(CP0_CONTEXT, 0, v)
#define read_c0_userlocal()  mfc0(CP0_CONTEXT, 2)
#define write_c0_userlocal(v) mtc0(CP0_CONTEXT, 2, v)
#define read_c0_hwrena()     mfc0(CP0_HWRENA, 0)
#define write_c0_hwrena(v)   mtc0(CP0_HWRENA, 0, v)
#define read_c0_prid()       mfc0(CP0_PRID, 0)
#define read_c0_ebase()      mfc0(CP0_PRID, 1)
#define write_c0_ebase(v)    mtc0(CP0_PRID, 1, v)
#define read_c0_config(sel)  mfc0(CP0_CONFIG, sel)
#define read_c0_errorepc()   mfc0(CP0_ERROREPC, 0)

static inline void ehb(void)   { __asm__ volatile("ehb" ::: "memory"); }
static inline void tlbwi(void) { __asm__ volatile("tlbwi\n\tehb" ::: "memory"); }
static inline void tlbwr(void) { __asm__ volatile("tlbwr\n\tehb" ::: "memory"); }
static inline void tlbp(void)  { __asm__ volatile("tlbp\n\tehb" ::: "memory"); }
static inline void tlbr(void)  { __asm__ volatile("tlbr\n\tehb" ::: "memory"); }
/* eret from C: only meaningful with EXL/ERL set and EPC/ErrorEPC prepared. */
static inline __attribute__((noreturn)) void eret(void)
{
    __asm__ volatile("eret" ::: "memory");
    __builtin_unreachable();
}
/* `syscall` instruction: raises EXC_SYS; the handler must advance tf->epc
 * and must not change tf->regs[] (the compiler assumes all registers survive;
 * use syscall3() to get a result back). */
static inline void mips_syscall(void) { __asm__ volatile("syscall" ::: "memory"); }
/* syscall with a number in $v0 and arguments in $a0..$a2, Linux style; the
 * handler returns a value in tf->regs[R_V0] and may change $v1 and $a0..$a2. */
static inline uint32_t syscall3(uint32_t nr, uint32_t a, uint32_t b, uint32_t c)
{
    register uint32_t v0 __asm__("$2") = nr;
    register uint32_t a0 __asm__("$4") = a;
    register uint32_t a1 __asm__("$5") = b;
    register uint32_t a2 __asm__("$6") = c;
    __asm__ volatile("syscall" : "+r"(v0), "+r"(a0), "+r"(a1), "+r"(a2) : : "$3", "memory");
    return v0;
}
static inline void mips_break(void)   { __asm__ volatile("break" ::: "memory"); }
static inline void mips_wait(void)    { __asm__ volatile("wait" ::: "memory"); }
static inline void mips_sync(void)    { __asm__ volatile("sync" ::: "memory"); }
/* di/ei return the previous Status */
static inline uint32_t irq_disable(void)
{
    uint32_t s;
    __asm__ volatile("di %0\n\tehb" : "=r"(s) : : "memory");
    return s;
}
static inline uint32_t irq_enable(void)
{
    uint32_t s;
    __asm__ volatile("ei %0\n\tehb" : "=r"(s) : : "memory");
    return s;
}

/* ----------------------------------------------------------------- runtime */
__attribute__((noreturn)) void halt(int code);   /* write POWER, never return */
__attribute__((noreturn)) void exit(int code);   /* = halt */
__attribute__((noreturn)) void abort(void);      /* prints, halt(134) */
uint64_t time_ns(void);                          /* simulated time from TIMER */

int putchar(int c);
int puts(const char *s);                          /* appends '\n' */
int fputs_uart(const char *s);                    /* no '\n' */
int getchar(void);                                /* UART RX: byte or -1 */
/* printf-lite: %d %i %u %x %X %o %s %c %p %%, flags '-' '0', width,
 * 'l'/'ll' length (ll = 64-bit), 'h'/'z' accepted; no floating point. */
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vprintf(const char *fmt, va_list ap);
int snprintf(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int vsnprintf(char *buf, size_t n, const char *fmt, va_list ap);

void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strcpy(char *dst, const char *src);
char *strchr(const char *s, int c);
/* bump allocator over the RAM after the stack (free() is a no-op) */
void *malloc(size_t n);
void *calloc(size_t n, size_t size);
void free(void *p);

/* -------------------------------------------------------------- exceptions */
/* Copy the trampolines to EBase+0x000 (TLB refill), +0x180 (general) and
 * +0x200 (interrupts with Cause.IV=1) and make `h` the C handler for all of
 * them (tf->vector tells which vector was taken).  h == NULL restores the
 * default handler, which prints the cause and halts with status 0xEE.
 * Exceptions from kernel mode (KSU=0) push the frame on the current stack;
 * from user/supervisor mode they use a dedicated 16 KB trap stack. */
void install_exception_handler(trap_handler_t h);
trap_handler_t set_exception_handler(trap_handler_t h);   /* no copying */
void default_exception_handler(struct trapframe *tf);
void dump_trapframe(const struct trapframe *tf);
const char *exc_name(unsigned exccode);

/* Write one TLB entry (index) or a random one (index < 0). */
void tlb_write(int index, uint32_t entryhi, uint32_t entrylo0, uint32_t entrylo1,
               uint32_t pagemask);
/* tlbp for entryhi: returns the index or -1. */
int tlb_probe(uint32_t entryhi);
/* Invalidate all entries but the wired ones (unique unmapped VPN2s in kseg0),
 * given the TLB size from Config1.MMUSize. */
int tlb_size(void);
void tlb_flush_all(void);

/* ------------------------------------------------------------------ SMP */
/* This CPU's number (EBase.CPUNum) and the machine's CPU count. */
int bare_cpu_id(void);
int bare_ncpu(void);
/* Start CPU `cpu` (1..ncpu-1) in fn(cpu) on the stack ending at stack_top,
 * with the same setup as CPU 0 (kernel mode, CU1, IE=0).  One entry
 * function is shared by all secondaries.  If fn returns, the CPU waits. */
void bare_start_cpu(int cpu, void (*fn)(int), void *stack_top);
/* Atomic helpers built on LL/SC. */
uint32_t atomic_add(volatile uint32_t *p, uint32_t v);   /* returns the new value */
void spin_lock(volatile uint32_t *lock);
void spin_unlock(volatile uint32_t *lock);

/* linker-script symbols */
extern char __bss_start[], __bss_end[], __stack_bottom[], __stack_top[];
extern char __heap_start[], _end[];

#ifdef __cplusplus
}
#endif
#endif /* !__ASSEMBLER__ */
#endif /* FLASHVM_BARE_H */
