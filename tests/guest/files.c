/* files.c -- file I/O, arguments and environment.
 *
 * usage: files PATH [args...]
 * Prints argc and every argv[i] (i >= 1), the value of the environment
 * variable FLASHVM_GREETING (or "(unset)"), then reads PATH twice -- with
 * stdio (fopen/fread in odd-sized chunks) and with open/fstat/lseek/read --
 * and prints its size, an FNV-1a 32-bit checksum of its bytes, its first line
 * and the last 16 bytes in hex.  Also checks that opening a missing file fails
 * with ENOENT.
 * Exit status: 0, 2 without a path, 3 if the file cannot be read.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    printf("argc %d\n", argc);
    for (int i = 1; i < argc; i++)
        printf("argv[%d] = \"%s\"\n", i, argv[i]);
    const char *g = getenv("FLASHVM_GREETING");
    printf("FLASHVM_GREETING = %s\n", g ? g : "(unset)");
    if (argc < 2) {
        fputs("usage: files PATH\n", stderr);
        return 2;
    }

    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        printf("fopen failed: %s\n", strerror(errno));
        return 3;
    }
    uint32_t h = 2166136261u;
    size_t total = 0, chunk = 1;
    unsigned char buf[4096];
    char first[128] = "";
    size_t n;
    while ((n = fread(buf, 1, chunk, f)) > 0) {
        for (size_t i = 0; i < n; i++) {
            if (total + i < sizeof first - 1 && !strchr(first, '\n')) {
                size_t l = strlen(first);
                first[l] = (char)buf[i];
                first[l + 1] = 0;
            }
            h ^= buf[i];
            h *= 16777619u;
        }
        total += n;
        chunk = chunk * 3 % 4093 + 1;
    }
    fclose(f);
    char *nl = strchr(first, '\n');
    if (nl)
        *nl = 0;
    printf("stdio: size %lu fnv1a %08x\n", (unsigned long)total, h);
    printf("first line: %s\n", first);

    int fd = open(argv[1], O_RDONLY);
    if (fd < 0) {
        printf("open failed: %s\n", strerror(errno));
        return 3;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        printf("fstat failed: %s\n", strerror(errno));
        return 3;
    }
    off_t end = lseek(fd, 0, SEEK_END);
    printf("fstat size %lld, lseek end %lld, regular %d\n", (long long)st.st_size,
           (long long)end, S_ISREG(st.st_mode) ? 1 : 0);
    off_t tail = end > 16 ? end - 16 : 0;
    lseek(fd, tail, SEEK_SET);
    ssize_t r = read(fd, buf, 16);
    printf("last %ld bytes:", (long)r);
    for (ssize_t i = 0; i < r; i++)
        printf(" %02x", buf[i]);
    putchar('\n');
    lseek(fd, 0, SEEK_SET);
    uint32_t h2 = 2166136261u;
    while ((r = read(fd, buf, sizeof buf)) > 0)
        for (ssize_t i = 0; i < r; i++) {
            h2 ^= buf[i];
            h2 *= 16777619u;
        }
    close(fd);
    printf("read(2): fnv1a %08x %s\n", h2, h2 == h ? "matches" : "DIFFERS");

    errno = 0;
    int bad = open("/nonexistent/flashvm/file", O_RDONLY);
    printf("missing file: fd %d errno %s\n", bad, errno == ENOENT ? "ENOENT" : strerror(errno));
    return 0;
}
