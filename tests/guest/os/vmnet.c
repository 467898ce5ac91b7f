/* Two VMs on Disco's virtual subnet: "vmnet ping" (VM 0, MAC ..:01) sends a
 * frame to VM 1 (MAC ..:02) and waits for the reply; "vmnet pong" (VM 1)
 * waits for the frame and answers with its payload reversed. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    int ping = argc > 1 && !strcmp(argv[1], "ping");
    int fd = open("/dev/net0", O_RDWR);
    if (fd < 0) { perror("open /dev/net0"); return 1; }
    unsigned char mac[6], peer[6] = {2, 0, 0, 0, 0, 0}, frame[256], back[256];
    if (ioctl(fd, 0x8927, mac)) { perror("ioctl"); return 1; }
    peer[5] = ping ? 2 : 1;
    if (ping) {
        memcpy(frame, peer, 6);
        memcpy(frame + 6, mac, 6);
        strcpy((char *)frame + 12, "hello from vm0");
        printf("sent %zd\n", write(fd, frame, 12 + 15));
        ssize_t n = read(fd, back, sizeof back);
        printf("reply %zd from %02x: %s\n", n, back[11], (char *)back + 12);
    } else {
        ssize_t n = read(fd, back, sizeof back);
        printf("got %zd from %02x: %s\n", n, back[11], (char *)back + 12);
        int len = (int)strlen((char *)back + 12);
        memcpy(frame, back + 6, 6);
        memcpy(frame + 6, mac, 6);
        for (int i = 0; i < len; i++) frame[12 + i] = back[12 + len - 1 - i];
        frame[12 + len] = 0;
        printf("answered %zd\n", write(fd, frame, 12 + len + 1));
    }
    return 0;
}
