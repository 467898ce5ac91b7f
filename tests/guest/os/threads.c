/* pthreads: mutex, condition variable, barrier, join; 8 threads */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define N 8
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static pthread_barrier_t bar;
static long counter;
static int turn;
static long partial[N];

static void *worker(void *arg)
{
    long id = (long)arg;
    for (int i = 0; i < 2000; i++) {
        pthread_mutex_lock(&mu);
        counter++;
        pthread_mutex_unlock(&mu);
    }
    pthread_barrier_wait(&bar);
    /* take turns in id order through the condition variable */
    pthread_mutex_lock(&mu);
    while (turn != id) pthread_cond_wait(&cv, &mu);
    printf("thread %ld has its turn, counter %ld\n", id, counter);
    turn++;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    long s = 0;
    for (long k = id * 100000; k < (id + 1) * 100000; k++) s += k % 7;
    partial[id] = s;
    return (void *)(id * id);
}

int main(void)
{
    pthread_t t[N];
    pthread_barrier_init(&bar, NULL, N);
    for (long i = 0; i < N; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)i)) { printf("create failed\n"); return 1; }
    long rsum = 0, total = 0;
    for (int i = 0; i < N; i++) {
        void *r;
        pthread_join(t[i], &r);
        rsum += (long)r;
        total += partial[i];
    }
    printf("counter %ld, joined results %ld, total %ld\n", counter, rsum, total);
    return 0;
}
