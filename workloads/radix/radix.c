/* radix.c -- a parallel radix sort in the style of SPLASH-2's Radix, the flashvm
 * "radix" workload.
 *
 * usage: radix THREADS KEYS [RADIX_BITS]       (RADIX_BITS 1..16, default 10)
 *
 * KEYS integer keys in [0, 2^30) are made from their index by a hash (each
 * thread makes its own part, so a page is first touched by the thread that
 * sorts it) and sorted least significant digit first, one pass per RADIX_BITS
 * bits.  Each pass, as in SPLASH-2:
 *   1. every thread counts the digits of its part of the keys (its own histogram);
 *   2. barrier; every thread takes a range of digit values and, for each, the
 *      running sum over the threads' histograms (the rank of each thread's first
 *      key with that digit within the digit) and the range's total;
 *   3. barrier; every thread adds the totals of the ranges before its own, making
 *      the ranks global;
 *   4. barrier; every thread moves its keys to their ranks in the other array
 *      (the permutation); barrier.
 * The check: the output is in order, holds the same keys (the sum and the xor of
 * all keys are kept) and its FNV-1a checksum is printed; nothing printed depends
 * on the thread count.  Exit status 0, 1 when the check fails, 2 on bad
 * arguments or no memory.
 *
 * The threads use only pthread_create, pthread_join and the pthread_barrier_*
 * calls, so the same source builds against a library OS that offers a small
 * pthreads shim (SPLASHOS).
 *
 * The region of interest "radix" (roi.h) covers the threads' work, from the
 * first pthread_create to the last pthread_join: making the keys and the
 * passes, not the allocation or the check.
 */
#include "../../flashvm/guest/include/roi.h"   /* roi_begin/roi_end: the measured region (docs/results.md) */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define MAXT 64
#define KEY_BITS 30

static int nthreads, bits, passes;
static long nkeys;
static unsigned radix;
static uint32_t *keys, *other;        /* the keys, and where each pass moves them */
static unsigned *rank;                /* rank[t * radix + d]: thread t's next place for digit d */
static long range_total[MAXT];        /* keys in thread t's range of digits, this pass */
static uint64_t part_sum[MAXT], part_xor[MAXT];
static pthread_barrier_t barrier;

static uint32_t key_of(uint32_t i)    /* a well-mixed hash of the index */
{
    i ^= i >> 16;
    i *= 0x7feb352du;
    i ^= i >> 15;
    i *= 0x846ca68bu;
    i ^= i >> 16;
    return i & ((1u << KEY_BITS) - 1);
}

static long lo_of(long n, int t) { return n * t / nthreads; }

static void *sorter(void *arg)
{
    int id = (int)(long)arg;
    long lo = lo_of(nkeys, id), hi = lo_of(nkeys, id + 1);
    unsigned dlo = (unsigned)lo_of(radix, id), dhi = (unsigned)lo_of(radix, id + 1);
    unsigned *mine = rank + (size_t)id * radix;
    uint64_t sum = 0, x = 0;
    for (long i = lo; i < hi; i++) {
        uint32_t k = key_of((uint32_t)i);
        keys[i] = k;
        sum += k;
        x ^= k;
    }
    part_sum[id] = sum;
    part_xor[id] = x;

    uint32_t *src = keys, *dst = other;
    for (int pass = 0; pass < passes; pass++) {
        int shift = pass * bits;
        unsigned mask = radix - 1;
        for (unsigned d = 0; d < radix; d++)
            mine[d] = 0;
        for (long i = lo; i < hi; i++)
            mine[(src[i] >> shift) & mask]++;
        pthread_barrier_wait(&barrier);

        long total = 0;           /* this thread's digits: ranks within the range */
        for (unsigned d = dlo; d < dhi; d++)
            for (int t = 0; t < nthreads; t++) {
                unsigned *r = rank + (size_t)t * radix + d;
                unsigned n = *r;
                *r = (unsigned)total;
                total += n;
            }
        range_total[id] = total;
        pthread_barrier_wait(&barrier);

        long base = 0;            /* keys in the ranges of lower digits */
        for (int t = 0; t < id; t++)
            base += range_total[t];
        for (unsigned d = dlo; d < dhi; d++)
            for (int t = 0; t < nthreads; t++)
                rank[(size_t)t * radix + d] += (unsigned)base;
        pthread_barrier_wait(&barrier);

        for (long i = lo; i < hi; i++) {
            uint32_t k = src[i];
            dst[mine[(k >> shift) & mask]++] = k;
        }
        pthread_barrier_wait(&barrier);
        uint32_t *s = src;
        src = dst;
        dst = s;
    }
    return NULL;
}

int main(int argc, char **argv)
{
    nthreads = argc > 1 ? atoi(argv[1]) : 1;
    nkeys = argc > 2 ? atol(argv[2]) : 1L << 18;
    bits = argc > 3 ? atoi(argv[3]) : 10;
    if (nthreads < 1 || nthreads > MAXT || nkeys < 1 || nkeys > (1L << 28) || bits < 1 || bits > 16) {
        fprintf(stderr, "usage: radix THREADS KEYS [RADIX_BITS]  (1..%d threads, 1..2^28 keys, 1..16 bits)\n",
                MAXT);
        return 2;
    }
    radix = 1u << bits;
    passes = (KEY_BITS + bits - 1) / bits;
    keys = malloc(sizeof *keys * nkeys);
    other = malloc(sizeof *other * nkeys);
    rank = malloc(sizeof *rank * radix * nthreads);
    if (!keys || !other || !rank) {
        fprintf(stderr, "out of memory\n");
        return 2;
    }
    pthread_barrier_init(&barrier, NULL, nthreads);
    pthread_t tid[MAXT];
    roi_begin("radix");
    for (long t = 1; t < nthreads; t++)
        if (pthread_create(&tid[t], NULL, sorter, (void *)t)) {
            fprintf(stderr, "pthread_create failed\n");
            return 2;
        }
    sorter((void *)0);
    for (int t = 1; t < nthreads; t++)
        pthread_join(tid[t], NULL);
    roi_end("radix");

    const uint32_t *out = passes % 2 ? other : keys;
    uint64_t sum = 0, x = 0, want_sum = 0, want_xor = 0;
    uint32_t hash = 2166136261u;
    long disorder = 0;
    for (long i = 0; i < nkeys; i++) {
        uint32_t k = out[i];
        sum += k;
        x ^= k;
        if (i > 0 && out[i - 1] > k)
            disorder++;
        for (int b = 0; b < 4; b++)
            hash = (hash ^ ((k >> (8 * b)) & 0xff)) * 16777619u;
    }
    for (int t = 0; t < nthreads; t++) {
        want_sum += part_sum[t];
        want_xor ^= part_xor[t];
    }
    printf("radix %ld keys, radix %u, %d passes, threads %d\n", nkeys, radix, passes, nthreads);
    if (disorder || sum != want_sum || x != want_xor) {
        printf("FAILED: %ld keys out of order, sum %llu (want %llu), xor %llu (want %llu)\n", disorder,
               (unsigned long long)sum, (unsigned long long)want_sum, (unsigned long long)x,
               (unsigned long long)want_xor);
        return 1;
    }
    printf("sorted, same keys (sum %llu xor %llu)\n", (unsigned long long)sum, (unsigned long long)x);
    printf("checksum %08x\n", hash);
    return 0;
}
