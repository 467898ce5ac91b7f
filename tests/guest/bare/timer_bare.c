/* Bare-machine timer test: Count/Compare interrupts taken through the
 * general exception vector while the CPU idles in WAIT.
 * Prints "timer ok ticks=5" and halts with status 0 on success. */
#include "bare.h"

#define PERIOD 5000u
static volatile int ticks, other;
static volatile uint32_t cause_seen;

static void handler(struct trapframe *tf)
{
    if (CAUSE_EXC(tf->cause) == EXC_INT && (tf->cause & CAUSE_IP(7))) {
        cause_seen |= tf->cause;
        ticks++;
        mtc0(CP0_COMPARE, 0, mfc0(CP0_COMPARE, 0) + PERIOD);   /* also clears Cause.TI */
        if (ticks == 5)
            tf->status &= ~ST_IE;                             /* enough: interrupts off on return */
        return;
    }
    other++;
    default_exception_handler(tf);
}

int main(void)
{
    install_exception_handler(handler);
    mtc0(CP0_COMPARE, 0, mfc0(CP0_COUNT, 0) + PERIOD);
    mtc0(CP0_STATUS, 0, read_c0_status() | ST_IM(7) | ST_IE);
    while (ticks < 5)
        __asm__ volatile("wait");
    int ok = ticks == 5 && other == 0 && (cause_seen & 0x40000000u) /* Cause.TI */;
    printf("timer %s ticks=%d\n", ok ? "ok" : "FAILED", ticks);
    return ok ? 0 : 1;
}
