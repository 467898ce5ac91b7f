/*
 * smp_numa.c -- a freestanding SMP program for the FLASH machine.
 *
 * Every CPU:
 *   1. increments a shared counter under an LL/SC spinlock, and another one
 *      with an LL/SC atomic add (contention on two lines);
 *   2. meets the others at a sense-reversing barrier;
 *   3. fills its slice of an array, then sums it PASSES times (the slice is
 *      larger than the L2 the test configures, so the sums stream from memory).
 * With -DSPREAD=1 slice k lives in node k's memory (at k * node_bytes + 16 MB);
 * otherwise every slice lives on node 0.  CPU 0 checks every result and
 * halts with 0 when all are right.  The host compares the remote-miss
 * counters of the two layouts.
 */
#include "bare.h"

#ifndef SPREAD
#define SPREAD 0
#endif
#define MAXCPU 16
#define SLICE_WORDS (64 * 1024)       /* 256 KB per CPU: larger than the test's L2 */
#define LOCK_ROUNDS 200
#ifndef PASSES
#define PASSES 2
#endif
#define STACK_BYTES 16384

static volatile uint32_t lock;
static volatile uint32_t locked_counter;
static volatile uint32_t atomic_counter;
static volatile uint32_t barrier_count;
static volatile uint32_t barrier_sense;
static volatile uint32_t sums[MAXCPU][PASSES];
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

static uint32_t *slice(int k)
{
    uint32_t node_bytes = *(volatile uint32_t *)(BOOTINFO_BASE + FLASH_BI_NODE_BYTES);
    uint32_t pa = SPREAD ? k * node_bytes + (16u << 20) : (16u << 20) + k * SLICE_WORDS * 4;
    return (uint32_t *)(uintptr_t)KWIN(pa);
}

static void work(int cpu)
{
    uint32_t sense = 0;
    for (int i = 0; i < LOCK_ROUNDS; i++) {
        spin_lock(&lock);
        locked_counter = locked_counter + 1;
        spin_unlock(&lock);
        atomic_add(&atomic_counter, 2);
    }
    barrier(&sense);
    uint32_t *mine = slice(cpu);
    for (int i = 0; i < SLICE_WORDS; i++)
        mine[i] = (uint32_t)(cpu * 1000003u + i * 7u);
    barrier(&sense);
    for (int p = 0; p < PASSES; p++) {
        uint32_t s = 0;
        for (int i = 0; i < SLICE_WORDS; i++)
            s += mine[i];
        sums[cpu][p] = s;
    }
    barrier(&sense);
    atomic_add(&done_count, 1);
}

static void secondary(int cpu)
{
    work(cpu);
}

int main(void)
{
    ncpu = bare_ncpu();
    if (ncpu > MAXCPU) {
        printf("too many CPUs: %d\n", ncpu);
        return 2;
    }
    for (int c = 1; c < ncpu; c++)
        bare_start_cpu(c, secondary, stacks[c] + STACK_BYTES);
    work(0);
    while (done_count != (uint32_t)ncpu)
        ;
    int bad = 0;
    if (locked_counter != (uint32_t)(ncpu * LOCK_ROUNDS)) {
        printf("locked counter %u, expected %u\n", locked_counter, ncpu * LOCK_ROUNDS);
        bad++;
    }
    if (atomic_counter != (uint32_t)(2 * ncpu * LOCK_ROUNDS)) {
        printf("atomic counter %u, expected %u\n", atomic_counter, 2 * ncpu * LOCK_ROUNDS);
        bad++;
    }
    for (int c = 0; c < ncpu; c++) {
        int k = c;
        uint32_t want = 0;
        for (int i = 0; i < SLICE_WORDS; i++)
            want += (uint32_t)(k * 1000003u + i * 7u);
        for (int p = 0; p < PASSES; p++)
            if (sums[c][p] != want) {
                printf("cpu %d pass %d: sum %08x, expected %08x\n", c, p, sums[c][p], want);
                bad++;
            }
    }
    printf("smp_numa: %d cpus, spread=%d, counters %u %u, %s\n", ncpu, SPREAD, locked_counter,
           atomic_counter, bad ? "FAILED" : "ok");
    return bad ? 1 : 0;
}
