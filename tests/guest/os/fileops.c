/* file create/write/read/seek/rename/unlink, directories, getdents, getcwd/chdir */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int cmp(const void *a, const void *b) { return strcmp(*(char **)a, *(char **)b); }

static void list(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) { printf("opendir %s: %s\n", dir, strerror(errno)); return; }
    char *names[64];
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 64)
        names[n++] = strdup(e->d_name);
    closedir(d);
    qsort(names, n, sizeof *names, cmp);
    printf("%s:", dir);
    for (int i = 0; i < n; i++) { printf(" %s", names[i]); free(names[i]); }
    printf("\n");
}

int main(void)
{
    char buf[4096];
    if (mkdir("fo_dir", 0755)) { printf("mkdir: %s\n", strerror(errno)); return 1; }
    printf("mkdir again: %s\n", mkdir("fo_dir", 0755) ? strerror(errno) : "ok");
    int fd = open("fo_dir/a.txt", O_CREAT | O_RDWR | O_TRUNC, 0644);
    if (fd < 0) { printf("open: %s\n", strerror(errno)); return 1; }
    for (int i = 0; i < 1000; i++) {
        int k = snprintf(buf, sizeof buf, "record %04d\n", i);
        if (write(fd, buf, k) != k) { printf("short write\n"); return 1; }
    }
    struct stat st;
    fstat(fd, &st);
    printf("size after writes %lld regular %d\n", (long long)st.st_size, S_ISREG(st.st_mode));
    printf("lseek(500) = %lld\n", (long long)lseek(fd, 500 * 12, SEEK_SET));
    ssize_t n = read(fd, buf, 24);
    printf("read %zd: %.23s\n", n, buf);
    lseek(fd, -12, SEEK_END);
    n = read(fd, buf, 100);
    printf("tail %zd: %.11s\n", n, buf);
    printf("read at EOF: %zd\n", read(fd, buf, 10));
    lseek(fd, 20000, SEEK_SET);
    write(fd, "X", 1);
    fstat(fd, &st);
    printf("sparse size %lld\n", (long long)st.st_size);
    lseek(fd, 12005, SEEK_SET);
    read(fd, buf, 4);
    printf("hole reads zeros: %s\n", !buf[0] && !buf[1] && !buf[2] && !buf[3] ? "yes" : "no");
    close(fd);

    /* stdio on a new file, then append */
    FILE *f = fopen("fo_dir/b.txt", "w");
    fprintf(f, "first\n");
    fclose(f);
    f = fopen("fo_dir/b.txt", "a");
    fprintf(f, "second\n");
    fclose(f);
    f = fopen("fo_dir/b.txt", "r");
    while (fgets(buf, sizeof buf, f)) printf("b.txt: %s", buf);
    fclose(f);

    mkdir("fo_dir/sub", 0755);
    list("fo_dir");
    printf("rename: %d\n", rename("fo_dir/b.txt", "fo_dir/sub/c.txt"));
    list("fo_dir");
    list("fo_dir/sub");
    printf("open old name: %s\n", open("fo_dir/b.txt", O_RDONLY) < 0 ? strerror(errno) : "exists?");
    printf("rmdir non-empty: %s\n", rmdir("fo_dir/sub") ? strerror(errno) : "ok?");
    printf("unlink: %d\n", unlink("fo_dir/sub/c.txt"));
    printf("unlink again: %s\n", unlink("fo_dir/sub/c.txt") ? strerror(errno) : "ok?");
    printf("rmdir: %d\n", rmdir("fo_dir/sub"));

    /* cwd */
    char cwd[256];
    getcwd(cwd, sizeof cwd);
    size_t base = strlen(cwd);
    chdir("fo_dir");
    getcwd(buf, sizeof buf);
    printf("cwd after chdir ends in: %s (longer %s)\n", strrchr(buf, '/') + 1, strlen(buf) > base ? "yes" : "no");
    fd = open("a.txt", O_RDONLY);
    printf("relative open: %s\n", fd >= 0 ? "ok" : strerror(errno));
    close(fd);
    chdir("..");
    getcwd(buf, sizeof buf);
    printf("back: %s\n", strcmp(buf, cwd) ? "no" : "yes");

    /* unlinked-but-open file stays readable */
    fd = open("fo_dir/a.txt", O_RDONLY);
    unlink("fo_dir/a.txt");
    n = read(fd, buf, 11);
    printf("read after unlink: %zd %.11s\n", n, buf);
    close(fd);
    int dfd = open("fo_dir", O_RDONLY | O_DIRECTORY);
    printf("stat dir via fd: %s\n", fstat(dfd, &st) == 0 && S_ISDIR(st.st_mode) ? "dir" : "?");
    close(dfd);
    printf("final rmdir: %d\n", rmdir("fo_dir"));
    printf("stat gone: %s\n", stat("fo_dir", &st) ? strerror(errno) : "exists?");
    return 0;
}
