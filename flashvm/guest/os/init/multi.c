/*
 * multi -- the guest OS's init for a workload of several command lines.
 *
 *     multi -- /bin/a x y -- /bin/b z
 *
 * starts every command at once (fork + execve with the argv as given and the
 * same environment), waits for all of them and exits with the first nonzero
 * exit status in command order (128 + signal for a command killed by a
 * signal), else 0.  The commands inherit stdin/stdout/stderr (the console);
 * multi itself writes nothing on stdout, only diagnostics on stderr.
 *
 * "--" separates the commands; an argument that is itself "--" is passed as
 * "\--" (in general: one or more backslashes then "--" lose one backslash),
 * which flashvm.guestos.multi_argv does.  A command that cannot be started
 * counts as status 127.  Orphans of the commands are reaped while waiting,
 * but multi exits (and the kernel halts) once its own commands are done.
 * Built by flashvm.guestos.multi_program(); placed at /sbin/multi.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

#define MAXCMD 64

static char *unescape(char *a)
{
    const char *p = a;
    while (*p == '\\') p++;
    return (p != a && strcmp(p, "--") == 0) ? a + 1 : a;
}

int main(int argc, char **argv)
{
    static char **cmd[MAXCMD];
    static pid_t pid[MAXCMD];
    static int status[MAXCMD];
    int n = 0, i = 1;

    if (argc < 3 || strcmp(argv[1], "--") != 0) {
        fprintf(stderr, "usage: multi -- PROGRAM [ARG...] [-- PROGRAM [ARG...]]...\n");
        return 2;
    }
    while (i < argc) {                  /* argv[i] is "--" */
        argv[i++] = NULL;               /* ends the previous command's argv */
        if (i >= argc || strcmp(argv[i], "--") == 0) {
            fprintf(stderr, "multi: empty command line (command %d)\n", n + 1);
            return 2;
        }
        if (n == MAXCMD) {
            fprintf(stderr, "multi: more than %d commands\n", MAXCMD);
            return 2;
        }
        cmd[n++] = &argv[i];
        for (; i < argc && strcmp(argv[i], "--") != 0; i++)
            argv[i] = unescape(argv[i]);
    }

    int running = 0;
    for (int k = 0; k < n; k++) {
        pid_t p = fork();
        if (p == 0) {
            execve(cmd[k][0], cmd[k], environ);
            fprintf(stderr, "multi: cannot execute %s: %s\n", cmd[k][0], strerror(errno));
            _exit(127);
        }
        if (p < 0) {
            fprintf(stderr, "multi: cannot start %s: %s\n", cmd[k][0], strerror(errno));
            pid[k] = -1;
            status[k] = 127;
            continue;
        }
        pid[k] = p;
        running++;
    }

    while (running > 0) {
        int ws;
        pid_t p = wait(&ws);
        if (p < 0) {
            if (errno == EINTR) continue;
            fprintf(stderr, "multi: wait: %s\n", strerror(errno));
            for (int k = 0; k < n; k++)
                if (pid[k] > 0) { status[k] = 127; pid[k] = -1; }
            break;
        }
        for (int k = 0; k < n; k++) {
            if (pid[k] == p) {
                status[k] = WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : WEXITSTATUS(ws);
                pid[k] = -1;
                running--;
                break;
            }
        }                               /* else an orphan, reaped */
    }

    for (int k = 0; k < n; k++)
        if (status[k]) return status[k];
    return 0;
}
