/* raytrace.c -- a small serial Whitted-style ray tracer: the FPU benchmark of bench/ (it was the
 * first flashvm "raytrace" workload; workloads/raytrace is now the parallel SPLASH-2 style one).
 *
 * usage: raytrace [WIDTH [HEIGHT [OUT.ppm|- [SAMPLES]]]]
 *        defaults: 320 x 240, no image file, 1 sample per pixel
 *        SAMPLES = n gives an n x n supersampling grid per pixel.
 *
 * Scene: a checkered ground plane, a back wall, six spheres (matte, glossy,
 * mirror-like), two point lights and ambient light.  Shading is Lambert
 * diffuse + Phong specular (pow) with hard shadows (shadow rays) and recursive
 * reflections up to depth 4.  Everything is double precision and
 * deterministic: the program prints the image size, an FNV-1a checksum of the
 * 8-bit RGB pixels and the mean colour; with OUT.ppm it also writes a binary
 * PPM (P6) image.  Exit status: 0, or 2 on bad arguments / 3 if the image
 * cannot be written.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    double x, y, z;
} vec;

static inline vec v3(double x, double y, double z)
{
    vec r = {x, y, z};
    return r;
}
static inline vec add(vec a, vec b) { return v3(a.x + b.x, a.y + b.y, a.z + b.z); }
static inline vec sub(vec a, vec b) { return v3(a.x - b.x, a.y - b.y, a.z - b.z); }
static inline vec mul(vec a, double s) { return v3(a.x * s, a.y * s, a.z * s); }
static inline vec hadamard(vec a, vec b) { return v3(a.x * b.x, a.y * b.y, a.z * b.z); }
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

typedef struct {
    vec color;       /* base colour */
    vec color2;      /* second colour for checkered surfaces */
    double checker;  /* checker square size, 0 = plain */
    double diffuse;  /* Lambert weight */
    double specular; /* Phong weight */
    double shininess;
    double reflect;  /* mirror weight */
} material;

typedef struct {
    vec center;
    double radius;
    material mat;
} sphere;

typedef struct {
    vec normal;      /* unit normal */
    double offset;   /* plane: dot(normal, p) = offset */
    material mat;
} plane;

typedef struct {
    vec pos;
    vec color;
} light;

static const sphere spheres[] = {
    {{0.0, 1.0, 6.0}, 1.0, {{0.85, 0.20, 0.15}, {0, 0, 0}, 0, 0.8, 0.6, 60, 0.15}},
    {{-2.2, 0.75, 7.5}, 0.75, {{0.20, 0.55, 0.90}, {0, 0, 0}, 0, 0.7, 0.4, 25, 0.05}},
    {{2.1, 0.9, 5.2}, 0.9, {{0.92, 0.92, 0.95}, {0, 0, 0}, 0, 0.15, 0.9, 200, 0.75}},
    {{0.9, 0.35, 3.6}, 0.35, {{0.25, 0.85, 0.30}, {0, 0, 0}, 0, 0.9, 0.3, 12, 0.0}},
    {{-1.1, 0.3, 4.2}, 0.3, {{0.95, 0.80, 0.20}, {0, 0, 0}, 0, 0.6, 0.8, 90, 0.3}},
    {{-0.6, 2.6, 9.0}, 1.4, {{0.70, 0.40, 0.85}, {0, 0, 0}, 0, 0.5, 0.5, 40, 0.4}},
};
#define NSPHERES ((int)(sizeof spheres / sizeof spheres[0]))

static const plane planes[] = {
    {{0, 1, 0}, 0.0, {{0.90, 0.90, 0.88}, {0.15, 0.15, 0.18}, 1.0, 0.85, 0.2, 30, 0.2}},
    {{0, 0, -1}, -14.0, {{0.55, 0.60, 0.70}, {0, 0, 0}, 0, 0.9, 0.0, 1, 0.0}},
};
#define NPLANES ((int)(sizeof planes / sizeof planes[0]))

static const light lights[] = {
    {{-5.0, 8.0, 0.0}, {0.85, 0.80, 0.75}},
    {{6.0, 5.0, 3.0}, {0.35, 0.40, 0.55}},
};
#define NLIGHTS ((int)(sizeof lights / sizeof lights[0]))

static const vec ambient = {0.08, 0.08, 0.10};
static const vec sky_top = {0.25, 0.45, 0.85}, sky_bottom = {0.85, 0.90, 1.0};

#define EPS 1e-6
#define MAX_DEPTH 4

static uint64_t rays_cast, shadow_rays;

/* nearest hit along o + t d (d unit) with t in (EPS, tmax); returns the
 * object kind (0 none, 1 sphere, 2 plane) */
static int intersect(vec o, vec d, double tmax, double *t_out, int *idx)
{
    int kind = 0;
    double best = tmax;
    for (int i = 0; i < NSPHERES; i++) {
        vec oc = sub(o, spheres[i].center);
        double b = dot(oc, d);
        double c = dot(oc, oc) - spheres[i].radius * spheres[i].radius;
        double disc = b * b - c;
        if (disc < 0)
            continue;
        double s = sqrt(disc);
        double t = -b - s;
        if (t <= EPS)
            t = -b + s;
        if (t > EPS && t < best) {
            best = t;
            kind = 1;
            *idx = i;
        }
    }
    for (int i = 0; i < NPLANES; i++) {
        double denom = dot(planes[i].normal, d);
        if (fabs(denom) < 1e-12)
            continue;
        double t = (planes[i].offset - dot(planes[i].normal, o)) / denom;
        if (t > EPS && t < best) {
            best = t;
            kind = 2;
            *idx = i;
        }
    }
    *t_out = best;
    return kind;
}

