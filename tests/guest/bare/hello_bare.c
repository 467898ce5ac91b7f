/* Bare-machine smoke test: UART output, printf-lite, 64-bit helpers, FPU, bss.
 * Expected output: see the comments; halts with status 7. */
#include "bare.h"

static int zeroed[64];
static volatile long long big = 1234567890123LL;
static volatile double dv = 2.25;

int main(void)
{
    int sum = 0;
    for (int i = 0; i < 64; i++)
        sum += zeroed[i];
    puts("hello from bare metal");                         /* hello from bare metal */
    printf("bss=%d %u %x %X %c %s %5d|%-5d|%05d\n",        /* bss=0 42 ff FF z ok    -3|-3   |-0003 */
           sum, 42u, 255, 255, 'z', "ok", -3, -3, -3);
    printf("%lld %llx\n", big / 1000, (unsigned long long)big); /* 1234567890 11f71fb04cb */
    printf("%d\n", (int)(dv * dv * 100));                  /* 506 */
    printf("status=%08x ebase=%08x\n", read_c0_status(), read_c0_ebase() & 0xFFFFF000);
                                                           /* status=20000000 ebase=80000000 */
    char buf[16];
    int n = snprintf(buf, sizeof buf, "%p", (void *)0x1234);
    printf("%s %d\n", buf, n);                             /* 0x1234 6 */
    return 7;
}
