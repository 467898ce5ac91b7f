/* arith64.c -- 64-bit integer arithmetic on a 32-bit CPU.
 *
 * 64-bit division and modulo go through compiler_rt/libgcc helpers
 * (__divdi3, __udivdi3, __moddi3, __umoddi3, __udivmoddi4); multiplication,
 * shifts, compares and int64<->double conversions (__floatdidf, __fixdfdi,
 * __floatundidf, __fixunsdfdi) are exercised over edge values.
 * Exit status: 0.
 */
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

static uint64_t hash = 14695981039346656037ull;

static void mix(uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        hash ^= (v >> (8 * i)) & 0xFF;
        hash *= 1099511628211ull;
    }
}

static volatile int64_t s64[] = {
    0, 1, -1, 2, -2, 3, -3, 10, -10, 1000000007, -1000000007,
    INT64_MAX, INT64_MIN, INT64_MIN + 1, INT64_MAX - 1,
    0x100000000ll, -0x100000000ll, 0xFFFFFFFFll, 0x80000000ll, -0x80000000ll,
    0x123456789ABCDEFll, -0x123456789ABCDEFll, 0x7FFFFFFF00000000ll, 6000000000ll,
};
#define NS ((int)(sizeof s64 / sizeof s64[0]))

static volatile uint64_t u64[] = {
    0, 1, 2, 3, 10, 0xFFFFFFFFull, 0x100000000ull, 0x100000001ull,
    0x8000000000000000ull, 0xFFFFFFFFFFFFFFFFull, 0xFFFFFFFFFFFFFFFEull,
    0xDEADBEEFCAFEBABEull, 0x0123456789ABCDEFull, 10000000000000000000ull, 1ull << 53,
    (1ull << 53) + 1,
};
#define NU ((int)(sizeof u64 / sizeof u64[0]))

int main(void)
{
    puts("== signed 64-bit div/mod");
    for (int i = 0; i < NS; i++)
        for (int j = 0; j < NS; j++) {
            int64_t a = s64[i], b = s64[j];
            if (b == 0 || (a == INT64_MIN && b == -1))
                continue;
            mix((uint64_t)(a / b));
            mix((uint64_t)(a % b));
            if ((i + 2 * j) % 9 == 0)
                printf("%" PRId64 " / %" PRId64 " = %" PRId64 " rem %" PRId64 "\n", a, b,
                       a / b, a % b);
        }
    printf("hash %016" PRIx64 "\n", hash);

    puts("== unsigned 64-bit div/mod");
    for (int i = 0; i < NU; i++)
        for (int j = 0; j < NU; j++) {
            uint64_t a = u64[i], b = u64[j];
            if (b == 0)
                continue;
            mix(a / b);
            mix(a % b);
            if ((3 * i + j) % 11 == 0)
                printf("%" PRIu64 " / %" PRIu64 " = %" PRIu64 " rem %" PRIu64 "\n", a, b,
                       a / b, a % b);
        }
    printf("hash %016" PRIx64 "\n", hash);

    puts("== multiply");
    for (int i = 0; i < NU; i++)
        for (int j = 0; j < NU; j++)
            mix(u64[i] * u64[j]);
    for (int i = 0; i < NS; i++)
        for (int j = 0; j < NS; j++)
            mix((uint64_t)s64[i] * (uint64_t)s64[j]);
    printf("0xdeadbeefcafebabe * 0x0123456789abcdef = %016" PRIx64 "\n", u64[11] * u64[12]);
    printf("hash %016" PRIx64 "\n", hash);

    puts("== shifts");
    for (int i = 0; i < NU; i++)
        for (volatile unsigned s = 0; s < 64; s++) {
            mix(u64[i] << s);
            mix(u64[i] >> s);
            mix((uint64_t)((int64_t)u64[i] >> s));
        }
    printf("0xdeadbeefcafebabe >>a 36 = %016" PRIx64 "\n", (uint64_t)((int64_t)u64[11] >> 36));
    printf("0xdeadbeefcafebabe << 31 = %016" PRIx64 "\n", u64[11] << 31);
    printf("hash %016" PRIx64 "\n", hash);

    puts("== compares, clz, popcount");
    for (int i = 0; i < NS; i++)
        for (int j = 0; j < NS; j++) {
            int64_t a = s64[i], b = s64[j];
            mix((uint64_t)((a < b) | ((uint64_t)a < (uint64_t)b) << 1 | (a == b) << 2));
        }
    for (int i = 0; i < NU; i++) {
        uint64_t x = u64[i];
        mix(x ? (uint64_t)__builtin_clzll(x) : 64);
        mix(x ? (uint64_t)__builtin_ctzll(x) : 64);
        mix((uint64_t)__builtin_popcountll(x));
        mix(__builtin_bswap64(x));
    }
    printf("hash %016" PRIx64 "\n", hash);

    puts("== conversions");
    for (int i = 0; i < NS; i++) {
        double d = (double)s64[i];
        float f = (float)s64[i];
        printf("%" PRId64 " -> %.17g %.9g\n", s64[i], d, (double)f);
        mix((uint64_t)(int64_t)(d / 3.0));
    }
    for (int i = 0; i < NU; i++) {
        double d = (double)u64[i];
        mix((uint64_t)(d * 0.25));
        printf("%" PRIu64 " -> %.17g\n", u64[i], d);
    }
    static volatile double dv[] = {0.0, -0.5, 0.999, 1.5, -1.5, 4294967296.5, -4294967297.75,
                                   9.2233720368547748e18, -9.2233720368547758e18,
                                   1.8446744073709550e19, 123456789012345.678};
    for (unsigned i = 0; i < sizeof dv / sizeof dv[0]; i++) {
        double d = dv[i];
        int64_t s = (d >= -9.2233720368547758e18 && d < 9.2233720368547758e18) ? (int64_t)d : 0;
        uint64_t u = (d >= 0 && d < 1.8446744073709552e19) ? (uint64_t)d : 0;
        printf("%.17g -> %" PRId64 " %" PRIu64 "\n", d, s, u);
        mix((uint64_t)s);
        mix(u);
    }
    printf("final hash %016" PRIx64 "\n", hash);
    return 0;
}
