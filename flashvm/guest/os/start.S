/*
 * start.S -- entry points, exception vectors, trap entry/exit and context
 * switch of the flashvm guest kernel.
 *
 * Register use at exception entry: only $k0/$k1 may be touched before the
 * interrupted context is saved.  Kernel code runs with Status.EXL = 0 and
 * (normally) IE = 0; exceptions from kernel mode push a frame on the current
 * kernel stack, exceptions from user mode start at cpu_kstack[cpu], the top
 * of the current task's kernel stack.
 */
#include "mips.h"

        .set    noreorder
        .set    noat

#define SAVE(n)    sw $n, TF_REG(n)($sp)
#define LOAD(n)    lw $n, TF_REG(n)($sp)
#ifdef KERNEL_HAL
/* privileged registers through the monitor's special page: no trap */
#define HAL_LW(r, off)  lui r, %hi(HAL_PAGE + (off)); lw r, %lo(HAL_PAGE + (off))(r)
#define HAL_SW(r, off, t)  lui t, %hi(HAL_PAGE + (off)); sw r, %lo(HAL_PAGE + (off))(t)
#define CPUIDX(r)  HAL_LW(r, HAL_EBASE); andi r, r, 0x3FF; sll r, r, 2
#define MFC0(r, reg)  HAL_LW(r, 4 * (reg))
#define MTC0(r, reg, t)  HAL_SW(r, 4 * (reg), t)
#else
#define CPUIDX(r)  mfc0 r, $15, 1; andi r, r, 0x3FF; sll r, r, 2
#define MFC0(r, reg)  mfc0 r, $reg
#define MTC0(r, reg, t)  mtc0 r, $reg
#endif

/* ---------------------------------------------------------------- entry */
        .section .text.start, "ax", @progbits
        .globl  _start
        .ent    _start
_start:
        /* boot CPU: a0 = 0.  Reset state: BEV = ERL = 1, kernel mode. */
        mtc0    $0, $12                 /* Status = 0: ERL, BEV, IE off */
        ehb
        li      $8, KSEG0
        mtc0    $8, $15, 1              /* EBase */
        mtc0    $0, $13                 /* Cause: IV = 0 */
        ehb
        bal     wire_kernel
        nop
        mfc0    $9, $15, 1
        andi    $9, $9, 0x3FF
        bnez    $9, park                /* not the boot CPU: wait for a release */
        nop
        la      $25, start_kernel       /* the rest runs in the kernel's text (mapped or not) */
        jr      $25
        nop
park:   /* no SMP release register on this machine: poll cpu_release[] */
        sll     $10, $9, 2
        la      $8, cpu_release
        addu    $8, $8, $10
4:      lw      $25, 0($8)
        beqz    $25, 4b
        nop
        jr      $25
        move    $4, $9
        .end    _start

/* A released secondary CPU starts here with a0 = its number (BEV = ERL = 1). */
        .globl  secondary_entry
        .ent    secondary_entry
secondary_entry:
        mtc0    $0, $12
        ehb
        li      $8, KSEG0
        mtc0    $8, $15, 1
        mtc0    $0, $13
        ehb
        bal     wire_kernel
        nop
        la      $25, start_secondary
        jr      $25
        nop
        .end    secondary_entry

/* Under Disco (boot-info flag 2) the monitor plays the boot code's part: it
 * wires the kernel window (ksseg 0xC0000000 + pa -> pa, as wire_kernel does)
 * and starts the boot VCPU here, and secondaries at secondary_virtual, in the
 * mapped text: nothing runs from kseg0, which a guest in supervisor mode
 * cannot reach (the paper's KSEG0 relocation). */
        .text
        .globl  _start_virtual
        .ent    _start_virtual
_start_virtual:
        mtc0    $0, $12                 /* Status = 0 (emulated by the monitor) */
        ehb
        li      $8, KSEG0
        mtc0    $8, $15, 1              /* EBase */
        mtc0    $0, $13
        ehb
/* the boot CPU, its kernel window in place: stack, bss, kmain */
start_kernel:
        la      $sp, boot_stack_top
        la      $gp, _gp
        la      $8, __bss_start
        la      $9, __bss_end
        /* both ends are 16-byte aligned (linker scripts) */
1:      beq     $8, $9, 2f
        nop
        sw      $0, 0($8)
        sw      $0, 4($8)
        sw      $0, 8($8)
        sw      $0, 12($8)
        b       1b
        addiu   $8, $8, 16
2:      la      $25, kmain
        jalr    $25
        addiu   $sp, $sp, -24
3:      b       3b
        nop
        .end    _start_virtual

        .globl  secondary_virtual
        .ent    secondary_virtual
secondary_virtual:
        mtc0    $0, $12
        ehb
        li      $8, KSEG0
        mtc0    $8, $15, 1
        mtc0    $0, $13
        ehb
