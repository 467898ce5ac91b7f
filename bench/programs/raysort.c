/* raysort.c -- a long two-phase benchmark: a ray tracer (FPU), then sorting (integer, memory).
 *
 * usage: raysort [WIDTH [HEIGHT [KEYS [ROUNDS]]]]
 *        defaults: 1200 x 900, 1,000,000 keys, 2 rounds (~2.6 G instructions)
 *
 * Phase 1 renders a scene of spheres over a checkered floor in double
 * precision: Lambert and Blinn-Phong shading from two lights, shadow rays and
 * mirror reflections (depth 3).  The 8-bit pixels are hashed (FNV-1a).
 * Phase 2 runs ROUNDS rounds, each filling KEYS 32-bit keys from a xorshift
 * generator seeded by the image hash, sorting them with a top-down merge sort
 * (insertion sort below 24 keys), then sorting (key, index) pairs of the first
 * KEYS / 4 keys with a heap sort, checking both orders and hashing the result.
 * Everything is deterministic; the last line is the combined checksum.
 * Exit status: 0, 2 on bad arguments, 3 if memory runs out, 4 if a sort is wrong.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* ---------------------------------------------------------------- phase 1: rays */
typedef struct {
    double x, y, z;
} v3;

static v3 mk(double x, double y, double z)
{
    v3 r = {x, y, z};
    return r;
}
static v3 vadd(v3 a, v3 b) { return mk(a.x + b.x, a.y + b.y, a.z + b.z); }
static v3 vsub(v3 a, v3 b) { return mk(a.x - b.x, a.y - b.y, a.z - b.z); }
static v3 vscale(v3 a, double s) { return mk(a.x * s, a.y * s, a.z * s); }
static double vdot(v3 a, v3 b) { return a.x * b.x + a.y * b.y + a.z * b.z; }
static v3 vunit(v3 a) { return vscale(a, 1.0 / sqrt(vdot(a, a))); }

typedef struct {
    v3 centre;
    double radius;
    v3 colour;
    double mirror;      /* share of the colour taken from the reflected ray */
    double shine;       /* Blinn-Phong exponent (0: matte) */
} ball;

static const ball balls[] = {
    {{0.0, 1.0, 6.0}, 1.0, {0.9, 0.2, 0.2}, 0.2, 40.0},
    {{-2.2, 0.7, 7.5}, 0.7, {0.2, 0.8, 0.3}, 0.0, 0.0},
    {{2.1, 0.8, 5.0}, 0.8, {0.9, 0.9, 0.9}, 0.7, 120.0},
    {{-0.9, 0.35, 4.2}, 0.35, {0.2, 0.3, 0.9}, 0.1, 20.0},
    {{1.0, 2.6, 9.0}, 1.2, {0.8, 0.7, 0.2}, 0.35, 60.0},
};
#define NBALLS ((int)(sizeof balls / sizeof balls[0]))

static const v3 light_pos[2] = {{-5.0, 8.0, 0.0}, {6.0, 5.0, 3.0}};
static const double light_pow[2] = {0.75, 0.45};

/* Nearest hit along o + t d (d of unit length), t > 1e-6: the ball's index, NBALLS for the
 * floor (y = 0), -1 for none. */
static int nearest(v3 o, v3 d, double *t_out)
{
    double best = 1e30;
    int what = -1;
    for (int i = 0; i < NBALLS; i++) {
        v3 oc = vsub(o, balls[i].centre);
        double b = vdot(oc, d);
        double c = vdot(oc, oc) - balls[i].radius * balls[i].radius;
        double disc = b * b - c;
        if (disc <= 0.0)
            continue;
        double s = sqrt(disc);
        double t = -b - s;
        if (t <= 1e-6)
            t = -b + s;
        if (t > 1e-6 && t < best) {
            best = t;
            what = i;
        }
    }
    if (d.y < -1e-9) {
        double t = -o.y / d.y;
        if (t > 1e-6 && t < best) {
            best = t;
            what = NBALLS;
        }
    }
    *t_out = best;
    return what;
}

static v3 trace(v3 o, v3 d, int depth)
{
    double t;
    int what = nearest(o, d, &t);
    if (what < 0) {
        double k = 0.5 + 0.5 * d.y;
        return mk(0.25 + 0.3 * k, 0.35 + 0.35 * k, 0.6 + 0.4 * k);     /* sky */
    }
    v3 p = vadd(o, vscale(d, t));
    v3 n, base;
    double mirror, shine;
    if (what == NBALLS) {
        n = mk(0.0, 1.0, 0.0);
        int check = ((int)floor(p.x) + (int)floor(p.z)) & 1;
        base = check ? mk(0.85, 0.85, 0.8) : mk(0.15, 0.15, 0.2);
        mirror = 0.15;
        shine = 0.0;
    } else {
        const ball *b = &balls[what];
        n = vscale(vsub(p, b->centre), 1.0 / b->radius);
        base = b->colour;
        mirror = b->mirror;
        shine = b->shine;
    }
    v3 col = vscale(base, 0.08);
    for (int l = 0; l < 2; l++) {
        v3 tol = vsub(light_pos[l], p);
        double dist = sqrt(vdot(tol, tol));
        v3 ld = vscale(tol, 1.0 / dist);
        double lam = vdot(n, ld);
        if (lam <= 0.0)
            continue;
        double ts;
        if (nearest(p, ld, &ts) >= 0 && ts < dist)
            continue;                                   /* in shadow */
        col = vadd(col, vscale(base, lam * light_pow[l]));
        if (shine > 0.0) {
            double h = vdot(n, vunit(vsub(ld, d)));
            if (h > 0.0) {
                double s = pow(h, shine) * light_pow[l];
                col = vadd(col, mk(s, s, s));
            }
        }
    }
    if (mirror > 0.0 && depth < 3) {
        v3 r = vsub(d, vscale(n, 2.0 * vdot(d, n)));
        col = vadd(vscale(col, 1.0 - mirror), vscale(trace(p, r, depth + 1), mirror));
    }
    return col;
}

