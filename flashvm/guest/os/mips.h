/*
 * mips.h -- MIPS32r2 CP0 definitions and the trap frame layout of the
 * flashvm guest kernel.  Included from C and from assembly.
 */
#ifndef OS_MIPS_H
#define OS_MIPS_H

#include "flash_layout.h"   /* the machine's addresses (generated, flashvm/machine/layout.py) */

#define KSEG0           FLASH_KSEG0
#define KSEG1           FLASH_KSEG1
#define KSSEG           FLASH_KSSEG
/* The kernel's view of RAM: kseg0 in the default build; in the mapped
 * variant (KERNEL_MAPPED) the image and all of RAM live in ksseg at
 * 0xC0000000 + physical, through wired TLB entries set up at boot. */
#ifdef KERNEL_MAPPED
#define KERNBASE        KSSEG
#else
#define KERNBASE        KSEG0
#endif
#define PA2KV(pa)       ((void *)((unsigned long)(pa) + KERNBASE))
#define KV2PA(va)       ((unsigned long)(va) - KERNBASE)
#define IO(pa)          ((pa) | KSEG1)

#include "mips_cp0.h"       /* Status, Cause, exception codes (guest/include) */

/* EntryLo / PTE: PFN<<6 | C<<3 | D<<2 | V<<1 | G.  A PTE is stored exactly as
 * the EntryLo value the refill handler loads (bits 31..30 are ignored by mtc0
 * and are free for software). */
#define PTE_G        0x1
#define PTE_V        0x2
#define PTE_D        0x4
#define PTE_CACHED   (3 << 3)
#define PTE_UNCACHED (2 << 3)
#define PTE_P        0x40000000   /* software: a page frame is attached */
#define PTE_SW_W     0x80000000   /* the mapping allows writes */
#define PTE_PA(pte)  ((((pte) >> 6) & 0xFFFFF) << 12)
#define PTE_MK(pa)   ((((pa) >> 12) & 0xFFFFF) << 6)

/* device registers (kseg1) */
#define UART_TX      IO(FLASH_UART_BASE + 0x0)
#define UART_RX      IO(FLASH_UART_BASE + 0x4)
#define UART_STATUS  IO(FLASH_UART_BASE + 0x8)
#define POWER_HALT   IO(FLASH_POWER_BASE + 0x0)
#define TIMER_NS_LO  IO(FLASH_TIMER_BASE + 0x0)
#define TIMER_NS_HI  IO(FLASH_TIMER_BASE + 0x4)
#define SMP_BASE     IO(FLASH_SMP_BASE)
#define SMP_CPUNUM   (SMP_BASE + 0x000)
#define SMP_NCPU     (SMP_BASE + 0x004)
#define SMP_IPI_SEND (SMP_BASE + 0x008)
#define SMP_IPI_ACK  (SMP_BASE + 0x00C)
#define SMP_IPI_MASK (SMP_BASE + 0x010)
#define SMP_NODE     (SMP_BASE + 0x014)
#define SMP_RELEASE(k) (SMP_BASE + 0x100 + 4 * (k))
#define DISK_BASE(k) (KSEG1 + FLASH_DISK_BASE + FLASH_DISK_STRIDE * (k))
#define NET_BASE(k)  (KSEG1 + FLASH_NET_BASE + FLASH_NET_STRIDE * (k))
#define MAGIC_BASE   IO(FLASH_MAGIC_BASE)

#define BOOTINFO     (KERNBASE + FLASH_BOOTINFO_PA)

/* Trap frame: what the exception entry saves (byte offsets). */
#define TF_REG(n)    (4 * (n))
#define TF_HI        128
#define TF_LO        132
#define TF_EPC       136
#define TF_STATUS    140
#define TF_CAUSE     144
#define TF_BADVADDR  148
#define TF_SIZE      152
#define TF_FRAME     (TF_SIZE + 24)   /* + o32 argument area, 8-byte aligned */

#define MAXCPU       16
#define KSTACK_SIZE  8192

