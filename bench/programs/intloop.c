/* intloop.c -- integer-heavy benchmark for flashvm.
 *
 * usage: intloop [SCALE]      (default SCALE = 10)
 *
 * Each of SCALE rounds runs:
 *   1. a sieve of Eratosthenes over 1,000,000 numbers (byte array),
 *   2. xorshift-generated keys inserted into and looked up in an
 *      open-addressing hash table (65536 slots),
 *   3. an in-place quicksort (insertion sort below 16) of 60,000 ints,
 *   4. CRC-32 (table driven) and a multiplicative string hash over 256 KB,
 *   5. a small integer matrix multiply (48x48) with wrapping arithmetic.
 * Prints one checksum line per phase total and a final checksum.  Work and
 * instruction count scale linearly with SCALE (~45 M instructions a round).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIEVE_N 1000000
#define HT_BITS 16
#define HT_SIZE (1u << HT_BITS)
#define SORT_N 60000
#define BUF_N (256 * 1024)
#define MAT_N 48

static uint32_t xs_state = 2463534242u;
static inline uint32_t xorshift(void)
{
    uint32_t x = xs_state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return xs_state = x;
}

static unsigned char sieve_buf[SIEVE_N + 1];

static uint32_t sieve(void)
{
    memset(sieve_buf, 1, sizeof sieve_buf);
    sieve_buf[0] = sieve_buf[1] = 0;
    for (uint32_t i = 2; i * i <= SIEVE_N; i++)
        if (sieve_buf[i])
            for (uint32_t j = i * i; j <= SIEVE_N; j += i)
                sieve_buf[j] = 0;
    uint32_t count = 0, sum = 0;
    for (uint32_t i = 0; i <= SIEVE_N; i++)
        if (sieve_buf[i]) {
            count++;
            sum += i;
        }
    return count * 2654435761u ^ sum;
}

static uint32_t ht_keys[HT_SIZE];
static uint32_t ht_vals[HT_SIZE];

static uint32_t hashtable(void)
{
    memset(ht_keys, 0, sizeof ht_keys);
    uint32_t inserted = 0, found = 0, acc = 0;
    for (int i = 0; i < 40000; i++) {
        uint32_t k = (xorshift() & 0xFFFFF) | 1;   /* many repeats */
        uint32_t h = (k * 2654435761u) >> (32 - HT_BITS);
        while (ht_keys[h] && ht_keys[h] != k)
            h = (h + 1) & (HT_SIZE - 1);
        if (!ht_keys[h]) {
            ht_keys[h] = k;
            ht_vals[h] = (uint32_t)i;
            inserted++;
        } else {
            ht_vals[h] += (uint32_t)i;
        }
    }
    for (int i = 0; i < 60000; i++) {
        uint32_t k = (xorshift() & 0xFFFFF) | 1;
        uint32_t h = (k * 2654435761u) >> (32 - HT_BITS);
        while (ht_keys[h] && ht_keys[h] != k)
            h = (h + 1) & (HT_SIZE - 1);
        if (ht_keys[h]) {
            found++;
            acc += ht_vals[h];
        }
    }
    return inserted * 31 + found * 17 + acc;
}

static int32_t sort_a[SORT_N];

static void insertion(int32_t *a, int n)
{
    for (int i = 1; i < n; i++) {
        int32_t v = a[i];
        int j = i - 1;
        while (j >= 0 && a[j] > v) {
            a[j + 1] = a[j];
            j--;
        }
        a[j + 1] = v;
    }
}

static void quicksort(int32_t *a, int n)
{
    while (n > 16) {
        int32_t x = a[0], y = a[n / 2], z = a[n - 1];
        int32_t pivot = x < y ? (y < z ? y : (x < z ? z : x)) : (x < z ? x : (y < z ? z : y));
        int i = 0, j = n - 1;
        for (;;) {
            while (a[i] < pivot)
                i++;
            while (a[j] > pivot)
                j--;
            if (i >= j)
                break;
            int32_t t = a[i];
            a[i] = a[j];
            a[j] = t;
            i++;
            j--;
        }
        /* recurse into the smaller part, loop on the larger one */
        if (j + 1 < n - j - 1) {
            quicksort(a, j + 1);
            a += j + 1;
            n -= j + 1;
        } else {
            quicksort(a + j + 1, n - j - 1);
            n = j + 1;
        }
    }
    insertion(a, n);
}

static uint32_t sorting(void)
{
    for (int i = 0; i < SORT_N; i++)
        sort_a[i] = (int32_t)(xorshift() % 2000001u) - 1000000;
    quicksort(sort_a, SORT_N);
    uint32_t h = 0;
    for (int i = 0; i < SORT_N; i++) {
        if (i && sort_a[i - 1] > sort_a[i])
            return 0xBAD;
        h = h * 1000003u + (uint32_t)sort_a[i];
    }
    return h;
}

static uint32_t crc_table[256];
static unsigned char buf[BUF_N];

static uint32_t hashing(void)
{
    for (int i = 0; i < BUF_N; i += 4) {
        uint32_t r = xorshift();
        memcpy(buf + i, &r, 4);
    }
    uint32_t crc = 0xFFFFFFFFu;
    for (int i = 0; i < BUF_N; i++)
        crc = crc_table[(crc ^ buf[i]) & 0xFF] ^ (crc >> 8);
    crc = ~crc;
    uint32_t h = 5381;
    for (int i = 0; i < BUF_N; i++)
        h = (h << 5) + h + buf[i];
    return crc ^ (h * 0x9E3779B9u);
}

static uint32_t ma[MAT_N][MAT_N], mb[MAT_N][MAT_N], mc[MAT_N][MAT_N];

static uint32_t matmul(void)
{
    for (int i = 0; i < MAT_N; i++)
        for (int j = 0; j < MAT_N; j++) {
            ma[i][j] = xorshift() & 0xFFFF;
            mb[i][j] = xorshift() & 0xFFFF;
        }
    for (int i = 0; i < MAT_N; i++)
        for (int j = 0; j < MAT_N; j++) {
            uint32_t s = 0;
            for (int k = 0; k < MAT_N; k++)
                s += ma[i][k] * mb[k][j];
            mc[i][j] = s;
        }
    uint32_t h = 0;
    for (int i = 0; i < MAT_N; i++)
        for (int j = 0; j < MAT_N; j++)
            h = (h ^ mc[i][j]) * 16777619u;
    return h;
}

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 10;
    if (scale < 1)
        scale = 1;
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = c & 1 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        crc_table[i] = c;
    }
    uint32_t cs[5] = {0, 0, 0, 0, 0};
    for (int r = 0; r < scale; r++) {
        cs[0] = cs[0] * 3 + sieve();
        cs[1] = cs[1] * 3 + hashtable();
        cs[2] = cs[2] * 3 + sorting();
        cs[3] = cs[3] * 3 + hashing();
        cs[4] = cs[4] * 3 + matmul();
    }
    static const char *const names[5] = {"sieve", "hashtable", "sort", "crc+hash", "matmul"};
    uint32_t total = 0;
    for (int i = 0; i < 5; i++) {
        printf("%-10s %08x\n", names[i], cs[i]);
        total = (total ^ cs[i]) * 16777619u;
    }
    printf("intloop scale %d checksum %08x\n", scale, total);
    return 0;
}
