/*
 * splashos.c -- SPLASHOS's user half: the start of main and of threads,
 * threads on VCPUs, locks, barriers, condition variables, the arena, the
 * console (printf), strings.  See splashos.h.  Runs in user mode; the kernel
 * half (start.S) is reached by `syscall` (splashos_abi.h).
 */
#include "splashos.h"
#include "splashos_abi.h"
#include "flash_layout.h"

#define MAXCPU        64
#define THREAD_STACK  (256 << 10)
#define NO_BUILTIN    __attribute__((no_builtin))

extern int main(int argc, char **argv);
extern char __heap_start[], _start[];
uint32_t __sos_stack[MAXCPU];        /* start.S: the stack top of each secondary VCPU */

/* ------------------------------------------------------------ calls to the kernel half */
static uint32_t sos_call(uint32_t nr, uint32_t a, uint32_t b, uint32_t *high)
{
    register uint32_t v0 __asm__("$2") = nr;
    register uint32_t v1 __asm__("$3");
    register uint32_t a0 __asm__("$4") = a;
    register uint32_t a1 __asm__("$5") = b;
    __asm__ volatile("syscall" : "+r"(v0), "=r"(v1), "+r"(a0), "+r"(a1) : : "$6", "$7", "memory");
    if (high)
        *high = v1;
    return v0;
}

static const struct bootinfo *const boot = (const struct bootinfo *)FLASH_BOOTINFO_PA;

int sos_ncpu(void) { return (int)boot->ncpu; }

void sos_roi(unsigned cmd, const char *name) { sos_call(SOS_SYS_ROI, cmd, (uint32_t)name, 0); }

int sos_cpu(void)
{
    uint32_t v;
    __asm__ volatile(".set push\n\t.set mips32r2\n\trdhwr %0, $29\n\t.set pop" : "=r"(v));
    return (int)v;
}

uint32_t sos_cycles(void)
{
    uint32_t v;
    __asm__ volatile(".set push\n\t.set mips32r2\n\trdhwr %0, $2\n\t.set pop" : "=r"(v));
    return v;
}

uint64_t sos_time_ns(void)
{
    uint32_t hi, lo = sos_call(SOS_SYS_TIME, 0, 0, &hi);
    return (uint64_t)hi << 32 | lo;
}

void exit(int status)
{
    for (;;)
        sos_call(SOS_SYS_EXIT, (uint32_t)status, 0, 0);
}

void abort(void)
{
    fputs("abort()\n", stderr);
    exit(134);
}

/* ------------------------------------------------------------ threads */
enum { T_IDLE, T_RUN, T_DONE };
struct sos_thread {
    volatile uint32_t state;
    uint32_t started;                /* its VCPU was released */
    void *(*fn)(void *);
    void *arg;
    void *ret;
} __attribute__((aligned(128)));     /* one per cache line: VCPUs spin on their own */

static struct sos_thread threads[MAXCPU];
static pthread_mutex_t create_lock;

int pthread_create(pthread_t *out, const pthread_attr_t *attr, void *(*fn)(void *), void *arg)
{
    (void)attr;
    int ncpu = sos_ncpu() < MAXCPU ? sos_ncpu() : MAXCPU;
    pthread_mutex_lock(&create_lock);
    int k = 1;
    while (k < ncpu && threads[k].state != T_IDLE)
        k++;
    if (k >= ncpu) {                 /* one thread per VCPU: none is free */
        pthread_mutex_unlock(&create_lock);
        return 11;                   /* EAGAIN */
    }
    struct sos_thread *t = &threads[k];
    if (!t->started) {
        char *stack = malloc(THREAD_STACK);
        if (!stack) {
            pthread_mutex_unlock(&create_lock);
            return 11;
        }
        __sos_stack[k] = (uint32_t)(uintptr_t)(stack + THREAD_STACK) & ~15u;
    }
    t->fn = fn;
    t->arg = arg;
    __atomic_store_n(&t->state, T_RUN, __ATOMIC_RELEASE);
    if (!t->started) {
        t->started = 1;
        __atomic_thread_fence(__ATOMIC_SEQ_CST);
        sos_call(SOS_SYS_START, (uint32_t)k, SOS_KSSEG + (uint32_t)(uintptr_t)_start, 0);
    }
    pthread_mutex_unlock(&create_lock);
    *out = k;
    return 0;
}

