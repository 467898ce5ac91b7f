/* int_corner.c -- 32-bit integer corner cases for the flashvm whole-program oracle.
 *
 * Exercises div/divu/mult/multu (incl. the INT_MIN / -1 case through inline
 * asm, since it is undefined in C), teq divide-by-zero guards, variable and
 * constant shifts, clz/clo, rotates, wsbh/seb/seh, ext/ins bitfield patterns,
 * slt/sltu, movn/movz selects, wrapping unsigned arithmetic and overflow
 * builtins.  Every result is printed and folded into a checksum.
 * Exit status: 0.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>

static uint32_t hash = 2166136261u;

static void mix(uint32_t v)
{
    for (int i = 0; i < 4; i++) {
        hash ^= (v >> (8 * i)) & 0xFF;
        hash *= 16777619u;
    }
}

static void out(const char *what, uint32_t v)
{
    mix(v);
    printf("%s = %08x (%d)\n", what, v, (int32_t)v);
}

/* volatile tables so nothing is constant-folded */
static volatile int32_t svals[] = {
    0, 1, -1, 2, -2, 3, -3, 7, -7, 10, -10, 100, -100, 12345, -12345,
    0x7FFFFFFF, (int32_t)0x80000000, (int32_t)0x80000001, 0x7FFFFFFE,
    0x55555555, (int32_t)0xAAAAAAAA, 0x00010000, (int32_t)0xFFFF0000, 65535, -65536,
};
#define NS ((int)(sizeof svals / sizeof svals[0]))

static volatile uint32_t uvals[] = {
    0, 1, 2, 3, 7, 10, 255, 256, 65535, 65536, 0x7FFFFFFF, 0x80000000,
    0x80000001, 0xFFFFFFFF, 0xFFFFFFFE, 0xDEADBEEF, 0x12345678, 0x0F0F0F0F,
};
#define NU ((int)(sizeof uvals / sizeof uvals[0]))

/* MIPS `div` for any operands (INT_MIN / -1 included): returns LO, sets *rem = HI */
static int32_t asm_div(int32_t a, int32_t b, int32_t *rem)
{
    int32_t lo, hi;
    __asm__ volatile("div $zero, %2, %3\n\tmflo %0\n\tmfhi %1"
                     : "=r"(lo), "=r"(hi) : "r"(a), "r"(b) : "hi", "lo");
    *rem = hi;
    return lo;
}

static uint32_t asm_clz(uint32_t x)
{
    uint32_t r;
    __asm__("clz %0, %1" : "=r"(r) : "r"(x));
    return r;
}

static uint32_t asm_clo(uint32_t x)
{
    uint32_t r;
    __asm__("clo %0, %1" : "=r"(r) : "r"(x));
    return r;
}

static uint32_t asm_madd(uint32_t a, uint32_t b, uint32_t c, uint32_t d, uint32_t *hi)
{
    /* HI:LO = a*b (signed), then += c*d (signed), then -= a*d via msubu */
    uint32_t lo, h;
    __asm__ volatile("mult %2, %3\n\tmadd %4, %5\n\tmsubu %2, %5\n\tmflo %0\n\tmfhi %1"
                     : "=&r"(lo), "=&r"(h) : "r"(a), "r"(b), "r"(c), "r"(d) : "hi", "lo");
    *hi = h;
    return lo;
}

static __attribute__((noinline)) uint32_t rotr(uint32_t x, unsigned n)
{
    n &= 31;
    return (x >> n) | (x << ((32 - n) & 31));
}

