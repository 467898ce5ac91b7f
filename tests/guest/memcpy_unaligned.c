/* memcpy_unaligned.c -- memcpy/memmove/memset/memcmp/strlen over every
 * source/destination alignment and many lengths, plus unaligned loads and
 * stores through packed structs (lwl/lwr/swl/swr, ulh-style byte sequences).
 * Exit status: 0 (1 if a self-check fails).
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static unsigned char src[512], dst[512], ref[512];

static uint32_t fnv(const unsigned char *p, size_t n, uint32_t h)
{
    while (n--) {
        h ^= *p++;
        h *= 16777619u;
    }
    return h;
}

static void fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        p[i] = (unsigned char)(seed >> 24);
    }
}

static void ref_move(unsigned char *d, const unsigned char *s, size_t n)
{
    unsigned char tmp[512];
    for (size_t i = 0; i < n; i++)
        tmp[i] = s[i];
    for (size_t i = 0; i < n; i++)
        d[i] = tmp[i];
}

struct __attribute__((packed)) packed {
    uint8_t tag;
    uint32_t u32;
    uint16_t u16;
    uint64_t u64;
    int32_t s32;
    double d;
    float f;
};

int main(void)
{
    int fail = 0;
    uint32_t h = 2166136261u;
    static const size_t lens[] = {0, 1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64,
                                  65, 100, 127, 128, 129, 255, 256, 300};
    const int nl = (int)(sizeof lens / sizeof lens[0]);

    /* memcpy */
    for (int so = 0; so < 8; so++)
        for (int dof = 0; dof < 8; dof++)
            for (int li = 0; li < nl; li++) {
                size_t n = lens[li], span = dof + n + 8;   /* bytes that may change */
                fill(src, so + n + 8, (unsigned)(so * 131 + dof * 7 + li));
                memset(dst, 0xAA, span);
                memset(ref, 0xAA, span);
                for (size_t i = 0; i < n; i++)
                    ref[dof + i] = src[so + i];
                memcpy(dst + dof, src + so, n);
                if (memcmp(dst, ref, span) != 0) {
                    printf("memcpy mismatch so=%d do=%d n=%u\n", so, dof, (unsigned)n);
                    fail = 1;
                }
                h = fnv(dst, dof + n + 4, h);
            }
    printf("memcpy hash %08x\n", h);

    /* memmove with overlap in both directions */
    for (int off = -9; off <= 9; off++)
        for (int li = 0; li < nl; li++) {
            size_t n = lens[li];
            if (n > 200)
                continue;
            fill(dst, sizeof dst, (unsigned)(off + 100 * li));
            memcpy(ref, dst, sizeof dst);
            ref_move(ref + 100 + off, ref + 100, n);
            memmove(dst + 100 + off, dst + 100, n);
            if (memcmp(dst, ref, sizeof dst) != 0) {
                printf("memmove mismatch off=%d n=%u\n", off, (unsigned)n);
                fail = 1;
            }
            h = fnv(dst, sizeof dst, h);
        }
    printf("memmove hash %08x\n", h);

    /* memset, memcmp, strlen at all alignments */
    for (int o = 0; o < 8; o++)
        for (int li = 0; li < nl; li++) {
            size_t n = lens[li];
            memset(dst, 0x11, sizeof dst);
            memset(dst + o, 0xC0 + o, n);
            for (size_t i = 0; i < sizeof dst; i++) {
                unsigned char want = (i >= (size_t)o && i < o + n) ? (unsigned char)(0xC0 + o) : 0x11;
                if (dst[i] != want) {
                    printf("memset mismatch o=%d n=%u at %u\n", o, (unsigned)n, (unsigned)i);
                    fail = 1;
                    break;
                }
            }
            memcpy(src + 3, dst + o, n);
            int c = memcmp(src + 3, dst + o, n);
            if (n) {
                src[3 + n - 1] ^= 0x80;
                int c2 = memcmp(src + 3, dst + o, n);
                h ^= (uint32_t)((c2 > 0) - (c2 < 0)) + 7;
                h *= 16777619u;
            }
            if (c != 0)
                fail = 1;
            memset(dst, 'x', sizeof dst);
            dst[o + n] = 0;
            if (strlen((char *)dst + o) != n)
                fail = 1;
        }
    printf("memset/memcmp hash %08x\n", h);

    /* packed struct field access at every base alignment */
    static unsigned char raw[64];
    for (int o = 0; o < 8; o++) {
        struct packed *p = (struct packed *)(raw + o);
        p->tag = (uint8_t)o;
        p->u32 = 0x89ABCDEFu + (uint32_t)o;
        p->u16 = (uint16_t)(0xBEEF + o);
        p->u64 = 0x0123456789ABCDEFull * (uint64_t)(o + 1);
        p->s32 = -123456 * (o + 1);
        p->d = 1.0 / (o + 3);
        p->f = 2.5f * (float)o;
        uint32_t v = p->u32 ^ p->u16 ^ (uint32_t)p->u64 ^ (uint32_t)(p->u64 >> 32) ^ (uint32_t)p->s32;
        printf("packed@%d: u32 %08x u16 %04x u64 %016llx s32 %d d %.17g f %g xor %08x\n", o,
               p->u32, p->u16, (unsigned long long)p->u64, p->s32, p->d, (double)p->f, v);
        h = fnv(raw, sizeof raw, h);
        memset(raw, 0, sizeof raw);
    }

    /* byte-wise little-endian views of words */
    uint32_t word = 0x11223344;
    unsigned char *wb = (unsigned char *)&word;
    printf("LE bytes %02x %02x %02x %02x\n", wb[0], wb[1], wb[2], wb[3]);
    uint16_t half;
    memcpy(&half, wb + 1, 2);
    printf("half at +1 %04x\n", half);

    printf("final hash %08x\n", h);
    puts(fail ? "memcpy FAILED" : "memcpy ok");
    return fail;
}