int pthread_join(pthread_t k, void **ret)
{
    if (k <= 0 || k >= MAXCPU || threads[k].state == T_IDLE)
        return 3;                    /* ESRCH */
    struct sos_thread *t = &threads[k];
    while (__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) != T_DONE)
        ;
    if (ret)
        *ret = t->ret;
    __atomic_store_n(&t->state, T_IDLE, __ATOMIC_RELEASE);
    return 0;
}

pthread_t pthread_self(void) { return sos_cpu(); }

/* where each VCPU arrives in user mode (start.S) */
void __sos_user_main(int cpu)
{
    if (cpu == 0) {
        static char *argv[64];
        const char *s = (const char *)FLASH_BOOTINFO_PA + FLASH_BOOTINFO_STRINGS;
        int argc = 0;
        for (uint32_t i = 0; i < boot->argc && argc < 63; i++) {
            argv[argc++] = (char *)s;
            s += strlen(s) + 1;
        }
        argv[argc] = 0;
        exit(main(argc, argv));
    }
    struct sos_thread *t = &threads[cpu];
    for (;;) {                       /* run what pthread_create gives this VCPU */
        while (__atomic_load_n(&t->state, __ATOMIC_ACQUIRE) != T_RUN)
            ;
        t->ret = t->fn(t->arg);
        __atomic_store_n(&t->state, T_DONE, __ATOMIC_RELEASE);
    }
}

/* ------------------------------------------------------------ synchronisation (spinning) */
int pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *a) { (void)a; m->locked = 0; return 0; }
int pthread_mutex_destroy(pthread_mutex_t *m) { (void)m; return 0; }

int pthread_mutex_lock(pthread_mutex_t *m)
{
    while (__atomic_exchange_n(&m->locked, 1, __ATOMIC_ACQUIRE))
        while (m->locked)
            ;
    return 0;
}

int pthread_mutex_trylock(pthread_mutex_t *m)
{
    return __atomic_exchange_n(&m->locked, 1, __ATOMIC_ACQUIRE) ? 16 : 0;   /* EBUSY */
}

int pthread_mutex_unlock(pthread_mutex_t *m)
{
    __atomic_store_n(&m->locked, 0, __ATOMIC_RELEASE);
    return 0;
}

int pthread_cond_init(pthread_cond_t *c, const pthread_condattr_t *a) { (void)a; c->seq = 0; return 0; }
int pthread_cond_destroy(pthread_cond_t *c) { (void)c; return 0; }

int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
    uint32_t seq = __atomic_load_n(&c->seq, __ATOMIC_ACQUIRE);
    pthread_mutex_unlock(m);
    while (__atomic_load_n(&c->seq, __ATOMIC_ACQUIRE) == seq)
        ;
    return pthread_mutex_lock(m);
}

int pthread_cond_signal(pthread_cond_t *c)
{
    __atomic_add_fetch(&c->seq, 1, __ATOMIC_ACQ_REL);   /* every waiter wakes: allowed (spurious wakeups) */
    return 0;
}

int pthread_cond_broadcast(pthread_cond_t *c) { return pthread_cond_signal(c); }

int pthread_barrier_init(pthread_barrier_t *b, const pthread_barrierattr_t *a, unsigned count)
{
    (void)a;
    if (count == 0)
        return 22;                   /* EINVAL */
    b->arrived = 0;
    b->round = 0;
    b->count = count;
    return 0;
}

int pthread_barrier_destroy(pthread_barrier_t *b) { (void)b; return 0; }

