/* Two threads, each holding one mutex and waiting for the other's. */
#include <pthread.h>
#include <stdio.h>

static pthread_mutex_t a = PTHREAD_MUTEX_INITIALIZER, b = PTHREAD_MUTEX_INITIALIZER;
static pthread_barrier_t both;

static void *other(void *arg)
{
    pthread_mutex_lock(&b);
    pthread_barrier_wait(&both);
    pthread_mutex_lock(&a);
    return arg;
}

int main(void)
{
    pthread_t t;
    pthread_barrier_init(&both, 0, 2);
    pthread_mutex_lock(&a);
    pthread_create(&t, 0, other, 0);
    pthread_barrier_wait(&both);
    pthread_mutex_lock(&b);
    puts("not reached");
    return 0;
}
