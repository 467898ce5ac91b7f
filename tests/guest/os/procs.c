/* fork/exec/wait chains, exit statuses, pipes, dup2, kill, SIGCHLD, segfaulting children. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile int got_chld;
static void on_chld(int s) { (void)s; got_chld++; }

static void report(const char *what, int st)
{
    if (WIFEXITED(st)) printf("%s: exited %d\n", what, WEXITSTATUS(st));
    else if (WIFSIGNALED(st)) printf("%s: killed by signal %d\n", what, WTERMSIG(st));
    else printf("%s: status %#x\n", what, st);
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    /* 1. a chain of forks, each waiting for the next */
    int depth = 0;
    for (; depth < 5; depth++) {
        pid_t p = fork();
        if (p < 0) { perror("fork"); return 1; }
        if (p > 0) {
            int st;
            if (waitpid(p, &st, 0) != p) { printf("waitpid failed\n"); return 1; }
            printf("depth %d: child exited %d\n", depth, WEXITSTATUS(st));
            if (depth) exit(depth * 10 + WEXITSTATUS(st) % 10);
            break;
        }
    }
    if (depth == 5) exit(5);

    /* 2. pid relations */
    pid_t me = getpid();
    pid_t c = fork();
    if (c == 0) {
        printf("child: ppid matches %s, pid differs %s\n", getppid() == me ? "yes" : "no",
               getpid() != me ? "yes" : "no");
        _exit(0);
    }
    int st;
    waitpid(c, &st, 0);
    report("relations", st);

    /* 3. pipe + dup2: a child writes, the parent reads */
    int fds[2];
    if (pipe(fds)) { perror("pipe"); return 1; }
    c = fork();
    if (c == 0) {
        close(fds[0]);
        dup2(fds[1], 1);
        close(fds[1]);
        for (int i = 0; i < 200; i++)
            printf("line %03d of the pipe test with some padding to fill buffers\n", i);
        fflush(stdout);
        _exit(3);
    }
    close(fds[1]);
    char buf[512];
    long total = 0, lines = 0;
    ssize_t n;
    while ((n = read(fds[0], buf, sizeof buf)) > 0) {
        total += n;
        for (ssize_t i = 0; i < n; i++) lines += buf[i] == '\n';
    }
    close(fds[0]);
    waitpid(c, &st, 0);
    printf("pipe: %ld bytes %ld lines\n", total, lines);
    report("pipe writer", st);

    /* 5. SIGCHLD handler, kill with SIGTERM, a segfaulting child */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_chld;
    sigaction(SIGCHLD, &sa, NULL);
    c = fork();
    if (c == 0) { for (;;) pause(); }
    kill(c, SIGTERM);
    waitpid(c, &st, 0);
    report("terminated child", st);
    c = fork();
    if (c == 0) { volatile int *p = (int *)0x10; *p = 1; _exit(0); }
    waitpid(c, &st, 0);
    report("segfaulting child", st);
    c = fork();
    if (c == 0) abort();
    waitpid(c, &st, 0);
    report("aborting child", st);
    printf("SIGCHLD handler ran: %s\n", got_chld >= 3 ? "yes" : "no");

    /* 6. several children, reaped in any order */
    for (int i = 0; i < 6; i++)
        if (fork() == 0) _exit(100 + i);
    int sum = 0, cnt = 0;
    pid_t w;
    while ((w = wait(&st)) > 0) { sum += WEXITSTATUS(st); cnt++; }
    printf("reaped %d children, status sum %d, then errno ECHILD %s\n", cnt, sum,
           errno == ECHILD ? "yes" : "no");
    return 0;
}
