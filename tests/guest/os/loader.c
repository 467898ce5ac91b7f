/* What a dynamic loader and a shell ask of the kernel: a file mapped
 * privately at an offset with MAP_FIXED over an earlier reservation (the
 * file's last page zero past its end, anonymous bss after it), mprotect and
 * munmap splitting such a mapping, `#!` scripts (one optional argument,
 * nesting, the ELOOP limit), and vfork: clone(CLONE_VM | CLONE_VFORK) whose
 * parent waits until the child execs or exits, posix_spawn, wait4 with
 * rusage.  Run as `loader`; `loader -x ARGS` prints its argv (the program
 * the scripts and the spawned children run). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define PG 4096
extern char **environ;

static void write_file(const char *path, const void *data, size_t n, int mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
    if (fd < 0 || write(fd, data, n) != (ssize_t)n) { perror(path); exit(1); }
    close(fd);
}

/* the status of a child that touches p (write or read) */
static const char *touch(volatile unsigned char *p, int write)
{
    static char buf[32];
    pid_t c = fork();
    if (c == 0) {
        if (write) *p = 1;
        else (void)*p;
        _exit(7);
    }
    int st;
    waitpid(c, &st, 0);
    if (WIFSIGNALED(st)) snprintf(buf, sizeof buf, "signal %d", WTERMSIG(st));
    else snprintf(buf, sizeof buf, "exit %d", WEXITSTATUS(st));
    return buf;
}

static unsigned char pattern(size_t i) { return (unsigned char)(i * 31 + (i >> 12) + 1); }

