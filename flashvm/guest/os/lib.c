/*
 * lib.c -- string functions, formatted printing, the console and panic.
 */
#include "kernel.h"
#include "fmt.h"

void *memcpy(void *d, const void *s, size_t n)
{
    u8 *dp = d;
    const u8 *sp = s;
    if ((((uintptr_t)dp | (uintptr_t)sp) & 3) == 0) {
        while (n >= 16) {
            u32 a = ((const u32 *)sp)[0], b = ((const u32 *)sp)[1];
            u32 c = ((const u32 *)sp)[2], e = ((const u32 *)sp)[3];
            ((u32 *)dp)[0] = a; ((u32 *)dp)[1] = b;
            ((u32 *)dp)[2] = c; ((u32 *)dp)[3] = e;
            dp += 16; sp += 16; n -= 16;
        }
        while (n >= 4) {
            *(u32 *)dp = *(const u32 *)sp;
            dp += 4; sp += 4; n -= 4;
        }
    }
    while (n--)
        *dp++ = *sp++;
    return d;
}

void *memmove(void *d, const void *s, size_t n)
{
    u8 *dp = d;
    const u8 *sp = s;
    if (dp <= sp || dp >= sp + n)
        return memcpy(d, s, n);
    dp += n; sp += n;
    while (n--)
        *--dp = *--sp;
    return d;
}

void *memset(void *d, int c, size_t n)
{
    u8 *p = d;
    if (((uintptr_t)p & 3) == 0) {
        u32 w = (u8)c * 0x01010101u;
        /* 64 bytes a turn up to an end pointer: zeroing pages (demand-zero
         * faults, page tables, kernel stacks) is most of this */
        u8 *end = p + (n & ~63u);
        for (u32 *q = (u32 *)p; (u8 *)q < end; q += 16) {
            q[0] = w; q[1] = w; q[2] = w; q[3] = w; q[4] = w; q[5] = w; q[6] = w; q[7] = w;
            q[8] = w; q[9] = w; q[10] = w; q[11] = w; q[12] = w; q[13] = w; q[14] = w; q[15] = w;
        }
        p = end;
        n &= 63;
        while (n >= 16) {
            ((u32 *)p)[0] = w; ((u32 *)p)[1] = w; ((u32 *)p)[2] = w; ((u32 *)p)[3] = w;
            p += 16; n -= 16;
        }
        while (n >= 4) { *(u32 *)p = w; p += 4; n -= 4; }
    }
    while (n--)
        *p++ = (u8)c;
    return d;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const u8 *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x - *y;
    return 0;
}

size_t strlen(const char *s) { size_t n = 0; while (s[n]) n++; return n; }
size_t strnlen(const char *s, size_t m) { size_t n = 0; while (n < m && s[n]) n++; return n; }
int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b) { a++; b++; }
    return (u8)*a - (u8)*b;
}
int strncmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++) {
        if (*a != *b) return (u8)*a - (u8)*b;
        if (!*a) return 0;
    }
    return 0;
}
char *strcpy(char *d, const char *s) { char *r = d; while ((*d++ = *s++) != 0) continue; return r; }
char *strchr(const char *s, int c)
{
    for (; ; s++) {
        if (*s == (char)c) return (char *)s;
        if (!*s) return NULL;
    }
}
size_t strlcpy(char *d, const char *s, size_t n)
{
    size_t l = strlen(s);
    if (n) {
        size_t k = l < n - 1 ? l : n - 1;
        memcpy(d, s, k);
        d[k] = 0;
    }
    return l;
}

/* ------------------------------------------------------------ printf */
int vsnprintf(char *buf, size_t n, const char *fmt, va_list ap)
{
    struct fmt_sink s = { buf, buf ? n : 0, 0, 0 };
    return fmt_format(&s, fmt, ap);
}

int snprintf(char *buf, size_t n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int r = vsnprintf(buf, n, fmt, ap);
    va_end(ap);
    return r;
}

/* ------------------------------------------------------------ console */
int console_framed;
static struct spinlock cons_lock = SPINLOCK_INIT("cons");

/* Framed mode (set by the host in boot info): every chunk is sent as
 * 0x00, stream, len_lo, len_hi, bytes -- so the host can tell stdout,
 * stderr and kernel messages apart on the one UART. */
void cons_write(int stream, const char *s, size_t n)
{
    spin_lock(&cons_lock);
    while (n) {
        size_t k = n > 0xFFFF ? 0xFFFF : n;
        if (console_framed) {
            wr32(UART_TX, 0);
            wr32(UART_TX, stream);
            wr32(UART_TX, k & 0xFF);
            wr32(UART_TX, k >> 8);
        }
        for (size_t i = 0; i < k; i++)
            wr32(UART_TX, (u8)s[i]);
        s += k;
        n -= k;
    }
    spin_unlock(&cons_lock);
}

int cons_read(char *buf, size_t n)
{
    size_t i = 0;
    while (i < n) {
        u32 v = rd32(UART_RX);
        if (v == 0xFFFFFFFF)
            break;
        buf[i++] = (char)v;
        if ((char)v == '\n')
            break;
    }
    return i;
}

void kprintf(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof buf - 1) n = sizeof buf - 1;
    cons_write(3, buf, n);
}

static volatile int panicking;

void panic(const char *fmt, ...)
{
    char buf[256];
    irq_off();
    va_list ap;
    va_start(ap, fmt);
    int n = snprintf(buf, sizeof buf, "\nkernel panic (cpu %u): ", cpuid());
    n += vsnprintf(buf + n, sizeof buf - n, fmt, ap);
    va_end(ap);
    if (n > (int)sizeof buf - 2) n = sizeof buf - 2;
    buf[n++] = '\n';
    cons_lock.locked = 0;
    if (!panicking) {
        panicking = 1;
        cons_write(3, buf, n);
    }
    machine_halt(0xDEAD);
}

void machine_halt(int status)
{
    for (;;)
        wr32(POWER_HALT, (u32)status);
}

u64 time_ns(void)
{
    u32 lo = rd32(TIMER_NS_LO);
    u32 hi = rd32(TIMER_NS_HI);
    return ((u64)hi << 32) | lo;
}
