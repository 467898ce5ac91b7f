/* qsort.c -- musl qsort (smoothsort) and bsearch on ints, strings and structs.
 * Data comes from a fixed LCG; the program verifies ordering itself and prints
 * checksums and a few elements.  Exit status: 0 (1 if a check fails).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint32_t seed = 12345;
static uint32_t lcg(void)
{
    seed = seed * 1103515245u + 12345u;
    return seed >> 1;
}

static int cmp_int(const void *a, const void *b)
{
    int x = *(const int *)a, y = *(const int *)b;
    return (x > y) - (x < y);
}

static int cmp_u64_desc(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x < y) - (x > y);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

struct rec {
    char name[12];
    int key;
    double weight;
    uint16_t id;
};

static int cmp_rec(const void *a, const void *b)
{
    const struct rec *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    if (x->weight != y->weight)
        return x->weight < y->weight ? -1 : 1;
    return strcmp(x->name, y->name) ? strcmp(x->name, y->name) : (int)x->id - (int)y->id;
}

static uint32_t fnv(const void *p, size_t n, uint32_t h)
{
    const unsigned char *c = p;
    while (n--) {
        h ^= *c++;
        h *= 16777619u;
    }
    return h;
}

int main(void)
{
    int fail = 0;
    enum { N = 6000, NS = 1500, NR = 2000 };

    static int a[N];
    for (int i = 0; i < N; i++)
        a[i] = (int)(lcg() % 100000) - 50000;
    qsort(a, N, sizeof a[0], cmp_int);
    for (int i = 1; i < N; i++)
        if (a[i - 1] > a[i])
            fail = 1;
    printf("ints: min %d max %d median %d hash %08x\n", a[0], a[N - 1], a[N / 2],
           fnv(a, sizeof a, 2166136261u));
    int found = 0;
    for (int k = -50000; k < 50000; k += 97)
        found += bsearch(&k, a, N, sizeof a[0], cmp_int) != NULL;
    printf("bsearch hits %d\n", found);

    /* already sorted, reversed and constant inputs */
    for (int i = 0; i < N; i++)
        a[i] = N - i;
    qsort(a, N, sizeof a[0], cmp_int);
    printf("reversed: %d %d %d\n", a[0], a[1], a[N - 1]);
    qsort(a, N, sizeof a[0], cmp_int);
    for (int i = 0; i < N; i++)
        a[i] = 7;
    qsort(a, N, sizeof a[0], cmp_int);
    printf("constant: %d\n", a[N / 3]);

    static uint64_t w[N];
    for (int i = 0; i < N; i++)
        w[i] = (uint64_t)lcg() << 32 | lcg();
    qsort(w, N, sizeof w[0], cmp_u64_desc);
    for (int i = 1; i < N; i++)
        if (w[i - 1] < w[i])
            fail = 1;
    printf("u64 desc: first %016llx last %016llx hash %08x\n", (unsigned long long)w[0],
           (unsigned long long)w[N - 1], fnv(w, sizeof w, 2166136261u));

    static char pool[NS][16];
    static char *strs[NS];
    for (int i = 0; i < NS; i++) {
        int len = 1 + (int)(lcg() % 14);
        for (int j = 0; j < len; j++)
            pool[i][j] = (char)('a' + lcg() % 26);
        pool[i][len] = 0;
        strs[i] = pool[i];
    }
    qsort(strs, NS, sizeof strs[0], cmp_str);
    uint32_t h = 2166136261u;
    for (int i = 0; i < NS; i++) {
        if (i && strcmp(strs[i - 1], strs[i]) > 0)
            fail = 1;
        h = fnv(strs[i], strlen(strs[i]), h);
    }
    printf("strings: first %s last %s hash %08x\n", strs[0], strs[NS - 1], h);

    static struct rec r[NR];
    memset(r, 0, sizeof r);
    for (int i = 0; i < NR; i++) {
        snprintf(r[i].name, sizeof r[i].name, "n%u", lcg() % 1000);
        r[i].key = (int)(lcg() % 50);
        r[i].weight = (double)(lcg() % 1000) / 8.0;
        r[i].id = (uint16_t)i;
    }
    qsort(r, NR, sizeof r[0], cmp_rec);
    for (int i = 1; i < NR; i++)
        if (cmp_rec(&r[i - 1], &r[i]) > 0)
            fail = 1;
    h = 2166136261u;
    for (int i = 0; i < NR; i++)
        h = fnv(&r[i].id, 2, h);
    printf("records: first %s/%d/%g last %s/%d/%g order hash %08x\n", r[0].name, r[0].key,
           r[0].weight, r[NR - 1].name, r[NR - 1].key, r[NR - 1].weight, h);

    puts(fail ? "qsort FAILED" : "qsort ok");
    return fail;
}
