/* raytrace.c -- a parallel ray tracer in the style of SPLASH-2's Raytrace, the flashvm
 * "raytrace" workload.
 *
 * usage: raytrace THREADS WIDTH HEIGHT [SAMPLES [OUT.ppm]]
 *        SAMPLES = n gives an n x n supersampling grid per pixel (default 1).
 *
 * As in SPLASH-2: the scene is shared and read-only once built, held in a
 * hierarchical uniform grid (a uniform grid whose crowded cells hold grids of
 * their own); the image is cut into tiles (bundles of primary rays), dealt out
 * to per-thread work queues; a thread that empties its queue steals tiles from
 * the others.  The scene is generated here from a fixed seed: a height-field
 * ground of triangles, a torus of triangles, a field of spheres, two lights.
 * Shading: Lambert diffuse + Phong specular, hard shadows, mirror reflections.
 *
 * Each pixel is written to its place in the image buffer and the checksum
 * (FNV-1a of the 8-bit RGB pixels in row order) is taken over the buffer after
 * all threads are done, so stdout after its first line is the same for any
 * thread count and any order in which tiles were traced.  Exit status: 0, 2 on
 * bad arguments or no memory, 3 when the image cannot be written.
 */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../flashvm/guest/include/roi.h"   /* roi_begin/roi_end: the measured region (docs/results.md) */

/* ------------------------------------------------------------ vectors */
typedef struct { double x, y, z; } vec;

static inline vec v3(double x, double y, double z) { vec r = {x, y, z}; return r; }
static inline vec add(vec a, vec b) { return v3(a.x + b.x, a.y + b.y, a.z + b.z); }
static inline vec sub(vec a, vec b) { return v3(a.x - b.x, a.y - b.y, a.z - b.z); }
static inline vec mul(vec a, double s) { return v3(a.x * s, a.y * s, a.z * s); }
static inline vec had(vec a, vec b) { return v3(a.x * b.x, a.y * b.y, a.z * b.z); }
static inline double dot(vec a, vec b) { return a.x * b.x + a.y * b.y + a.z * b.z; }
static inline vec cross(vec a, vec b)
{
    return v3(a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x);
}
static inline vec norm(vec a)
{
    double l = sqrt(dot(a, a));
    return l > 0 ? mul(a, 1.0 / l) : a;
}
static inline double comp(vec a, int k) { return k == 0 ? a.x : k == 1 ? a.y : a.z; }

/* ------------------------------------------------------------ the scene */
typedef struct {
    vec color;
    double diffuse, specular, shininess, reflect;
} material;

enum { SPHERE, TRIANGLE };

typedef struct {
    int kind, mat;
    vec a, e1, e2;       /* sphere: a = centre, e1.x = radius; triangle: a + u e1 + v e2 */
    vec n;               /* triangle: unit face normal */
    vec lo, hi;          /* bounding box */
} object;

static object *objs;
static int nobjs, cap_objs, nspheres, ntriangles;
static material mats[16];
static int nmats;
static const vec light_pos[2] = {{-6.0, 9.0, -4.0}, {7.0, 6.0, -2.0}};
static const vec light_col[2] = {{0.80, 0.76, 0.70}, {0.35, 0.40, 0.52}};
static const vec ambient = {0.07, 0.07, 0.09};
static const vec sky_top = {0.22, 0.40, 0.80}, sky_bottom = {0.80, 0.86, 0.98};

static uint32_t seed = 12345u;
static double rnd(void)              /* deterministic LCG in [0, 1) */
{
    seed = seed * 1664525u + 1013904223u;
    return (seed >> 8) * (1.0 / 16777216.0);
}

static object *new_object(int kind, int mat)
{
    if (nobjs == cap_objs) {
        cap_objs = cap_objs ? 2 * cap_objs : 256;
        objs = realloc(objs, sizeof *objs * cap_objs);
        if (!objs) {
            fprintf(stderr, "out of memory\n");
            exit(2);
        }
    }
    object *o = &objs[nobjs++];
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->mat = mat;
    return o;
}

