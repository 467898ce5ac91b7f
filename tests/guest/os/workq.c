/* A parallel program with a shared work queue: the main thread puts TASKS
 * jobs in a bounded queue (mutex + two condition variables), N worker
 * threads (argv[1]) take them, compute, and count them done; the main
 * thread waits on a third condition variable for the last one.  Each job's
 * result goes to its own slot, so the sum does not depend on N. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef TASKS
#define TASKS 256
#endif
#ifndef WORK
#define WORK 16000           /* terms per job: some 150 k instructions */
#endif
#define QLEN 16
static int queue[QLEN], head, tail, count, done, closed;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t nonempty = PTHREAD_COND_INITIALIZER, nonfull = PTHREAD_COND_INITIALIZER,
                      finished = PTHREAD_COND_INITIALIZER;
static double result[TASKS];

static double job(int k)
{
    double s = 0;
    for (int i = 1; i <= WORK; i++) {
        double x = (double)(k * WORK + i);
        s += 1.0 / (x * x);
    }
    return s;
}

static void *worker(void *arg)
{
    (void)arg;
    for (;;) {
        pthread_mutex_lock(&lock);
        while (!count && !closed)
            pthread_cond_wait(&nonempty, &lock);
        if (!count) {
            pthread_mutex_unlock(&lock);
            return NULL;
        }
        int k = queue[head];
        head = (head + 1) % QLEN;
        count--;
        pthread_cond_signal(&nonfull);
        pthread_mutex_unlock(&lock);
        double r = job(k);
        pthread_mutex_lock(&lock);
        result[k] = r;
        if (++done == TASKS)
            pthread_cond_signal(&finished);
        pthread_mutex_unlock(&lock);
    }
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 4;
    if (n < 1 || n > 64) return 2;
    pthread_t t[64];
    for (int i = 0; i < n; i++)
        pthread_create(&t[i], NULL, worker, NULL);
    for (int k = 0; k < TASKS; k++) {
        pthread_mutex_lock(&lock);
        while (count == QLEN)
            pthread_cond_wait(&nonfull, &lock);
        queue[tail] = k;
        tail = (tail + 1) % QLEN;
        count++;
        pthread_cond_signal(&nonempty);
        pthread_mutex_unlock(&lock);
    }
    pthread_mutex_lock(&lock);
    while (done < TASKS)
        pthread_cond_wait(&finished, &lock);
    closed = 1;
    pthread_cond_broadcast(&nonempty);
    pthread_mutex_unlock(&lock);
    for (int i = 0; i < n; i++)
        pthread_join(t[i], NULL);
    double sum = 0;
    for (int k = 0; k < TASKS; k++) sum += result[k];
    printf("sum %.12f jobs %d\n", sum, done);
    return 0;
}
