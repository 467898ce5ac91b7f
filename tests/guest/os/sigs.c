/* signal handlers, masks, pending signals, kill to self, raise */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile int hits[65];
static void h(int s) { hits[s]++; }
static void hinfo(int s, siginfo_t *si, void *uc) { (void)uc; hits[s] += si->si_signo == s ? 10 : 1000; }

int main(void)
{
    signal(SIGUSR1, h);
    kill(getpid(), SIGUSR1);
    printf("SIGUSR1 handled %d\n", hits[SIGUSR1]);
    raise(SIGUSR1);
    printf("after raise %d\n", hits[SIGUSR1]);
    sigset_t s, old;
    sigemptyset(&s);
    sigaddset(&s, SIGUSR2);
    signal(SIGUSR2, h);
    sigprocmask(SIG_BLOCK, &s, &old);
    kill(getpid(), SIGUSR2);
    printf("blocked: handled %d\n", hits[SIGUSR2]);
    sigset_t pend;
    sigpending(&pend);
    printf("pending: %d\n", sigismember(&pend, SIGUSR2));
    sigprocmask(SIG_SETMASK, &old, NULL);
    printf("unblocked: handled %d\n", hits[SIGUSR2]);
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_sigaction = hinfo;
    sa.sa_flags = SA_SIGINFO;
    sigaction(SIGHUP, &sa, NULL);
    kill(getpid(), SIGHUP);
    printf("siginfo handler: %d\n", hits[SIGHUP]);
    signal(SIGTERM, SIG_IGN);
    kill(getpid(), SIGTERM);
    printf("ignored SIGTERM survived\n");
    signal(SIGTERM, SIG_DFL);
    fflush(stdout);
    kill(getpid(), SIGTERM);
    printf("not reached\n");
    return 0;
}