static void add_sphere(vec c, double r, int mat)
{
    object *o = new_object(SPHERE, mat);
    o->a = c;
    o->e1.x = r;
    o->lo = sub(c, v3(r, r, r));
    o->hi = add(c, v3(r, r, r));
    nspheres++;
}

static void add_triangle(vec p0, vec p1, vec p2, int mat)
{
    object *o = new_object(TRIANGLE, mat);
    o->a = p0;
    o->e1 = sub(p1, p0);
    o->e2 = sub(p2, p0);
    o->n = norm(cross(o->e1, o->e2));
    o->lo = v3(fmin(p0.x, fmin(p1.x, p2.x)), fmin(p0.y, fmin(p1.y, p2.y)), fmin(p0.z, fmin(p1.z, p2.z)));
    o->hi = v3(fmax(p0.x, fmax(p1.x, p2.x)), fmax(p0.y, fmax(p1.y, p2.y)), fmax(p0.z, fmax(p1.z, p2.z)));
    ntriangles++;
}

static int add_material(double r, double g, double b, double kd, double ks, double sh, double kr)
{
    material m = {{r, g, b}, kd, ks, sh, kr};
    mats[nmats] = m;
    return nmats++;
}

static double ground_height(double x, double z)
{
    return 0.25 * sin(0.7 * x) * cos(0.5 * z) + 0.1 * sin(1.3 * x + 0.8 * z);
}

static void build_scene(void)
{
    int light_ground = add_material(0.85, 0.83, 0.78, 0.85, 0.15, 20, 0.0);
    int dark_ground = add_material(0.25, 0.28, 0.32, 0.85, 0.15, 20, 0.1);
    int chrome = add_material(0.90, 0.90, 0.95, 0.15, 0.9, 200, 0.7);
    int gold = add_material(0.95, 0.75, 0.30, 0.6, 0.7, 80, 0.3);
    int firstcol = nmats;
    for (int i = 0; i < 8; i++)     /* matte and glossy colours for the sphere field */
        add_material(0.2 + 0.7 * rnd(), 0.2 + 0.7 * rnd(), 0.2 + 0.7 * rnd(), 0.7 + 0.2 * rnd(),
                     0.5 * rnd(), 10 + 90 * rnd(), i % 3 == 0 ? 0.25 : 0.0);

    /* ground: a G x G height field over [-10, 10] x [-2, 18], two triangles a quad */
    const int G = 28;
    for (int i = 0; i < G; i++)
        for (int j = 0; j < G; j++) {
            double x0 = -10 + 20.0 * i / G, x1 = -10 + 20.0 * (i + 1) / G;
            double z0 = -2 + 20.0 * j / G, z1 = -2 + 20.0 * (j + 1) / G;
            vec p00 = v3(x0, ground_height(x0, z0), z0), p10 = v3(x1, ground_height(x1, z0), z0);
            vec p01 = v3(x0, ground_height(x0, z1), z1), p11 = v3(x1, ground_height(x1, z1), z1);
            int m = ((i / 2 + j / 2) & 1) ? dark_ground : light_ground;
            add_triangle(p00, p01, p11, m);
            add_triangle(p00, p11, p10, m);
        }

    /* a torus of triangles standing on the ground */
    const int U = 36, V = 14;
    const double R = 1.6, r = 0.55;
    vec tc = v3(0.5, 2.3, 8.0);
    for (int i = 0; i < U; i++)
        for (int j = 0; j < V; j++) {
            vec p[2][2];
            for (int a = 0; a < 2; a++)
                for (int b = 0; b < 2; b++) {
                    double u = 2 * M_PI * (i + a) / U, w = 2 * M_PI * (j + b) / V;
                    double rr = R + r * cos(w);
                    /* the ring stands upright, turned 30 degrees about the vertical */
                    vec q = v3(rr * cos(u), rr * sin(u), r * sin(w));
                    double c = cos(M_PI / 6), s = sin(M_PI / 6);
                    p[a][b] = add(tc, v3(c * q.x + s * q.z, q.y, -s * q.x + c * q.z));
                }
            add_triangle(p[0][0], p[1][0], p[1][1], gold);
            add_triangle(p[0][0], p[1][1], p[0][1], gold);
        }

    /* a field of spheres: jittered rows, a few large mirrors */
    for (int i = 0; i < 9; i++)
        for (int j = 0; j < 11; j++) {
            double x = -8 + 2.0 * j + 0.8 * rnd(), z = 1.0 + 1.9 * i + 0.8 * rnd();
            double rad = 0.18 + 0.32 * rnd();
            int m = firstcol + (int)(8 * rnd());
            if (fabs(x - tc.x) < 2.6 && fabs(z - tc.z) < 1.8)
                continue;                    /* leave the torus room */
            add_sphere(v3(x, ground_height(x, z) + rad, z), rad, m);
        }
    add_sphere(v3(-3.2, 1.3, 6.0), 1.2, chrome);
    add_sphere(v3(4.2, 1.0, 5.0), 0.95, chrome);
}

