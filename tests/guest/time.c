/* time.c -- clocks and sleeping.  Prints only facts that do not depend on the
 * actual time: that CLOCK_MONOTONIC never goes backwards, that nanosleep
 * sleeps at least as long as asked, that CLOCK_REALTIME, gettimeofday and
 * time() agree and are after 2020, that tv_nsec/tv_usec are in range, and
 * that the process CPU clock advances.  Exit status: 0 (1 if a fact fails).
 */
#include <stdint.h>
#include <stdio.h>
#include <sys/time.h>
#include <time.h>

static int64_t ns(const struct timespec *t)
{
    return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

static int fails;

static void fact(const char *what, int ok)
{
    printf("%-48s %s\n", what, ok ? "yes" : "NO");
    if (!ok)
        fails++;
}

int main(void)
{
    struct timespec a, b, res;
    int mono_ok = 1, range_ok = 1;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < 1000; i++) {
        clock_gettime(CLOCK_MONOTONIC, &b);
        if (ns(&b) < ns(&a))
            mono_ok = 0;
        if (b.tv_nsec < 0 || b.tv_nsec >= 1000000000)
            range_ok = 0;
        a = b;
    }
    fact("CLOCK_MONOTONIC is non-decreasing", mono_ok);
    fact("CLOCK_MONOTONIC tv_nsec in [0, 1e9)", range_ok);
    fact("clock_getres(CLOCK_MONOTONIC) works and is <= 1 ms",
         clock_getres(CLOCK_MONOTONIC, &res) == 0 && res.tv_sec == 0 && res.tv_nsec <= 1000000);

    struct timespec before, after, req = {0, 2000000};
    clock_gettime(CLOCK_MONOTONIC, &before);
    int sr = nanosleep(&req, NULL);
    clock_gettime(CLOCK_MONOTONIC, &after);
    fact("nanosleep(2 ms) returns 0", sr == 0);
    fact("monotonic advanced >= 2 ms across nanosleep", ns(&after) - ns(&before) >= 2000000);

    struct timespec rt;
    struct timeval tv;
    clock_gettime(CLOCK_REALTIME, &rt);
    gettimeofday(&tv, NULL);
    time_t t = time(NULL);
    fact("CLOCK_REALTIME is after 2020-01-01", rt.tv_sec > 1577836800);
    fact("gettimeofday tv_usec in [0, 1e6)", tv.tv_usec >= 0 && tv.tv_usec < 1000000);
    fact("gettimeofday within 5 s of CLOCK_REALTIME",
         tv.tv_sec - rt.tv_sec >= 0 && tv.tv_sec - rt.tv_sec <= 5);
    fact("time() within 5 s of gettimeofday", t - tv.tv_sec >= 0 && t - tv.tv_sec <= 5);

    struct timespec c0, c1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
    volatile uint32_t x = 1;
    for (int i = 0; i < 400000; i++)
        x = x * 1664525u + 1013904223u;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
    fact("CLOCK_PROCESS_CPUTIME_ID advances with work", ns(&c1) > ns(&c0));
    clock_t k = clock();
    fact("clock() is not (clock_t)-1", k != (clock_t)-1);

    struct tm tmv;
    time_t fixed = 1700000000;
    gmtime_r(&fixed, &tmv);
    char buf[64];
    strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S %a", &tmv);
    printf("gmtime(1700000000) = %s\n", buf);
    printf("%d facts failed\n", fails);
    return fails ? 1 : 0;
}
