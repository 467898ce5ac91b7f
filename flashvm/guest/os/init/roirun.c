/* roirun.c -- /sbin/roirun NAME PROGRAM [ARG...]: run PROGRAM inside the region
 * of interest NAME (flashvm/guest/include/roi.h) and exit with its status, so an
 * experiment measures the workload and not the boot or the halt.  The region
 * begins just before the fork and ends once the child has been reaped.  Every
 * absolute path on the command line that names a file is read once first, so
 * the programs come from the buffer cache and the region does not time the
 * disk (the paper's runs had their binaries cached too). */
#include <fcntl.h>
#include <stdio.h>
#include <sys/wait.h>
#include <unistd.h>
#include "roi.h"

extern char **environ;

static void warm(const char *path)
{
    static char buf[16384];
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        return;
    while (read(fd, buf, sizeof buf) > 0)
        ;
    close(fd);
}

int main(int argc, char **argv)
{
    pid_t pid;
    int st = 0;

    if (argc < 3) {
        fprintf(stderr, "usage: roirun NAME PROGRAM [ARG...]\n");
        return 2;
    }
    for (int i = 2; i < argc; i++)
        if (argv[i][0] == '/')
            warm(argv[i]);
    roi_begin(argv[1]);
    pid = fork();
    if (pid == 0) {
        execve(argv[2], argv + 2, environ);
        perror(argv[2]);
        _exit(127);
    }
    if (pid < 0 || waitpid(pid, &st, 0) < 0) {
        perror("roirun");
        roi_end(argv[1]);
        return 127;
    }
    roi_end(argv[1]);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return WEXITSTATUS(st);
}
