/*
 * trap.S -- exception entry for bare flashvm guests.
 *
 * install_exception_handler() (bare.c) copies one of the small trampolines
 * below to EBase+0x000 (TLB refill), EBase+0x180 (general exception) and
 * EBase+0x200 (interrupt when Cause.IV=1).  Each loads the absolute address of
 * __bare_trap_entry into $k0 and the vector offset into $k1, so it works at
 * any address.  __bare_trap_entry saves the interrupted context into a
 * struct trapframe (layout in bare.h), calls the C handler
 * `__bare_trap_handler(tf)`, restores everything from the (possibly
 * modified) frame and returns with eret.  $k0/$k1 and the FPU are not
 * preserved.
 */
#include "bare.h"

#define FR(n)   (16 + TF_REGS + 4 * (n))($sp)
#define FF(off) (16 + (off))($sp)

        .set    noreorder
        .set    noat

/* ------------------------------------------------------------ trampolines */
        .section .text.bare_trap, "ax", @progbits
        .balign 4
        .globl  __bare_vec_refill, __bare_vec_refill_end
__bare_vec_refill:
        lui     $k0, %hi(__bare_trap_entry)
        addiu   $k0, $k0, %lo(__bare_trap_entry)
        jr      $k0
        addiu   $k1, $0, VEC_TLB_REFILL
__bare_vec_refill_end:

        .globl  __bare_vec_general, __bare_vec_general_end
__bare_vec_general:
        lui     $k0, %hi(__bare_trap_entry)
        addiu   $k0, $k0, %lo(__bare_trap_entry)
        jr      $k0
        addiu   $k1, $0, VEC_GENERAL
__bare_vec_general_end:

        .globl  __bare_vec_interrupt, __bare_vec_interrupt_end
__bare_vec_interrupt:
        lui     $k0, %hi(__bare_trap_entry)
        addiu   $k0, $k0, %lo(__bare_trap_entry)
        jr      $k0
        addiu   $k1, $0, VEC_INTERRUPT
__bare_vec_interrupt_end:

/* ------------------------------------------------------------ common entry */
        .globl  __bare_trap_entry
        .type   __bare_trap_entry, @function
        .ent    __bare_trap_entry
__bare_trap_entry:
        /* pick a stack: the current one if we came from kernel mode */
        mfc0    $k0, $12
        andi    $k0, $k0, ST_KSU
        beq     $k0, $0, 1f
        move    $k0, $sp
        lui     $k0, %hi(__bare_trap_stack_top)
        addiu   $k0, $k0, %lo(__bare_trap_stack_top)
1:      addiu   $k0, $k0, -TRAP_FRAME_BYTES
        sw      $sp, (16 + TF_REGS + 4 * 29)($k0)
        move    $sp, $k0

        sw      $0,  FR(0)
        sw      $1,  FR(1)
        sw      $2,  FR(2)
        sw      $3,  FR(3)
        sw      $4,  FR(4)
        sw      $5,  FR(5)
        sw      $6,  FR(6)
        sw      $7,  FR(7)
        sw      $8,  FR(8)
        sw      $9,  FR(9)
        sw      $10, FR(10)
        sw      $11, FR(11)
        sw      $12, FR(12)
        sw      $13, FR(13)
        sw      $14, FR(14)
        sw      $15, FR(15)
        sw      $16, FR(16)
        sw      $17, FR(17)
        sw      $18, FR(18)
        sw      $19, FR(19)
        sw      $20, FR(20)
        sw      $21, FR(21)
        sw      $22, FR(22)
        sw      $23, FR(23)
        sw      $24, FR(24)
        sw      $25, FR(25)
        sw      $0,  FR(26)
        sw      $0,  FR(27)
        sw      $28, FR(28)
        sw      $30, FR(30)
        sw      $31, FR(31)
        sw      $k1, FF(TF_VECTOR)
        mfhi    $8
        sw      $8,  FF(TF_HI)
        mflo    $8
        sw      $8,  FF(TF_LO)
        mfc0    $8,  $14                /* EPC */
        sw      $8,  FF(TF_EPC)
        mfc0    $8,  $12                /* Status */
        sw      $8,  FF(TF_STATUS)
        mfc0    $8,  $13                /* Cause */
        sw      $8,  FF(TF_CAUSE)
        mfc0    $8,  $8                 /* BadVAddr */
        sw      $8,  FF(TF_BADVADDR)
        mfc0    $8,  $10                /* EntryHi */
        sw      $8,  FF(TF_ENTRYHI)

        lui     $gp, %hi(_gp)
        addiu   $gp, $gp, %lo(_gp)
        lui     $25, %hi(__bare_trap_handler)
        lw      $25, %lo(__bare_trap_handler)($25)
        jalr    $25
        addiu   $4, $sp, 16             /* a0 = tf */

        /* restore: special registers first, then GPRs, $sp last */
        lw      $8,  FF(TF_HI)
        mthi    $8
        lw      $8,  FF(TF_LO)
        mtlo    $8
        lw      $8,  FF(TF_EPC)
        mtc0    $8,  $14
        lw      $8,  FF(TF_ENTRYHI)
        mtc0    $8,  $10
        lw      $8,  FF(TF_STATUS)
        ori     $8,  $8, ST_EXL         /* stay in exception mode until eret */
        mtc0    $8,  $12
        ehb

        lw      $1,  FR(1)
        lw      $2,  FR(2)
        lw      $3,  FR(3)
        lw      $4,  FR(4)
        lw      $5,  FR(5)
        lw      $6,  FR(6)
        lw      $7,  FR(7)
        lw      $8,  FR(8)
        lw      $9,  FR(9)
        lw      $10, FR(10)
        lw      $11, FR(11)
        lw      $12, FR(12)
        lw      $13, FR(13)
        lw      $14, FR(14)
        lw      $15, FR(15)
        lw      $16, FR(16)
        lw      $17, FR(17)
        lw      $18, FR(18)
        lw      $19, FR(19)
        lw      $20, FR(20)
        lw      $21, FR(21)
        lw      $22, FR(22)
        lw      $23, FR(23)
        lw      $24, FR(24)
        lw      $25, FR(25)
        lw      $28, FR(28)
        lw      $30, FR(30)
        lw      $31, FR(31)
        lw      $sp, FR(29)
        eret
        nop
        .end    __bare_trap_entry
        .size   __bare_trap_entry, . - __bare_trap_entry

/* ------------------------------------------------------------ trap stack */
        .section .bss.bare_trap_stack, "aw", @nobits
        .balign 16
        .globl  __bare_trap_stack_top
__bare_trap_stack:
        .space  TRAP_STACK_BYTES
__bare_trap_stack_top:
