/* mixed.c -- mixed integer / double-precision benchmark for flashvm.
 *
 * usage: mixed [SCALE]      (default SCALE = 20)
 *
 * Each of SCALE rounds runs:
 *   1. an n-body simulation (5 bodies, 2000 steps: mul/add/div/sqrt.d),
 *   2. a 40x40 double matrix multiply and a Gaussian elimination solve,
 *   3. a Mandelbrot set on a 96x64 grid (max 200 iterations),
 *   4. a Monte-Carlo estimate of pi with an integer LCG and int->double
 *      conversions, plus a polynomial / exp-like series per sample,
 *   5. integer histogramming of the generated values (div/mod, shifts).
 * Prints per-phase checksums (doubles as hex bits) and a final checksum.
 * Deterministic; ~13.6 M instructions per round.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t dbits(double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    return u;
}

/* ------------------------------------------------------------------ n-body */
struct body {
    double x, y, z, vx, vy, vz, m;
};

static double nbody(int steps)
{
    const double pi = 3.141592653589793, days = 365.24, sm = 4 * pi * pi;
    struct body b[5] = {
        {0, 0, 0, 0, 0, 0, sm},
        {4.84143144246472090e+00, -1.16032004402742839e+00, -1.03622044471123109e-01,
         1.66007664274403694e-03 * days, 7.69901118419740425e-03 * days,
         -6.90460016972063023e-05 * days, 9.54791938424326609e-04 * sm},
        {8.34336671824457987e+00, 4.12479856412430479e+00, -4.03523417114321381e-01,
         -2.76742510726862411e-03 * days, 4.99852801234917238e-03 * days,
         2.30417297573763929e-05 * days, 2.85885980666130812e-04 * sm},
        {1.28943695621391310e+01, -1.51111514016986312e+01, -2.23307578892655734e-01,
         2.96460137564761618e-03 * days, 2.37847173959480950e-03 * days,
         -2.96589568540237556e-05 * days, 4.36624404335156298e-05 * sm},
        {1.53796971148509165e+01, -2.59193146099879641e+01, 1.79258772950371181e-01,
         2.68067772490389322e-03 * days, 1.62824170038242295e-03 * days,
         -9.51592254519715870e-05 * days, 5.15138902046611451e-05 * sm},
    };
    const double dt = 0.01;
    for (int s = 0; s < steps; s++) {
        for (int i = 0; i < 5; i++)
            for (int j = i + 1; j < 5; j++) {
                double dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
                double d2 = dx * dx + dy * dy + dz * dz;
                double mag = dt / (d2 * sqrt(d2));
                b[i].vx -= dx * b[j].m * mag;
                b[i].vy -= dy * b[j].m * mag;
                b[i].vz -= dz * b[j].m * mag;
                b[j].vx += dx * b[i].m * mag;
                b[j].vy += dy * b[i].m * mag;
                b[j].vz += dz * b[i].m * mag;
            }
        for (int i = 0; i < 5; i++) {
            b[i].x += dt * b[i].vx;
            b[i].y += dt * b[i].vy;
            b[i].z += dt * b[i].vz;
        }
    }
    double e = 0;
    for (int i = 0; i < 5; i++) {
        e += 0.5 * b[i].m * (b[i].vx * b[i].vx + b[i].vy * b[i].vy + b[i].vz * b[i].vz);
        for (int j = i + 1; j < 5; j++) {
            double dx = b[i].x - b[j].x, dy = b[i].y - b[j].y, dz = b[i].z - b[j].z;
            e -= b[i].m * b[j].m / sqrt(dx * dx + dy * dy + dz * dz);
        }
    }
    return e;
}

/* ------------------------------------------------------------ linear algebra */
#define MN 40
static double A[MN][MN], B[MN][MN], C[MN][MN], M[MN][MN + 1];

