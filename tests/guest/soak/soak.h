/* What the soak programs share: the command line (thread count, size), a
 * team of threads in which the main thread is worker 0, and a barrier. */
#ifndef SOAK_H
#define SOAK_H
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define MAXT 64
static int nthreads;
static pthread_barrier_t bar;

static void args(int argc, char **argv, long *size, long dflt)
{
    nthreads = argc > 1 ? atoi(argv[1]) : 1;
    *size = argc > 2 ? atol(argv[2]) : dflt;
    if (nthreads < 1 || nthreads > MAXT || *size < 1) {
        fprintf(stderr, "usage: %s THREADS SIZE\n", argv[0]);
        exit(2);
    }
}

/* run work(id) on ids 0..nthreads-1, id 0 on the calling thread */
static void team(void *(*work)(void *))
{
    pthread_t t[MAXT];
    pthread_barrier_init(&bar, NULL, nthreads);
    for (long i = 1; i < nthreads; i++)
        if (pthread_create(&t[i], NULL, work, (void *)i)) {
            fprintf(stderr, "pthread_create failed\n");
            exit(3);
        }
    work((void *)0);
    for (long i = 1; i < nthreads; i++)
        pthread_join(t[i], NULL);
}

static void sync_all(void) { pthread_barrier_wait(&bar); }

/* [lo, hi) of n items for worker id */
static long part_lo(long n, long id) { return n * id / nthreads; }
static long part_hi(long n, long id) { return n * (id + 1) / nthreads; }
#endif
