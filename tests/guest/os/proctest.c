/* the guest OS's /proc: self/exe, self/maps, self/fd, cpuinfo, meminfo,
 * and /dev/urandom's bytes (the same at every boot).  Output written by
 * hand: qemu-user shows the host's /proc. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void link_of(const char *p)
{
    char buf[256];
    ssize_t n = readlink(p, buf, sizeof buf);
    printf("%s -> %.*s\n", p, n < 0 ? 2 : (int)n, n < 0 ? "??" : buf);
}

/* lines starting with `prefix` (or, if it starts with a blank, holding it) */
static int count_lines(const char *p, const char *prefix, char *first, size_t cap)
{
    FILE *f = fopen(p, "r");
    if (!f) { printf("cannot open %s\n", p); return -1; }
    char line[256];
    int n = 0;
    while (fgets(line, sizeof line, f))
        if ((prefix[0] == ' ' ? strstr(line, prefix) != NULL : !strncmp(line, prefix, strlen(prefix))) &&
            n++ == 0 && first)
            snprintf(first, cap, "%s", line);
    fclose(f);
    return n;
}

int main(void)
{
    link_of("/proc/self/exe");
    link_of("/proc/self/fd/1");
    int fd = open("/bin/proctest", O_RDONLY);
    char p[32];
    snprintf(p, sizeof p, "/proc/self/fd/%d", fd);
    link_of(p);
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) n += e->d_name[0] != '.';
    closedir(d);
    printf("open fds listed: %d\n", n);     /* 0, 1, 2, fd, the directory's own */
    close(fd);
    char first[256] = "";
    int k = count_lines("/proc/self/maps", " /bin/proctest\n", first, sizeof first);
    printf("maps: mappings of the program: %d, first: %.30s\n", k, first);
    printf("maps: [stack] lines: %d\n", count_lines("/proc/self/maps", " [stack]\n", NULL, 0));
    printf("cpuinfo: processors: %d\n", count_lines("/proc/cpuinfo", "processor", NULL, 0));
    count_lines("/proc/cpuinfo", "cpu model", first, sizeof first);
    printf("cpuinfo: %s", first);
    count_lines("/proc/meminfo", "MemTotal:", first, sizeof first);
    printf("meminfo: %s", first);
    printf("meminfo: MemFree lines: %d\n", count_lines("/proc/meminfo", "MemFree:", NULL, 0));
    unsigned char r[8];
    fd = open("/dev/urandom", O_RDONLY);
    read(fd, r, sizeof r);
    close(fd);
    printf("urandom:");
    for (int i = 0; i < 8; i++) printf(" %02x", r[i]);
    printf("\n");
    return 0;
}