int pthread_barrier_wait(pthread_barrier_t *b)
{
    uint32_t round = __atomic_load_n(&b->round, __ATOMIC_ACQUIRE);
    if (__atomic_add_fetch(&b->arrived, 1, __ATOMIC_ACQ_REL) == b->count) {
        b->arrived = 0;              /* before the round moves on: the next round counts from 0 */
        __atomic_store_n(&b->round, round + 1, __ATOMIC_RELEASE);
        return PTHREAD_BARRIER_SERIAL_THREAD;
    }
    while (__atomic_load_n(&b->round, __ATOMIC_ACQUIRE) == round)
        ;
    return 0;
}

/* ------------------------------------------------------------ the arena */
/* Each block has a 16-byte header holding its size; free() gives back only the last block. */
static char *heap_ptr, *heap_end;
static pthread_mutex_t heap_lock;

void *malloc(size_t n)
{
    n = (n + 15) & ~(size_t)15;
    pthread_mutex_lock(&heap_lock);
    if (!heap_ptr) {
        heap_ptr = (char *)(((uintptr_t)__heap_start + 15) & ~(uintptr_t)15);
        heap_end = (char *)(uintptr_t)boot->ram_bytes;
    }
    char *p = 0;
    if (n <= (size_t)(heap_end - heap_ptr) - 16) {
        p = heap_ptr + 16;
        *(size_t *)heap_ptr = n;
        heap_ptr = p + n;
    }
    pthread_mutex_unlock(&heap_lock);
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

void free(void *p)
{
    if (!p)
        return;
    char *c = p;
    pthread_mutex_lock(&heap_lock);
    if (c + *(size_t *)(c - 16) == heap_ptr)
        heap_ptr = c - 16;
    pthread_mutex_unlock(&heap_lock);
}

void *realloc(void *p, size_t n)
{
    if (!p)
        return malloc(n);
    size_t old = *(size_t *)((char *)p - 16);
    if (n <= old)
        return p;
    void *q = malloc(n);
    if (q) {
        memcpy(q, p, old);
        free(p);
    }
    return q;
}

size_t sos_heap_used(void) { return heap_ptr ? (size_t)(heap_ptr - __heap_start) : 0; }

/* ------------------------------------------------------------ strings */
NO_BUILTIN void *memcpy(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if ((((uintptr_t)d | (uintptr_t)s) & 3) == 0)
        for (; n >= 4; n -= 4, d += 4, s += 4)
            *(uint32_t *)d = *(const uint32_t *)s;
    while (n--)
        *d++ = *s++;
    return dst;
}

NO_BUILTIN void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d <= s || d >= s + n)
        return memcpy(dst, src, n);
    while (n--)
        d[n] = s[n];
    return dst;
}

NO_BUILTIN void *memset(void *dst, int c, size_t n)
{
    unsigned char *d = dst;
    uint32_t w = (unsigned char)c * 0x01010101u;
    for (; n && ((uintptr_t)d & 3); n--)
        *d++ = (unsigned char)c;
    for (; n >= 4; n -= 4, d += 4)
        *(uint32_t *)d = w;
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
    for (; *a && *a == *b; a++, b++)
        ;
    return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++)
        if (*a != *b || !*a)
            return (unsigned char)*a - (unsigned char)*b;
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

long strtol(const char *s, char **end, int base)
{
    while (*s == ' ' || *s == '\t' || *s == '\n')
        s++;
    int neg = *s == '-';
    if (*s == '-' || *s == '+')
        s++;
    if ((base == 0 || base == 16) && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        s += 2;
        base = 16;
    } else if (base == 0) {
        base = *s == '0' ? 8 : 10;
    }
    unsigned long v = 0;
    for (;; s++) {
        int d = *s >= '0' && *s <= '9' ? *s - '0' : *s >= 'a' && *s <= 'z' ? *s - 'a' + 10
              : *s >= 'A' && *s <= 'Z' ? *s - 'A' + 10 : 99;
        if (d >= base)
            break;
        v = v * (unsigned)base + (unsigned)d;
    }
    if (end)
        *end = (char *)s;
    return neg ? -(long)v : (long)v;
}

int atoi(const char *s) { return (int)strtol(s, 0, 10); }
long atol(const char *s) { return strtol(s, 0, 10); }
int abs(int x) { return x < 0 ? -x : x; }
long labs(long x) { return x < 0 ? -x : x; }
