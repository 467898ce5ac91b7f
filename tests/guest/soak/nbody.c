/* SPLASH-shaped n-body (Barnes's job, by direct summation): N bodies
 * (argv[2]) in 3-D, STEPS leapfrog steps.  Threads (argv[1]) own blocks of
 * bodies; each step computes its bodies' accelerations (summing over all
 * bodies in index order), a barrier, moves its bodies, a barrier.  The
 * energy is reduced in body order by worker 0, so the result is
 * independent of the thread count.  Self-check: energy is conserved to
 * 1%. */
#include <math.h>
#include "soak.h"

#define STEPS 4
#define DT 0.01
#define EPS2 0.01                 /* softening */
typedef struct { double p[3], v[3], a[3], m; } body;
static long n;
static body *b;
static double *pe;                /* per-body potential energy */

static void accel(long i)
{
    double a[3] = {0, 0, 0}, phi = 0;
    for (long j = 0; j < n; j++) {
        if (j == i) continue;
        double d[3], r2 = EPS2;
        for (int k = 0; k < 3; k++) d[k] = b[j].p[k] - b[i].p[k], r2 += d[k] * d[k];
        double r = sqrt(r2), f = b[j].m / (r2 * r);
        for (int k = 0; k < 3; k++) a[k] += f * d[k];
        phi -= b[j].m / r;
    }
    for (int k = 0; k < 3; k++) b[i].a[k] = a[k];
    pe[i] = 0.5 * b[i].m * phi;
}

static double energy(void)
{
    double e = 0;
    for (long i = 0; i < n; i++) {
        double v2 = 0;
        for (int k = 0; k < 3; k++) v2 += b[i].v[k] * b[i].v[k];
        e += 0.5 * b[i].m * v2 + pe[i];
    }
    return e;
}

static double e0, e1;

static void *work(void *arg)
{
    long id = (long)arg, lo = part_lo(n, id), hi = part_hi(n, id);
    for (long i = lo; i < hi; i++) accel(i);
    sync_all();
    if (id == 0) e0 = energy();
    sync_all();                   /* before anyone moves */
    for (int s = 0; s < STEPS; s++) {
        for (long i = lo; i < hi; i++)
            for (int k = 0; k < 3; k++) {
                b[i].v[k] += 0.5 * DT * b[i].a[k];
                b[i].p[k] += DT * b[i].v[k];
            }
        sync_all();
        for (long i = lo; i < hi; i++) {
            accel(i);
            for (int k = 0; k < 3; k++) b[i].v[k] += 0.5 * DT * b[i].a[k];
        }
        sync_all();
    }
    if (id == 0) e1 = energy();
    return NULL;
}

int main(int argc, char **argv)
{
    args(argc, argv, &n, 128);
    b = calloc(n, sizeof *b);
    pe = calloc(n, sizeof *pe);
    if (!b || !pe) return 3;
    unsigned seed = 2024;
    for (long i = 0; i < n; i++) {
        for (int k = 0; k < 3; k++) {
            seed = seed * 1664525u + 1013904223u;
            b[i].p[k] = (double)(seed >> 8) / (double)(1 << 24) - 0.5;
            seed = seed * 1664525u + 1013904223u;
            b[i].v[k] = ((double)(seed >> 8) / (double)(1 << 24) - 0.5) * 0.1;
        }
        b[i].m = 1.0 / n;
    }
    team(work);
    double cx = 0;
    for (long i = 0; i < n; i++) cx += b[i].p[0] * (double)(i % 3 + 1);
    int ok = fabs(e1 - e0) < 0.01 * fabs(e0);
    printf("nbody n=%ld steps=%d energy %.9f -> %.9f x %.9f energy %s\n", n, STEPS, e0, e1, cx,
           ok ? "conserved" : "DRIFTED");
    return ok ? 0 : 1;
}
