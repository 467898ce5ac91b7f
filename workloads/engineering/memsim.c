/* memsim.c -- a memory-system simulator, the machine-simulation half of the flashvm
 * "engineering" workload.
 *
 * usage: memsim CPUS REFS [SEED]      (CPUS 1..16 simulated processors)
 *
 * It simulates CPUS processors, each with a direct-mapped 16 KB L1 and a
 * 4-way 256 KB L2 (64-byte lines, LRU), kept coherent by a full-map directory
 * (MSI, one entry per line of a 64 MB simulated memory spread line by line over
 * the processors' nodes), driven by a synthetic multiprocessor trace: each
 * processor walks its private data with strides, reads a shared table, updates
 * migratory shared records and touches random lines, 70% loads and 30% stores,
 * the processors taking turns one reference each.
 *
 * Every line carries a version number: a store makes a new one, and every load
 * must see the newest (a stale copy is a coherence bug).  The self-check:
 *   - a scripted known-answer test of the protocol before the run (misses,
 *     upgrades, interventions, invalidations and an LRU eviction, counted);
 *   - every 65536 references and at the end, the directory against the caches:
 *     each cached copy is recorded in its directory entry with the right state,
 *     and the directory records no more copies than the caches hold;
 *   - every load's version.
 * It prints the counters and their FNV-1a checksum, then "memsim ok"; on a
 * failed check, what failed, exit status 1.  Exit status 2 on bad arguments.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXP 16
#define LINE_SHIFT 6
#define MEM_LINES (1u << 20)          /* 64 MB of simulated memory */
#define L1_SETS 256                   /* 16 KB direct mapped */
#define L2_SETS 1024                  /* 256 KB, 4 ways */
#define L2_WAYS 4
#define CHECK_EVERY 65536

enum { INVALID, SHARED, MODIFIED };

typedef struct {
    uint32_t line;                    /* line number; valid when state != INVALID */
    uint32_t version;                 /* the data it holds */
    uint8_t state;
    uint8_t lru;                      /* 0 = most recently used */
} way;

typedef struct {
    uint32_t l1[L1_SETS];             /* line + 1 held in L1 (0: none); L1 is inside L2 */
    way l2[L2_SETS][L2_WAYS];
    uint32_t rng;
    uint32_t walk, stride, count;     /* its private-data walk */
} cpu;

/* counters, in one array so that they are checksummed together */
enum { REFS, LOADS, STORES, L1_HITS, L2_HITS, MISSES, REMOTE, UPGRADES, INTERVENTIONS, INVALIDATIONS,
       WRITEBACKS, EVICTIONS, LATENCY, NCOUNT };
static const char *count_name[NCOUNT] = {
    "refs", "loads", "stores", "L1 hits", "L2 hits", "misses", "remote misses", "upgrades",
    "interventions", "invalidations", "writebacks", "evictions", "latency cycles"};

static int ncpu;
static cpu *cpus;
static uint16_t *dir;                 /* bits 0..15: sharers; with state MODIFIED the one bit is the owner */
static uint8_t *dir_state;
static uint32_t *latest;              /* newest version of each line */
static uint32_t *memory;              /* the version memory holds */
static uint64_t count[NCOUNT];
static long dir_copies;               /* copies the directory records, kept as it changes */
static long checks;

static void fail(const char *what, uint32_t line, int p)
{
    printf("FAILED: %s (line %u, cpu %d, after %llu refs)\n", what, line, p,
           (unsigned long long)count[REFS]);
    exit(1);
}

static int popcount16(unsigned x)
{
    int n = 0;
    for (; x; x &= x - 1)
        n++;
    return n;
}

static way *find(cpu *c, uint32_t line)
{
    way *set = c->l2[line % L2_SETS];
    for (int w = 0; w < L2_WAYS; w++)
        if (set[w].state != INVALID && set[w].line == line)
            return &set[w];
    return NULL;
}

static void touch(cpu *c, way *x)     /* make x the set's most recently used way */
{
    way *set = c->l2[x->line % L2_SETS];
    for (int w = 0; w < L2_WAYS; w++)
        if (set[w].lru < x->lru)
            set[w].lru++;
    x->lru = 0;
}

static void drop(cpu *c, way *x)      /* a copy leaves the cache (L1 too: it is inside L2) */
{
    if (c->l1[x->line % L1_SETS] == x->line + 1)
        c->l1[x->line % L1_SETS] = 0;
    x->state = INVALID;
}

/* processor p's copy of `line` is taken away (an invalidation or a recall) */
static void invalidate(int p, uint32_t line)
{
    way *x = find(&cpus[p], line);
    if (!x)
        fail("directory names a copy the cache does not hold", line, p);
    if (x->state == MODIFIED) {
        memory[line] = x->version;
        count[WRITEBACKS]++;
    }
    drop(&cpus[p], x);
    count[INVALIDATIONS]++;
}

