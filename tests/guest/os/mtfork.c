/* fork and munmap/mprotect while other threads of the process keep writing
 * on other CPUs: the child's copy-on-write snapshot must not see writes the
 * parent's threads make after the fork. */
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define N 4
static volatile int stop;
static volatile unsigned long area[N][1024];

static void *writer(void *a)
{
    long id = (long)a;
    unsigned long v = 0;
    while (!stop) {
        for (int i = 0; i < 1024; i++) area[id][i] = v;
        v++;
    }
    return NULL;
}

int main(void)
{
    pthread_t t[N];
    for (long i = 0; i < N; i++) pthread_create(&t[i], NULL, writer, (void *)i);
    int bad = 0;
    for (int round = 0; round < 4; round++) {
        usleep(200);
        pid_t c = fork();
        if (c == 0) {
            /* the snapshot must be stable: read twice, compare */
            unsigned long first[N];
            for (int k = 0; k < N; k++) first[k] = area[k][0];
            for (volatile int spin = 0; spin < 20000; spin++) ;
            int changed = 0;
            for (int k = 0; k < N; k++) changed |= area[k][0] != first[k];
            _exit(changed);
        }
        int st;
        waitpid(c, &st, 0);
        bad += WEXITSTATUS(st);
    }
    stop = 1;
    for (int i = 0; i < N; i++) pthread_join(t[i], NULL);
    printf("child snapshots stable: %s\n", bad ? "no" : "yes");
    return 0;
}
