/* mmap/munmap/mprotect, file mappings, MAP_SHARED across fork, brk */
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

int main(void)
{
    size_t len = 64 * 4096;
    unsigned char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) { perror("mmap"); return 1; }
    int zero = 1;
    for (size_t i = 0; i < len; i += 4096) zero &= p[i] == 0;
    printf("anonymous memory is zero: %s\n", zero ? "yes" : "no");
    for (size_t i = 0; i < len; i++) p[i] = (unsigned char)(i * 7);
    uint32_t sum = 0;
    for (size_t i = 0; i < len; i++) sum += p[i];
    printf("sum %u\n", sum);
    /* punch a hole; touching it kills a child with SIGSEGV */
    printf("munmap middle: %d\n", munmap(p + 8 * 4096, 4 * 4096));
    printf("after hole: %u %u\n", p[8 * 4096 - 1], p[12 * 4096]);
    pid_t c = fork();
    if (c == 0) { p[9 * 4096] = 1; _exit(0); }
    int st;
    waitpid(c, &st, 0);
    printf("child touching hole: %s %d\n", WIFSIGNALED(st) ? "signal" : "exit",
           WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
    /* mprotect read-only */
    printf("mprotect: %d\n", mprotect(p, 4096, PROT_READ));
    c = fork();
    if (c == 0) { p[0] = 1; _exit(0); }
    waitpid(c, &st, 0);
    printf("child writing read-only page: %s %d\n", WIFSIGNALED(st) ? "signal" : "exit",
           WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st));
    mprotect(p, 4096, PROT_READ | PROT_WRITE);
    p[0] = 42;
    printf("writable again: %u\n", p[0]);
    /* copy-on-write: the child's writes are private */
    c = fork();
    if (c == 0) { memset(p, 0xEE, 8 * 4096); memset(p + 12 * 4096, 0xEE, 4096); _exit(p[100] == 0xEE ? 0 : 1); }
    waitpid(c, &st, 0);
    printf("cow child ok %d, parent keeps %u %u %u\n", WEXITSTATUS(st), p[0], p[100], p[12 * 4096]);
    munmap(p, len);

    /* shared anonymous memory is shared with the child */
    volatile int *sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    sh[0] = 1;
    c = fork();
    if (c == 0) { sh[0] = 1234; sh[1] = 5678; _exit(0); }
    waitpid(c, &st, 0);
    printf("shared: %d %d\n", sh[0], sh[1]);

    /* a private file mapping */
    int fd = open("mm_file.bin", O_CREAT | O_RDWR | O_TRUNC, 0644);
    char buf[10000];
    for (int i = 0; i < (int)sizeof buf; i++) buf[i] = 'a' + i % 26;
    write(fd, buf, sizeof buf);
    char *m = mmap(NULL, sizeof buf, PROT_READ, MAP_PRIVATE, fd, 0);
    printf("file map: %.5s %c %c\n", m, m[5000], m[9999]);
    char *m2 = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 4096);
    printf("file map at offset 4096: %c\n", m2[0]);
    munmap(m, sizeof buf);
    munmap(m2, 4096);
    close(fd);
    unlink("mm_file.bin");

    /* many map/unmap cycles */
    int ok = 1;
    for (int i = 0; i < 200; i++) {
        size_t l = (i % 13 + 1) * 4096;
        unsigned char *q = mmap(NULL, l, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (q == MAP_FAILED) { ok = 0; break; }
        q[l - 1] = 1;
        ok &= q[0] == 0;
        munmap(q, l);
    }
    printf("map/unmap cycles ok: %s\n", ok ? "yes" : "no");
    return 0;
}
