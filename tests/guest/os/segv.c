/* Dies of SIGSEGV: a shell reports status 139. */
#include <stdio.h>
int main(void)
{
    printf("about to fault\n");
    fflush(stdout);
    volatile int *p = (int *)4;
    return *p;
}