/* ------------------------------------------------------------ hierarchical uniform grid */
typedef struct {
    vec lo, cell, inv;     /* corner, cell size, 1 / cell size */
    int res[3];
    int first;             /* index of its first cell in the cell arrays */
} grid;

#define LEAF_MAX 6         /* a cell with more objects gets a grid of its own ... */
#define MAX_LEVEL 2        /* ... down to this many levels below the top grid */

typedef struct {
    int child;             /* its own grid, or -1: a leaf holding items[start..start+count) */
    int start, count;
} cell;

static grid *grids;
static int ngrids, cap_grids;
static cell *cells;
static int ncells, cap_cells;
static int *items;
static int nitems, cap_items;

static void *grow(void *p, int *cap, int need, size_t size)
{
    if (need <= *cap)
        return p;
    while (*cap < need)
        *cap = *cap ? 2 * *cap : 1024;
    p = realloc(p, size * *cap);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

/* the cells [c0, c1] along each axis that an object's box touches */
static void cell_range(const grid *g, const object *o, int c0[3], int c1[3])
{
    for (int a = 0; a < 3; a++) {
        double lo = comp(g->lo, a), inv = comp(g->inv, a);
        int i0 = (int)floor((comp(o->lo, a) - lo) * inv), i1 = (int)floor((comp(o->hi, a) - lo) * inv);
        c0[a] = i0 < 0 ? 0 : i0 >= g->res[a] ? g->res[a] - 1 : i0;
        c1[a] = i1 < 0 ? 0 : i1 >= g->res[a] ? g->res[a] - 1 : i1;
    }
}

/* a grid over [lo, hi] holding the objects list[0..n); returns its index */
static int build_grid(vec lo, vec hi, const int *list, int n, int level)
{
    vec size = sub(hi, lo);
    double vol = size.x * size.y * size.z;
    double k = cbrt((level == 0 ? 3.0 : 2.0) * n / (vol > 0 ? vol : 1.0));
    int maxres = level == 0 ? 48 : 6;
    int res[3];
    for (int a = 0; a < 3; a++) {
        int r = (int)(comp(size, a) * k + 0.5);
        res[a] = r < 1 ? 1 : r > maxres ? maxres : r;
    }
    grids = grow(grids, &cap_grids, ngrids + 1, sizeof *grids);
    int gi = ngrids++;
    grid g;
    g.lo = lo;
    g.cell = v3(size.x / res[0], size.y / res[1], size.z / res[2]);
    g.inv = v3(1 / g.cell.x, 1 / g.cell.y, 1 / g.cell.z);
    memcpy(g.res, res, sizeof res);
    int nc = res[0] * res[1] * res[2];
    g.first = ncells;
    grids[gi] = g;
    cells = grow(cells, &cap_cells, ncells + nc, sizeof *cells);
    ncells += nc;

    /* count each cell's objects (by bounding box), give each cell its run of items, fill them */
    int c0[3], c1[3], total = 0;
    for (int c = g.first; c < g.first + nc; c++)
        cells[c].child = -1, cells[c].count = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < n; i++) {
            cell_range(&g, &objs[list[i]], c0, c1);
            for (int z = c0[2]; z <= c1[2]; z++)
                for (int y = c0[1]; y <= c1[1]; y++)
                    for (int x = c0[0]; x <= c1[0]; x++) {
                        cell *c = &cells[g.first + (z * res[1] + y) * res[0] + x];
                        if (pass == 0)
                            c->count++;
                        else
                            items[c->start + c->count++] = list[i];
                    }
        }
        if (pass == 0) {
            for (int c = g.first; c < g.first + nc; c++) {
                cells[c].start = nitems + total;
                total += cells[c].count;
                cells[c].count = 0;
            }
            items = grow(items, &cap_items, nitems + total, sizeof(int));
            nitems += total;
        }
    }
    /* a crowded cell gets a grid of its own over the cell's box (its items stay unused) */
    for (int z = 0; z < res[2]; z++)
        for (int y = 0; y < res[1]; y++)
            for (int x = 0; x < res[0]; x++) {
                int c = g.first + (z * res[1] + y) * res[0] + x;
                int cnt = cells[c].count;
                if (cnt <= LEAF_MAX || level >= MAX_LEVEL || cnt >= n)
                    continue;
                int *sub_list = malloc(sizeof(int) * cnt);
                if (!sub_list) {
                    fprintf(stderr, "out of memory\n");
                    exit(2);
                }
                memcpy(sub_list, items + cells[c].start, sizeof(int) * cnt);
                vec clo = v3(lo.x + x * g.cell.x, lo.y + y * g.cell.y, lo.z + z * g.cell.z);
                int child = build_grid(clo, add(clo, g.cell), sub_list, cnt, level + 1);
                free(sub_list);
                cells[c].child = child;
                cells[c].start = cells[c].count = 0;
            }
    return gi;
}

