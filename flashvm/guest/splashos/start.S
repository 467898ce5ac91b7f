/*
 * start.S -- SPLASHOS's kernel half: the boot of each VCPU and the exception
 * vectors.  Everything else (the program and the rest of SPLASHOS) runs in
 * user mode.
 *
 * Each VCPU starts at _start's alias in the monitor's wired window
 * (0xC0000000 + pa: Disco plays the boot firmware and wires that window),
 * with $a0 = its number in the VM.  It wires TLB entries mapping user
 * addresses 0 .. the VM's memory to the same guest-physical addresses
 * (16 MB page pairs, global), so that the program's addresses are its
 * physical ones and every TLB miss is the monitor's to serve; then it leaves
 * for user mode at __sos_user_main(cpu) on its stack.
 *
 * The general exception vector (EBase + 0x180, EBase = 0x80000000 as the
 * monitor resets it, entered at its alias 0xC0000180) serves the calls of
 * splashos_abi.h, reaching the VM's devices through kseg1 (the monitor
 * emulates those accesses); any other exception prints its cause and halts
 * the VM with status 0xEE.
 */
#include "flash_layout.h"
#include "mips_cp0.h"
#include "splashos_abi.h"

#define K1(pa)  (FLASH_KSEG1 | (pa))
#define UART_TX       K1(FLASH_UART_BASE + 0x00)
#define UART_RX       K1(FLASH_UART_BASE + 0x04)
#define DISK0         K1(FLASH_DISK_BASE)
#define POWER_HALT    K1(FLASH_POWER_BASE)
#define TIMER_NS_LO   K1(FLASH_TIMER_BASE + 0x00)
#define TIMER_NS_HI   K1(FLASH_TIMER_BASE + 0x04)
#define SMP_NCPU      K1(FLASH_SMP_BASE + 0x004)
#define SMP_RELEASE0  K1(FLASH_SMP_BASE + 0x100)
#define ROI_NAME      K1(FLASH_ROI_BASE + FLASH_ROI_NAME)
#define ROI_CMD       K1(FLASH_ROI_BASE + FLASH_ROI_CMD)
#define EXC_SYSCALL   8
#define USER_STATUS   (ST_CU1 | ST_UM | ST_IE)     /* user mode, FPU on, no interrupt line enabled */

        .set    noreorder
        .set    noat

/* ------------------------------------------------------------ TLB refill: never expected */
        .section .vectors.refill, "ax", @progbits
        .globl  __sos_vec_refill
__sos_vec_refill:
        b       __sos_fatal_vec
        nop

/* ------------------------------------------------------------ general exceptions */
        .section .vectors.general, "ax", @progbits
        .globl  __sos_vec_general
__sos_vec_general:
        mfc0    $k0, $13                        /* Cause */
        andi    $k0, $k0, 0x7C
        addiu   $k1, $0, EXC_SYSCALL << 2
        bne     $k0, $k1, __sos_fatal_vec
        sltiu   $k0, $v0, SOS_NSYS
        beq     $k0, $0, __sos_fatal_vec
        nop
        mfc0    $k1, $14                        /* EPC: return past the syscall */
        addiu   $k1, $k1, 4
        mtc0    $k1, $14
        sll     $k0, $v0, 2
        lui     $k1, %hi(__sos_calls)
        addu    $k1, $k1, $k0
        lw      $k1, %lo(__sos_calls)($k1)
        jr      $k1
        nop
__sos_fatal_vec:
        lui     $k1, %hi(__sos_fatal)
        addiu   $k1, $k1, %lo(__sos_fatal)
        jr      $k1
        nop

/* ------------------------------------------------------------ the calls */
        .section .rodata
        .balign 4
__sos_calls:
        .word   sys_write, sys_exit, sys_time, sys_start, sys_ncpu, sys_getc, sys_diskrd, sys_diskwr, sys_roi

        .text
sys_write:                                      /* a0 = buffer, a1 = length */
        lui     $k1, %hi(UART_TX)
        beq     $a1, $0, 2f
        addu    $a1, $a0, $a1