static int occluded(vec p, vec dir_to_light, double dist)
{
    double t;
    int idx;
    shadow_rays++;
    return intersect(p, dir_to_light, dist, &t, &idx) != 0;
}

static vec trace(vec o, vec d, int depth)
{
    double t;
    int idx = 0;
    rays_cast++;
    int kind = intersect(o, d, 1e30, &t, &idx);
    if (!kind) {
        double k = 0.5 * (d.y + 1.0);
        return add(mul(sky_bottom, 1.0 - k), mul(sky_top, k));
    }
    vec p = add(o, mul(d, t));
    vec n;
    const material *m;
    vec base;
    if (kind == 1) {
        n = mul(sub(p, spheres[idx].center), 1.0 / spheres[idx].radius);
        m = &spheres[idx].mat;
        base = m->color;
    } else {
        n = planes[idx].normal;
        m = &planes[idx].mat;
        base = m->color;
        if (m->checker > 0) {
            long cx = (long)floor(p.x / m->checker), cz = (long)floor(p.z / m->checker);
            if ((cx + cz) & 1)
                base = m->color2;
        }
    }
    if (dot(n, d) > 0)
        n = mul(n, -1.0);
    vec p_off = add(p, mul(n, 1e-7 * (1.0 + fabs(t))));

    vec col = hadamard(ambient, base);
    for (int l = 0; l < NLIGHTS; l++) {
        vec to_l = sub(lights[l].pos, p);
        double dist = sqrt(dot(to_l, to_l));
        vec ldir = mul(to_l, 1.0 / dist);
        double ndl = dot(n, ldir);
        if (ndl <= 0 || occluded(p_off, ldir, dist))
            continue;
        col = add(col, mul(hadamard(base, lights[l].color), m->diffuse * ndl));
        if (m->specular > 0) {
            vec r = sub(mul(n, 2 * ndl), ldir);   /* reflected light direction */
            double rv = -dot(r, d);
            if (rv > 0)
                col = add(col, mul(lights[l].color, m->specular * pow(rv, m->shininess)));
        }
    }
    if (m->reflect > 0 && depth < MAX_DEPTH) {
        vec rd = norm(sub(d, mul(n, 2 * dot(d, n))));
        vec rc = trace(p_off, rd, depth + 1);
        col = add(mul(col, 1.0 - m->reflect), mul(rc, m->reflect));
    }
    return col;
}

static unsigned char to_byte(double c)
{
    if (c <= 0)
        return 0;
    if (c >= 1)
        return 255;
    return (unsigned char)(sqrt(c) * 255.0 + 0.5);   /* gamma 2 */
}

int main(int argc, char **argv)
{
    int w = argc > 1 ? atoi(argv[1]) : 320;
    int h = argc > 2 ? atoi(argv[2]) : 240;
    const char *out = argc > 3 && strcmp(argv[3], "-") != 0 ? argv[3] : NULL;
    int spp = argc > 4 ? atoi(argv[4]) : 1;
    if (w < 1 || h < 1 || w > 8192 || h > 8192 || spp < 1 || spp > 16) {
        fprintf(stderr, "usage: raytrace [WIDTH [HEIGHT [OUT.ppm|- [SAMPLES]]]]\n");
        return 2;
    }
    unsigned char *img = malloc((size_t)w * h * 3);
    if (!img) {
        fprintf(stderr, "out of memory\n");
        return 2;
    }

    vec eye = v3(0.0, 1.6, -1.0), look = v3(0.0, 0.9, 6.0), up = v3(0, 1, 0);
    vec fwd = norm(sub(look, eye));
    vec right = norm(cross(up, fwd));
    vec cam_up = cross(fwd, right);
    double fov = 55.0 * 3.141592653589793 / 180.0;
    double half_h = tan(fov / 2), half_w = half_h * w / h;

    uint32_t hash = 2166136261u;
    double sum[3] = {0, 0, 0};
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            vec c = v3(0, 0, 0);
            for (int sy = 0; sy < spp; sy++)
                for (int sx = 0; sx < spp; sx++) {
                    double u = ((x + (sx + 0.5) / spp) / w * 2 - 1) * half_w;
                    double v = (1 - (y + (sy + 0.5) / spp) / h * 2) * half_h;
                    vec d = norm(add(fwd, add(mul(right, u), mul(cam_up, v))));
                    c = add(c, trace(eye, d, 0));
                }
            c = mul(c, 1.0 / (spp * spp));
            unsigned char *px = img + ((size_t)y * w + x) * 3;
            px[0] = to_byte(c.x);
            px[1] = to_byte(c.y);
            px[2] = to_byte(c.z);
            for (int k = 0; k < 3; k++) {
                hash ^= px[k];
                hash *= 16777619u;
                sum[k] += px[k];
            }
        }

    double npx = (double)w * h;
    printf("raytrace %dx%d spp=%d\n", w, h, spp * spp);
    printf("rays %llu shadow rays %llu\n", (unsigned long long)rays_cast,
           (unsigned long long)shadow_rays);
    printf("mean rgb %.3f %.3f %.3f\n", sum[0] / npx, sum[1] / npx, sum[2] / npx);
    printf("checksum %08x\n", hash);

    if (out) {
        FILE *f = fopen(out, "wb");
        if (!f) {
            perror(out);
            return 3;
        }
        fprintf(f, "P6\n%d %d\n255\n", w, h);
        size_t n = fwrite(img, 3, (size_t)w * h, f);
        if (fclose(f) != 0 || n != (size_t)w * h) {
            perror(out);
            return 3;
        }
        printf("wrote %s\n", out);
    }
    free(img);
    return 0;
}