/* ------------------------------------------------------------ intersection */
#define EPS 1e-6

static double hit_object(const object *o, vec org, vec d)
{
    if (o->kind == SPHERE) {
        vec oc = sub(org, o->a);
        double b = dot(oc, d);
        double c = dot(oc, oc) - o->e1.x * o->e1.x;
        double disc = b * b - c;
        if (disc < 0)
            return -1;
        double s = sqrt(disc), t = -b - s;
        return t > EPS ? t : -b + s;
    }
    vec p = cross(d, o->e2);
    double det = dot(o->e1, p);
    if (fabs(det) < 1e-12)
        return -1;
    double inv = 1 / det;
    vec s = sub(org, o->a);
    double u = dot(s, p) * inv;
    if (u < 0 || u > 1)
        return -1;
    vec q = cross(s, o->e1);
    double v = dot(d, q) * inv;
    if (v < 0 || u + v > 1)
        return -1;
    return dot(o->e2, q) * inv;
}

typedef struct {
    long rays, shadow_rays, tests;
} counters;

/* the nearest object along org + t d in (tmin, *best) within grid gi, or with
 * `any` the first one found; returns its index or -1, *best its distance */
static int traverse(int gi, vec org, vec d, double tmin, double *best, int any, counters *k)
{
    const grid *g = &grids[gi];
    double t0 = tmin, t1 = *best;
    double o[3] = {org.x, org.y, org.z}, dd[3] = {d.x, d.y, d.z};
    double lo[3] = {g->lo.x, g->lo.y, g->lo.z}, cs[3] = {g->cell.x, g->cell.y, g->cell.z};
    double ic[3] = {g->inv.x, g->inv.y, g->inv.z};
    for (int a = 0; a < 3; a++) {                 /* clip to the grid's box */
        double hi = lo[a] + cs[a] * g->res[a];
        if (dd[a] == 0) {
            if (o[a] < lo[a] || o[a] > hi)
                return -1;
            continue;
        }
        double ta = (lo[a] - o[a]) / dd[a], tb = (hi - o[a]) / dd[a];
        if (ta > tb) {
            double t = ta;
            ta = tb;
            tb = t;
        }
        if (ta > t0)
            t0 = ta;
        if (tb < t1)
            t1 = tb;
    }
    if (t0 > t1)
        return -1;
    int at[3], step[3];   /* the current cell, the direction of each step */
    double next[3], delta[3];
    for (int a = 0; a < 3; a++) {
        int c = (int)floor((o[a] + dd[a] * t0 - lo[a]) * ic[a]);
        at[a] = c < 0 ? 0 : c >= g->res[a] ? g->res[a] - 1 : c;
        if (dd[a] > 0) {
            step[a] = 1;
            next[a] = (lo[a] + (at[a] + 1) * cs[a] - o[a]) / dd[a];
            delta[a] = cs[a] / dd[a];
        } else if (dd[a] < 0) {
            step[a] = -1;
            next[a] = (lo[a] + at[a] * cs[a] - o[a]) / dd[a];
            delta[a] = -cs[a] / dd[a];
        } else {
            step[a] = 0;
            next[a] = delta[a] = 1e300;
        }
    }
    int found = -1;
    double tcur = t0;
    for (;;) {
        int axis = next[0] < next[1] ? (next[0] < next[2] ? 0 : 2) : (next[1] < next[2] ? 1 : 2);
        double texit = next[axis];
        const cell *c = &cells[g->first + (at[2] * g->res[1] + at[1]) * g->res[0] + at[0]];
        if (c->child >= 0) {
            double b = *best;
            int h = traverse(c->child, org, d, tcur, &b, any, k);
            if (h >= 0) {
                found = h;
                *best = b;
                if (any)
                    return h;
            }
        } else {
            const int *it = items + c->start;
            for (int i = 0; i < c->count; i++) {
                k->tests++;
                double t = hit_object(&objs[it[i]], org, d);
                if (t > EPS && t > tmin && t < *best) {
                    *best = t;
                    found = it[i];
                    if (any)
                        return found;
                }
            }
        }
        if (*best <= texit || texit > t1)
            return found;
        at[axis] += step[axis];
        if (at[axis] < 0 || at[axis] >= g->res[axis])
            return found;
        tcur = texit;
        next[axis] += delta[axis];
    }
}

