/* SPLASH-shaped grid stencil (Ocean's relaxation sweeps): an N x N interior
 * (argv[2] = N) with fixed boundary values, relaxed by red-black
 * Gauss-Seidel: each sweep updates the red points (i + j even) from their
 * black neighbours, then the black ones from the new red ones, a barrier
 * after each colour.  Threads (argv[1]) own blocks of rows.  Every point's
 * update reads only points of the other colour, and the per-row residuals
 * are added in row order, so the result is independent of the thread
 * count. */
#include <math.h>
#include "soak.h"

#define SWEEPS 12
static long n;                /* interior size; the grid is (n+2) x (n+2) */
static double *g, *rowres;

#define G(i, j) g[(i) * (n + 2) + (j)]

static void *work(void *arg)
{
    long id = (long)arg, lo = 1 + part_lo(n, id), hi = 1 + part_hi(n, id);
    for (int s = 0; s < SWEEPS; s++)
        for (int colour = 0; colour < 2; colour++) {
            for (long i = lo; i < hi; i++) {
                double r = 0;
                for (long j = 1 + ((i + colour) & 1); j <= n; j += 2) {
                    double v = 0.25 * (G(i - 1, j) + G(i + 1, j) + G(i, j - 1) + G(i, j + 1));
                    r += fabs(v - G(i, j));
                    G(i, j) = v;
                }
                if (colour) rowres[i] += r; else rowres[i] = r;
            }
            sync_all();
        }
    return NULL;
}

int main(int argc, char **argv)
{
    args(argc, argv, &n, 64);
    g = calloc((n + 2) * (n + 2), sizeof *g);
    rowres = calloc(n + 2, sizeof *rowres);
    if (!g || !rowres) return 3;
    for (long k = 0; k < n + 2; k++) {
        G(0, k) = 100.0;                         /* a hot top edge */
        G(k, 0) = 50.0 * (double)k / (n + 1);    /* a ramp on the left */
        G(n + 1, k) = G(k, n + 1) = 0.0;
    }
    team(work);
    double sum = 0, res = 0;
    for (long i = 1; i <= n; i++) {
        res += rowres[i];
        for (long j = 1; j <= n; j++) sum += G(i, j) * (double)((i * 31 + j) % 17 + 1);
    }
    int ok = isfinite(sum) && res > 0 && sum > 0;
    printf("stencil n=%ld sweeps=%d sum %.6f residual %.6f\n", n, SWEEPS, sum, res);
    return ok ? 0 : 1;
}
