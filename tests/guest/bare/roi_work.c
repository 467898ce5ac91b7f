/* roi_work.c -- a long set-up, then a measured region, then a short tail: the
 * test program of regions of interest, fast-forward and checkpoints.  Built
 * bare (freestanding, writes the ROI device) or as a Linux user program
 * (makes the roi system call).  argv[1] (Linux) or SETUP scales the set-up. */
#include "roi.h"
#if defined(__linux__)
#include <stdio.h>
#include <stdlib.h>
#else
#include "bare.h"
#endif

#ifndef SETUP
#define SETUP 40
#endif
#define WORDS (64u << 10)              /* 256 KB: larger than the L1s, fits the L2 */
static unsigned buf[WORDS];

static unsigned setup(unsigned rounds)
{
    unsigned x = 12345, sum = 0;
    for (unsigned r = 0; r < rounds; r++)
        for (unsigned i = 0; i < WORDS; i += 16) {
            x = x * 1103515245u + 12345u;
            buf[i] = x;
            sum += buf[(i * 7) % WORDS];
        }
    return sum;
}

static unsigned work(void)
{
    unsigned sum = 0;
    for (unsigned pass = 0; pass < 4; pass++)
        for (unsigned i = 0; i < WORDS; i++) {
            buf[i] += i ^ pass;
            sum += buf[(i * 33) % WORDS];
        }
    return sum;
}

int main(int argc, char **argv)
{
    unsigned rounds = SETUP;
#if defined(__linux__)
    if (argc > 1) rounds = (unsigned)atoi(argv[1]);
#else
    (void)argc; (void)argv;
#endif
    unsigned s = setup(rounds);
    roi_begin("work");
    unsigned w = work();
    roi_end("work");
    roi_mark("tail");
    s += setup(1);
    roi_end(0);
    printf("roi_work %x %x\n", s, w);
    return 0;
}
