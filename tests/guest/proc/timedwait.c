/* A timed condition wait that times out on the deterministic clock, then a
 * thread spinning with sched_yield until a sleeping thread sets a flag. */
#include <pthread.h>
#include <stdio.h>
#include <time.h>
#include <errno.h>
#include <sched.h>
#include <unistd.h>
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t c = PTHREAD_COND_INITIALIZER;
static volatile int flag;
static void *spinner(void *a) { while (!flag) sched_yield(); return a; }
static void *sleeper(void *a) { usleep(5000); flag = 1; return a; }
int main(void) {
    struct timespec ts; clock_gettime(CLOCK_REALTIME, &ts); ts.tv_nsec += 2000000;
    if (ts.tv_nsec >= 1000000000) { ts.tv_sec++; ts.tv_nsec -= 1000000000; }
    pthread_mutex_lock(&m);
    int r = pthread_cond_timedwait(&c, &m, &ts);
    pthread_mutex_unlock(&m);
    printf("timedwait: %s\n", r == ETIMEDOUT ? "ETIMEDOUT" : "other");
    pthread_t a, b;
    pthread_create(&a, 0, spinner, 0); pthread_create(&b, 0, sleeper, 0);
    pthread_join(a, 0); pthread_join(b, 0);
    printf("flag %d\n", flag);
    return 0;
}
