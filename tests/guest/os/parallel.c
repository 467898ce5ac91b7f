/* A parallel computation: N threads (argv[1], default 8) each integrate a
 * slice with no sharing; the result does not depend on N. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define STEPS 2000000
static int nthreads;
static double part[64];

static void *work(void *arg)
{
    long id = (long)arg;
    double s = 0;
    for (long i = id; i < STEPS; i += nthreads) {
        double x = (i + 0.5) / STEPS;
        s += 4.0 / (1.0 + x * x);
    }
    part[id] = s;
    return NULL;
}

int main(int argc, char **argv)
{
    nthreads = argc > 1 ? atoi(argv[1]) : 8;
    if (nthreads < 1 || nthreads > 64) return 2;
    pthread_t t[64];
    for (long i = 1; i < nthreads; i++) pthread_create(&t[i], NULL, work, (void *)i);
    work((void *)0);
    double pi = 0;
    for (long i = 1; i < nthreads; i++) pthread_join(t[i], NULL);
    for (int i = 0; i < nthreads; i++) pi += part[i];
    printf("pi ~ %.6f\n", pi / STEPS);
    return 0;
}
