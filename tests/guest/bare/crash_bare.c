/* crash_bare.c -- a guest kernel that dies: it jumps into garbage with no
 * handler installed, which the bare runtime reports as an unexpected
 * exception (halt 0xEE); with -DLOOP it spins forever with interrupts off. */
#include "bare.h"

int main(void)
{
    puts("about to crash");
#ifdef LOOP
    for (;;)
        ;
#else
    ((void (*)(void))(uintptr_t)0x00000004)();
#endif
    return 0;
}