static void evict(int p, way *x)
{
    uint32_t line = x->line;
    if (x->state == MODIFIED) {
        memory[line] = x->version;
        count[WRITEBACKS]++;
        dir_state[line] = INVALID;
        dir[line] = 0;
    } else {
        dir[line] &= (uint16_t)~(1u << p);  /* the replacement hint keeps the directory exact */
        if (!dir[line])
            dir_state[line] = INVALID;
    }
    dir_copies--;
    drop(&cpus[p], x);
    count[EVICTIONS]++;
}

/* a free way of line's set in p's L2 (the least recently used one evicted) */
static way *victim(int p, uint32_t line)
{
    way *set = cpus[p].l2[line % L2_SETS], *v = &set[0];
    for (int w = 0; w < L2_WAYS; w++) {
        if (set[w].state == INVALID)
            return &set[w];
        if (set[w].lru > v->lru)
            v = &set[w];
    }
    evict(p, v);
    return v;
}

static void reference(int p, uint32_t line, int store)
{
    cpu *c = &cpus[p];
    count[REFS]++;
    count[store ? STORES : LOADS]++;
    way *x = NULL;
    if (c->l1[line % L1_SETS] == line + 1 && (x = find(c, line)) != NULL && (!store || x->state == MODIFIED)) {
        count[L1_HITS]++;
        count[LATENCY] += 1;
    } else if ((x = find(c, line)) != NULL && (!store || x->state == MODIFIED)) {
        count[L2_HITS]++;
        count[LATENCY] += 10;
    } else {
        int remote = (int)(line % (unsigned)ncpu) != p;
        count[LATENCY] += remote ? 360 : 120;
        if (x) {                                  /* a store to a shared copy: upgrade */
            count[UPGRADES]++;
        } else {
            count[MISSES]++;
            count[REMOTE] += remote;
        }
        unsigned others = dir[line] & ~(1u << p);
        if (dir_state[line] == MODIFIED) {        /* the owner gives it up or shares it */
            int owner = __builtin_ctz(others);
            count[INTERVENTIONS]++;
            way *o = find(&cpus[owner], line);
            if (!o || o->state != MODIFIED)
                fail("directory owner does not hold the line modified", line, owner);
            memory[line] = o->version;
            count[WRITEBACKS]++;
            if (store) {
                drop(&cpus[owner], o);
                dir[line] = 0;
                dir_copies--;
            } else {
                o->state = SHARED;
            }
        } else if (store) {
            for (int q = 0; q < ncpu; q++)
                if (others & (1u << q)) {
                    invalidate(q, line);
                    dir_copies--;
                }
            dir[line] &= (uint16_t)(1u << p);
        }
        if (!x) {
            x = victim(p, line);
            x->line = line;
            x->version = memory[line];
            x->lru = L2_WAYS;                     /* touch() below makes it the newest */
            dir_copies++;
        }
        x->state = store ? MODIFIED : SHARED;
        dir[line] |= (uint16_t)(1u << p);
        dir_state[line] = store ? MODIFIED : SHARED;
    }
    touch(c, x);
    c->l1[line % L1_SETS] = line + 1;
    if (store)
        x->version = latest[line] = latest[line] + 1;
    else if (x->version != latest[line])
        fail("a load saw a stale version", line, p);
}

/* the directory against the caches (see the top of the file) */
static void check_directory(void)
{
    long copies = 0;
    for (int p = 0; p < ncpu; p++)
        for (int s = 0; s < L2_SETS; s++)
            for (int w = 0; w < L2_WAYS; w++) {
                const way *x = &cpus[p].l2[s][w];
                if (x->state == INVALID)
                    continue;
                copies++;
                if (!(dir[x->line] & (1u << p)) || dir_state[x->line] != x->state)
                    fail("a cached copy the directory does not record", x->line, p);
                if (x->state == MODIFIED && popcount16(dir[x->line]) != 1)
                    fail("a modified line with other sharers", x->line, p);
            }
    if (copies != dir_copies)
        fail("the directory records copies no cache holds", 0, -1);
    checks++;
}

static void reset(int n)
{
    ncpu = n;
    memset(cpus, 0, sizeof *cpus * MAXP);
    memset(dir, 0, sizeof *dir * MEM_LINES);
    memset(dir_state, 0, MEM_LINES);
    memset(latest, 0, sizeof *latest * MEM_LINES);
    memset(memory, 0, sizeof *memory * MEM_LINES);
    memset(count, 0, sizeof count);
    dir_copies = 0;
}

