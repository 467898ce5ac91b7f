/* The printf formatter shared by the bare runtime (guest/bare/bare.c) and the guest
 * kernel (guest/os/lib.c): %d %i %u %x %X %o %p %c %s %%, flags '-' and '0', a width
 * (or '*'), length modifiers l/ll/h/z.  Each user wraps it in its own printf family;
 * characters go to a buffer, or to `putc` when there is no buffer. */
#ifndef FLASHVM_FMT_H
#define FLASHVM_FMT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

struct fmt_sink {
    char *buf;              /* NULL: characters go to putc (or nowhere) */
    size_t size;
    size_t len;             /* characters produced, not counting the NUL */
    void (*putc)(char c);
};

static void fmt_put(struct fmt_sink *s, char c)
{
    if (!s->buf) {
        if (s->putc)
            s->putc(c);
    } else if (s->len + 1 < s->size) {
        s->buf[s->len] = c;
    }
    s->len++;
}

static void fmt_pad(struct fmt_sink *s, char c, int n)
{
    while (n-- > 0)
        fmt_put(s, c);
}

/* digits in reverse; no 64-bit division while the value fits in 32 bits */
static int fmt_utoa_rev(char *out, uint64_t v, unsigned base, int upper)
{
    const char *dig = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    int n = 0;
    if (v == 0)
        out[n++] = '0';
    while (v >> 32) {
        out[n++] = dig[v % base];
        v /= base;
    }
    uint32_t w = (uint32_t)v;
    while (w) {
        out[n++] = dig[w % base];
        w /= base;
    }
    return n;
}

static void fmt_num(struct fmt_sink *s, uint64_t v, int neg, unsigned base, int upper,
                    int width, int left, int zero, const char *prefix)
{
    char tmp[24];
    int n = fmt_utoa_rev(tmp, v, base, upper);
    int plen = 0;
    while (prefix && prefix[plen])
        plen++;
    int total = n + (neg ? 1 : 0) + plen;
    if (!left && !zero)
        fmt_pad(s, ' ', width - total);
    if (neg)
        fmt_put(s, '-');
    for (int i = 0; i < plen; i++)
        fmt_put(s, prefix[i]);
    if (!left && zero)
        fmt_pad(s, '0', width - total);
    while (n > 0)
        fmt_put(s, tmp[--n]);
    if (left)
        fmt_pad(s, ' ', width - total);
}

static int fmt_format(struct fmt_sink *s, const char *f, va_list ap)
{
    for (; *f; f++) {
        if (*f != '%') {
            fmt_put(s, *f);
            continue;
        }
        f++;
        int left = 0, zero = 0, width = 0, lng = 0;
        for (;; f++) {
            if (*f == '-')
                left = 1;
            else if (*f == '0')
                zero = 1;
            else
                break;
        }
        if (*f == '*') {
            width = va_arg(ap, int);
            if (width < 0) {
                left = 1;
                width = -width;
            }
            f++;
        } else {
            while (*f >= '0' && *f <= '9')
                width = width * 10 + (*f++ - '0');
        }
        for (;; f++) {
            if (*f == 'l')
                lng++;
            else if (*f != 'h' && *f != 'z')
                break;
        }
        switch (*f) {
        case 'd':
        case 'i': {
            int64_t v = lng >= 2 ? va_arg(ap, long long) : (int64_t)va_arg(ap, int);
            uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
            fmt_num(s, u, v < 0, 10, 0, width, left, zero, 0);
            break;
        }
        case 'u':
        case 'x':
        case 'X':
        case 'o': {
            uint64_t v = lng >= 2 ? va_arg(ap, unsigned long long)
                                  : (uint64_t)va_arg(ap, unsigned int);
            unsigned base = *f == 'u' ? 10 : *f == 'o' ? 8 : 16;
            fmt_num(s, v, 0, base, *f == 'X', width, left, zero, 0);
            break;
        }
        case 'p':
            fmt_num(s, (uintptr_t)va_arg(ap, void *), 0, 16, 0, width, left, zero, "0x");
            break;
        case 'c': {
            char c = (char)va_arg(ap, int);
            if (!left)
                fmt_pad(s, ' ', width - 1);
            fmt_put(s, c);
            if (left)
                fmt_pad(s, ' ', width - 1);
            break;
        }
        case 's': {
            const char *str = va_arg(ap, const char *);
            if (!str)
                str = "(null)";
            int n = 0;
            while (str[n])
                n++;
            if (!left)
                fmt_pad(s, ' ', width - n);
            while (*str)
                fmt_put(s, *str++);
            if (left)
                fmt_pad(s, ' ', width - n);
            break;
        }
        case '%':
            fmt_put(s, '%');
            break;
        case '\0':
            f--;
            break;
        default:
            fmt_put(s, '%');
            fmt_put(s, *f);
            break;
        }
    }
    if (s->buf && s->size)
        s->buf[s->len < s->size ? s->len : s->size - 1] = '\0';
    return (int)s->len;
}

#endif