int main(void)
{
    char buf[80];

    puts("== signed div/mod");
    for (int i = 0; i < NS; i++)
        for (int j = 0; j < NS; j++) {
            int32_t a = svals[i], b = svals[j];
            if (b == 0)
                continue;
            if (a == INT32_MIN && b == -1) {
                int32_t r, q = asm_div(a, b, &r);
                snprintf(buf, sizeof buf, "asm div %d / %d", a, b);
                out(buf, (uint32_t)q);
                out("  rem", (uint32_t)r);
                continue;
            }
            mix((uint32_t)(a / b));
            mix((uint32_t)(a % b));
            if ((i + j) % 5 == 0) {
                snprintf(buf, sizeof buf, "%d / %d", a, b);
                out(buf, (uint32_t)(a / b));
                snprintf(buf, sizeof buf, "%d %% %d", a, b);
                out(buf, (uint32_t)(a % b));
            }
        }
    printf("hash after sdiv %08x\n", hash);

    puts("== unsigned div/mod");
    for (int i = 0; i < NU; i++)
        for (int j = 0; j < NU; j++) {
            uint32_t a = uvals[i], b = uvals[j];
            if (b == 0)
                continue;
            mix(a / b);
            mix(a % b);
            if ((i * 3 + j) % 7 == 0) {
                snprintf(buf, sizeof buf, "%u / %u", a, b);
                out(buf, a / b);
                snprintf(buf, sizeof buf, "%u %% %u", a, b);
                out(buf, a % b);
            }
        }
    printf("hash after udiv %08x\n", hash);

    puts("== constant divisors");
    for (int i = 0; i < NS; i++) {
        int32_t a = svals[i];
        mix((uint32_t)(a / 3)); mix((uint32_t)(a % 3));
        mix((uint32_t)(a / 7)); mix((uint32_t)(a % 10));
        mix((uint32_t)(a / 16)); mix((uint32_t)(a % 16));
        mix((uint32_t)a / 1000u); mix((uint32_t)a % 1000u);
    }
    printf("hash after cdiv %08x\n", hash);

    puts("== multiply");
    for (int i = 0; i < NS; i++)
        for (int j = i; j < NS; j++) {
            int32_t a = svals[i], b = svals[j];
            int64_t p = (int64_t)a * b;
            uint64_t up = (uint64_t)(uint32_t)a * (uint32_t)b;
            mix((uint32_t)a * (uint32_t)b);
            mix((uint32_t)p);
            mix((uint32_t)(p >> 32));
            mix((uint32_t)up);
            mix((uint32_t)(up >> 32));
        }
    {
        uint32_t hi, lo = asm_madd(0x12345678, 0x9abcdef0, 0xfedcba98, 0x76543210, &hi);
        out("madd/msubu lo", lo);
        out("madd/msubu hi", hi);
    }
    printf("hash after mul %08x\n", hash);

    puts("== shifts");
    for (int i = 0; i < NU; i++) {
        uint32_t x = uvals[i];
        for (volatile unsigned s = 0; s < 32; s++) {
            mix(x << s);
            mix(x >> s);
            mix((uint32_t)((int32_t)x >> s));
        }
        mix(x << 1); mix(x >> 31); mix((uint32_t)((int32_t)x >> 31));
        mix(x << 17); mix(x >> 13); mix((uint32_t)((int32_t)x >> 7));
    }
    out("0x80000000 >>a 31", (uint32_t)((int32_t)uvals[11] >> 31));
    out("0xdeadbeef >>a 4", (uint32_t)((int32_t)uvals[15] >> 4));
    out("0xdeadbeef >> 4", uvals[15] >> 4);
    out("0xdeadbeef << 4", uvals[15] << 4);
    printf("hash after shifts %08x\n", hash);

    puts("== clz/clo/popcount/ctz");
    for (int i = 0; i < NU; i++) {
        uint32_t x = uvals[i];
        uint32_t c1 = x ? (uint32_t)__builtin_clz(x) : 32;
        uint32_t c2 = asm_clz(x);
        uint32_t o1 = ~x ? (uint32_t)__builtin_clz(~x) : 32;
        uint32_t o2 = asm_clo(x);
        if (c1 != c2 || o1 != o2)
            printf("MISMATCH clz/clo %08x\n", x);
        snprintf(buf, sizeof buf, "clz/clo/pop/ctz %08x", x);
        out(buf, c2 | (o2 << 8) | ((uint32_t)__builtin_popcount(x) << 16) |
                     ((x ? (uint32_t)__builtin_ctz(x) : 32) << 24));
    }

    puts("== rotates, byte swaps, sign extension");
    for (int i = 0; i < NU; i++) {
        uint32_t x = uvals[i];
        for (unsigned s = 0; s < 32; s += 5)
            mix(rotr(x, s));
        mix((x >> 8) | (x << 24));           /* rotr constant */
        mix(__builtin_bswap32(x));
        mix(__builtin_bswap16((uint16_t)x));
        mix(((x & 0x00FF00FF) << 8) | ((x >> 8) & 0x00FF00FF));  /* wsbh */
        mix((uint32_t)(int32_t)(int8_t)x);   /* seb */
        mix((uint32_t)(int32_t)(int16_t)x);  /* seh */
        mix((uint32_t)(uint8_t)x);
        mix((uint32_t)(uint16_t)x);
    }
    out("bswap32 12345678", __builtin_bswap32(uvals[16]));
    out("bswap16 5678", __builtin_bswap16((uint16_t)uvals[16]));
    out("rotr(12345678, 12)", rotr(uvals[16], 12));
    out("seb deadbeef", (uint32_t)(int32_t)(int8_t)uvals[15]);
    out("seh deadbeef", (uint32_t)(int32_t)(int16_t)uvals[15]);
    printf("hash after rot %08x\n", hash);

    puts("== ext/ins bitfields");
    {
        struct bf {
            uint32_t a : 5, b : 11, c : 3, d : 13;
        };
        union {
            struct bf f;
            uint32_t w;
        } u;
        for (int i = 0; i < NU; i++) {
            uint32_t x = uvals[i];
            mix((x >> 7) & 0x3F);                       /* ext 7,6 */
            mix((x >> 3) & 0x1FFFF);                    /* ext 3,17 */
            mix((x & ~0x0000FF00u) | ((x & 0xFF) << 8));  /* ins 8,8 */
            u.w = x;
            u.f.b = (uint32_t)i * 37;                   /* ins */
            u.f.d = u.f.a + u.f.c;                      /* ext + ins */
            mix(u.w);
            mix(u.f.a ^ u.f.b ^ u.f.c ^ u.f.d);
        }
        u.w = 0xDEADBEEF;
        u.f.b = 0x5A5;
        out("ins b=5a5 into deadbeef", u.w);
        out("ext d of that", u.f.d);
    }
    printf("hash after ext/ins %08x\n", hash);

    puts("== compares and selects");
    for (int i = 0; i < NS; i++)
        for (int j = 0; j < NS; j++) {
            int32_t a = svals[i], b = svals[j];
            uint32_t r = (uint32_t)(a < b) | (uint32_t)((uint32_t)a < (uint32_t)b) << 1 |
                         (uint32_t)(a <= b) << 2 | (uint32_t)(a == b) << 3 |
                         (uint32_t)(a > 100) << 4 | (uint32_t)((uint32_t)a < 100u) << 5;
            mix(r);
            mix((uint32_t)(a > b ? a : b));        /* slt + movn/movz */
            mix((uint32_t)(a != 0 ? b : a ^ b));
            mix((uint32_t)(a < 0 ? -a : a));       /* abs, wraps for INT_MIN */
        }
    printf("hash after cmp %08x\n", hash);

    puts("== wrapping and overflow builtins");
    for (int i = 0; i < NU; i++)
        for (int j = 0; j < NU; j++) {
            uint32_t a = uvals[i], b = uvals[j];
            uint32_t s, d, m;
            int32_t ss, sd, sm;
            int c1 = __builtin_add_overflow(a, b, &s);
            int c2 = __builtin_sub_overflow(a, b, &d);
            int c3 = __builtin_mul_overflow(a, b, &m);
            int c4 = __builtin_add_overflow((int32_t)a, (int32_t)b, &ss);
            int c5 = __builtin_sub_overflow((int32_t)a, (int32_t)b, &sd);
            int c6 = __builtin_mul_overflow((int32_t)a, (int32_t)b, &sm);
            mix(s); mix(d); mix(m);
            mix((uint32_t)ss); mix((uint32_t)sd); mix((uint32_t)sm);
            mix((uint32_t)(c1 | c2 << 1 | c3 << 2 | c4 << 3 | c5 << 4 | c6 << 5));
        }
    out("0xffffffff + 1", uvals[13] + 1u);
    out("0 - 1", uvals[0] - 1u);
    out("0x80000000 * 2", uvals[11] * 2u);
    printf("hash after overflow %08x\n", hash);

    puts("== logic");
    for (int i = 0; i < NU; i++)
        for (int j = 0; j < NU; j++) {
            uint32_t a = uvals[i], b = uvals[j];
            mix(a & b); mix(a | b); mix(a ^ b); mix(~(a | b)); mix(a & ~b);
        }
    mix(uvals[15] & 0xFFFF); mix(uvals[15] | 0x1234); mix(uvals[15] ^ 0x8001);
    printf("final hash %08x\n", hash);
    return 0;
}