static double linalg(uint32_t seed)
{
    for (int i = 0; i < MN; i++)
        for (int j = 0; j < MN; j++) {
            seed = seed * 1664525u + 1013904223u;
            A[i][j] = (double)(seed >> 8) / 16777216.0 - 0.5;
            seed = seed * 1664525u + 1013904223u;
            B[i][j] = (double)(seed >> 8) / 16777216.0 - 0.5;
        }
    for (int i = 0; i < MN; i++)
        for (int j = 0; j < MN; j++) {
            double s = 0;
            for (int k = 0; k < MN; k++)
                s += A[i][k] * B[k][j];
            C[i][j] = s;
        }
    /* solve C x = row sums of C (x should be all ones) with partial pivoting */
    for (int i = 0; i < MN; i++) {
        double rs = 0;
        for (int j = 0; j < MN; j++) {
            M[i][j] = C[i][j] + (i == j ? 4.0 : 0.0);
            rs += M[i][j];
        }
        M[i][MN] = rs;
    }
    for (int c = 0; c < MN; c++) {
        int p = c;
        for (int r = c + 1; r < MN; r++)
            if (fabs(M[r][c]) > fabs(M[p][c]))
                p = r;
        if (p != c)
            for (int k = 0; k <= MN; k++) {
                double t = M[c][k];
                M[c][k] = M[p][k];
                M[p][k] = t;
            }
        for (int r = c + 1; r < MN; r++) {
            double f = M[r][c] / M[c][c];
            for (int k = c; k <= MN; k++)
                M[r][k] -= f * M[c][k];
        }
    }
    double x[MN], err = 0, tr = 0;
    for (int i = MN - 1; i >= 0; i--) {
        double s = M[i][MN];
        for (int k = i + 1; k < MN; k++)
            s -= M[i][k] * x[k];
        x[i] = s / M[i][i];
        err += fabs(x[i] - 1.0);
    }
    for (int i = 0; i < MN; i++)
        tr += C[i][i];
    return tr + err;
}

/* --------------------------------------------------------------- mandelbrot */
static uint32_t mandel(double cx0, double cy0, double scale)
{
    uint32_t h = 0;
    for (int py = 0; py < 64; py++)
        for (int px = 0; px < 96; px++) {
            double cx = cx0 + px * scale, cy = cy0 + py * scale;
            double x = 0, y = 0;
            int it = 0;
            while (it < 200 && x * x + y * y <= 4.0) {
                double t = x * x - y * y + cx;
                y = 2 * x * y + cy;
                x = t;
                it++;
            }
            h = h * 31 + (uint32_t)it;
        }
    return h;
}

/* ---------------------------------------------------------------- monte carlo */
static uint32_t hist[64];

static double monte(uint32_t seed, int n)
{
    int inside = 0;
    double series = 0;
    for (int i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        uint32_t a = seed >> 1;
        seed = seed * 1103515245u + 12345u;
        uint32_t b = seed >> 1;
        double x = (double)(int32_t)(a & 0xFFFFFF) / 16777216.0;
        double y = (double)(int32_t)(b & 0xFFFFFF) / 16777216.0;
        if (x * x + y * y < 1.0)
            inside++;
        /* 1 + t + t^2/2 + t^3/6 + t^4/24 (Horner), t in [0,1) */
        double t = x - y;
        series += 1 + t * (1 + t * (0.5 + t * (1.0 / 6 + t * (1.0 / 24))));
        hist[(a % 1000) / 16 % 64]++;
        hist[(b >> 7) & 63] += (uint32_t)(int)(t * 8.0) & 1;
    }
    return 4.0 * inside / n + series / n;
}

int main(int argc, char **argv)
{
    int scale = argc > 1 ? atoi(argv[1]) : 20;
    if (scale < 1)
        scale = 1;
    double e = 0, la = 0, mc = 0;
    uint32_t mh = 0;
    for (int r = 0; r < scale; r++) {
        e += nbody(2000);
        la += linalg(1234u + (uint32_t)r);
        mh = mh * 7 + mandel(-2.0 + r * 0.001, -1.0, 3.0 / 96);
        mc += monte(99u + (uint32_t)r, 150000);
    }
    uint32_t hh = 0;
    for (int i = 0; i < 64; i++)
        hh = (hh ^ hist[i]) * 16777619u;
    printf("nbody      %.12f %016llx\n", e, (unsigned long long)dbits(e));
    printf("linalg     %.12f %016llx\n", la, (unsigned long long)dbits(la));
    printf("mandelbrot %08x\n", mh);
    printf("monte      %.12f %016llx\n", mc, (unsigned long long)dbits(mc));
    printf("histogram  %08x\n", hh);
    uint64_t total = dbits(e) ^ dbits(la) * 3 ^ dbits(mc) * 5 ^ ((uint64_t)mh << 32 | hh);
    printf("mixed scale %d checksum %016llx\n", scale, (unsigned long long)total);
    return 0;
}
