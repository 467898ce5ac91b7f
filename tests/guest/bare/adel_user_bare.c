/* Bare-machine test: a user-mode load from kseg0 raises an address error
 * (AdEL) with BadVAddr set, and a misaligned kernel store raises AdES.
 * Prints "adel ok" and halts with status 0 on success. */
#include "bare.h"

#define VPAGE 0x00400000u
static volatile uint32_t code_seen, badva_seen, ades_badva;

static void handler(struct trapframe *tf)
{
    unsigned code = CAUSE_EXC(tf->cause);
    if (tf->vector == VEC_TLB_REFILL || code == EXC_TLBL || code == EXC_TLBS) {
        uint32_t pa = 0x00300000;
        tlb_write(-1, (tf->badvaddr & ~0x1FFFu) | (tf->entryhi & 0xFF),
                  ENTRYLO_PFN(pa) | ENTRYLO_C(3) | ENTRYLO_D | ENTRYLO_V,
                  ENTRYLO_PFN(pa + 0x1000) | ENTRYLO_C(3) | ENTRYLO_D | ENTRYLO_V, PAGEMASK_4K);
        return;
    }
    if (code == EXC_ADEL && (tf->status & ST_KSU)) {     /* from user mode: back to the kernel */
        code_seen = code;
        badva_seen = tf->badvaddr;
        tf->status &= ~ST_KSU;
        tf->epc = tf->regs[R_RA];
        return;
    }
    if (code == EXC_ADES) {
        ades_badva = tf->badvaddr;
        tf->epc += 4;
        return;
    }
    default_exception_handler(tf);
}

static const uint32_t user_code[] = {
    0x3c018000,  /* lui $1, 0x8000   */
    0x8c240010,  /* lw  $4, 16($1)   -> AdEL, BadVAddr 0x80000010 */
    0x1000ffff,  /* b .              */
    0x00000000,
};

int main(void)
{
    install_exception_handler(handler);
    tlb_flush_all();
    memcpy((void *)KSEG0(0x00300100), user_code, sizeof user_code);
    __asm__ volatile(
        "   la    $31, 1f\n"
        "   li    $8, 0x00400100\n"
        "   mtc0  $8, $14\n"
        "   mfc0  $8, $12\n"
        "   ori   $8, $8, 0x12\n"
        "   mtc0  $8, $12\n"
        "   ehb\n"
        "   eret\n"
        "1:\n" ::: "$1", "$2", "$3", "$4", "$5", "$6", "$7", "$8", "$9", "$10", "$11", "$12",
        "$13", "$14", "$15", "$24", "$25", "$31", "memory");
    volatile uint32_t *p = (volatile uint32_t *)(KSEG0(0x00300000) + 2);
    *p = 1;                                               /* misaligned: AdES */
    int ok = code_seen == EXC_ADEL && badva_seen == 0x80000010u && ades_badva == KSEG0(0x00300002);
    printf("adel %s code=%u badva=%x ades=%x\n", ok ? "ok" : "FAILED", code_seen, badva_seen, ades_badva);
    return ok ? 0 : 1;
}
