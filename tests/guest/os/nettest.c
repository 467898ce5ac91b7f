/* The NIC through /dev/net0: a frame to our own MAC comes back (loopback),
 * a broadcast does not; /dev/magic reads counters. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(void)
{
    int fd = open("/dev/net0", O_RDWR);
    if (fd < 0) { perror("open /dev/net0"); return 1; }
    unsigned char mac[6];
    if (ioctl(fd, 0x8927, mac)) { perror("ioctl"); return 1; }
    printf("mac is set: %s\n", (mac[0] | mac[1] | mac[2] | mac[3] | mac[4] | mac[5]) ? "yes" : "no");
    unsigned char frame[1500], back[2000];
    for (int round = 0; round < 3; round++) {
        memcpy(frame, mac, 6);
        memcpy(frame + 6, mac, 6);
        int len = 100 + 500 * round;
        for (int i = 12; i < len; i++) frame[i] = (unsigned char)(i * 3 + round);
        printf("sent %zd\n", write(fd, frame, len));
        ssize_t n = read(fd, back, sizeof back);
        printf("received %zd, same %s\n", n, n == len && !memcmp(frame, back, len) ? "yes" : "no");
    }
    close(fd);
    fd = open("/dev/net0", O_RDWR | O_NONBLOCK);
    char b[64];
    printf("nothing pending: %s\n", read(fd, b, sizeof b) < 0 && errno == EAGAIN ? "EAGAIN" : "?");
    int mg = open("/dev/magic", O_RDONLY);
    unsigned counts[4];
    printf("magic readable: %s\n", mg >= 0 && pread(mg, counts, sizeof counts, 0) == sizeof counts ? "yes" : "no");
    return 0;
}
