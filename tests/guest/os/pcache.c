/* The page cache of file-backed mappings (flashvm/guest/os/pcache.c):
 *   pcache share N     N processes map one 1 MB file: memory used grows by
 *                      about one copy, not N
 *   pcache private     a MAP_PRIVATE write stays in its mapping
 *   pcache coherent    write()/truncate after mmap show in the mapping;
 *                      write() then mmap sees the data
 *   pcache exec N      N processes exec this program and touch its 2 MB of
 *                      read-only data: memory used grows by about one copy
 * Each prints its figures and "ok" or what failed (exit status 1). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define BIG (2u << 20)
static const unsigned char big[BIG] = { 1, 2, 3 };   /* .rodata: file pages */

static long meminfo(const char *key)
{
    char buf[1024];
    int fd = open("/proc/meminfo", O_RDONLY);
    if (fd < 0) return -1;
    int n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    char *p = strstr(buf, key);
    return p ? atol(p + strlen(key) + 1) : -1;
}

static int fail(const char *what)
{
    printf("FAIL: %s\n", what);
    return 1;
}

static int make_file(const char *path, unsigned size, int seed)
{
    int fd = open(path, O_CREAT | O_RDWR | O_TRUNC, 0644);
    if (fd < 0) return -1;
    unsigned char page[4096];
    for (unsigned off = 0; off < size; off += sizeof page) {
        for (unsigned i = 0; i < sizeof page; i++) page[i] = (unsigned char)(seed + off / 4096 + i);
        if (write(fd, page, sizeof page) != (ssize_t)sizeof page) return -1;
    }
    return fd;
}

/* wait for n one-byte messages on fd */
static void wait_ready(int fd, int n)
{
    char c;
    for (int i = 0; i < n; i++)
        if (read(fd, &c, 1) != 1) break;
}

static int hold(int ready, int go)
{
    char c = 1;
    if (write(ready, &c, 1) != 1) return 1;
    while (read(go, &c, 1) > 0) {}
    return 0;
}

static int share(int n)
{
    enum { SIZE = 1 << 20 };
    int fd = make_file("/pc_share.bin", SIZE, 7);
    if (fd < 0) return fail("make file");
    /* go and end are broadcasts: the parent closes them and every child reads
     * EOF.  One byte per child would not do: a child that mapped early and
     * then read go until EOF ate the bytes meant for the children not yet
     * scheduled, which then waited for ever (and so did the parent). */
    int ready[2], go[2], end[2];
    if (pipe(ready) || pipe(go) || pipe(end)) return fail("pipe");
    for (int k = 0; k < n; k++) {
        if (fork() == 0) {
            close(go[1]);
            close(end[1]);
            char c = 1;
            write(ready[1], &c, 1);
            while (read(go[0], &c, 1) > 0) {}          /* the parent has measured */
            int prot = k & 1 ? PROT_READ | PROT_WRITE : PROT_READ;
            unsigned char *m = mmap(NULL, SIZE, prot, MAP_PRIVATE, fd, 0);
            if (m == MAP_FAILED) _exit(2);
            for (unsigned off = 0; off < SIZE; off += 4096)
                if (m[off + 5] != (unsigned char)(7 + off / 4096 + 5)) _exit(3);
            _exit(hold(ready[1], end[0]));
        }
    }
    close(ready[1]);
    close(go[0]);
    close(end[0]);
    wait_ready(ready[0], n);
    long before = meminfo("MemFree:"), cached0 = meminfo("Cached:");
    close(go[1]);                                     /* map now */
    wait_ready(ready[0], n);
    long after = meminfo("MemFree:"), cached1 = meminfo("Cached:");
    close(end[1]);
    int bad = 0, st;
    while (wait(&st) > 0) bad |= !WIFEXITED(st) || WEXITSTATUS(st);
    long used = before - after;
    printf("share: %d maps of 1024 kB: %ld kB used, %ld kB more cached\n", n, used, cached1 - cached0);
    if (bad) return fail("a child");
    if (used > 1024 + 64L * n) return fail("the mappings did not share pages");
    printf("share: ok\n");
    return 0;
}

