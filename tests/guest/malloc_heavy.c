/* malloc_heavy.c -- musl mallocng under load: thousands of malloc/free/realloc
 * /calloc calls with sizes from 1 byte to 440 KB (large ones are served by
 * mmap/munmap, small ones from brk/mmap'd groups), with every block filled
 * with a pattern and verified before it is freed.  Prints checksums of the
 * data (never of addresses).  Exit status: 0 (1 on corruption).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { SLOTS = 512, ROUNDS = 8000 };

static uint32_t seed = 987654321;
static uint32_t rnd(void)
{
    seed ^= seed << 13;
    seed ^= seed >> 17;
    seed ^= seed << 5;
    return seed;
}

struct slot {
    unsigned char *p;
    size_t n;
    uint32_t tag;
};

/* Bytes of a block that carry the pattern: the first 96 and every 251st
 * (keeps big blocks cheap while still touching all their pages; the set of
 * positions does not depend on the block size, so realloc keeps it valid). */
static size_t next_i(size_t i)
{
    if (i + 1 < 96)
        return i + 1;
    return i < 251 ? 251 : i + 251;
}

static void pattern(unsigned char *p, size_t from, size_t n, uint32_t tag)
{
    for (size_t i = 0; i < n; i = next_i(i))
        if (i >= from)
            p[i] = (unsigned char)(tag + i * 7);
}

static int check(const unsigned char *p, size_t n, uint32_t tag)
{
    for (size_t i = 0; i < n; i = next_i(i))
        if (p[i] != (unsigned char)(tag + i * 7))
            return 0;
    return 1;
}

static size_t pick_size(void)
{
    uint32_t r = rnd() % 1000;
    if (r < 600)
        return 1 + rnd() % 64;
    if (r < 900)
        return 65 + rnd() % 2000;
    if (r < 995)
        return 2048 + rnd() % 30000;
    return 140000 + rnd() % 300000;   /* above musl's mmap threshold */
}

int main(void)
{
    static struct slot s[SLOTS];
    int bad = 0;
    uint64_t total_alloc = 0, sum = 0;
    unsigned nmalloc = 0, nfree = 0, nrealloc = 0, ncalloc = 0;

    for (int round = 0; round < ROUNDS; round++) {
        struct slot *e = &s[rnd() % SLOTS];
        uint32_t op = rnd() % 10;
        if (e->p && op < 4) {
            if (!check(e->p, e->n, e->tag)) {
                printf("corruption in round %d\n", round);
                bad = 1;
                break;
            }
            free(e->p);
            e->p = NULL;
            nfree++;
        } else if (e->p && op < 7) {
            size_t n = pick_size();
            unsigned char *q = realloc(e->p, n);
            if (!q) {
                puts("realloc failed");
                return 1;
            }
            size_t keep = n < e->n ? n : e->n;
            if (!check(q, keep, e->tag)) {
                printf("realloc lost data in round %d\n", round);
                bad = 1;
                break;
            }
            e->p = q;
            pattern(q, keep, n, e->tag);
            e->n = n;
            nrealloc++;
            total_alloc += n;
        } else if (!e->p) {
            size_t n = pick_size();
            if (op == 9) {
                e->p = calloc(n, 1);
                ncalloc++;
                for (size_t i = 0; i < n; i++)
                    if (e->p[i]) {
                        printf("calloc not zeroed\n");
                        bad = 1;
                        break;
                    }
            } else {
                e->p = malloc(n);
                nmalloc++;
            }
            if (!e->p) {
                puts("malloc failed");
                return 1;
            }
            e->n = n;
            e->tag = rnd();
            pattern(e->p, 0, n, e->tag);
            total_alloc += n;
        }
        if (e->p)
            sum = sum * 31 + e->p[e->n / 2] + e->n;
    }
    unsigned live = 0;
    size_t live_bytes = 0;
    for (int i = 0; i < SLOTS; i++)
        if (s[i].p) {
            if (!check(s[i].p, s[i].n, s[i].tag))
                bad = 1;
            live++;
            live_bytes += s[i].n;
            free(s[i].p);
        }
    /* many tiny allocations freed in reverse order */
    void *tiny[5000];
    for (int i = 0; i < 5000; i++) {
        tiny[i] = malloc((size_t)(i % 24) + 1);
        memset(tiny[i], i, (size_t)(i % 24) + 1);
    }
    for (int i = 4999; i >= 0; i--) {
        sum += ((unsigned char *)tiny[i])[0];
        free(tiny[i]);
    }
    printf("malloc %u calloc %u realloc %u free %u\n", nmalloc, ncalloc, nrealloc, nfree);
    printf("live at end %u blocks %lu bytes, total requested %llu bytes\n", live,
           (unsigned long)live_bytes, (unsigned long long)total_alloc);
    printf("checksum %016llx\n", (unsigned long long)sum);
    puts(bad ? "malloc FAILED" : "malloc ok");
    return bad;
}