/* ------------------------------------------------------------ shading */
#define MAX_DEPTH 4

static vec trace(vec o, vec d, int depth, counters *k)
{
    double t = 1e30;
    k->rays++;
    int hit = traverse(0, o, d, 0, &t, 0, k);
    if (hit < 0) {
        double s = 0.5 * (d.y + 1.0);
        return add(mul(sky_bottom, 1 - s), mul(sky_top, s));
    }
    const object *ob = &objs[hit];
    const material *m = &mats[ob->mat];
    vec p = add(o, mul(d, t));
    vec n = ob->kind == SPHERE ? mul(sub(p, ob->a), 1 / ob->e1.x) : ob->n;
    if (dot(n, d) > 0)
        n = mul(n, -1);
    vec p_off = add(p, mul(n, 1e-7 * (1 + fabs(t))));
    vec col = had(ambient, m->color);
    for (int l = 0; l < 2; l++) {
        vec to_l = sub(light_pos[l], p);
        double dist = sqrt(dot(to_l, to_l));
        vec ldir = mul(to_l, 1 / dist);
        double ndl = dot(n, ldir);
        if (ndl <= 0)
            continue;
        k->shadow_rays++;
        double tl = dist;
        if (traverse(0, p_off, ldir, 0, &tl, 1, k) >= 0)
            continue;
        col = add(col, mul(had(m->color, light_col[l]), m->diffuse * ndl));
        if (m->specular > 0) {
            vec r = sub(mul(n, 2 * ndl), ldir);
            double rv = -dot(r, d);
            if (rv > 0)
                col = add(col, mul(light_col[l], m->specular * pow(rv, m->shininess)));
        }
    }
    if (m->reflect > 0 && depth < MAX_DEPTH) {
        vec rd = norm(sub(d, mul(n, 2 * dot(d, n))));
        col = add(mul(col, 1 - m->reflect), mul(trace(p_off, rd, depth + 1, k), m->reflect));
    }
    return col;
}

