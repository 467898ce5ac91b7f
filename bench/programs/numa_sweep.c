/*
 * numa_sweep.c -- a parallel program for Disco's NUMA policy (bench/numa_fig8.py).
 *
 *   numa_sweep THREADS KB_PER_THREAD PASSES
 *
 * The main thread allocates one block of records per thread and fills a table all threads
 * read; every thread fills its own block, then, for PASSES passes, updates one field of each of
 * its records against the table (reads it on even passes, adds to it on odd ones) and meets the
 * others at a barrier: a memory-bound sweep, as the paper's engineering workload was.  Under Disco all of it starts on
 * the node of the VM's memory: the blocks should migrate to their threads' nodes, the table
 * (and the program text) be replicated.  Prints a checksum that does not depend on placement.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#define TABLE_WORDS (32 * 1024)            /* 128 KB read by every thread */
#define FIELDS 32                          /* a record: 32 words, one 128-byte line */

static uint32_t *table;
static uint32_t **blocks;
static size_t words;
static int passes;
static pthread_barrier_t barrier;
static uint32_t sums[64];

static void *worker(void *arg)
{
    int k = (int)(intptr_t)arg;
    uint32_t *b = blocks[k];
    uint32_t acc = 0;
    for (size_t i = 0; i < words; i++)
        b[i] = (uint32_t)(k * 1000003u + i * 7u);
    pthread_barrier_wait(&barrier);
    for (int p = 0; p < passes; p++) {
        size_t f = (size_t)(p * 5) & (FIELDS - 1);          /* this pass's field of every record */
        if (p & 1) {
            for (size_t r = 0; r < words; r += FIELDS)
                b[r + f] += table[(r / FIELDS * 7 + (size_t)p) & (TABLE_WORDS - 1)];
        } else {
            for (size_t r = 0; r < words; r += FIELDS)
                acc += b[r + f] ^ table[(r / FIELDS * 13 + (size_t)p) & (TABLE_WORDS - 1)];
        }
        pthread_barrier_wait(&barrier);
    }
    sums[k] = acc;
    return NULL;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 8;
    size_t kb = argc > 2 ? (size_t)atol(argv[2]) : 1024;
    passes = argc > 3 ? atoi(argv[3]) : 8;
    if (threads < 1 || threads > 64 || kb < 4 || passes < 1) {
        fprintf(stderr, "usage: numa_sweep THREADS KB_PER_THREAD PASSES\n");
        return 2;
    }
    words = kb * 1024 / 4;
    table = malloc(TABLE_WORDS * 4);
    blocks = malloc(sizeof(uint32_t *) * (size_t)threads);
    if (!table || !blocks)
        return 1;
    for (uint32_t i = 0; i < TABLE_WORDS; i++)
        table[i] = i * 2654435761u;
    for (int k = 0; k < threads; k++) {
        blocks[k] = malloc(words * 4);
        if (!blocks[k])
            return 1;
    }
    pthread_barrier_init(&barrier, NULL, (unsigned)threads);
    pthread_t tid[64];
    for (int k = 1; k < threads; k++)
        pthread_create(&tid[k], NULL, worker, (void *)(intptr_t)k);
    worker((void *)0);
    for (int k = 1; k < threads; k++)
        pthread_join(tid[k], NULL);
    uint32_t sum = 0;
    for (int k = 0; k < threads; k++)
        sum = sum * 31u + sums[k];
    printf("numa_sweep: %d threads, %zu KB each, %d passes, checksum %08x\n", threads, kb, passes, sum);
    return 0;
}
