/* fork + wait: children exit with distinct statuses, one dies by a signal;
 * the parent reaps them in order and reports what it saw. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

static int global = 7;

int main(void)
{
    pid_t kids[3];
    for (int i = 0; i < 3; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            perror("fork");
            return 2;
        }
        if (pid == 0) {
            global += 100 * (i + 1);     /* private copy: the parent must not see it */
            if (getppid() <= 0)
                _exit(99);
            if (i == 2)
                raise(SIGTERM);
            _exit(global & 0x7F);
        }
        kids[i] = pid;
    }
    for (int i = 0; i < 3; i++) {
        int st;
        pid_t w = waitpid(kids[i], &st, 0);
        if (w != kids[i]) {
            printf("waitpid returned %d\n", (int)w);
            return 3;
        }
        if (WIFEXITED(st))
            printf("child %d exited %d\n", i, WEXITSTATUS(st));
        else if (WIFSIGNALED(st))
            printf("child %d killed by signal %d\n", i, WTERMSIG(st));
    }
    int st;
    printf("wait with no children: %d\n", (int)wait(&st));
    printf("parent global %d\n", global);
    return 5;
}