static uint32_t fnv(uint32_t h, unsigned v) { return (h ^ (v & 0xFF)) * 16777619u; }

static unsigned to8(double c)
{
    if (c < 0.0)
        c = 0.0;
    if (c > 1.0)
        c = 1.0;
    return (unsigned)(c * 255.0 + 0.5);
}

static uint32_t render(int w, int h)
{
    uint32_t hash = 2166136261u;
    v3 eye = mk(0.0, 1.6, -1.0);
    double aspect = (double)w / (double)h;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            double sx = ((x + 0.5) / w * 2.0 - 1.0) * aspect * 0.6;
            double sy = (1.0 - (y + 0.5) / h * 2.0) * 0.6;
            v3 c = trace(eye, vunit(mk(sx, sy - 0.1, 1.0)), 0);
            hash = fnv(hash, to8(c.x));
            hash = fnv(hash, to8(c.y));
            hash = fnv(hash, to8(c.z));
        }
    return hash;
}

/* ---------------------------------------------------------------- phase 2: sorting */
static uint32_t xs;
static uint32_t next_key(void)
{
    xs ^= xs << 13;
    xs ^= xs >> 17;
    xs ^= xs << 5;
    return xs;
}

static void merge_sort(uint32_t *a, uint32_t *tmp, int n)
{
    if (n < 24) {
        for (int i = 1; i < n; i++) {
            uint32_t v = a[i];
            int j = i - 1;
            while (j >= 0 && a[j] > v) {
                a[j + 1] = a[j];
                j--;
            }
            a[j + 1] = v;
        }
        return;
    }
    int half = n / 2;
    merge_sort(a, tmp, half);
    merge_sort(a + half, tmp, n - half);
    int i = 0, j = half, k = 0;
    while (i < half && j < n)
        tmp[k++] = a[j] < a[i] ? a[j++] : a[i++];
    while (i < half)
        tmp[k++] = a[i++];
    for (int m = 0; m < k; m++)     /* the tail a[j..n) is already in place */
        a[m] = tmp[m];
}

typedef struct {
    uint32_t key, index;
} pair;

static int pair_less(pair a, pair b) { return a.key < b.key || (a.key == b.key && a.index < b.index); }

static void sift(pair *a, int root, int n)
{
    for (;;) {
        int c = 2 * root + 1;
        if (c >= n)
            return;
        if (c + 1 < n && pair_less(a[c], a[c + 1]))
            c++;
        if (!pair_less(a[root], a[c]))
            return;
        pair t = a[root];
        a[root] = a[c];
        a[c] = t;
        root = c;
    }
}

static void heap_sort(pair *a, int n)
{
    for (int i = n / 2 - 1; i >= 0; i--)
        sift(a, i, n);
    for (int end = n - 1; end > 0; end--) {
        pair t = a[0];
        a[0] = a[end];
        a[end] = t;
        sift(a, 0, end);
    }
}

static uint32_t sort_round(uint32_t *keys, uint32_t *tmp, pair *pairs, int n)
{
    for (int i = 0; i < n; i++)
        keys[i] = next_key();
    int np = n / 4;
    for (int i = 0; i < np; i++) {
        pairs[i].key = keys[i] >> 12;            /* many equal keys: the index breaks ties */
        pairs[i].index = (uint32_t)i;
    }
    merge_sort(keys, tmp, n);
    heap_sort(pairs, np);
    uint32_t h = 2166136261u;
    for (int i = 0; i < n; i++) {
        if (i && keys[i - 1] > keys[i])
            exit(4);
        h = (h ^ keys[i]) * 16777619u;
    }
    for (int i = 0; i < np; i++) {
        if (i && !pair_less(pairs[i - 1], pairs[i]))
            exit(4);
        h = (h ^ pairs[i].index) * 16777619u;
    }
    return h;
}

int main(int argc, char **argv)
{
    int w = argc > 1 ? atoi(argv[1]) : 1200;
    int h = argc > 2 ? atoi(argv[2]) : 900;
    int n = argc > 3 ? atoi(argv[3]) : 1000000;
    int rounds = argc > 4 ? atoi(argv[4]) : 2;
    if (w <= 0 || h <= 0 || n < 4 || rounds < 0) {
        fprintf(stderr, "usage: raysort [WIDTH [HEIGHT [KEYS [ROUNDS]]]]\n");
        return 2;
    }
    uint32_t image = render(w, h);
    printf("ray %dx%d checksum %08x\n", w, h, (unsigned)image);
    uint32_t *keys = malloc(sizeof *keys * (size_t)n);
    uint32_t *tmp = malloc(sizeof *tmp * (size_t)n);
    pair *pairs = malloc(sizeof *pairs * (size_t)(n / 4));
    if (!keys || !tmp || !pairs)
        return 3;
    xs = image | 1;
    uint32_t sorted = 0;
    for (int r = 0; r < rounds; r++)
        sorted = (sorted * 31u) ^ sort_round(keys, tmp, pairs, n);
    printf("sort %d keys x %d rounds checksum %08x\n", n, rounds, (unsigned)sorted);
    printf("raysort checksum %08x\n", (unsigned)(image * 2654435761u ^ sorted));
    return 0;
}
