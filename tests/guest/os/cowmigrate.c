/* A copy-on-write page seen from a CPU the process left: after a fork, the
 * parent reads a page on CPU 1, moves to CPU 2 and writes it there (its own
 * copy from now on); the child then writes the original in place (it is its
 * last user).  Back on CPU 1 the parent must read its own value, not the
 * child's through a translation CPU 1 kept from before the copy. */
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROUNDS 8
static volatile unsigned page[1024] __attribute__((aligned(4096)));

static void on_cpu(int cpu)
{
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
}

int main(void)
{
    int stale = 0;
    for (int round = 0; round < ROUNDS; round++) {
        page[0] = 1000 + round;
        int go[2], done[2];
        if (pipe(go) || pipe(done)) return 2;
        pid_t c = fork();
        if (c == 0) {
            char b;
            on_cpu(3);
            if (read(go[0], &b, 1) != 1) _exit(3);
            page[0] = 2000 + round;         /* in place: the parent has its own copy by now */
            write(done[1], "x", 1);
            _exit(0);
        }
        on_cpu(1);
        unsigned before = page[0];          /* CPU 1 holds a read-only translation */
        on_cpu(2);
        page[0] = 3000 + round;             /* the parent's copy, made on CPU 2 */
        write(go[1], "x", 1);
        char b;
        read(done[0], &b, 1);
        on_cpu(1);
        unsigned after = page[0];
        if (before != 1000u + round || after != 3000u + round) {
            printf("round %d: read %u then %u\n", round, before, after);
            stale++;
        }
        int st;
        waitpid(c, &st, 0);
        close(go[0]); close(go[1]); close(done[0]); close(done[1]);
        on_cpu(0);
    }
    printf("stale reads: %d\n", stale);
    return stale != 0;
}
