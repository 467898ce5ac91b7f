/*
 * splashos.h -- SPLASHOS, a library OS for SPLASH-style parallel programs
 * running directly in a Disco virtual machine (the paper's section 4.4).
 *
 * The program and SPLASHOS share one address space: guest-physical memory
 * identity-mapped in user space (virtual address == guest-physical address)
 * by TLB entries SPLASHOS wires once per VCPU at boot (16 MB page pairs);
 * SPLASHOS has no virtual memory of its own: every TLB miss is served by the
 * monitor from those wired entries.  main() and its threads run in user mode;
 * only console output, time, exit, the start of a VCPU and the virtual
 * disk's registers (files.c) go through a `syscall` to SPLASHOS's small
 * kernel half (start.S).
 *
 * Threads: one per VCPU (as SPLASH runs them): pthread_create() starts the
 * function on a free VCPU (VCPU 0 runs main); there are at most ncpu - 1 live
 * threads besides main.  Locks, barriers and condition variables spin (LL/SC);
 * nothing ever blocks in the monitor.
 *
 * Memory: malloc() takes blocks from one arena (the VM's memory after the
 * program), free() returns a block only when it is the last one taken.
 *
 * Programs include this header, or the usual ones (pthread.h, stdio.h,
 * stdlib.h, string.h, math.h), which are thin shims over it.  Build:
 *     python -m flashvm.toolchain splashos prog.c    (flashvm.toolchain.build_splashos)
 */
#ifndef SPLASHOS_H
#define SPLASHOS_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ system */
int sos_ncpu(void);                  /* the VM's VCPUs */
int sos_cpu(void);                   /* this thread's VCPU (0 for main) */
uint64_t sos_time_ns(void);          /* simulated time (the VM's timer) */
uint32_t sos_cycles(void);           /* this VCPU's cycle counter (rdhwr, no trap) */
__attribute__((noreturn)) void exit(int status);
__attribute__((noreturn)) void abort(void);

/* ------------------------------------------------------------------ memory */
void *malloc(size_t n);
void *calloc(size_t n, size_t size);
void *realloc(void *p, size_t n);
void free(void *p);
size_t sos_heap_used(void);

/* ----------------------------------------------------------------- console */
typedef struct sos_file { int fd, rpos, rlen, wlen; unsigned char rbuf[512]; } FILE;   /* files' buffer */
extern FILE *const stdin, *const stdout, *const stderr;
#define EOF (-1)
int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int fprintf(FILE *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int sprintf(char *buf, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int snprintf(char *buf, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int vprintf(const char *fmt, va_list ap);
int vfprintf(FILE *f, const char *fmt, va_list ap);
int vsnprintf(char *buf, size_t n, const char *fmt, va_list ap);
int puts(const char *s);
int fputs(const char *s, FILE *f);
int putchar(int c);
int fputc(int c, FILE *f);
#define putc fputc
int getchar(void);
int fflush(FILE *f);

/* ------------------------------------------------------------------- files */
/* over the VM's virtual disk (files.c; docs/splashos.md "Files"): a flat name space */
#define O_RDONLY 0
#define O_WRONLY 1
#define O_RDWR   2
#define O_APPEND 0x0008
#define O_CREAT  0x0100
#define O_TRUNC  0x0200
#define SEEK_SET 0
#define SEEK_CUR 1
#define SEEK_END 2
int open(const char *path, int flags, ...);
long read(int fd, void *buf, size_t n);
long write(int fd, const void *buf, size_t n);
long lseek(int fd, long off, int whence);
int close(int fd);
long sos_file_size(int fd);          /* bytes in an open file */
FILE *fopen(const char *path, const char *mode);
int fclose(FILE *f);
size_t fread(void *p, size_t size, size_t n, FILE *f);
size_t fwrite(const void *p, size_t size, size_t n, FILE *f);
int fgetc(FILE *f);
#define getc fgetc
char *fgets(char *s, int n, FILE *f);

/* ----------------------------------------------------------------- strings */
void *memcpy(void *dst, const void *src, size_t n);
void *memmove(void *dst, const void *src, size_t n);
void *memset(void *dst, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
char *strcpy(char *dst, const char *src);
char *strchr(const char *s, int c);
long strtol(const char *s, char **end, int base);
int atoi(const char *s);
long atol(const char *s);
int abs(int x);
long labs(long x);

/* -------------------------------------------------------------------- math */
#define M_PI 3.14159265358979323846
double fabs(double x);
double sqrt(double x);
double floor(double x);
double ceil(double x);
double sin(double x);
double cos(double x);

/* ---------------------------------------------------------------- threads */
typedef int pthread_t;
typedef struct { int unused; } pthread_attr_t;
typedef struct { volatile uint32_t locked; } pthread_mutex_t;
typedef struct { int unused; } pthread_mutexattr_t;
typedef struct { volatile uint32_t seq; } pthread_cond_t;
typedef struct { int unused; } pthread_condattr_t;
typedef struct {
    volatile uint32_t arrived;       /* threads at the barrier in this round */
    volatile uint32_t round;         /* bumped by the last to arrive */
    uint32_t count;
} pthread_barrier_t;
typedef struct { int unused; } pthread_barrierattr_t;
#define PTHREAD_MUTEX_INITIALIZER {0}
#define PTHREAD_COND_INITIALIZER {0}
#define PTHREAD_BARRIER_SERIAL_THREAD (-1)

int pthread_create(pthread_t *t, const pthread_attr_t *attr, void *(*fn)(void *), void *arg);
int pthread_join(pthread_t t, void **ret);
pthread_t pthread_self(void);
int pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *attr);
int pthread_mutex_destroy(pthread_mutex_t *m);
int pthread_mutex_lock(pthread_mutex_t *m);
int pthread_mutex_trylock(pthread_mutex_t *m);
int pthread_mutex_unlock(pthread_mutex_t *m);
int pthread_cond_init(pthread_cond_t *c, const pthread_condattr_t *attr);
int pthread_cond_destroy(pthread_cond_t *c);
int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m);
int pthread_cond_signal(pthread_cond_t *c);
int pthread_cond_broadcast(pthread_cond_t *c);
int pthread_barrier_init(pthread_barrier_t *b, const pthread_barrierattr_t *attr, unsigned count);
int pthread_barrier_destroy(pthread_barrier_t *b);
int pthread_barrier_wait(pthread_barrier_t *b);

#ifdef __cplusplus
}
#endif
#endif
