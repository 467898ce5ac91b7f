/* share_read FILE WRITE_AFTER REREAD_AFTER -- Disco's disk-cache tests
 * (tests/disco/test_disco_share.py): read FILE and print a checksum of it;
 * after WRITE_AFTER loop iterations (-1: never) write a line over its start;
 * after REREAD_AFTER more, read it again and print the checksum. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static unsigned checksum(const char *path)
{
    static char buf[4096];
    unsigned h = 2166136261u;
    int fd = open(path, O_RDONLY);
    if (fd < 0) { perror(path); exit(1); }
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0) break;
        for (ssize_t i = 0; i < n; i++) h = (h ^ (unsigned char)buf[i]) * 16777619u;
    }
    close(fd);
    return h;
}

static void spin(long n)
{
    for (volatile long i = 0; i < n; i++)
        ;
}

int main(int argc, char **argv)
{
    if (argc < 4) return 2;
    long write_after = atol(argv[2]), reread_after = atol(argv[3]);
    printf("first %08x\n", checksum(argv[1]));
    if (write_after >= 0) {
        spin(write_after);
        int fd = open(argv[1], O_WRONLY);
        static const char line[] = "written by this VM only\n";
        if (fd < 0 || write(fd, line, sizeof line - 1) != sizeof line - 1) { perror("write"); return 1; }
        close(fd);
        printf("wrote\n");
    }
    spin(reread_after);
    printf("again %08x\n", checksum(argv[1]));
    return 0;
}
