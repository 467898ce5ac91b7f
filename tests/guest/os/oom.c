/* Out of memory: a child touches memory until malloc fails or it is killed;
 * the parent (and the kernel) carry on. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static char *volatile keep[4096];

int main(void)
{
    for (int round = 0; round < 2; round++) {
        pid_t c = fork();
        if (c == 0) {
            long mb = 0;
            for (;;) {
                char *p = malloc(1 << 20);
                if (!p) { printf("malloc failed after %s MB\n", mb > 4 ? "several" : "few"); fflush(stdout); _exit(12); }
                memset(p, 1, 1 << 20);
                keep[mb++ % 4096] = p;
                __asm__ volatile("" : : "r"(p) : "memory");
            }
        }
        int st;
        waitpid(c, &st, 0);
        printf("round %d: child %s\n", round,
               WIFEXITED(st) && WEXITSTATUS(st) == 12 ? "saw ENOMEM" :
               WIFSIGNALED(st) ? "was killed" : "did something else");
    }
    char *q = malloc(1 << 20);
    memset(q, 2, 1 << 20);
    printf("parent still allocates: %s\n", q[12345] == 2 ? "yes" : "no");
    return 0;
}
