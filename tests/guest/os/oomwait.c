/* Memory short for a moment: one child holds most of the free memory for a
 * while, then exits; a second child needs a large part of it meanwhile.  The
 * second one must wait for the pages, not be killed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void pause_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static void touch(long mb)
{
    char *p = mmap(0, mb << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) _exit(12);
    memset(p, 1, mb << 20);
}

int main(int argc, char **argv)
{
    long hold = argc > 1 ? atol(argv[1]) : 8, need = argc > 2 ? atol(argv[2]) : 6;
    pid_t a = fork();
    if (a == 0) { touch(hold); pause_ms(100); _exit(0); }
    pause_ms(20);
    pid_t b = fork();
    if (b == 0) { touch(need); _exit(0); }
    int sa, sb;
    waitpid(a, &sa, 0);
    waitpid(b, &sb, 0);
    printf("holder: %s, second: %s\n", WIFEXITED(sa) && !WEXITSTATUS(sa) ? "ok" : "failed",
           WIFEXITED(sb) && !WEXITSTATUS(sb) ? "ok" : WIFSIGNALED(sb) ? "killed" : "failed");
    return 0;
}
