/* ckpt_read.c -- reads a host file in small pieces with work between them, and marks a
 * region of interest halfway: a process-mode checkpoint taken there holds an open host
 * file at an offset (tests/session/test_checkpoints.py).  Prints a checksum of the file. */
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "roi.h"

int main(int argc, char **argv)
{
    if (argc < 2)
        return 2;
    int fd = open(argv[1], O_RDONLY);
    if (fd < 0)
        return 3;
    unsigned char buf[97];
    unsigned h = 2166136261u;
    long total = 0, n;
    int marked = 0;
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        for (long i = 0; i < n; i++)
            for (int k = 0; k < 50; k++)      /* some work per byte, so the file lasts a while */
                h = (h ^ (buf[i] + k)) * 16777619u;
        total += n;
        if (!marked && total >= 4096) {
            roi_begin("rest");
            marked = 1;
        }
    }
    roi_end("rest");
    close(fd);
    printf("read %ld bytes, hash %08x\n", total, h);
    return 0;
}
