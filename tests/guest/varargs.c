/* varargs.c -- variadic calls under the o32 ABI: ints, long longs (aligned to
 * even register pairs), doubles (passed in integer registers for variadic
 * calls), pointers, va_copy, and vsnprintf forwarding.  Exit status: 0.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

/* format letters: i=int, l=long long, d=double, s=string, c=char, u=unsigned */
static double sum_all(const char *fmt, ...)
{
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    double total = 0;
    for (const char *p = fmt; *p; p++) {
        switch (*p) {
        case 'i': total += va_arg(ap, int); break;
        case 'u': total += va_arg(ap, unsigned); break;
        case 'l': total += (double)va_arg(ap, long long); break;
        case 'd': total += va_arg(ap, double); break;
        case 's': for (const char *s = va_arg(ap, const char *); *s; s++) total += *s; break;
        case 'c': total += (char)va_arg(ap, int); break;
        }
    }
    /* second pass over the copy: count the args */
    int n = 0;
    for (const char *p = fmt; *p; p++, n++) {
        switch (*p) {
        case 'i': case 'u': case 'c': (void)va_arg(ap2, int); break;
        case 'l': (void)va_arg(ap2, long long); break;
        case 'd': (void)va_arg(ap2, double); break;
        case 's': (void)va_arg(ap2, const char *); break;
        }
    }
    va_end(ap2);
    va_end(ap);
    return total + n * 0.001;
}

static int my_printf(const char *tag, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return printf("[%s:%d] %s\n", tag, n, buf);
}

static long long pick(int which, ...)
{
    va_list ap;
    va_start(ap, which);
    long long r = 0;
    for (int i = 0; i <= which; i++)
        r = va_arg(ap, long long);
    va_end(ap);
    return r;
}

struct big {
    int a[5];
    double d;
};

static double take_struct(int n, ...)
{
    va_list ap;
    va_start(ap, n);
    double t = 0;
    for (int i = 0; i < n; i++) {
        struct big b = va_arg(ap, struct big);
        t += b.a[0] + b.a[4] + b.d;
    }
    va_end(ap);
    return t;
}

int main(void)
{
    printf("%.3f\n", sum_all("iii", 1, 2, 3));
    printf("%.3f\n", sum_all("ld", 1LL << 40, 0.5));
    printf("%.3f\n", sum_all("ild", 7, -(1LL << 33), 2.25));
    printf("%.3f\n", sum_all("didid", 1.5, 2, 2.5, 3, 3.5));
    printf("%.3f\n", sum_all("csuil", 'A', "hello", 4000000000u, -5, 123456789012LL));
    printf("%.3f\n", sum_all("dddddddd", 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0));
    printf("%.3f\n", sum_all("iiiiiiiiiiii", 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12));
    my_printf("mix", "%d %lld %.2f %s %c %x %u %p", -42, -1234567890123LL, 3.14159, "str", 'z',
              0xBEEFu, 3000000000u, (void *)0x1000);
    my_printf("wide", "%10d|%-10s|%010.4f|%+lld", 5, "ab", -2.5, 77LL);
    for (int i = 0; i < 4; i++)
        printf("pick %d = %lld\n", i, pick(i, 10LL, -20LL, 1LL << 50, -(1LL << 60)));
    struct big b1 = {{1, 2, 3, 4, 5}, 0.5}, b2 = {{10, 20, 30, 40, 50}, 0.25};
    printf("structs %.2f\n", take_struct(2, b1, b2));
    return 0;
}
