/* busy_bare.c -- a guest kernel that works with interrupts off for a long
 * stretch (it never enables them): it writes its way through 4 MB of memory,
 * then checks a sum and halts with status 5.  Disco's watchdog must tell this
 * from a loop. */
#include "bare.h"

#define WORDS (4u << 20 >> 2)
static unsigned buf[WORDS];

int main(void)
{
    for (unsigned i = 0; i < WORDS; i++)
        buf[i] = i;
    unsigned sum = 0;
    for (unsigned i = 0; i < WORDS; i += 1024)
        sum += buf[i];
    printf("busy sum %x\n", sum);
    return 5;
}
