/* A parallel program shaped like SPLASH's: N threads (argv[1]) in phases
 * separated by a barrier, each phase a stencil sweep over its rows of a
 * shared grid.  The main thread is worker 0 and leaves with pthread_exit
 * when its part is done; the last worker writes the grid to a file
 * (argv[2], optional), prints the sum and is the last thread to exit, so
 * the process (and the machine) ends on CPU N-1 (it keeps to it), not on
 * the CPU where it began.  The result does not depend on N. */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef SIZE
#define SIZE 64            /* -DSIZE=256: a compute-bound version */
#endif
#define PHASES 20
static double grid[2][SIZE][SIZE];
static int nthreads;
static const char *outfile;
static pthread_barrier_t bar;
static int left;             /* workers done */

static void report(void)
{
    double sum = 0;
    for (int i = 0; i < SIZE; i++)
        for (int j = 0; j < SIZE; j++) sum += grid[PHASES & 1][i][j];
    if (outfile) {
        FILE *f = fopen(outfile, "w");
        if (!f) exit(3);
        for (int i = 0; i < SIZE; i++)
            for (int j = 0; j < SIZE; j++) fprintf(f, "%.6f\n", grid[PHASES & 1][i][j]);
        fclose(f);
    }
    printf("sum %.6f\n", sum);
    fprintf(stderr, "cpu %d\n", sched_getcpu());
}

static void *work(void *arg)
{
    long id = (long)arg;
    if (id == nthreads - 1 && id > 0) {
        cpu_set_t set;                  /* the last worker keeps to a CPU of its own */
        CPU_ZERO(&set);
        CPU_SET(id, &set);
        sched_setaffinity(0, sizeof set, &set);
    }
    int lo = 1 + (SIZE - 2) * id / nthreads, hi = 1 + (SIZE - 2) * (id + 1) / nthreads;
    for (int ph = 0; ph < PHASES; ph++) {
        double (*src)[SIZE] = grid[ph & 1], (*dst)[SIZE] = grid[(ph + 1) & 1];
        for (int i = lo; i < hi; i++)
            for (int j = 1; j < SIZE - 1; j++)
                dst[i][j] = 0.25 * (src[i - 1][j] + src[i + 1][j] + src[i][j - 1] + src[i][j + 1]);
        pthread_barrier_wait(&bar);
    }
    if (id == nthreads - 1) {
        /* spin (never sleep, so never move) until the others have left,
         * then a while longer, so that the process ends on this CPU */
        while (__atomic_load_n(&left, __ATOMIC_ACQUIRE) < nthreads - 1)
            ;
        volatile double x = 0;
        for (int i = 0; i < 200000; i++) x += i;
        report();
    } else {
        __atomic_fetch_add(&left, 1, __ATOMIC_RELEASE);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    nthreads = argc > 1 ? atoi(argv[1]) : 4;
    outfile = argc > 2 ? argv[2] : NULL;
    if (nthreads < 1 || nthreads > 64) return 2;
    for (int i = 0; i < SIZE; i++)
        grid[0][i][0] = grid[1][i][0] = 100.0;
    pthread_barrier_init(&bar, NULL, nthreads);
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    for (long i = 1; i < nthreads; i++) {
        pthread_t t;
        pthread_create(&t, &a, work, (void *)i);
    }
    work((void *)0);
    pthread_exit(NULL);
}
