/* printf_lite_check.c -- checks the bare runtime's printf-lite (bare.c) against
 * musl's snprintf, as a *user* program (runs under qemu-mipsel): bare.c is
 * included with its public names renamed so they do not clash with musl.
 * Prints "printf-lite ok (N cases)" and exits 0, or lists mismatches and exits 1.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define exit bare_exit
#define abort bare_abort
#define putchar bare_putchar
#define puts bare_puts
#define getchar bare_getchar
#define printf bare_printf
#define vprintf bare_vprintf
#define snprintf bare_snprintf
#define vsnprintf bare_vsnprintf
#define memcpy bare_memcpy
#define memmove bare_memmove
#define memset bare_memset
#define memcmp bare_memcmp
#define strlen bare_strlen
#define strcmp bare_strcmp
#define strncmp bare_strncmp
#define strcpy bare_strcpy
#define strchr bare_strchr
#define malloc bare_malloc
#define calloc bare_calloc
#define free bare_free
#include "../../../flashvm/guest/bare/bare.c"
#undef exit
#undef abort
#undef putchar
#undef puts
#undef getchar
#undef printf
#undef vprintf
#undef snprintf
#undef vsnprintf
#undef memcpy
#undef memmove
#undef memset
#undef memcmp
#undef strlen
#undef strcmp
#undef strncmp
#undef strcpy
#undef strchr
#undef malloc
#undef calloc
#undef free

/* stand-ins for the linker-script / trap.S symbols bare.c refers to */
char __heap_start[4096] __attribute__((aligned(16)));
__asm__(".globl __ram_end\n.set __ram_end, __heap_start + 4096");
char __bss_start[1], __bss_end[1], __stack_bottom[1],
    __stack_top[1], _end[1];
const uint32_t __bare_vec_refill[1], __bare_vec_refill_end[1], __bare_vec_general[1],
    __bare_vec_general_end[1], __bare_vec_interrupt[1], __bare_vec_interrupt_end[1];

static int cases, bad;

#define CHECK(...)                                                          \
    do {                                                                    \
        char a[128], b[128];                                                \
        int na = bare_snprintf(a, sizeof a, __VA_ARGS__);                   \
        int nb = snprintf(b, sizeof b, __VA_ARGS__);                        \
        cases++;                                                            \
        if (na != nb || strcmp(a, b) != 0) {                                \
            printf("MISMATCH %s: bare \"%s\" (%d) musl \"%s\" (%d)\n", #__VA_ARGS__, a, \
                   na, b, nb);                                              \
            bad++;                                                          \
        }                                                                   \
    } while (0)

int main(void)
{
    static const int ints[] = {0, 1, -1, 42, -42, 2147483647, -2147483647 - 1, 100000};
    for (unsigned i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        int v = ints[i];
        CHECK("%d", v);
        CHECK("%i|%5d|%-5d|%05d", v, v, v, v);
        CHECK("%u %x %X %o", (unsigned)v, (unsigned)v, (unsigned)v, (unsigned)v);
        CHECK("%08x|%-8x|%8X", (unsigned)v, (unsigned)v, (unsigned)v);
        CHECK("%*d|%-*d", 7, v, 7, v);
    }
    static const long long lls[] = {0, -1, 1234567890123LL, -9223372036854775807LL - 1,
                                    9223372036854775807LL};
    for (unsigned i = 0; i < sizeof lls / sizeof lls[0]; i++) {
        CHECK("%lld %llu %llx", lls[i], (unsigned long long)lls[i], (unsigned long long)lls[i]);
        CHECK("%20lld|%-20lld|%020lld", lls[i], lls[i], lls[i]);
    }
    CHECK("%ld %lu %lx %hd %zu", 5L, 6UL, 0xabcUL, 7, (size_t)8);
    CHECK("%s|%10s|%-10s|%c|%3c|%-3c|%%", "abc", "right", "left", 'x', 'y', 'z');
    CHECK("%s", "");
    CHECK("%p %p", (void *)0x1234, (void *)0x80001000);
    CHECK("plain text, no conversions");
    /* truncation and the return value */
    {
        char small[5];
        int n = bare_snprintf(small, sizeof small, "%d-%s", 123456, "xyz");
        cases++;
        if (n != 10 || strcmp(small, "1234") != 0) {
            printf("MISMATCH truncation: \"%s\" %d\n", small, n);
            bad++;
        }
        n = bare_snprintf(NULL, 0, "%x", 0xdeadbeefu);
        cases++;
        if (n != 8) {
            printf("MISMATCH size query: %d\n", n);
            bad++;
        }
    }
    /* string and memory helpers */
    {
        char buf[64];
        bare_memset(buf, 'a', 10);
        buf[10] = 0;
        bare_memmove(buf + 2, buf, 5);
        cases++;
        if (bare_strlen(buf) != 10 || bare_strcmp("abc", "abd") >= 0 ||
            bare_strncmp("abcx", "abcy", 3) != 0 || bare_strchr("hello", 'l') == NULL ||
            bare_memcmp("ab", "ac", 2) >= 0) {
            puts("MISMATCH string helpers");
            bad++;
        }
        char src[40], dst[40];
        for (int i = 0; i < 40; i++)
            src[i] = (char)i;
        for (int o = 0; o < 4; o++) {
            bare_memset(dst, 0, sizeof dst);
            bare_memcpy(dst + o, src + (3 - o), 30);
            cases++;
            if (memcmp(dst + o, src + (3 - o), 30) != 0) {
                puts("MISMATCH memcpy");
                bad++;
            }
        }
        void *p = bare_malloc(10), *q = bare_calloc(4, 8);
        cases++;
        if (!p || !q || ((uintptr_t)q & 15) || (char *)q < (char *)p + 16) {
            puts("MISMATCH malloc");
            bad++;
        }
    }
    if (bad)
        printf("printf-lite: %d of %d cases FAILED\n", bad, cases);
    else
        printf("printf-lite ok (%d cases)\n", cases);
    return bad ? 1 : 0;
}
