/* fork + pipe + exec: the child's stdout becomes the pipe and it execs the
 * program named in argv[1]; the parent reads everything and waits. */
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    if (argc < 2) {
        fputs("usage: pipeexec PROGRAM [ARGS]\n", stderr);
        return 2;
    }
    int fd[2];
    if (pipe(fd)) {
        perror("pipe");
        return 2;
    }
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        execv(argv[1], argv + 1);
        perror("execv");
        _exit(127);
    }
    close(fd[1]);
    char buf[4096];
    size_t total = 0;
    ssize_t n;
    unsigned sum = 0;
    while ((n = read(fd[0], buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++)
            sum = sum * 31 + (unsigned char)buf[i];
        fwrite(buf, 1, n, stdout);
        total += n;
    }
    int st;
    waitpid(pid, &st, 0);
    printf("parent read %zu bytes, checksum %08x, child status %d\n", total, sum,
           WIFEXITED(st) ? WEXITSTATUS(st) : -1);
    return 0;
}
