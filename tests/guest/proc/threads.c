/* 4 threads: a mutex-protected counter, a condition variable handing out
 * work, a barrier between two phases, then join.  The output does not depend
 * on the schedule. */
#include <pthread.h>
#include <stdio.h>

#define NT 4
#define ITERS 20000

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t barrier;
static long counter;
static int ready;
static long partial[NT];

static void *worker(void *arg)
{
    long id = (long)arg, sum = 0;
    pthread_mutex_lock(&lock);
    while (!ready)
        pthread_cond_wait(&cond, &lock);
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < ITERS; i++) {
        pthread_mutex_lock(&lock);
        counter++;
        pthread_mutex_unlock(&lock);
        sum += i * (id + 1);
    }
    partial[id] = sum;
    pthread_barrier_wait(&barrier);
    /* phase 2: every thread reads every other's partial sum */
    long total = 0;
    for (int k = 0; k < NT; k++)
        total += partial[k];
    return (void *)(total == partial[0] * 10 ? 1L : 0L);
}

int main(void)
{
    pthread_t t[NT];
    pthread_barrier_init(&barrier, 0, NT);
    for (long i = 0; i < NT; i++)
        if (pthread_create(&t[i], 0, worker, (void *)i)) {
            puts("pthread_create failed");
            return 2;
        }
    pthread_mutex_lock(&lock);
    ready = 1;
    pthread_cond_broadcast(&cond);
    pthread_mutex_unlock(&lock);
    long ok = 0;
    for (int i = 0; i < NT; i++) {
        void *r;
        pthread_join(t[i], &r);
        ok += (long)r;
    }
    printf("counter %ld (expect %d)\n", counter, NT * ITERS);
    printf("threads agreeing %ld of %d\n", ok, NT);
    for (int i = 0; i < NT; i++)
        printf("partial[%d] = %ld\n", i, partial[i]);
    return counter == NT * ITERS && ok == NT ? 0 : 1;
}
