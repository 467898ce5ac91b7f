/*
 * numa_bare.c -- a freestanding SMP program whose pages Disco's NUMA policy moves while it runs.
 *
 * CPU 0 fills a shared table and one private slice per CPU (all in one place: under Disco, on
 * the node of the VM's first CPU).  Then, for ROUNDS rounds, every CPU sums its own slice (a page
 * mostly missed by one node: it should migrate there) and the whole table (read by every node: it
 * should be replicated); between rounds CPU 0 adds the round number to a few table words (a write
 * to replicated pages: the copies collapse) and every CPU checks that its next sums see it.
 * CPU 0 checks everything and halts with 0 when all is right.
 */
#include "bare.h"

#define MAXCPU 16
#ifndef SLICE_WORDS
#define SLICE_WORDS (384 * 1024)      /* 1.5 MB per CPU: more than the L2 */
#endif
#define TABLE_WORDS (64 * 1024)       /* 256 KB, read by all */
#ifndef ROUNDS
#define ROUNDS 4
#endif
#define STACK_BYTES 16384
#define TABLE_PA (8u << 20)
#define SLICE_PA (TABLE_PA + TABLE_WORDS * 4)

static volatile uint32_t barrier_count;
static volatile uint32_t barrier_sense;
static volatile uint32_t slice_sums[MAXCPU][ROUNDS];
static volatile uint32_t table_sums[MAXCPU][ROUNDS];
static volatile uint32_t want_table[ROUNDS + 1];
static volatile uint32_t done_count;
static char stacks[MAXCPU][STACK_BYTES] __attribute__((aligned(16)));
static int ncpu;

static void barrier(uint32_t *local_sense)
{
    uint32_t s = !*local_sense;
    *local_sense = s;
    if (atomic_add(&barrier_count, 1) == (uint32_t)ncpu) {
        barrier_count = 0;
        barrier_sense = s;
    } else {
        while (barrier_sense != s)
            ;
    }
}

static volatile uint32_t *table(void) { return (volatile uint32_t *)(uintptr_t)KWIN(TABLE_PA); }

static volatile uint32_t *slice(int k)
{
    return (volatile uint32_t *)(uintptr_t)KWIN(SLICE_PA + (uint32_t)k * SLICE_WORDS * 4);
}

static uint32_t table_sum(void)
{
    volatile uint32_t *t = table();
    uint32_t s = 0;
    for (int i = 0; i < TABLE_WORDS; i++)
        s += t[i];
    return s;
}

static void work(int cpu)
{
    uint32_t sense = 0;
    volatile uint32_t *mine = slice(cpu);
    barrier(&sense);
    for (int r = 0; r < ROUNDS; r++) {
        uint32_t s = 0;
        for (int i = 0; i < SLICE_WORDS; i++)
            s += mine[i];
        slice_sums[cpu][r] = s;
        table_sums[cpu][r] = table_sum();
        barrier(&sense);
        if (cpu == 0) {                         /* a write to the (replicated) table */
            volatile uint32_t *t = table();
            for (int j = 0; j < TABLE_WORDS; j += 4096)
                t[j + r] += (uint32_t)r + 1;
            want_table[r + 1] = table_sum();
        }
        barrier(&sense);
    }
    atomic_add(&done_count, 1);
}

static void secondary(int cpu)
{
    work(cpu);
}

int main(void)
{
    ncpu = bare_ncpu();
    if (ncpu > MAXCPU)
        return 2;
    volatile uint32_t *t = table();
    for (int i = 0; i < TABLE_WORDS; i++)
        t[i] = (uint32_t)i * 2654435761u;
    for (int c = 0; c < ncpu; c++) {
        volatile uint32_t *s = slice(c);
        for (int i = 0; i < SLICE_WORDS; i++)
            s[i] = (uint32_t)(c * 1000003u + i * 7u);
    }
    want_table[0] = table_sum();
    for (int c = 1; c < ncpu; c++)
        bare_start_cpu(c, secondary, stacks[c] + STACK_BYTES);
    work(0);
    while (done_count != (uint32_t)ncpu)
        ;
    int bad = 0;
    for (int c = 0; c < ncpu; c++) {
        uint32_t want = 0;
        for (int i = 0; i < SLICE_WORDS; i++)
            want += (uint32_t)(c * 1000003u + i * 7u);
        for (int r = 0; r < ROUNDS; r++) {
            if (slice_sums[c][r] != want) {
                printf("cpu %d round %d: slice sum %08x, expected %08x\n", c, r, slice_sums[c][r], want);
                bad++;
            }
            if (table_sums[c][r] != want_table[r]) {
                printf("cpu %d round %d: table sum %08x, expected %08x\n", c, r, table_sums[c][r], want_table[r]);
                bad++;
            }
        }
    }
    printf("numa_bare: %d cpus, %d rounds, %s\n", ncpu, ROUNDS, bad ? "FAILED" : "ok");
    return bad ? 1 : 0;
}
