/*
 * console.c -- SPLASHOS's stdio: printf and friends over the VM's console.
 * Output is gathered in a buffer and written by one call to the kernel half
 * per 256 bytes (a line of a thread is not cut by another's).  stdout and
 * stderr are both the console.  Conversions: d i u x X o c s p f F %, flags
 * - 0 + space, width and precision (also *), lengths hh h l ll z.
 */
#include "splashos.h"
#include "splashos_abi.h"

static FILE files[3] = {{.fd = 0}, {.fd = 1}, {.fd = 2}};
FILE *const stdin = &files[0], *const stdout = &files[1], *const stderr = &files[2];

struct sink {
    char *buf;                       /* snprintf's buffer, or 0: the console */
    size_t size, len;
    char out[256];                   /* console: bytes not yet written */
    size_t n;
};

void __sos_console_write(const char *p, size_t n)
{
    register uint32_t v0 __asm__("$2") = SOS_SYS_WRITE;
    register uint32_t a0 __asm__("$4") = (uint32_t)(uintptr_t)p;
    register uint32_t a1 __asm__("$5") = n;
    __asm__ volatile("syscall" : "+r"(v0), "+r"(a0), "+r"(a1) : : "$3", "$6", "$7", "memory");
}

static void flush(struct sink *s)
{
    if (s->n)
        __sos_console_write(s->out, s->n);
    s->n = 0;
}

static void put(struct sink *s, char c)
{
    if (s->buf) {
        if (s->len + 1 < s->size)
            s->buf[s->len] = c;
    } else {
        if (s->n == sizeof s->out)
            flush(s);
        s->out[s->n++] = c;
    }
    s->len++;
}

static void pad(struct sink *s, char c, int n)
{
    while (n-- > 0)
        put(s, c);
}

/* sign/prefix, then digits (already formatted), padded to width */
static void emit(struct sink *s, const char *pre, const char *dig, int nd, int width, int left, int zero)
{
    int np = (int)strlen(pre), fill = width - np - nd;
    if (!left && !zero)
        pad(s, ' ', fill);
    while (*pre)
        put(s, *pre++);
    if (!left && zero)
        pad(s, '0', fill);
    for (int i = 0; i < nd; i++)
        put(s, dig[i]);
    if (left)
        pad(s, ' ', fill);
}

static int utoa(char *out, uint64_t v, unsigned base, int upper, int min_digits)
{
    char tmp[32];
    int n = 0;
    const char *d = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    do {
        tmp[n++] = d[v % base];
        v /= base;
    } while (v);
    while (n < min_digits && n < 31)
        tmp[n++] = '0';
    for (int i = 0; i < n; i++)
        out[i] = tmp[n - 1 - i];
    return n;
}

/* %f: the integer part, then `prec` decimals rounded to nearest (ties to even) */
static int ftoa(char *out, double v, int prec)
{
    static const double pow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9,
                                   1e10, 1e11, 1e12, 1e13, 1e14, 1e15};
    if (v != v) {
        memcpy(out, "nan", 3);
        return 3;
    }
    if (v >= 1.8e19) {
        memcpy(out, "inf", 3);
        return 3;
    }
    if (prec > 15)
        prec = 15;
    uint64_t ip = (uint64_t)v;
    double scaled = (v - (double)ip) * pow10[prec];
    uint64_t fp = (uint64_t)scaled;
    double rem = scaled - (double)fp;
    if (rem > 0.5 || (rem == 0.5 && (fp & 1)))
        fp++;
    if ((double)fp >= pow10[prec]) {
        fp = 0;
        ip++;
    }
    int n = utoa(out, ip, 10, 0, 1);
    if (prec > 0) {
        out[n++] = '.';
        n += utoa(out + n, fp, 10, 0, prec);
    }
    return n;
}