static unsigned char to_byte(double c)
{
    if (c <= 0)
        return 0;
    if (c >= 1)
        return 255;
    return (unsigned char)(sqrt(c) * 255.0 + 0.5);     /* gamma 2 */
}

/* ------------------------------------------------------------ the work queues */
#define TILE 8             /* a tile: TILE x TILE pixels, one bundle of primary rays */
#define MAXT 64

typedef struct {
    pthread_mutex_t lock;
    int head, tail;        /* its tiles: tiles[head..tail) (the owner takes from the head) */
    int *tiles;
    counters k;
    long stolen;
    char pad[64];          /* keep queues on separate cache lines */
} queue;

static queue queues[MAXT];
static int nthreads, width, height, spp, tiles_x, ntiles;
static unsigned char *image;
static vec eye, fwd, right, up;
static double half_w, half_h;

static int take(queue *q, int own)
{
    int tile = -1;
    pthread_mutex_lock(&q->lock);
    if (q->head < q->tail)
        tile = own ? q->tiles[q->head++] : q->tiles[--q->tail];
    pthread_mutex_unlock(&q->lock);
    return tile;
}

static void render_tile(int tile, counters *k)
{
    int x0 = tile % tiles_x * TILE, y0 = tile / tiles_x * TILE;
    for (int y = y0; y < y0 + TILE && y < height; y++)
        for (int x = x0; x < x0 + TILE && x < width; x++) {
            vec c = v3(0, 0, 0);
            for (int sy = 0; sy < spp; sy++)
                for (int sx = 0; sx < spp; sx++) {
                    double u = ((x + (sx + 0.5) / spp) / width * 2 - 1) * half_w;
                    double v = (1 - (y + (sy + 0.5) / spp) / height * 2) * half_h;
                    c = add(c, trace(eye, norm(add(fwd, add(mul(right, u), mul(up, v)))), 0, k));
                }
            c = mul(c, 1.0 / (spp * spp));
            unsigned char *px = image + ((size_t)y * width + x) * 3;
            px[0] = to_byte(c.x);
            px[1] = to_byte(c.y);
            px[2] = to_byte(c.z);
        }
}

