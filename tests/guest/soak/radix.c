/* SPLASH-shaped radix sort: N 32-bit keys (argv[2]), 8-bit digits, four
 * passes of three phases each, a barrier after each: every thread
 * (argv[1]) counts the digits of its block of keys, worker 0 turns the
 * counts into each thread's starting offsets (digit-major, then thread
 * order: a stable sort), every thread moves its keys to their places.
 * Checks that the output is sorted and holds the same keys (sum and xor). */
#include <stdint.h>
#include "soak.h"

#define DIGITS 256
static long n;
static uint32_t *keys, *tmp;
static long hist[MAXT][DIGITS];

static void *work(void *arg)
{
    long id = (long)arg, lo = part_lo(n, id), hi = part_hi(n, id);
    uint32_t *src = keys, *dst = tmp;
    for (int shift = 0; shift < 32; shift += 8) {
        long *h = hist[id];
        for (int d = 0; d < DIGITS; d++) h[d] = 0;
        for (long i = lo; i < hi; i++) h[src[i] >> shift & 0xff]++;
        sync_all();
        if (id == 0) {
            long at = 0;
            for (int d = 0; d < DIGITS; d++)
                for (int t = 0; t < nthreads; t++) {
                    long c = hist[t][d];
                    hist[t][d] = at;
                    at += c;
                }
        }
        sync_all();
        for (long i = lo; i < hi; i++) dst[h[src[i] >> shift & 0xff]++] = src[i];
        sync_all();
        uint32_t *s = src;
        src = dst, dst = s;
    }
    return NULL;          /* four passes: the sorted keys are back in keys[] */
}

int main(int argc, char **argv)
{
    args(argc, argv, &n, 4096);
    keys = malloc(n * sizeof *keys), tmp = malloc(n * sizeof *tmp);
    if (!keys || !tmp) return 3;
    uint32_t seed = 7, sum0 = 0, xor0 = 0;
    for (long i = 0; i < n; i++) {
        seed ^= seed << 13, seed ^= seed >> 17, seed ^= seed << 5;
        keys[i] = seed;
        sum0 += seed, xor0 ^= seed;
    }
    team(work);
    uint32_t sum = 0, xr = 0, h = 2166136261u;
    long unsorted = 0;
    for (long i = 0; i < n; i++) {
        sum += keys[i], xr ^= keys[i];
        h = (h ^ keys[i]) * 16777619u;
        unsorted += i > 0 && keys[i - 1] > keys[i];
    }
    int ok = !unsorted && sum == sum0 && xr == xor0;
    printf("radix n=%ld min %08x max %08x hash %08x %s\n", n, keys[0], keys[n - 1], h, ok ? "sorted" : "WRONG");
    return ok ? 0 : 1;
}
