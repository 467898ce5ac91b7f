/*
 * bare.c -- tiny libc and machine helpers for bare flashvm guests.
 * See bare.h for the API.
 */
#include "bare.h"
#include "fmt.h"

/* ------------------------------------------------------------------ power */
void halt(int code)
{
    for (;;)
        mmio_write32(POWER_HALT, (uint32_t)code);
}

void exit(int code) { halt(code); }

void abort(void)
{
    fputs_uart("abort()\n");
    halt(134);
}

uint64_t time_ns(void)
{
    uint32_t hi, lo, hi2;
    do {
        hi = mmio_read32(TIMER_NS_HI);
        lo = mmio_read32(TIMER_NS_LO);
        hi2 = mmio_read32(TIMER_NS_HI);
    } while (hi != hi2);
    return ((uint64_t)hi << 32) | lo;
}

/* ------------------------------------------------------------------- UART */
int putchar(int c)
{
    mmio_write32(UART_TX, (uint32_t)(unsigned char)c);
    return (unsigned char)c;
}

int fputs_uart(const char *s)
{
    while (*s)
        putchar(*s++);
    return 0;
}

int puts(const char *s)
{
    fputs_uart(s);
    putchar('\n');
    return 0;
}

int getchar(void)
{
    uint32_t v = mmio_read32(UART_RX);
    return v == 0xFFFFFFFF ? -1 : (int)(v & 0xFF);
}

/* ----------------------------------------------------------------- printf */
static void uart_putc(char c)
{
    putchar(c);
}

int vprintf(const char *fmt, va_list ap)
{
    struct fmt_sink s = {0, 0, 0, uart_putc};
    return fmt_format(&s, fmt, ap);
}

int printf(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vprintf(fmt, ap);
    va_end(ap);
    return n;
}

int vsnprintf(char *buf, size_t n, const char *fmt, va_list ap)
{
    struct fmt_sink s = {buf, buf ? n : 0, 0, 0};
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

/* ---------------------------------------------------------------- strings */
/* Byte loops: keep them from being turned back into calls to themselves. */
#define NO_BUILTIN __attribute__((no_builtin))

NO_BUILTIN void *memcpy(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if ((((uintptr_t)d | (uintptr_t)s) & 3) == 0) {
        while (n >= 4) {
            *(uint32_t *)d = *(const uint32_t *)s;
            d += 4;
            s += 4;
            n -= 4;
        }
    }
    while (n--)
        *d++ = *s++;
    return dst;
}

NO_BUILTIN void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d == s || n == 0)
        return dst;
    if (d < s || d >= s + n)
        return memcpy(dst, src, n);
    d += n;
    s += n;
    while (n--)
        *--d = *--s;
    return dst;
}

NO_BUILTIN void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;
    uint32_t w = (unsigned char)c;
    w |= w << 8;
    w |= w << 16;
    while (n && ((uintptr_t)d & 3)) {
        *d++ = (unsigned char)c;
        n--;
    }
    while (n >= 4) {
        *(uint32_t *)d = w;
        d += 4;
        n -= 4;
    }
    while (n--)
        *d++ = (unsigned char)c;
    return dst;
}

NO_BUILTIN int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (; n; n--, x++, y++)
        if (*x != *y)
            return *x - *y;
    return 0;
}

NO_BUILTIN size_t strlen(const char *s)
{
    const char *p = s;
    while (*p)
        p++;
    return (size_t)(p - s);
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b) {
        a++;
        b++;
    }
    return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++) {
        if (*a != *b || !*a)
            return (unsigned char)*a - (unsigned char)*b;
    }
    return 0;
}

char *strcpy(char *dst, const char *src)
{
    char *d = dst;
    while ((*d++ = *src++))
        ;
    return dst;
}

char *strchr(const char *s, int c)
{
    for (;; s++) {
        if (*s == (char)c)
            return (char *)s;
        if (!*s)
            return 0;
    }
}

/* ----------------------------------------------------------------- malloc */
extern char __ram_end[];
static char *heap_ptr;

void *malloc(size_t n)
{
    if (!heap_ptr)
        heap_ptr = __heap_start;
    n = (n + 15) & ~(size_t)15;
    if (n > (size_t)(__ram_end - heap_ptr))
        return 0;
    void *p = heap_ptr;
    heap_ptr += n;
    return p;
}

