/* roi.c -- /sbin/roi begin|end|mark [NAME]: mark a region of interest from a
 * shell (flashvm/guest/include/roi.h; the counters go to the result file). */
#include <stdio.h>
#include <string.h>
#include "roi.h"

int main(int argc, char **argv)
{
    const char *name = argc > 2 ? argv[2] : "";
    if (argc < 2 || argc > 3) {
        fprintf(stderr, "usage: roi begin|end|mark [NAME]\n");
        return 2;
    }
    if (!strcmp(argv[1], "begin")) roi_begin(name);
    else if (!strcmp(argv[1], "end")) roi_end(name);
    else if (!strcmp(argv[1], "mark")) roi_mark(name);
    else {
        fprintf(stderr, "roi: %s: use begin, end or mark\n", argv[1]);
        return 2;
    }
    return 0;
}
