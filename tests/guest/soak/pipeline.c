/* A pipe-and-fork pipeline: a generator process writes N bytes (argv[2])
 * into a chain of K stage processes (argv[1]) connected by pipes; the
 * stages share ROUNDS rounds of a byte-mixing transform between them
 * (stage s does rounds ROUNDS*s/K .. ROUNDS*(s+1)/K - 1), so the output is
 * independent of K.  The parent reads the end of the chain, checks every
 * byte against the transform applied to the generated stream, and waits
 * for all its children. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#define ROUNDS 8
#define MAXK 16
#define CHUNK 4096

static unsigned char gen(long pos) { return (unsigned char)(pos * 2654435761u >> 13); }

static unsigned char round_(int r, unsigned char b, long pos)
{
    return (unsigned char)(b * 167 + r * 13 + (pos & 0xff)) ^ (unsigned char)(pos >> 8);
}

static int write_all(int fd, const unsigned char *p, long len)
{
    while (len > 0) {
        long w = write(fd, p, len);
        if (w <= 0) return -1;
        p += w, len -= w;
    }
    return 0;
}

static void generator(int out, long total)
{
    static unsigned char buf[CHUNK];
    for (long done = 0; done < total;) {
        long k = total - done < CHUNK ? total - done : CHUNK;
        for (long i = 0; i < k; i++) buf[i] = gen(done + i);
        if (write_all(out, buf, k)) _exit(4);
        done += k;
    }
    _exit(0);
}

static void stage(int in, int out, int r0, int r1)
{
    static unsigned char buf[CHUNK];
    long pos = 0, got;
    while ((got = read(in, buf, sizeof buf)) > 0) {
        for (long i = 0; i < got; i++)
            for (int r = r0; r < r1; r++) buf[i] = round_(r, buf[i], pos + i);
        if (write_all(out, buf, got)) _exit(5);
        pos += got;
    }
    _exit(got < 0 ? 6 : 0);
}

int main(int argc, char **argv)
{
    int k = argc > 1 ? atoi(argv[1]) : 1;
    long total = argc > 2 ? atol(argv[2]) : 65536;
    if (k < 1 || k > MAXK || total < 1) { fprintf(stderr, "usage: pipeline STAGES BYTES\n"); return 2; }
    int fds[MAXK + 1][2];
    pid_t kids[MAXK + 1];
    for (int s = 0; s <= k; s++)
        if (pipe(fds[s])) return 3;
    /* process s (0 = generator, 1..k = stages) writes pipe s and reads pipe s-1 */
    for (int s = 0; s <= k; s++) {
        pid_t pid = fork();
        if (pid < 0) return 3;
        if (pid == 0) {
            for (int t = 0; t <= k; t++) {
                if (t != s) close(fds[t][1]);
                if (t != s - 1) close(fds[t][0]);
            }
            if (s == 0) generator(fds[0][1], total);
            stage(fds[s - 1][0], fds[s][1], ROUNDS * (s - 1) / k, ROUNDS * s / k);
        }
        kids[s] = pid;
    }
    for (int t = 0; t <= k; t++) {
        close(fds[t][1]);
        if (t != k) close(fds[t][0]);
    }
    static unsigned char buf[CHUNK];
    long pos = 0, bad = 0, got;
    uint32_t h = 2166136261u;
    while ((got = read(fds[k][0], buf, sizeof buf)) > 0) {
        for (long i = 0; i < got; i++) {
            unsigned char want = gen(pos + i);
            for (int r = 0; r < ROUNDS; r++) want = round_(r, want, pos + i);
            bad += buf[i] != want;
            h = (h ^ buf[i]) * 16777619u;
        }
        pos += got;
    }
    int failed = 0;
    for (int s = 0; s <= k; s++) {
        int st;
        if (waitpid(kids[s], &st, 0) != kids[s] || st != 0) failed++;
    }
    int ok = pos == total && !bad && !failed;
    printf("pipeline bytes=%ld hash %08x %s\n", pos, h, ok ? "ok" : "WRONG");
    if (!ok) fprintf(stderr, "%ld wrong bytes, %d children failed\n", bad, failed);
    return ok ? 0 : 1;
}