/* a scripted run whose counts are known by hand */
static void known_answer(void)
{
    reset(2);
    uint32_t a = 2;                          /* home: cpu 0 */
    reference(0, a, 0);                      /* miss (local) */
    reference(1, a, 0);                      /* miss (remote), both share */
    reference(0, a, 0);                      /* L1 hit */
    reference(0, a, 1);                      /* upgrade: cpu 1's copy invalidated */
    reference(1, a, 0);                      /* miss: cpu 0 intervenes, writes back, both share */
    reference(1, a, 1);                      /* upgrade: cpu 0 invalidated */
    reference(0, a, 1);                      /* miss: cpu 1 intervenes and gives it up */
    for (uint32_t k = 1; k <= 4; k++)        /* four more lines in a's L2 set: a (LRU) is evicted */
        reference(0, a + k * L2_SETS, 0);
    reference(0, a + L2_SETS, 0);            /* L2 hit (L1 held the last line of that L1 set) */
    static const uint64_t want[NCOUNT] = {
        [REFS] = 12, [LOADS] = 9, [STORES] = 3, [L1_HITS] = 1, [L2_HITS] = 1, [MISSES] = 8, [REMOTE] = 2,
        [UPGRADES] = 2, [INTERVENTIONS] = 2, [INVALIDATIONS] = 2, [WRITEBACKS] = 3, [EVICTIONS] = 1,
        [LATENCY] = 1 + 10 + 120 * 7 + 360 * 3};
    check_directory();
    for (int i = 0; i < NCOUNT; i++)
        if (count[i] != want[i]) {
            printf("FAILED: known-answer test: %s %llu, expected %llu\n", count_name[i],
                   (unsigned long long)count[i], (unsigned long long)want[i]);
            exit(1);
        }
    if (dir_copies != 4 || memory[a] != 3 || latest[a] != 3)
        fail("known-answer test: final state", a, 0);
}

static uint32_t next(uint32_t *r) { return *r = *r * 1103515245u + 12345u; }

/* processor p's next reference of the synthetic trace */
static void step(int p)
{
    cpu *c = &cpus[p];
    uint32_t r = next(&c->rng) >> 8, kind = r % 100, line;
    int store = (next(&c->rng) >> 12) % 10 < 3;
    const uint32_t private_lines = 1u << 14;         /* 1 MB of private data each */
    if (kind < 60) {                                   /* private data: strided walks, 8 refs a line */
        if (++c->count % 4096 == 0) {
            c->walk = next(&c->rng) >> 10;
            c->stride = 1 + (next(&c->rng) >> 20) % 4;
        }
        if (c->count % 8 == 0)
            c->walk += c->stride;
        line = (uint32_t)p * private_lines + (c->walk + (r >> 7) % 3) % private_lines;
    } else if (kind < 85) {                            /* a shared table, read mostly */
        line = (1u << 18) + (r >> 7) % (1u << 12);
        store = store && (r & 7) == 0;
    } else if (kind < 97) {                            /* migratory shared records */
        line = (1u << 19) + (r >> 7) % 512;
    } else {                                           /* anywhere */
        line = (r >> 7) % MEM_LINES;
    }
    reference(p, line, store);
}

int main(int argc, char **argv)
{
    int n = argc > 1 ? atoi(argv[1]) : 4;
    long refs = argc > 2 ? atol(argv[2]) : 1000000;
    uint32_t seed = argc > 3 ? (uint32_t)strtoul(argv[3], NULL, 10) : 1;
    if (n < 1 || n > MAXP || refs < 1) {
        fprintf(stderr, "usage: memsim CPUS REFS [SEED]   (CPUS 1..%d)\n", MAXP);
        return 2;
    }
    cpus = malloc(sizeof *cpus * MAXP);
    dir = malloc(sizeof *dir * MEM_LINES);
    dir_state = malloc(MEM_LINES);
    latest = malloc(sizeof *latest * MEM_LINES);
    memory = malloc(sizeof *memory * MEM_LINES);
    if (!cpus || !dir || !dir_state || !latest || !memory) {
        fprintf(stderr, "out of memory\n");
        return 2;
    }
    known_answer();
    reset(n);
    for (int p = 0; p < n; p++)
        cpus[p].rng = seed * 7919u + (uint32_t)p * 104729u + 1;
    for (long i = 0; i < refs; i++) {
        step((int)(i % n));
        if ((i + 1) % CHECK_EVERY == 0)
            check_directory();
    }
    check_directory();

    uint32_t hash = 2166136261u;
    printf("memsim %d cpus, %ld refs, seed %u\n", n, refs, seed);
    for (int i = 0; i < NCOUNT; i++) {
        printf("%s %llu\n", count_name[i], (unsigned long long)count[i]);
        for (int b = 0; b < 8; b++)
            hash = (hash ^ (uint8_t)(count[i] >> (8 * b))) * 16777619u;
    }
    printf("directory checked %ld times\n", checks);
    printf("checksum %08x\nmemsim ok\n", hash);
    return 0;
}