static int private_write(void)
{
    int fd = make_file("/pc_priv.bin", 3 * 4096, 40);
    if (fd < 0) return fail("make file");
    unsigned char *rw = mmap(NULL, 3 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    unsigned char *ro = mmap(NULL, 3 * 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    if (rw == MAP_FAILED || ro == MAP_FAILED) return fail("mmap");
    unsigned char orig0 = ro[0], orig1 = ro[4096];
    if (rw[0] != orig0) return fail("two mappings differ");
    rw[0] = orig0 ^ 0xFF;                 /* a mapped cache page: copy on write */
    rw[4096] = orig1 ^ 0xFF;              /* not mapped yet here: copied by the fault */
    if (ro[0] != orig0 || ro[4096] != orig1) return fail("a private write showed in another mapping");
    unsigned char b[2];
    if (pread(fd, b, 1, 0) != 1 || pread(fd, b + 1, 1, 4096) != 1) return fail("pread");
    if (b[0] != orig0 || b[1] != orig1) return fail("a private write reached the file");
    unsigned char *again = mmap(NULL, 2 * 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    if (again[0] != orig0 || again[4096] != orig1) return fail("a private write reached the cache");
    if (rw[0] != (orig0 ^ 0xFF) || rw[4096] != (orig1 ^ 0xFF)) return fail("the private copy");
    pid_t p = fork();
    if (p == 0) {                         /* the child's write is its own too */
        rw[8192] = 0x55;
        _exit(ro[8192] == 0x55 || rw[0] != (orig0 ^ 0xFF));
    }
    int st;
    waitpid(p, &st, 0);
    if (!WIFEXITED(st) || WEXITSTATUS(st) || rw[8192] == 0x55) return fail("fork");
    printf("private: ok\n");
    return 0;
}

static int coherent(void)
{
    int fd = make_file("/pc_coh.bin", 2 * 4096, 90);
    if (fd < 0) return fail("make file");
    char *m = mmap(NULL, 2 * 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    if (m == MAP_FAILED) return fail("mmap");
    volatile char first = m[100];         /* the page is in the cache now */
    (void)first;
    if (pwrite(fd, "hello", 5, 100) != 5) return fail("pwrite");
    if (memcmp(m + 100, "hello", 5)) return fail("a write() after mmap is not in the mapping");
    char *m2 = mmap(NULL, 2 * 4096, PROT_READ, MAP_PRIVATE, fd, 0);
    if (memcmp(m2 + 100, "hello", 5)) return fail("a write() before mmap is not in the mapping");
    if (ftruncate(fd, 50) || ftruncate(fd, 2 * 4096)) return fail("ftruncate");
    if (m2[100] != 0 || m2[4096 + 7] != 0) return fail("truncated bytes still in the mapping");
    int fd2 = open("/pc_new.txt", O_CREAT | O_RDWR | O_TRUNC, 0644);
    if (write(fd2, "fresh data", 10) != 10) return fail("write");
    char *m3 = mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd2, 0);
    if (m3 == MAP_FAILED || memcmp(m3, "fresh data", 10) || m3[10] != 0) return fail("write() then mmap");
    if (write(fd2, " and more", 9) != 9 || memcmp(m3 + 10, " and more", 9)) return fail("append after mmap");
    printf("coherent: ok\n");
    return 0;
}

static int exec_many(const char *self, int n)
{
    int ready[2], go[2];
    if (pipe(ready) || pipe(go)) return fail("pipe");
    char rs[16], gs[16];
    snprintf(rs, sizeof rs, "%d", ready[1]);
    snprintf(gs, sizeof gs, "%d", go[0]);
    long before = meminfo("MemFree:");
    for (int k = 0; k < n; k++) {
        if (fork() == 0) {
            close(go[1]);
            close(ready[0]);
            execl(self, self, "hold", rs, gs, (char *)NULL);
            _exit(127);
        }
    }
    close(ready[1]);
    close(go[0]);
    wait_ready(ready[0], n);
    long after = meminfo("MemFree:");
    close(go[1]);
    int bad = 0, st;
    while (wait(&st) > 0) bad |= !WIFEXITED(st) || WEXITSTATUS(st);
    long used = before - after;
    printf("exec: %d processes with %u kB of read-only data each: %ld kB used (%ld kB a process)\n",
           n, BIG >> 10, used, used / n);
    if (bad) return fail("a child");
    if (used > (long)(BIG >> 10) + 256L * n) return fail("memory grew with each exec");
    printf("exec: ok\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) return fail("usage");
    if (!strcmp(argv[1], "hold") && argc == 4) {
        unsigned sum = 0;
        for (unsigned off = 0; off < BIG; off += 4096)
            sum += ((volatile const unsigned char *)big)[off];
        if (sum != 1) return 5;
        return hold(atoi(argv[2]), atoi(argv[3]));
    }
    if (!strcmp(argv[1], "share")) return share(argc > 2 ? atoi(argv[2]) : 8);
    if (!strcmp(argv[1], "private")) return private_write();
    if (!strcmp(argv[1], "coherent")) return coherent();
    if (!strcmp(argv[1], "exec")) return exec_many(argv[0], argc > 2 ? atoi(argv[2]) : 8);
    return fail("unknown mode");
}