static void file_mappings(void)
{
    /* a file of 3 pages + 100 bytes */
    size_t fsize = 3 * PG + 100;
    unsigned char *data = malloc(fsize);
    for (size_t i = 0; i < fsize; i++) data[i] = pattern(i);
    write_file("/tmp/lib.bin", data, fsize, 0644);
    int fd = open("/tmp/lib.bin", O_RDONLY);
    /* reserve 6 pages, then put the file's pages 1..3 (2 pages + 100 bytes)
     * over the second to fourth page, as ld.so does with a library */
    unsigned char *r = mmap(NULL, 6 * PG, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned char *m = mmap(r + PG, 2 * PG + 100, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd, PG);
    printf("fixed mapping at the reservation: %s\n", m == r + PG ? "yes" : "no");
    int same = 1;
    for (size_t i = 0; i < 2 * PG + 100; i++) same &= m[i] == data[PG + i];
    printf("file bytes at offset 4096: %s\n", same ? "equal" : "DIFFERENT");
    int zero = 1;
    for (size_t i = 2 * PG + 100; i < 3 * PG; i++) zero &= m[i] == 0;
    printf("rest of the last file page: %s\n", zero ? "zero" : "NOT ZERO");
    /* the bss after it: anonymous, fixed */
    unsigned char *b = mmap(r + 4 * PG, PG, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
    printf("bss page: %s, first byte %d\n", b == r + 4 * PG ? "fixed" : "elsewhere", b[0]);
    printf("the reservation's first page: %s\n", touch(r, 0));
    /* private: writes stay in memory, the file keeps its bytes */
    m[0] = 0xEE;
    unsigned char c;
    pread(fd, &c, 1, PG);
    printf("private write: memory %#x, file %#x\n", m[0], c);
    /* the middle page read-only: the mapping splits in three */
    printf("mprotect middle page: %d\n", mprotect(m + PG, PG, PROT_READ));
    printf("write to it: %s\n", touch(m + PG, 1));
    printf("write before it: %s\n", touch(m, 1));
    printf("write after it: %s\n", touch(m + 2 * PG, 1));
    printf("still the file's byte: %s\n", m[PG + 5] == data[2 * PG + 5] ? "yes" : "no");
    /* unmap the first page: the rest keeps its file offset */
    printf("munmap first page: %d\n", munmap(m, PG));
    printf("read it: %s\n", touch(m, 0));
    printf("page after it holds file offset 8192: %s\n", m[PG + 17] == data[2 * PG + 17] ? "yes" : "no");
    printf("mprotect back: %d\n", mprotect(m + PG, PG, PROT_READ | PROT_WRITE));
    m[PG] = 1;
    printf("write after mprotect back: %d\n", m[PG]);
    /* a second MAP_FIXED file mapping replaces part of the first */
    unsigned char *o = mmap(m + 2 * PG, PG, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0);
    printf("remapped over it: file offset 0 there: %s\n", o == m + 2 * PG && o[3] == data[3] ? "yes" : "no");
    printf("write to the read-only remapped page: %s\n", touch(m + 2 * PG, 1));
    munmap(r, 6 * PG);
    close(fd);
    free(data);
}

static void scripts(void)
{
    const char s1[] = "#!/bin/loader  -x one  \nnot read\n";
    write_file("/tmp/s1", s1, sizeof s1 - 1, 0755);
    const char s2[] = "#! /tmp/s1\n";
    write_file("/tmp/s2", s2, sizeof s2 - 1, 0755);
    const char s3[] = "#!/tmp/s3\n";
    write_file("/tmp/s3", s3, sizeof s3 - 1, 0755);
    const char s4[] = "#!\n";
    write_file("/tmp/s4", s4, sizeof s4 - 1, 0755);
    const char *run[] = { "/tmp/s1", "/tmp/s2", "/tmp/s3", "/tmp/s4" };
    for (int i = 0; i < 4; i++) {
        fflush(stdout);
        pid_t c = fork();
        if (c == 0) {
            char *argv[] = { (char *)run[i], "arg 1", NULL };
            execve(run[i], argv, environ);
            printf("exec %s: %s\n", run[i], strerror(errno));
            fflush(stdout);
            _exit(2);
        }
        int st;
        waitpid(c, &st, 0);
        printf("%s: exit %d\n", run[i], WEXITSTATUS(st));
    }
}

static volatile int order;
static char vstack[16384] __attribute__((aligned(16)));

static int vchild(void *arg)
{
    order = order * 10 + 1;
    struct timespec ts = { 0, 20 * 1000 * 1000 };
    nanosleep(&ts, NULL);            /* the parent must still wait */
    order = order * 10 + 2;
    if (arg) {
        char *argv[] = { "loader", "-x", "vforked", NULL };
        execve("/bin/loader", argv, environ);
    }
    _exit(5);
}

static void vforks(void)
{
    for (int exec = 0; exec < 2; exec++) {
        order = 0;
        fflush(stdout);
        pid_t c = clone(vchild, vstack + sizeof vstack, CLONE_VM | CLONE_VFORK | SIGCHLD, exec ? "x" : NULL);
        order = order * 10 + 3;
        printf("vfork child %s: order %d\n", exec ? "execs" : "exits", order);
        int st;
        struct rusage ru;
        memset(&ru, 0xFF, sizeof ru);
        pid_t w = wait4(c, &st, 0, &ru);
        printf("wait4: %s, exit %d, rusage %s\n", w == c ? "the child" : "OTHER", WEXITSTATUS(st),
               ru.ru_utime.tv_usec >= 0 && ru.ru_utime.tv_usec < 1000000 && ru.ru_maxrss >= 0 ? "sane" : "garbage");
    }
    pid_t pid;
    char *argv[] = { "loader", "-x", "spawned", NULL };
    fflush(stdout);
    int r = posix_spawn(&pid, "/bin/loader", NULL, NULL, argv, environ);
    int st = 0;
    if (r == 0) waitpid(pid, &st, 0);
    printf("posix_spawn: %d, exit %d\n", r, WEXITSTATUS(st));
    r = posix_spawn(&pid, "/bin/missing", NULL, NULL, argv, environ);
    printf("posix_spawn of a missing file: %s\n", strerror(r));
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strncmp(argv[1], "-x", 2)) {
        printf("  argv:");
        for (int i = 0; i < argc; i++) printf(" [%s]", argv[i]);
        printf("\n");
        return 3;
    }
    mkdir("/tmp", 0755);
    file_mappings();
    scripts();
    vforks();
    return 0;
}
