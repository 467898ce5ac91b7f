/* execve from a process with several threads: the other threads vanish,
 * the new image starts with one thread and the same pid. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void *spin(void *a) { (void)a; for (;;) sched_yield(); return NULL; }
static void *sleeper(void *a) { (void)a; for (;;) sleep(1); return NULL; }

int main(int argc, char **argv)
{
    if (argc > 2 && !strcmp(argv[1], "again")) {
        printf("new image: pid unchanged %s\n", atoi(argv[2]) == getpid() ? "yes" : "no");
        return 5;
    }
    pthread_t t[4];
    for (int i = 0; i < 4; i++) pthread_create(&t[i], NULL, i % 2 ? spin : sleeper, NULL);
    usleep(1000);
    char pid[16];
    snprintf(pid, sizeof pid, "%d", getpid());
    printf("exec with 5 threads\n");
    fflush(stdout);
    char *av[] = { argv[0], "again", pid, NULL };
    execv(argv[0], av);
    perror("execv");
    return 1;
}