static void *worker(void *arg)
{
    int id = (int)(long)arg;
    queue *mine = &queues[id];
    int tile;
    while ((tile = take(mine, 1)) >= 0)
        render_tile(tile, &mine->k);
    for (int v = 1; v < nthreads; v++) {      /* then steal, one victim after another */
        queue *q = &queues[(id + v) % nthreads];
        while ((tile = take(q, 0)) >= 0) {
            mine->stolen++;
            render_tile(tile, &mine->k);
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    nthreads = argc > 1 ? atoi(argv[1]) : 1;
    width = argc > 2 ? atoi(argv[2]) : 256;
    height = argc > 3 ? atoi(argv[3]) : 192;
    spp = argc > 4 ? atoi(argv[4]) : 1;
    const char *out = argc > 5 ? argv[5] : NULL;
    if (nthreads < 1 || nthreads > MAXT || width < 1 || height < 1 || width > 8192 || height > 8192 ||
        spp < 1 || spp > 16) {
        fprintf(stderr, "usage: raytrace THREADS WIDTH HEIGHT [SAMPLES [OUT.ppm]]\n");
        return 2;
    }
    image = calloc((size_t)width * height, 3);
    if (!image) {
        fprintf(stderr, "out of memory\n");
        return 2;
    }
    build_scene();
    int *all = malloc(sizeof(int) * nobjs);
    if (!all) {
        fprintf(stderr, "out of memory\n");
        return 2;
    }
    vec lo = objs[0].lo, hi = objs[0].hi;
    for (int i = 0; i < nobjs; i++) {
        all[i] = i;
        lo = v3(fmin(lo.x, objs[i].lo.x), fmin(lo.y, objs[i].lo.y), fmin(lo.z, objs[i].lo.z));
        hi = v3(fmax(hi.x, objs[i].hi.x), fmax(hi.y, objs[i].hi.y), fmax(hi.z, objs[i].hi.z));
    }
    build_grid(sub(lo, v3(1e-3, 1e-3, 1e-3)), add(hi, v3(1e-3, 1e-3, 1e-3)), all, nobjs, 0);
    free(all);

    eye = v3(0.0, 3.2, -3.5);
    vec look = v3(0.0, 1.0, 7.0);
    fwd = norm(sub(look, eye));
    right = norm(cross(v3(0, 1, 0), fwd));
    up = cross(fwd, right);
    half_h = tan(50.0 * M_PI / 180.0 / 2);
    half_w = half_h * width / height;

    /* deal the tiles out in contiguous runs, one run per thread */
    tiles_x = (width + TILE - 1) / TILE;
    ntiles = tiles_x * ((height + TILE - 1) / TILE);
    int *order = malloc(sizeof(int) * ntiles);
    if (!order) {
        fprintf(stderr, "out of memory\n");
        return 2;
    }
    for (int i = 0; i < ntiles; i++)
        order[i] = i;
    for (int t = 0; t < nthreads; t++) {
        queue *q = &queues[t];
        pthread_mutex_init(&q->lock, NULL);
        q->tiles = order;
        q->head = (int)((long)ntiles * t / nthreads);
        q->tail = (int)((long)ntiles * (t + 1) / nthreads);
    }
    pthread_t tid[MAXT];
    roi_begin("render");          /* the region of interest: the parallel render, not set-up and output */
    for (long t = 1; t < nthreads; t++)
        if (pthread_create(&tid[t], NULL, worker, (void *)t)) {
            fprintf(stderr, "pthread_create failed\n");
            return 2;
        }
    worker((void *)0);
    for (int t = 1; t < nthreads; t++)
        pthread_join(tid[t], NULL);
    roi_end("render");

    counters k = {0, 0, 0};
    long stolen = 0;
    for (int t = 0; t < nthreads; t++) {
        k.rays += queues[t].k.rays;
        k.shadow_rays += queues[t].k.shadow_rays;
        k.tests += queues[t].k.tests;
        stolen += queues[t].stolen;
    }
    uint32_t hash = 2166136261u;
    double sum[3] = {0, 0, 0};
    for (size_t i = 0; i < (size_t)width * height * 3; i++) {
        hash = (hash ^ image[i]) * 16777619u;
        sum[i % 3] += image[i];
    }
    double npx = (double)width * height;
    printf("raytrace %dx%d spp=%d threads %d\n", width, height, spp * spp, nthreads);
    printf("scene %d spheres %d triangles, %d grids %d cells\n", nspheres, ntriangles, ngrids, ncells);
    printf("rays %ld shadow rays %ld object tests %ld\n", k.rays, k.shadow_rays, k.tests);
    printf("mean rgb %.3f %.3f %.3f\n", sum[0] / npx, sum[1] / npx, sum[2] / npx);
    printf("checksum %08x\n", hash);
    fprintf(stderr, "raytrace: %d tiles, %ld stolen\n", ntiles, stolen);

    if (out) {
        FILE *f = fopen(out, "wb");
        if (!f) {
            perror(out);
            return 3;
        }
        fprintf(f, "P6\n%d %d\n255\n", width, height);
        size_t n = fwrite(image, 3, (size_t)width * height, f);
        if (fclose(f) != 0 || n != (size_t)width * height) {
            perror(out);
            return 3;
        }
    }
    return 0;
}