/* a secondary CPU, its kernel window in place: its boot stack, secondary_main */
start_secondary:
        mfc0    $4, $15, 1
        andi    $4, $4, 0x3FF
        sll     $9, $4, 2
        la      $8, cpu_boot_sp
        addu    $8, $8, $9
        lw      $sp, 0($8)
        la      $gp, _gp
        la      $25, secondary_main
        jalr    $25
        addiu   $sp, $sp, -24
1:      b       1b
        nop
        .end    secondary_virtual

        .section .text.start, "ax", @progbits
/* Mapped variant: wired TLB entries map ksseg 0xC0000000 + pa -> pa for all
 * of RAM with 16 MB page pairs (global, cached, writable).  Runs from kseg0
 * before anything mapped is touched; clobbers t0..t6. */
        .globl  wire_kernel
        .ent    wire_kernel
wire_kernel:
#ifdef KERNEL_MAPPED
        li      $8, 0x80000800
        lw      $9, 0xC($8)             /* RAM bytes from boot info */
        li      $10, KSSEG              /* EntryHi */
        move    $11, $0                 /* physical address */
        move    $12, $0                 /* index */
        li      $13, 0x01FFE000         /* PageMask: 16 MB */
        mtc0    $13, $5
1:      mtc0    $12, $0
        mtc0    $10, $10                /* EntryHi */
        srl     $13, $11, 6
        ori     $13, $13, 0x1F          /* C=3 D V G */
        mtc0    $13, $2
        li      $14, 0x01000000
        addu    $14, $11, $14
        srl     $13, $14, 6
        sltu    $15, $14, $9
        beqz    $15, 2f
        ori     $13, $13, 0x1F
        b       3f
        nop
2:      li      $13, 1                  /* past the end of RAM: invalid */
3:      mtc0    $13, $3
        ehb
        tlbwi
        li      $14, 0x02000000
        addu    $10, $10, $14
        addu    $11, $11, $14
        sltu    $15, $11, $9
        bnez    $15, 1b
        addiu   $12, $12, 1
        mtc0    $12, $6                 /* Wired */
        mtc0    $0, $5
        ehb
#endif
        jr.hb   $31
        nop
        .end    wire_kernel

/* ------------------------------------------------------- vector templates */
        .text
/* TLB refill (EBase + 0x000): walk the two-level page table of the current
 * address space.  Missing second-level tables point at a zero table, so a
 * hole loads an invalid pair and the access then takes a TLB-invalid
 * exception through the general vector, where the page fault is handled. */
        .globl  vec_refill, vec_refill_end
vec_refill:
        CPUIDX($k1)
        lui     $k0, %hi(pgd_current)
        addu    $k0, $k0, $k1
        lw      $k1, %lo(pgd_current)($k0)
        MFC0(   $k0, 8)                 /* BadVAddr */
        srl     $k0, $k0, 22
        sll     $k0, $k0, 2
        addu    $k1, $k1, $k0
        lw      $k1, 0($k1)             /* second-level table */
        MFC0(   $k0, 4)                 /* Context: BadVPN2 << 4 */
        srl     $k0, $k0, 1
        andi    $k0, $k0, 0xFF8
        addu    $k1, $k1, $k0
        lw      $k0, 0($k1)
        lw      $k1, 4($k1)
        mtc0    $k0, $2                 /* (HAL: no register left for the page's address) */
        mtc0    $k1, $3
        ehb
        tlbwr
        eret
vec_refill_end:

        .globl  vec_general, vec_general_end
vec_general:
        la      $k0, exc_entry
        jr      $k0
        nop
vec_general_end:

/* ------------------------------------------------------- general exception */
        .globl  exc_entry
        .ent    exc_entry
exc_entry:
        MFC0(   $k0, 12)
        andi    $k0, $k0, ST_KSU
        beqz    $k0, 1f
        move    $k1, $sp
        CPUIDX($k0)
        lui     $k1, %hi(cpu_kstack)
        addu    $k1, $k1, $k0
        lw      $k0, %lo(cpu_kstack)($k1)
        b       2f
        move    $k1, $sp
