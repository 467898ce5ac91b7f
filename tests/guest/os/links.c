/* symbolic and hard links, poll/select, statfs, /dev/null, /dev/zero,
 * /dev/urandom: what Debian's programs need of the VFS.  Everything
 * printed is the same on Linux (qemu-mipsel in a temporary directory). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *err(int r) { return r < 0 ? strerror(errno) : "ok"; }

static const char *kind(mode_t m)
{
    return S_ISLNK(m) ? "link" : S_ISDIR(m) ? "dir" : S_ISREG(m) ? "file" : S_ISCHR(m) ? "chr" : "other";
}

static void show_stat(const char *p)
{
    struct stat st, lst;
    int a = stat(p, &st), b = lstat(p, &lst);
    printf("%-12s stat: %s", p, a ? strerror(errno) : kind(st.st_mode));
    if (!a && S_ISREG(st.st_mode)) printf(" %ld bytes %ld links", (long)st.st_size, (long)st.st_nlink);
    printf(" | lstat: %s", b ? strerror(errno) : kind(lst.st_mode));
    if (!b && S_ISLNK(lst.st_mode)) printf(" size %ld", (long)lst.st_size);
    printf("\n");
}

static void show_link(const char *p)
{
    char buf[256];
    ssize_t n = readlink(p, buf, sizeof buf);
    if (n < 0) printf("readlink %s: %s\n", p, strerror(errno));
    else printf("readlink %s -> %.*s\n", p, (int)n, buf);
}

static void cat(const char *p)
{
    char buf[64];
    int fd = open(p, O_RDONLY);
    if (fd < 0) { printf("cat %s: %s\n", p, strerror(errno)); return; }
    ssize_t n = read(fd, buf, sizeof buf);
    close(fd);
    printf("cat %s: %.*s", p, (int)(n > 0 ? n : 0), buf);
}

static int cmp(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }

static void list(const char *dir)
{
    DIR *d = opendir(dir);
    char *names[64];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 64) {
        if (e->d_name[0] == '.') continue;
        const char *t = e->d_type == DT_LNK ? "@" : e->d_type == DT_DIR ? "/" : e->d_type == DT_REG ? "" : "?";
        char *s = malloc(strlen(e->d_name) + 2);
        sprintf(s, "%s%s", e->d_name, t);
        names[n++] = s;
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp);
    printf("%s:", dir);
    for (int i = 0; i < n; i++) { printf(" %s", names[i]); free(names[i]); }
    printf("\n");
}

static void write_file(const char *p, const char *s)
{
    int fd = open(p, O_CREAT | O_WRONLY | O_TRUNC, 0644);
    write(fd, s, strlen(s));
    close(fd);
}

static void symlinks(void)
{
    printf("-- symbolic links\n");
    mkdir("sub", 0755);
    write_file("f", "data\n");
    write_file("sub/g", "in sub\n");
    printf("symlink l: %s\n", err(symlink("f", "l")));
    printf("symlink l again: %s\n", err(symlink("f", "l")));
    symlink("l", "l2");
    symlink("/nonexistent/x", "dangle");
    symlink("sub/../f", "rel");
    symlink("sub", "sl");
    symlink("loop1", "loop2");
    symlink("loop2", "loop1");
    symlink("made", "dangle2");
    show_link("l");
    show_link("rel");
    show_link("f");
    show_link("nothing");
    char small[4];
    printf("readlink rel into 2 bytes: %d\n", (int)readlink("rel", small, 2));
    show_stat("f");
    show_stat("l");
    show_stat("l2");
    show_stat("rel");
    show_stat("dangle");
    show_stat("loop1");
    show_stat("sl");
    show_stat("sl/");
    show_stat("sl/g");
    show_stat("sl/../f");
    cat("l2");
    cat("sl/g");
    cat("rel");
    printf("open l O_NOFOLLOW: %s\n", err(open("l", O_RDONLY | O_NOFOLLOW)));
    printf("open sl/g O_NOFOLLOW: %s\n", err(open("sl/g", O_RDONLY | O_NOFOLLOW)));
    printf("open dangle2 O_CREAT|O_EXCL: %s\n", err(open("dangle2", O_CREAT | O_EXCL | O_WRONLY, 0644)));
    int fd = open("dangle2", O_CREAT | O_WRONLY, 0644);
    printf("open dangle2 O_CREAT: %s\n", err(fd));
    write(fd, "made via link\n", 14);
    close(fd);
    cat("made");
    printf("open loop1: %s\n", err(open("loop1", O_RDONLY)));
    struct stat st;
    printf("fstatat l NOFOLLOW: %s\n", fstatat(AT_FDCWD, "l", &st, AT_SYMLINK_NOFOLLOW) ? strerror(errno) : kind(st.st_mode));
    printf("fstatat l: %s\n", fstatat(AT_FDCWD, "l", &st, 0) ? strerror(errno) : kind(st.st_mode));
    int dfd = open("sub", O_RDONLY | O_DIRECTORY);
    symlinkat("g", dfd, "gl");
    char buf[32];
    ssize_t n = readlinkat(dfd, "gl", buf, sizeof buf);
    printf("readlinkat sub/gl -> %.*s\n", (int)(n > 0 ? n : 0), buf);
    close(dfd);
    cat("sub/gl");
    printf("mkdir l: %s\n", err(mkdir("l", 0755)));
    printf("rmdir sl: %s\n", err(rmdir("sl")));
    printf("rename rel rel2: %s\n", err(rename("rel", "rel2")));
    show_link("rel2");
    list(".");
    list("sl");
    printf("chdir sl: %s\n", err(chdir("sl")));
    char cwd[512];
    getcwd(cwd, sizeof cwd);
    char *tail = strrchr(cwd, '/');
    while (tail > cwd && tail[-1] != '/') tail--;
    printf("cwd ends in %s\n", tail);
    cat("g");
    chdir("..");
    printf("unlink l: %s\n", err(unlink("l")));
    show_stat("l");
    show_stat("l2");
    show_stat("f");
}

static void hardlinks(void)
{
    printf("-- hard links\n");
    printf("link f h: %s\n", err(link("f", "h")));
    printf("link f h again: %s\n", err(link("f", "h")));
    printf("link sub hd: %s\n", err(link("sub", "hd")));
    printf("link nothing x: %s\n", err(link("nothing", "x")));
    show_stat("f");
    int fd = open("h", O_WRONLY | O_APPEND);
    write(fd, "more\n", 5);
    close(fd);
    cat("f");
    printf("unlink f: %s\n", err(unlink("f")));
    show_stat("h");
    cat("h");
    printf("link of a symlink: %s\n", err(link("sl", "hsl")));
    show_stat("hsl");
    printf("linkat FOLLOW: %s\n", err(linkat(AT_FDCWD, "l2x", AT_FDCWD, "x", AT_SYMLINK_FOLLOW)));
    symlink("h", "hl");
    printf("linkat hl FOLLOW: %s\n", err(linkat(AT_FDCWD, "hl", AT_FDCWD, "h2", AT_SYMLINK_FOLLOW)));
    show_stat("h2");
    fd = open("h2", O_RDONLY);
    unlink("h");
    unlink("h2");
    char buf[32];
    ssize_t n = read(fd, buf, sizeof buf);
    printf("read after the last unlink: %d bytes\n", (int)n);
    close(fd);
}

static long ms_since(struct timespec *a)
{
    struct timespec b;
    clock_gettime(CLOCK_MONOTONIC, &b);
    return (b.tv_sec - a->tv_sec) * 1000 + (b.tv_nsec - a->tv_nsec) / 1000000;
}

static void polls(void)
{
    printf("-- poll and select\n");
    int p[2];
    pipe(p);
    struct pollfd fds[3] = { { p[0], POLLIN, 0 }, { p[1], POLLOUT, 0 }, { 99, POLLIN, 0 } };
    int r = poll(fds, 3, 0);
    printf("poll empty pipe: %d: %x %x %x\n", r, fds[0].revents, fds[1].revents, fds[2].revents);
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    r = poll(fds, 1, 50);
    long ms = ms_since(&t0);
    printf("poll timeout 50 ms: %d, waited enough: %s\n", r, ms >= 45 ? "yes" : "no");
    write(p[1], "x", 1);
    r = poll(fds, 2, -1);
    printf("poll after a write: %d: %x %x\n", r, fds[0].revents, fds[1].revents);
    char c;
    read(p[0], &c, 1);
    pid_t pid = fork();
    if (pid == 0) {
        struct timespec d = { 0, 20000000 };
        nanosleep(&d, NULL);
        write(p[1], "y", 1);
        _exit(0);
    }
    r = poll(fds, 1, -1);
    printf("poll woken by a child's write: %d: %x\n", r, fds[0].revents);
    read(p[0], &c, 1);
    waitpid(pid, NULL, 0);
    fd_set rs, ws;
    FD_ZERO(&rs); FD_SET(p[0], &rs);
    struct timeval tv = { 0, 30000 };
    r = select(p[0] + 1, &rs, NULL, NULL, &tv);
    printf("select empty pipe, 30 ms: %d, set %d\n", r, FD_ISSET(p[0], &rs));
    write(p[1], "z", 1);
    FD_ZERO(&rs); FD_SET(p[0], &rs);
    FD_ZERO(&ws); FD_SET(p[1], &ws);
    r = select(p[1] + 1, &rs, &ws, NULL, NULL);
    printf("select after a write: %d, read %d write %d\n", r, FD_ISSET(p[0], &rs), FD_ISSET(p[1], &ws));
    struct timespec ts = { 0, 10000000 };
    sigset_t none;
    sigemptyset(&none);
    FD_ZERO(&rs); FD_SET(p[0], &rs);
    r = pselect(p[0] + 1, &rs, NULL, NULL, &ts, &none);
    printf("pselect: %d\n", r);
    r = ppoll(fds, 1, &ts, &none);
    printf("ppoll: %d: %x\n", r, fds[0].revents);
    read(p[0], &c, 1);
    close(p[1]);
    r = poll(fds, 1, 0);
    printf("poll after the writer closed: %d: %x\n", r, fds[0].revents);
    close(p[0]);
    int fd = open("h2x", O_CREAT | O_RDWR, 0644);
    struct pollfd ff = { fd, POLLIN | POLLOUT, 0 };
    r = poll(&ff, 1, -1);
    printf("poll a file: %d: %x\n", r, ff.revents);
    close(fd);
    unlink("h2x");
}

static void devices(void)
{
    printf("-- statfs and devices\n");
    struct statfs sf;
    int r = statfs(".", &sf);
    printf("statfs .: %s, block size set: %s, blocks: %s\n", err(r), sf.f_bsize > 0 ? "yes" : "no",
           sf.f_blocks >= sf.f_bfree && sf.f_blocks > 0 ? "yes" : "no");
    int fd = open(".", O_RDONLY | O_DIRECTORY);
    printf("fstatfs: %s\n", err(fstatfs(fd, &sf)));
    close(fd);
    char buf[64];
    fd = open("/dev/null", O_RDWR);
    printf("/dev/null: write %d read %d\n", (int)write(fd, "abc", 3), (int)read(fd, buf, sizeof buf));
    close(fd);
    fd = open("/dev/zero", O_RDONLY);
    memset(buf, 0x55, sizeof buf);
    int n = read(fd, buf, sizeof buf), zeros = 0;
    for (int i = 0; i < n; i++) zeros += buf[i] == 0;
    printf("/dev/zero: read %d, zeros %d\n", n, zeros);
    close(fd);
    fd = open("/dev/urandom", O_RDONLY);
    memset(buf, 0, sizeof buf);
    n = read(fd, buf, 32);
    int nonzero = 0;
    for (int i = 0; i < n; i++) nonzero += buf[i] != 0;
    printf("/dev/urandom: read %d, mostly nonzero %s\n", n, nonzero > 16 ? "yes" : "no");
    struct stat st;
    stat("/dev/null", &st);
    printf("/dev/null is %s %d:%d\n", kind(st.st_mode), (int)(st.st_rdev >> 8), (int)(st.st_rdev & 0xFF));
    stat("/dev/zero", &st);
    printf("/dev/zero is %s %d:%d\n", kind(st.st_mode), (int)(st.st_rdev >> 8), (int)(st.st_rdev & 0xFF));
    close(fd);
}

int main(void)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    if (mkdir("links_dir", 0755) || chdir("links_dir")) { printf("setup: %s\n", strerror(errno)); return 1; }
    symlinks();
    hardlinks();
    polls();
    devices();
    return 0;
}
