/* Writes files that must be on the disk after the machine halts; reads
 * back what a previous boot wrote. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    char buf[256];
    int fd = open("/out/counter", O_RDONLY);
    int boots = 0;
    if (fd >= 0) {
        ssize_t n = read(fd, buf, sizeof buf - 1);
        buf[n > 0 ? n : 0] = 0;
        sscanf(buf, "%d", &boots);
        close(fd);
    }
    printf("previous boots: %d\n", boots);
    mkdir("/out", 0755);
    fd = open("/out/counter.tmp", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    int n = snprintf(buf, sizeof buf, "%d\n", boots + 1);
    write(fd, buf, n);
    fsync(fd);
    close(fd);
    rename("/out/counter.tmp", "/out/counter");
    FILE *f = fopen("/out/log.txt", "a");
    fprintf(f, "boot %d argv1 %s\n", boots + 1, argc > 1 ? argv[1] : "-");
    fclose(f);
    static char big[300000];
    for (int i = 0; i < (int)sizeof big; i++) big[i] = 'a' + i % 26;
    fd = open("/out/big.bin", O_CREAT | O_WRONLY | O_TRUNC, 0644);
    printf("big write %zd\n", write(fd, big, sizeof big));
    close(fd);
    DIR *d = opendir("/");
    struct dirent *e;
    int dev = 0;
    while ((e = readdir(d))) dev |= !strcmp(e->d_name, "dev");
    closedir(d);
    struct stat st;
    printf("/dev listed %d, /dev/null is a char device %d\n", dev,
           stat("/dev/null", &st) == 0 && S_ISCHR(st.st_mode));
    return 0;
}
