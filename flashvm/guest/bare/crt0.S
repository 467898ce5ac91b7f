/*
 * crt0.S -- entry of a bare flashvm guest.
 *
 * The machine's reset stub at 0xBFC00000 jumps here in kernel mode with
 * Status.BEV=1 and ERL=1.  We:
 *   1. set EBase = 0x80000000 (vectors then live at the bottom of kseg0 RAM),
 *   2. set Status = CU1 only: BEV=0, ERL=0, EXL=0, IE=0, KSU=kernel, FR=0,
 *      Cause = 0 (IV=0), FCSR = 0 (round to nearest, no traps),
 *   3. point $sp at the top of the stack from link.ld and $gp at _gp,
 *   4. clear .bss,
 *   5. install the default exception vectors (__bare_init: an unexpected
 *      exception prints the trap frame and halts with status 0xEE),
 *   6. call main(void) and write its return value to the POWER register.
 */
#include "bare.h"

        .set    noreorder
        .set    noat

        .section .text.start, "ax", @progbits
        .globl  _start
        .type   _start, @function
        .ent    _start
_start:
        /* EBase first, while BEV=1 still routes exceptions to the ROM area */
        lui     $8, %hi(EBASE_ADDR)
        mtc0    $8, $15, 1
        ehb
        lui     $8, %hi(ST_CU1)
        mtc0    $8, $12                 /* Status = CU1 */
        ehb
        mtc0    $0, $13                 /* Cause: IV=0, clear soft interrupts */
        ehb
        ctc1    $0, $31                 /* FCSR = 0 */

        lui     $sp, %hi(__stack_top)
        addiu   $sp, $sp, %lo(__stack_top)
        lui     $gp, %hi(_gp)
        addiu   $gp, $gp, %lo(_gp)

        /* clear .bss (both ends word aligned by link.ld) */
        lui     $8, %hi(__bss_start)
        addiu   $8, $8, %lo(__bss_start)
        lui     $9, %hi(__bss_end)
        addiu   $9, $9, %lo(__bss_end)
        beq     $8, $9, 2f
        nop
1:      sw      $0, 0($8)
        addiu   $8, $8, 4
        bne     $8, $9, 1b
        nop
2:
        move    $fp, $0
        /* default exception vectors: report and halt(0xEE) instead of running
         * into whatever lies at EBase+0x180 */
        lui     $25, %hi(__bare_init)
        addiu   $25, $25, %lo(__bare_init)
        jalr    $25
        addiu   $sp, $sp, -16           /* o32 argument save area (kept for main) */

        lui     $25, %hi(main)
        addiu   $25, $25, %lo(main)
        jalr    $25
        nop

        /* halt(main's return value) */
        lui     $8, %hi(POWER_HALT)
        sw      $2, %lo(POWER_HALT)($8)
3:      b       3b
        nop
        .end    _start
        .size   _start, . - _start

/*
 * __bare_secondary -- where a secondary CPU starts once bare_start_cpu()
 * released it (the ROM jumps here with $a0 = CPU number, Status.BEV=ERL=1).
 * Same setup as CPU 0, then __bare_cpu_entry(cpu) on the stack given for
 * this CPU; if that returns, the CPU waits forever.
 */
        .text
        .globl  __bare_secondary
        .type   __bare_secondary, @function
        .ent    __bare_secondary
__bare_secondary:
        lui     $8, %hi(EBASE_ADDR)
        mtc0    $8, $15, 1
        ehb
        lui     $8, %hi(ST_CU1)
        mtc0    $8, $12
        ehb
        mtc0    $0, $13
        ehb
        ctc1    $0, $31
        lui     $gp, %hi(_gp)
        addiu   $gp, $gp, %lo(_gp)
        lui     $8, %hi(__bare_cpu_sp)
        addiu   $8, $8, %lo(__bare_cpu_sp)
        sll     $9, $4, 2
        addu    $8, $8, $9
        lw      $sp, 0($8)
        lui     $8, %hi(__bare_cpu_entry)
        lw      $25, %lo(__bare_cpu_entry)($8)
        jalr    $25
        addiu   $sp, $sp, -16
1:      wait
        b       1b
        nop
        .end    __bare_secondary
        .size   __bare_secondary, . - __bare_secondary
