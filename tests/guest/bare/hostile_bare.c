/*
 * hostile_bare.c -- a guest kernel that attacks its monitor (Disco tests).
 *
 * It writes TLB entries with wild physical frame numbers and touches memory
 * through them, writes random values to random device registers and to
 * random physical addresses through kseg0/kseg1, then executes ROUNDS random
 * instruction words in kernel (supervisor) mode with a handler that skips
 * whatever faults.  A correct monitor confines all of it to this VM.  The
 * program ends by writing "hostile done" and halting with 0, unless the
 * random code halts it first (any status is fine).
 */
#include "bare.h"

#define ROUNDS 20000
#define CODE_WORDS 64

static uint32_t seed = 12345;
static uint32_t rnd(void)
{
    seed ^= seed << 13;
    seed ^= seed >> 17;
    seed ^= seed << 5;
    return seed;
}

static uint32_t code[CODE_WORDS + 4] __attribute__((aligned(16)));
static volatile uint32_t faults;
static volatile uint32_t resume_pc;

static void handler(struct trapframe *tf)
{
    faults++;
    /* leave the random block: back to the loop, in kernel mode, EXL handled by the trampoline */
    tf->epc = resume_pc;
    tf->status &= ~(ST_KSU | ST_IE);
}

int main(void)
{
    install_exception_handler(handler);
    uint32_t wired = read_c0_wired();
    /* 1. wild TLB entries, then accesses through them */
    for (int i = 0; i < 200; i++) {
        uint32_t va = 0x00400000u + (rnd() & 0x0FFFE000u);
        uint32_t lo0 = ((rnd() & 0xFFFFFF) << 6) | 0x1E | (rnd() & 1);
        uint32_t lo1 = ((rnd() & 0xFFFFFF) << 6) | 0x1E;
        tlb_write(wired + (i % (tlb_size() - wired)), va, lo0, lo1, PAGEMASK_4K);
        resume_pc = (uint32_t)(uintptr_t)&&after_touch;
        *(volatile uint32_t *)(uintptr_t)(va + (rnd() & 0x1FFC)) = rnd();
        (void)*(volatile uint32_t *)(uintptr_t)(va + (rnd() & 0x1FFC));
after_touch:
        ;
    }
    /* 2. random device registers and unmapped physical addresses */
    for (int i = 0; i < 300; i++) {
        uint32_t dev = 0xBF000000u + (rnd() & 0x4FFC);
        if ((dev & 0xFFFFFF00u) == 0xBF000100u)        /* not POWER: that would just halt */
            continue;
        resume_pc = (uint32_t)(uintptr_t)&&after_dev;
        if (rnd() & 1)
            *(volatile uint32_t *)(uintptr_t)dev = rnd();
        else
            (void)*(volatile uint32_t *)(uintptr_t)dev;
        uint32_t pa = 0x01000000u + (rnd() & 0x0EFFFFFC);   /* beyond its 16 MB: nothing there */
        *(volatile uint32_t *)(uintptr_t)(0x80000000u | pa) = rnd();
after_dev:
        ;
    }
    /* 3. random instruction words in kernel mode */
    for (int r = 0; r < ROUNDS / CODE_WORDS; r++) {
        for (int i = 0; i < CODE_WORDS; i++) {
            uint32_t w = rnd();
            /* keep it from writing POWER: no stores to the device window */
            code[i] = w;
        }
        code[CODE_WORDS] = 0x03e00008;     /* jr ra */
        code[CODE_WORDS + 1] = 0;
        resume_pc = (uint32_t)(uintptr_t)&&after_code;
        ((void (*)(void))(uintptr_t)code)();
after_code:
        write_c0_status(ST_CU1);            /* whatever the random code did */
        install_exception_handler(handler);
    }
    printf("hostile done, %u faults\n", faults);
    return 0;
}