1:      lbu     $k0, 0($a0)
        addiu   $a0, $a0, 1
        sw      $k0, %lo(UART_TX)($k1)
        bne     $a0, $a1, 1b
        nop
2:      eret

sys_exit:
        lui     $k1, %hi(POWER_HALT)
1:      sw      $a0, %lo(POWER_HALT)($k1)
        b       1b
        nop

sys_time:                                       /* high, low, high again until both highs agree */
        lui     $k1, %hi(TIMER_NS_HI)
1:      lw      $v1, %lo(TIMER_NS_HI)($k1)
        lw      $v0, %lo(TIMER_NS_LO)($k1)
        lw      $k0, %lo(TIMER_NS_HI)($k1)
        bne     $k0, $v1, 1b
        nop
        eret

sys_start:                                      /* a0 = VCPU, a1 = pc */
        sll     $k0, $a0, 2
        lui     $k1, %hi(SMP_RELEASE0)
        addu    $k1, $k1, $k0
        sw      $a1, %lo(SMP_RELEASE0)($k1)
        eret

sys_ncpu:
        lui     $k1, %hi(SMP_NCPU)
        lw      $v0, %lo(SMP_NCPU)($k1)
        eret

sys_getc:
        lui     $k1, %hi(UART_RX)
        lw      $v0, %lo(UART_RX)($k1)
        eret

sys_diskrd:                                     /* a0 = offset in DISK 0's registers: v0 = the word */
        andi    $a0, $a0, 0xFC
        lui     $k1, %hi(DISK0)
        addu    $k1, $k1, $a0
        lw      $v0, %lo(DISK0)($k1)
        eret

sys_diskwr:                                     /* a0 = offset, a1 = the word to store */
        andi    $a0, $a0, 0xFC
        lui     $k1, %hi(DISK0)
        addu    $k1, $k1, $a0
        sw      $a1, %lo(DISK0)($k1)
        eret

sys_roi:                                        /* a0 = command, a1 = the region's name (NUL-ended) or 0 */
        lui     $k1, %hi(ROI_NAME)
        beq     $a1, $0, 2f
        nop
1:      lbu     $k0, 0($a1)
        beq     $k0, $0, 2f
        addiu   $a1, $a1, 1
        sw      $k0, %lo(ROI_NAME)($k1)
        b       1b
        nop
2:      sw      $a0, %lo(ROI_CMD)($k1)
        eret

/* an exception SPLASHOS does not serve: "splashos: exception C at EPC (badvaddr B)", halt 0xEE */
__sos_fatal:
        lui     $a0, %hi(msg_exc)
        bal     putstr
        addiu   $a0, $a0, %lo(msg_exc)
        mfc0    $a0, $13
        srl     $a0, $a0, 2
        bal     puthex
        andi    $a0, $a0, 0x1F
        lui     $a0, %hi(msg_at)
        bal     putstr
        addiu   $a0, $a0, %lo(msg_at)
        mfc0    $a0, $14
        bal     puthex
        nop
        lui     $a0, %hi(msg_bad)
        bal     putstr
        addiu   $a0, $a0, %lo(msg_bad)
        mfc0    $a0, $8
        bal     puthex
        nop
        lui     $a0, %hi(msg_end)
        bal     putstr
        addiu   $a0, $a0, %lo(msg_end)
        addiu   $a0, $0, 0xEE
        b       sys_exit
        nop

putstr:                                         /* a0 = NUL-terminated string; uses k0, k1 */
        lui     $k1, %hi(UART_TX)
1:      lbu     $k0, 0($a0)
        beq     $k0, $0, 2f
        addiu   $a0, $a0, 1
        sw      $k0, %lo(UART_TX)($k1)
        b       1b
        nop
2:      jr      $ra
        nop

puthex:                                         /* a0 = word: 8 hex digits; uses a1, a2, k0, k1 */
        lui     $k1, %hi(UART_TX)
        addiu   $a1, $0, 28
1:      srlv    $k0, $a0, $a1
        andi    $k0, $k0, 0xF
        sltiu   $a2, $k0, 10
        bne     $a2, $0, 2f
        addiu   $k0, $k0, '0'
        addiu   $k0, $k0, 'a' - '0' - 10
