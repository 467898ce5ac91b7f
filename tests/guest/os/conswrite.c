/* conswrite.c -- NPROC processes each write NLINES lines of 1000 bytes to
 * the console, one write() a line, all at once: every line must come out
 * whole (one write is one piece of the console's output, never cut by
 * another writer's), and every write must report its whole length. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define LINE 1000

int main(int argc, char **argv)
{
    int nproc = argc > 1 ? atoi(argv[1]) : 4;
    int nlines = argc > 2 ? atoi(argv[2]) : 20;
    for (int p = 0; p < nproc; p++) {
        if (fork() == 0) {
            char buf[LINE];
            memset(buf, 'a' + p, LINE - 1);
            buf[LINE - 1] = '\n';
            for (int i = 0; i < nlines; i++)
                if (write(1, buf, LINE) != LINE)
                    _exit(1);
            _exit(0);
        }
    }
    int bad = 0, st;
    while (wait(&st) > 0)
        bad += !WIFEXITED(st) || WEXITSTATUS(st) != 0;
    return bad;
}
