/* Bare-machine exception test: syscall, break, a TLB refill serviced by the
 * C handler, and a user-mode excursion that returns via syscall.
 * Prints "traps ok" and halts with status 0 on success. */
#include "bare.h"

#define SYS_DOUBLE 1   /* syscall number (in $v0) of "return 2 * a0" */

static volatile int nsys, nbrk, nrefill;
static volatile uint32_t user_result;

#define VPAGE 0x00400000u   /* kuseg virtual page mapped on demand */
static uint32_t phys_page;  /* physical address backing VPAGE (even page) */

static void handler(struct trapframe *tf)
{
    unsigned code = CAUSE_EXC(tf->cause);
    if (tf->vector == VEC_TLB_REFILL || code == EXC_TLBL || code == EXC_TLBS) {
        nrefill++;
        uint32_t va = tf->badvaddr & ~0x1FFFu;
        uint32_t lo0 = ENTRYLO_PFN(phys_page) | ENTRYLO_C(3) | ENTRYLO_D | ENTRYLO_V;
        uint32_t lo1 = ENTRYLO_PFN(phys_page + 0x1000) | ENTRYLO_C(3) | ENTRYLO_D | ENTRYLO_V;
        tlb_write(-1, va | (tf->entryhi & 0xFF), lo0, lo1, PAGEMASK_4K);
        return;                       /* retry the faulting instruction */
    }
    if (code == EXC_SYS) {
        nsys++;
        tf->epc += 4;
        if ((tf->status & ST_KSU) != 0) {   /* from user mode: value in a0, back to kernel */
            user_result = tf->regs[R_A0];
            tf->status &= ~ST_KSU;
            tf->epc = tf->regs[R_RA];       /* return into kernel_resume */
        } else if (tf->regs[R_V0] == SYS_DOUBLE) {
            tf->regs[R_V0] = tf->regs[R_A0] * 2;
        }
        return;
    }
    if (code == EXC_BP) {
        nbrk++;
        tf->epc += 4;
        return;
    }
    default_exception_handler(tf);
}


/* runs in user mode (code in kseg0 is not accessible from user mode, so the
 * user code is copied into the mapped page) */
static const uint32_t user_code[] = {
    0x3c010040,  /* lui   $1, 0x0040       */
    0x8c241000,  /* lw    $4, 0x1000($1)   */
    0x24840001,  /* addiu $4, $4, 1        */
    0x0000000c,  /* syscall                */
    0x1000ffff,  /* b . (never reached)    */
    0x00000000,
};

int main(void)
{
    install_exception_handler(handler);
    tlb_flush_all();
    phys_page = 0x00200000;   /* 2 MB into RAM */

    mips_syscall();           /* plain syscall, v0 ignored */
    uint32_t r = syscall3(SYS_DOUBLE, 21, 0, 0);
    mips_break();

    volatile uint32_t *p = (volatile uint32_t *)VPAGE;   /* TLB refill on first touch */
    p[0] = 0xdeadbeef;
    p[0x400] = 99;                                        /* odd page, same entry */
    uint32_t back = *(volatile uint32_t *)KSEG0(phys_page);
    uint32_t back1 = *(volatile uint32_t *)KSEG0(phys_page + 0x1000);

    /* user-mode excursion */
    memcpy((void *)KSEG0(phys_page + 0x100), user_code, sizeof user_code);
    __asm__ volatile(
        "   la    $31, 1f\n"
        "   li    $8, 0x00400100\n"
        "   mtc0  $8, $14\n"               /* EPC = user entry */
        "   mfc0  $8, $12\n"
        "   ori   $8, $8, 0x12\n"          /* KSU=user, EXL=1 */
        "   mtc0  $8, $12\n"
        "   ehb\n"
        "   eret\n"
        "1:\n" ::: "$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9", "$10", "$11", "$12",
        "$13", "$14", "$15", "$24", "$25", "$31", "memory");

    printf("sys=%d brk=%d refill=%d r=%u back=%x back1=%u user=%u\n",
           nsys, nbrk, nrefill, r, back, back1, user_result);
    int ok = r == 42 && back == 0xdeadbeef && back1 == 99 && nbrk == 1 && nsys == 3 &&
             user_result == 100 && nrefill >= 1;
    puts(ok ? "traps ok" : "traps FAILED");
    return ok ? 0 : 1;
}