2:      sw      $k0, %lo(UART_TX)($k1)
        bne     $a1, $0, 1b
        addiu   $a1, $a1, -4
        jr      $ra
        nop

        .section .rodata
msg_exc: .asciz "splashos: exception "
msg_at:  .asciz " at "
msg_bad: .asciz " badvaddr "
msg_end: .asciz "\n"

/* ------------------------------------------------------------ boot of every VCPU */
        .section .text.start, "ax", @progbits
        .globl  _start
        .type   _start, @function
        .ent    _start
_start:                                         /* at 0xC0000000 + pa, a0 = VCPU: position-independent until jr */
        mfc0    $t0, $6                         /* the firmware's wired entries come first */
        li      $t1, PAGEMASK_16M
        mtc0    $t1, $5
        lui     $t3, %hi(SOS_KSSEG + FLASH_BOOTINFO_PA + 0x0C)
        lw      $t3, %lo(SOS_KSSEG + FLASH_BOOTINFO_PA + 0x0C)($t3)   /* boot info's ram_bytes */
        move    $t2, $0
1:      mtc0    $t0, $0                         /* Index */
        mtc0    $t2, $10                        /* EntryHi: VPN2 = pa, ASID 0 */
        srl     $t4, $t2, 6                     /* EntryLo PFN of pa */
        ori     $t4, $t4, ENTRYLO_C(3) | ENTRYLO_D | ENTRYLO_V | ENTRYLO_G
        mtc0    $t4, $2
        lui     $t5, 0x0004                     /* + 16 MB in the PFN field (pa >> 6) */
        addu    $t4, $t4, $t5
        mtc0    $t4, $3
        tlbwi
        addiu   $t0, $t0, 1
        lui     $t5, %hi(SOS_MAP_BYTES)
        addu    $t2, $t2, $t5
        sltu    $t5, $t2, $t3
        bne     $t5, $0, 1b
        nop
        mtc0    $t0, $6                         /* Wired: they stay */
        mtc0    $0, $10                         /* ASID 0 */
        lui     $t1, %hi(__sos_kinit)
        addiu   $t1, $t1, %lo(__sos_kinit)
        jr      $t1                             /* on at the user-space address */
        nop
        .end    _start

        .text
__sos_kinit:
        lui     $gp, %hi(_gp)
        addiu   $gp, $gp, %lo(_gp)
        mtc0    $a0, $4, 2                      /* UserLocal = VCPU: rdhwr $29 names it in user mode */
        lui     $t1, 1 << 13                    /* bit 29 */
        ori     $t1, $t1, (1 << 2) | (1 << 3)
        mtc0    $t1, $7                         /* HWREna: CC, CCRes, UserLocal */
        bne     $a0, $0, 3f
        nop
        /* VCPU 0: clear .bss, main's stack */
        lui     $t0, %hi(__bss_start)
        addiu   $t0, $t0, %lo(__bss_start)
        lui     $t1, %hi(__bss_end)
        addiu   $t1, $t1, %lo(__bss_end)
        beq     $t0, $t1, 2f
        nop
1:      sw      $0, 0($t0)
        addiu   $t0, $t0, 4
        bne     $t0, $t1, 1b
        nop
2:      lui     $sp, %hi(__stack_top)
        b       4f
        addiu   $sp, $sp, %lo(__stack_top)
3:      lui     $t0, %hi(__sos_stack)           /* a secondary: the stack its creator gave it */
        addiu   $t0, $t0, %lo(__sos_stack)
        sll     $t1, $a0, 2
        addu    $t0, $t0, $t1
        lw      $sp, 0($t0)
4:      addiu   $sp, $sp, -16
        move    $fp, $0
        lui     $t0, %hi(__sos_user_main)
        addiu   $t0, $t0, %lo(__sos_user_main)
        mtc0    $t0, $14                        /* EPC */
        li      $t0, USER_STATUS | ST_EXL
        mtc0    $t0, $12                        /* user mode once EXL clears */
        ehb
        ctc1    $0, $31                         /* FCSR (CU1 is on now): round to nearest, no traps */
        eret                                    /* __sos_user_main(a0 = VCPU) in user mode */
