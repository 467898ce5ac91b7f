/* runall: run each argument as a program, one after the other (fork,
 * execve, wait), printing "== NAME: status S" after each; exits with the
 * number of programs whose status was not the expected one (0; segv 139 and
 * sigs 143: they end on a signal). */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv)
{
    int bad = 0;
    for (int i = 1; i < argc; i++) {
        fflush(stdout);
        pid_t pid = fork();
        if (pid == 0) {
            char *args[] = {argv[i], NULL};
            execve(argv[i], args, environ);
            perror("execve");
            _exit(127);
        }
        int st = 0;
        waitpid(pid, &st, 0);
        int status = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
        const char *name = strrchr(argv[i], '/') ? strrchr(argv[i], '/') + 1 : argv[i];
        printf("== %s: status %d\n", name, status);
        int want = !strcmp(name, "segv") ? 139 : !strcmp(name, "sigs") ? 143 : 0;
        if (status != want)
            bad++;
    }
    return bad;
}