static int format(struct sink *s, const char *f, va_list ap)
{
    for (; *f; f++) {
        if (*f != '%') {
            put(s, *f);
            continue;
        }
        f++;
        int left = 0, zero = 0, plus = 0, space = 0, width = 0, prec = -1, lng = 0;
        for (;; f++) {
            if (*f == '-') left = 1;
            else if (*f == '0') zero = 1;
            else if (*f == '+') plus = 1;
            else if (*f == ' ') space = 1;
            else break;
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
        if (*f == '.') {
            f++;
            prec = 0;
            if (*f == '*') {
                prec = va_arg(ap, int);
                f++;
            } else {
                while (*f >= '0' && *f <= '9')
                    prec = prec * 10 + (*f++ - '0');
            }
        }
        for (;; f++) {
            if (*f == 'l') lng++;
            else if (*f != 'h' && *f != 'z') break;
        }
        char dig[64];
        int nd;
        const char *pre = "";
        switch (*f) {
        case 'd':
        case 'i': {
            int64_t v = lng >= 2 ? va_arg(ap, long long) : (int64_t)va_arg(ap, int);
            uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
            pre = v < 0 ? "-" : plus ? "+" : space ? " " : "";
            nd = utoa(dig, u, 10, 0, prec < 0 ? 1 : prec);
            emit(s, pre, dig, nd, width, left, zero && prec < 0);
            break;
        }
        case 'u':
        case 'x':
        case 'X':
        case 'o': {
            uint64_t v = lng >= 2 ? va_arg(ap, unsigned long long) : (uint64_t)va_arg(ap, unsigned int);
            nd = utoa(dig, v, *f == 'u' ? 10 : *f == 'o' ? 8 : 16, *f == 'X', prec < 0 ? 1 : prec);
            emit(s, "", dig, nd, width, left, zero && prec < 0);
            break;
        }
        case 'p':
            nd = utoa(dig, (uintptr_t)va_arg(ap, void *), 16, 0, 1);
            emit(s, "0x", dig, nd, width, left, zero);
            break;
        case 'f':
        case 'F': {
            double v = va_arg(ap, double);
            int neg = v < 0 || (v == 0 && 1 / v < 0);
            pre = neg ? "-" : plus ? "+" : space ? " " : "";
            nd = ftoa(dig, neg ? -v : v, prec < 0 ? 6 : prec);
            emit(s, pre, dig, nd, width, left, zero);
            break;
        }
        case 'c':
            dig[0] = (char)va_arg(ap, int);
            emit(s, "", dig, 1, width, left, 0);
            break;
        case 's': {
            const char *str = va_arg(ap, const char *);
            if (!str)
                str = "(null)";
            int n = (int)strlen(str);
            if (prec >= 0 && n > prec)
                n = prec;
            if (!left)
                pad(s, ' ', width - n);
            for (int i = 0; i < n; i++)
                put(s, str[i]);
            if (left)
                pad(s, ' ', width - n);
            break;
        }
        case '%':
            put(s, '%');
            break;
        case '\0':
            f--;
            break;
        default:                     /* not supported (e, g, ...): shown as written */
            put(s, '%');
            put(s, *f);
            break;
        }
    }
    return (int)s->len;
}

int vfprintf(FILE *f, const char *fmt, va_list ap)
{
    if (f->fd >= 3) {                  /* a file (files.c): formatted here, written there */
        char tmp[1024];
        int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
        fwrite(tmp, 1, n < (int)sizeof tmp ? (size_t)n : sizeof tmp - 1, f);
        return n;
    }
    struct sink s = {0};
    int n = format(&s, fmt, ap);
    flush(&s);
    return n;
}

int vsnprintf(char *buf, size_t n, const char *fmt, va_list ap)
{
    struct sink s = {0};
    s.buf = buf;
    s.size = n;
    int r = format(&s, fmt, ap);
    if (n)
        buf[s.len < n ? s.len : n - 1] = '\0';
    return r;
}

int vprintf(const char *fmt, va_list ap) { return vfprintf(stdout, fmt, ap); }

int printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vfprintf(stdout, fmt, ap);
    va_end(ap);
    return n;
}

int fprintf(FILE *f, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vfprintf(f, fmt, ap);
    va_end(ap);
    return n;
}

int snprintf(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    return r;
}

int sprintf(char *buf, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(buf, (size_t)-1 >> 1, fmt, ap);
    va_end(ap);
    return r;
}

int fputs(const char *str, FILE *f)
{
    if (f->fd >= 3)
        return fwrite(str, 1, strlen(str), f) == strlen(str) ? 0 : EOF;
    __sos_console_write(str, strlen(str));
    return 0;
}

int puts(const char *str)
{
    fputs(str, stdout);
    __sos_console_write("\n", 1);
    return 0;
}

int fputc(int c, FILE *f)
{
    char b = (char)c;
    if (f->fd >= 3)
        return fwrite(&b, 1, 1, f) == 1 ? (unsigned char)c : EOF;
    __sos_console_write(&b, 1);
    return (unsigned char)c;
}

int putchar(int c) { return fputc(c, stdout); }

int getchar(void)
{
    register uint32_t v0 __asm__("$2") = SOS_SYS_GETC;
    __asm__ volatile("syscall" : "+r"(v0) : : "$3", "$4", "$5", "$6", "$7", "memory");
    return (int)v0;
}

int __sos_fflush_file(FILE *f);

int fflush(FILE *f)
{
    return f ? __sos_fflush_file(f) : 0;
}
