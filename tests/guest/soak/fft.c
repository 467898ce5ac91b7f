/* SPLASH-shaped FFT: N = 2^M complex points (argv[2] = M, even) seen as a
 * sqrt(N) x sqrt(N) matrix, transformed by the six-step method: transpose,
 * a radix-2 FFT of each row, twiddle, transpose, row FFTs, transpose.
 * Threads (argv[1]) own blocks of rows; barriers separate the phases.  The
 * inverse transform must give back the input.  Every row is computed the
 * same way whichever thread owns it, so the output is independent of the
 * thread count. */
#include <math.h>
#include "soak.h"

typedef struct { double re, im; } cpx;
static long n, rows;          /* points, rows = columns = sqrt(n) */
static int logr;
static cpx *x, *y, *orig, *roots;   /* roots: the rows-point roots of unity */

static void transpose(cpx *dst, const cpx *src, long id)
{
    for (long i = part_lo(rows, id); i < part_hi(rows, id); i++)
        for (long j = 0; j < rows; j++) dst[i * rows + j] = src[j * rows + i];
}

static void row_fft(cpx *a, int sign)
{
    for (long i = 1, j = 0; i < rows; i++) {       /* bit reversal */
        long bit = rows >> 1;
        for (; j & bit; bit >>= 1) j ^= bit;
        j ^= bit;
        if (i < j) { cpx t = a[i]; a[i] = a[j]; a[j] = t; }
    }
    for (long len = 2; len <= rows; len <<= 1) {
        long step = rows / len;
        for (long s = 0; s < rows; s += len)
            for (long k = 0; k < len / 2; k++) {
                cpx w = roots[k * step];
                w.im *= sign;
                cpx u = a[s + k], v = a[s + k + len / 2];
                cpx t = {v.re * w.re - v.im * w.im, v.re * w.im + v.im * w.re};
                a[s + k] = (cpx){u.re + t.re, u.im + t.im};
                a[s + k + len / 2] = (cpx){u.re - t.re, u.im - t.im};
            }
    }
}

static void rows_fft(cpx *a, int sign, long id)
{
    for (long i = part_lo(rows, id); i < part_hi(rows, id); i++) row_fft(a + i * rows, sign);
}

static void twiddle(cpx *a, int sign, long id)
{
    for (long i = part_lo(rows, id); i < part_hi(rows, id); i++)
        for (long j = 0; j < rows; j++) {
            double ang = sign * -2.0 * M_PI * (double)(i * j) / (double)n;
            double c = cos(ang), s = sin(ang);
            cpx v = a[i * rows + j];
            a[i * rows + j] = (cpx){v.re * c - v.im * s, v.re * s + v.im * c};
        }
}

/* x -> x transformed (sign -1 forward, +1 inverse), y as scratch */
static void six_step(int sign, long id)
{
    transpose(y, x, id);
    sync_all();
    rows_fft(y, sign, id);
    twiddle(y, sign, id);
    sync_all();
    transpose(x, y, id);
    sync_all();
    rows_fft(x, sign, id);
    sync_all();
    transpose(y, x, id);
    sync_all();
    for (long i = part_lo(n, id); i < part_hi(n, id); i++)
        x[i] = (cpx){y[i].re / (sign > 0 ? n : 1), y[i].im / (sign > 0 ? n : 1)};
    sync_all();
}

static double checksum;

static void *work(void *arg)
{
    long id = (long)arg;
    six_step(-1, id);
    if (id == 0)
        for (long i = 0; i < n; i++) checksum += x[i].re * (double)(i % 7 + 1) + x[i].im * (double)(i % 5 + 1);
    sync_all();
    six_step(+1, id);
    return NULL;
}

int main(int argc, char **argv)
{
    long m;
    args(argc, argv, &m, 10);
    if (m < 2 || m > 20 || m & 1) { fprintf(stderr, "M must be even, 2..20\n"); return 2; }
    n = 1L << m;
    logr = (int)m / 2;
    rows = 1L << logr;
    x = malloc(n * sizeof *x), y = malloc(n * sizeof *y), orig = malloc(n * sizeof *orig);
    roots = malloc(rows / 2 * sizeof *roots);
    if (!x || !y || !orig || !roots) return 3;
    for (long k = 0; k < rows / 2; k++)
        roots[k] = (cpx){cos(-2.0 * M_PI * k / rows), sin(-2.0 * M_PI * k / rows)};
    unsigned seed = 12345;
    for (long i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        double re = (double)(seed >> 8 & 0xffff) / 65536.0;
        seed = seed * 1103515245u + 12345u;
        orig[i] = x[i] = (cpx){re, (double)(seed >> 8 & 0xffff) / 65536.0};
    }
    team(work);
    double err = 0;
    for (long i = 0; i < n; i++) {
        double d = fabs(x[i].re - orig[i].re) + fabs(x[i].im - orig[i].im);
        if (d > err) err = d;
    }
    int ok = err < 1e-9;
    printf("fft m=%ld checksum %.6f inverse %s\n", m, checksum, ok ? "ok" : "WRONG");
    return ok ? 0 : 1;
}