void *calloc(size_t n, size_t size)
{
    if (size && n > (size_t)-1 / size)
        return 0;
    void *p = malloc(n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

void free(void *p) { (void)p; }

/* ------------------------------------------------------------- exceptions */
trap_handler_t __bare_trap_handler = default_exception_handler;

extern const uint32_t __bare_vec_refill[], __bare_vec_refill_end[];
extern const uint32_t __bare_vec_general[], __bare_vec_general_end[];
extern const uint32_t __bare_vec_interrupt[], __bare_vec_interrupt_end[];

static const char *const exc_names[32] = {
    "Int", "Mod", "TLBL", "TLBS", "AdEL", "AdES", "IBE", "DBE",
    "Sys", "Bp", "RI", "CpU", "Ov", "Tr", "MSAFPE", "FPE",
    "16", "17", "C2E", "TLBRI", "TLBXI", "MSADis", "MDMX", "WATCH",
    "MCheck", "Thread", "DSPDis", "27", "28", "29", "CacheErr", "31",
};

const char *exc_name(unsigned exccode) { return exc_names[exccode & 31]; }

void dump_trapframe(const struct trapframe *tf)
{
    printf("exception %s (code %u) vector 0x%03x\n", exc_name(CAUSE_EXC(tf->cause)),
           CAUSE_EXC(tf->cause), tf->vector);
    printf("  epc=%08x cause=%08x status=%08x badvaddr=%08x entryhi=%08x\n",
           tf->epc, tf->cause, tf->status, tf->badvaddr, tf->entryhi);
    for (int i = 0; i < 32; i += 4)
        printf("  r%-2d %08x %08x %08x %08x\n", i, tf->regs[i], tf->regs[i + 1],
               tf->regs[i + 2], tf->regs[i + 3]);
    printf("  hi %08x lo %08x\n", tf->hi, tf->lo);
}

void default_exception_handler(struct trapframe *tf)
{
    printf("unhandled ");
    dump_trapframe(tf);
    halt(0xEE);
}

trap_handler_t set_exception_handler(trap_handler_t h)
{
    trap_handler_t old = __bare_trap_handler;
    __bare_trap_handler = h ? h : default_exception_handler;
    return old;
}

static void copy_vector(uint32_t offset, const uint32_t *from, const uint32_t *to)
{
    /* write through the uncached kseg1 alias so no stale cache line survives */
    uint32_t ebase = read_c0_ebase() & 0x3FFFF000;
    volatile uint32_t *dst = (volatile uint32_t *)(uintptr_t)KSEG1(PHYS(ebase + offset));
    while (from < to)
        *dst++ = *from++;
}

/* called by crt0 before main */
void __bare_init(void)
{
    install_exception_handler(0);
}

void install_exception_handler(trap_handler_t h)
{
    set_exception_handler(h);
    copy_vector(VEC_TLB_REFILL, __bare_vec_refill, __bare_vec_refill_end);
    copy_vector(VEC_GENERAL, __bare_vec_general, __bare_vec_general_end);
    copy_vector(VEC_INTERRUPT, __bare_vec_interrupt, __bare_vec_interrupt_end);
    mips_sync();
}

/* -------------------------------------------------------------------- TLB */
void tlb_write(int index, uint32_t entryhi, uint32_t entrylo0, uint32_t entrylo1,
               uint32_t pagemask)
{
    write_c0_entryhi(entryhi);
    write_c0_entrylo0(entrylo0);
    write_c0_entrylo1(entrylo1);
    write_c0_pagemask(pagemask);
    if (index >= 0) {
        write_c0_index((uint32_t)index);
        tlbwi();
    } else {
        tlbwr();
    }
}

int tlb_probe(uint32_t entryhi)
{
    write_c0_entryhi(entryhi);
    tlbp();
    uint32_t idx = read_c0_index();
    return (idx & INDEX_P) ? -1 : (int)(idx & 0x7FFFFFFF);
}

int tlb_size(void)
{
    uint32_t c1 = read_c0_config(1);
    return (int)((c1 >> 25) & 0x3F) + 1;
}

void tlb_flush_all(void)
{
    uint32_t old_hi = read_c0_entryhi();
    int n = tlb_size();
    /* wired entries stay (a kernel relinked in ksseg lives in them); the
     * others get distinct VPN2s inside unmapped kseg0: they never match */
    for (int i = (int)read_c0_wired(); i < n; i++)
        tlb_write(i, KSEG0_BASE + ((uint32_t)i << 13), 0, 0, PAGEMASK_4K);
    write_c0_entryhi(old_hi);
}

/* ------------------------------------------------------------------ SMP */
extern void __bare_secondary(void) __attribute__((weak));   /* crt0.S; weak: bare.c is also #included by hosted tests */
uint32_t __bare_cpu_sp[64];
void (*__bare_cpu_entry)(int);

int bare_cpu_id(void) { return (int)(read_c0_ebase() & 0x3FF); }

int bare_ncpu(void) { return (int)mmio_read32(SMP_NCPU); }

void bare_start_cpu(int cpu, void (*fn)(int), void *stack_top)
{
    __bare_cpu_entry = fn;
    __bare_cpu_sp[cpu] = (uint32_t)(uintptr_t)stack_top & ~15u;
    __asm__ volatile("sync" ::: "memory");
    mmio_write32(SMP_RELEASE(cpu), (uint32_t)(uintptr_t)__bare_secondary);
}

uint32_t atomic_add(volatile uint32_t *p, uint32_t v)
{
    uint32_t old, tmp;
    __asm__ volatile(
        "1: ll   %0, 0(%2)\n"
        "   addu %1, %0, %3\n"
        "   sc   %1, 0(%2)\n"
        "   beqz %1, 1b\n"
        "   nop\n"
        : "=&r"(old), "=&r"(tmp) : "r"(p), "r"(v) : "memory");
    return old + v;
}

void spin_lock(volatile uint32_t *lock)
{
    uint32_t v, tmp;
    __asm__ volatile(
        "1: ll   %0, 0(%2)\n"
        "   bnez %0, 1b\n"
        "   li   %1, 1\n"
        "   sc   %1, 0(%2)\n"
        "   beqz %1, 1b\n"
        "   nop\n"
        : "=&r"(v), "=&r"(tmp) : "r"(lock) : "memory");
}

void spin_unlock(volatile uint32_t *lock)
{
    __asm__ volatile("sync" ::: "memory");
    *lock = 0;
}
