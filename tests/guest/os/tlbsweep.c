/* tlbsweep: a TLB-heavy program for Disco's second-level TLB.  Two processes
 * (parent and child, two ASIDs) each sweep PAGES pages (four times the
 * 64-entry TLB) PASSES times, one word per page; then the parent maps an
 * anonymous region, fills it, unmaps it and maps it again at the same
 * place: the new pages must read zero (a translation the monitor kept of
 * the old pages would show the old bytes).  Prints the sums and "ok". */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#define PAGES 256
#define PASSES 40
#define WORDS (4096 / sizeof(unsigned))

static unsigned sweep(unsigned *a, unsigned seed)
{
    unsigned sum = 0;
    for (int p = 0; p < PASSES; p++)
        for (int i = 0; i < PAGES; i++) {
            unsigned *w = &a[i * WORDS + (p & 7)];
            *w += seed + i;
            sum += *w;
        }
    return sum;
}

int main(void)
{
    unsigned *a = calloc(PAGES, 4096);
    if (!a)
        return 1;
    pid_t pid = fork();
    unsigned sum = sweep(a, pid == 0 ? 7 : 3);
    if (pid == 0) {
        printf("child %u\n", sum);
        return 0;
    }
    int st = 0;
    waitpid(pid, &st, 0);
    printf("parent %u\n", sum);
    size_t len = 64 * 4096;
    unsigned char *m = mmap(0, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    for (size_t i = 0; i < len; i += 4096)
        m[i] = 0xA5;
    munmap(m, len);
    unsigned char *n = mmap(m, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned stale = 0;
    for (size_t i = 0; i < len; i += 4096)
        stale += n[i];
    printf("%s %s\n", n == m ? "same place" : "elsewhere", stale ? "STALE" : "zero");
    printf("%s\n", st == 0 && !stale ? "ok" : "bad");
    return 0;
}