/* ------------------------------------------------------------------ HAL
 * The HAL build (-DKERNEL_HAL, under Disco only): frequent reads and writes
 * of privileged registers without side effects are loads and stores to a
 * special page the monitor maps for each virtual CPU (paper §4.1, 4.3.3);
 * the word of CP0 register r (select 0) is at HAL_PAGE + 4 * r, EBase at
 * HAL_EBASE.  A store to the monitor-call page below it traps into the
 * monitor: zero a page, or note that a page is free (the value stored is its physical address). */
#define HAL_PAGE        FLASH_HAL_PAGE
#define HAL_EBASE       FLASH_HAL_EBASE         /* offset of EBase in the page */
#define HAL_MCALL       FLASH_HAL_MCALL
#define HAL_MC_ZERO     FLASH_HAL_MC_ZERO       /* zero the guest-physical page stored */
#define HAL_MC_FREE     FLASH_HAL_MC_FREE       /* the guest-physical page stored is free */
#define HAL_MC_DISK     FLASH_HAL_MC_DISK       /* start the disk request whose block {disk, sector,
                                                   count, addr, cmd} is at the guest-physical address stored */
/* when the monitor shares pages between VMs (boot-info flag BOOT_SHARE) it
 * must know every page in use: these replace ZERO and FREE, and reserved
 * pages are reported too (flashvm/disco/share.py) */
#define HAL_MC_ALLOC    FLASH_HAL_MC_ALLOC      /* the page stored is allocated: zero it */
#define HAL_MC_RELEASE  FLASH_HAL_MC_RELEASE    /* the page stored is free */
#define HAL_MC_RESERVE  FLASH_HAL_MC_RESERVE    /* the page stored is in use for good */
/* what an allocated page holds, in the low bits of the address stored (the
 * split of the paper's Fig. 6; flashvm/disco/share.py HAL_KINDS) */
#define HAL_KIND_DATA   0                       /* the kernel's own: tables, stacks, buffers */
#define HAL_KIND_CACHE  1                       /* file data: the page cache, ramfs files */
#define HAL_KIND_USER   2                       /* a process's own memory */

#ifndef __ASSEMBLER__
#include <stdint.h>
struct tf {
    uint32_t regs[32];
    uint32_t hi, lo, epc, status, cause, badvaddr;
};
_Static_assert(sizeof(struct tf) == TF_SIZE, "tf layout");


#define _S(x) #x
#define _XS(x) _S(x)
#define mfc0(reg, sel) ({ uint32_t __v; \
    __asm__ volatile("mfc0 %0, $" _XS(reg) ", " _XS(sel) : "=r"(__v)); __v; })
#define mtc0(reg, sel, val) do { uint32_t __v = (uint32_t)(val); \
    __asm__ volatile("mtc0 %0, $" _XS(reg) ", " _XS(sel) "\n\tehb" : : "r"(__v) : "memory"); } while (0)

static inline uint32_t rd32(uint32_t a) { return *(volatile uint32_t *)a; }
static inline void wr32(uint32_t a, uint32_t v) { *(volatile uint32_t *)a = v; }
#ifdef KERNEL_HAL
/* the monitor keeps these words of the special page up to date */
#define HAL_WORD(off)   (*(volatile uint32_t *)(HAL_PAGE + (off)))
static inline unsigned cpuid(void) { return HAL_WORD(HAL_EBASE) & 0x3FF; }
static inline uint32_t irq_off(void)
{
    uint32_t s = HAL_WORD(4 * 12);          /* Status; clearing IE has no side effect */
    HAL_WORD(4 * 12) = s & ~1u;
    return s;
}
#else
static inline unsigned cpuid(void) { return mfc0(15, 1) & 0x3FF; }
static inline uint32_t irq_off(void)
{
    uint32_t s;
    __asm__ volatile("di %0\n\tehb" : "=r"(s) : : "memory");
    return s;
}
#endif
static inline void irq_restore(uint32_t s)
{
    if (s & ST_IE)
        __asm__ volatile("ei\n\tehb" ::: "memory");
}
static inline void irq_on(void) { __asm__ volatile("ei\n\tehb" ::: "memory"); }
static inline void mb(void) { __asm__ volatile("sync" ::: "memory"); }
#endif
#endif
