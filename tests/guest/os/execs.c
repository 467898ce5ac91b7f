/* execve chains: the program re-executes itself with a counter in argv and
 * the environment, checking argv/envp/auxv on the way, then reports the
 * statuses.  (qemu-user cannot execve a foreign binary without binfmt_misc,
 * so this program's expected output is stored, not taken from qemu.) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv, char **envp)
{
    int level = argc > 1 ? atoi(argv[1]) : 0;
    int nenv = 0;
    while (envp[nenv]) nenv++;
    printf("level %d: argc %d env %d EXEC_LEVEL=%s pagesz %lu phnum>0 %d random %s\n", level, argc,
           nenv, getenv("EXEC_LEVEL") ? getenv("EXEC_LEVEL") : "(unset)", getauxval(AT_PAGESZ),
           getauxval(AT_PHNUM) > 0, getauxval(AT_RANDOM) ? "yes" : "no");
    fflush(stdout);
    if (level == 3) return 30;
    char lv[16], ev[32];
    snprintf(lv, sizeof lv, "%d", level + 1);
    snprintf(ev, sizeof ev, "EXEC_LEVEL=%d", level + 1);
    char *av[] = { argv[0], lv, "an argument with spaces", "", NULL };
    char *env[] = { ev, "OTHER=x", NULL };
    if (level == 1) {
        /* exec directly, replacing this process */
        execve(argv[0], av, env);
        perror("execve");
        return 1;
    }
    pid_t c = fork();
    if (c == 0) {
        execve(argv[0], av, env);
        perror("execve");
        _exit(1);
    }
    int st;
    waitpid(c, &st, 0);
    printf("level %d: child exited %d\n", level, WEXITSTATUS(st));
    char *bad[] = { "/no/such/program", NULL };
    printf("exec of a missing file fails: %s\n", execve(bad[0], bad, env) < 0 ? "yes" : "no");
    return level + WEXITSTATUS(st);
}