1:      move    $k0, $sp
2:      addiu   $k0, $k0, -TF_FRAME
        sw      $k1, (24 + TF_REG(29))($k0)
        addiu   $sp, $k0, 24
        SAVE(1)
        SAVE(2)
        SAVE(3)
        SAVE(4)
        SAVE(5)
        SAVE(6)
        SAVE(7)
        SAVE(8)
        SAVE(9)
        SAVE(10)
        SAVE(11)
        SAVE(12)
        SAVE(13)
        SAVE(14)
        SAVE(15)
        SAVE(16)
        SAVE(17)
        SAVE(18)
        SAVE(19)
        SAVE(20)
        SAVE(21)
        SAVE(22)
        SAVE(23)
        SAVE(24)
        SAVE(25)
        SAVE(28)
        SAVE(30)
        SAVE(31)
        mfhi    $8
        sw      $8, TF_HI($sp)
        mflo    $8
        sw      $8, TF_LO($sp)
        MFC0(   $8, 14)
        sw      $8, TF_EPC($sp)
        MFC0(   $9, 12)
        sw      $9, TF_STATUS($sp)
        MFC0(   $8, 13)
        sw      $8, TF_CAUSE($sp)
        MFC0(   $8, 8)
        sw      $8, TF_BADVADDR($sp)
        /* kernel mode, EXL and IE off, interrupt masks kept */
        li      $8, ~(ST_KSU | ST_EXL | ST_IE | ST_ERL)
        and     $9, $9, $8
        MTC0(   $9, 12, $8)
        ehb
        la      $gp, _gp
        move    $4, $sp
        la      $25, trap
        jalr    $25
        addiu   $sp, $sp, -24
        addiu   $sp, $sp, 24
        .globl  trap_return
trap_return:
        /* $sp = the frame; interrupts must be off here */
#ifdef KERNEL_HAL
        MFC0(   $8, 12)                 /* di: clearing IE has no side effect */
        li      $9, ~ST_IE
        and     $8, $8, $9
        MTC0(   $8, 12, $9)
#else
        di
#endif
        ehb
        lw      $8, TF_HI($sp)
        mthi    $8
        lw      $8, TF_LO($sp)
        mtlo    $8
        lw      $8, TF_EPC($sp)
        MTC0(   $8, 14, $9)
        lw      $8, TF_STATUS($sp)
        ori     $8, $8, ST_EXL
        MTC0(   $8, 12, $9)
        ehb
        LOAD(1)
        LOAD(2)
        LOAD(3)
        LOAD(4)
        LOAD(5)
        LOAD(6)
        LOAD(7)
        LOAD(8)
        LOAD(9)
        LOAD(10)
        LOAD(11)
        LOAD(12)
        LOAD(13)
        LOAD(14)
        LOAD(15)
        LOAD(16)
        LOAD(17)
        LOAD(18)
        LOAD(19)
        LOAD(20)
        LOAD(21)
        LOAD(22)
        LOAD(23)
        LOAD(24)
        LOAD(25)
        LOAD(28)
        LOAD(30)
        LOAD(31)
        LOAD(29)
        eret
        nop
        .end    exc_entry

/* A new task's first run: swtch returns here (ra), with $s0 = the frame. */
        .globl  forkret
        .ent    forkret
forkret:
        la      $25, forkret_c
        jalr    $25
        nop
        move    $sp, $16
        b       trap_return
        nop
        .end    forkret

/* void swtch(u32 *save_sp, u32 new_sp): save callee-saved state on the
 * current stack, store sp in *save_sp, switch to new_sp and pop. */
        .globl  swtch
        .ent    swtch
swtch:
        addiu   $sp, $sp, -48
        sw      $16, 0($sp)
        sw      $17, 4($sp)
        sw      $18, 8($sp)
        sw      $19, 12($sp)
        sw      $20, 16($sp)
        sw      $21, 20($sp)
        sw      $22, 24($sp)
        sw      $23, 28($sp)
        sw      $30, 32($sp)
        sw      $31, 36($sp)
        sw      $28, 40($sp)
        sw      $sp, 0($4)
        move    $sp, $5
        lw      $16, 0($sp)
        lw      $17, 4($sp)
        lw      $18, 8($sp)
        lw      $19, 12($sp)
        lw      $20, 16($sp)
        lw      $21, 20($sp)
        lw      $22, 24($sp)
        lw      $23, 28($sp)
        lw      $30, 32($sp)
        lw      $31, 36($sp)
        lw      $28, 40($sp)
        jr      $31
        addiu   $sp, $sp, 48
        .end    swtch

/* FPU context (FR = 0: 32 single registers) + FCSR */
        .set    hardfloat
        .globl  fpu_save
        .ent    fpu_save
fpu_save:
        mfc0    $8, $12
        li      $9, ST_CU1
        or      $9, $8, $9
        mtc0    $9, $12
        ehb
        .irp    n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        swc1    $f\n, (4*\n)($4)
        .endr
        cfc1    $9, $31
        sw      $9, 128($4)
        mtc0    $8, $12
        jr      $31
        ehb
        .end    fpu_save

        .globl  fpu_restore
        .ent    fpu_restore
fpu_restore:
        mfc0    $8, $12
        li      $9, ST_CU1
        or      $9, $8, $9
        mtc0    $9, $12
        ehb
        .irp    n,0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31
        lwc1    $f\n, (4*\n)($4)
        .endr
        lw      $9, 128($4)
        ctc1    $9, $31
        mtc0    $8, $12
        jr      $31
        ehb
        .end    fpu_restore

        .section .bss.boot_stack, "aw", @nobits
        .balign 16
boot_stack:
        .space  8192
        .globl  boot_stack_top
boot_stack_top:
