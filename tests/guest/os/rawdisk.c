/* Raw block device access: read what the host put on /dev/disk0, write a
 * pattern at an unaligned offset, read it back. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int main(void)
{
    int fd = open("/dev/disk0", O_RDWR);
    if (fd < 0) { perror("open /dev/disk0"); return 1; }
    struct stat st;
    fstat(fd, &st);
    off_t size = lseek(fd, 0, SEEK_END);
    printf("disk size %lld block device %d\n", (long long)size, S_ISBLK(st.st_mode));
    char buf[64];
    lseek(fd, 0, SEEK_SET);
    read(fd, buf, 16);
    printf("host wrote: %.16s\n", buf);
    char big[20000];
    for (int i = 0; i < (int)sizeof big; i++) big[i] = 'A' + i % 23;
    lseek(fd, 1000, SEEK_SET);
    printf("write %zd\n", write(fd, big, sizeof big));
    memset(big, 0, sizeof big);
    lseek(fd, 1000, SEEK_SET);
    printf("read %zd\n", read(fd, big, sizeof big));
    int ok = 1;
    for (int i = 0; i < (int)sizeof big; i++) ok &= big[i] == 'A' + i % 23;
    printf("pattern back: %s\n", ok ? "yes" : "no");
    lseek(fd, 512, SEEK_SET);
    write(fd, "guest was here", 14);
    close(fd);
    return 0;
}
