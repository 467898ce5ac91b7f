/* A child writes N bytes (argv[1], default 1 MB) through a pipe to its
 * parent, which reads them all and checks the pattern. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    long total = argc > 1 ? atol(argv[1]) : 1 << 20;
    int p[2];
    if (pipe(p)) return 2;
    pid_t pid = fork();
    if (pid == 0) {
        close(p[0]);
        static unsigned char buf[1 << 20];
        for (long done = 0; done < total;) {
            long n = total - done < (long)sizeof buf ? total - done : (long)sizeof buf;
            for (long i = 0; i < n; i++) buf[i] = (unsigned char)((done + i) * 7);
            long w = write(p[1], buf, n);
            if (w <= 0) _exit(3);
            done += w;
        }
        _exit(0);
    }
    close(p[1]);
    static unsigned char buf[65536];
    long got = 0, bad = 0;
    for (;;) {
        long n = read(p[0], buf, sizeof buf);
        if (n <= 0) break;
        for (long i = 0; i < n; i++) bad += buf[i] != (unsigned char)((got + i) * 7);
        got += n;
    }
    int st;
    waitpid(pid, &st, 0);
    printf("read %ld bytes, %ld wrong, child status %d\n", got, bad, st);
    return got == total && !bad && st == 0 ? 0 : 1;
}
