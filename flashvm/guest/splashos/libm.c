/*
 * libm.c -- the mathematics SPLASH programs need: fabs, sqrt (the FPU's),
 * floor, ceil, sin and cos (reduction by pi/2 in two parts, then the Taylor
 * series on [-pi/4, pi/4] to beyond double precision).
 */
#include "splashos.h"

double fabs(double x)
{
    double r;
    __asm__("abs.d %0, %1" : "=f"(r) : "f"(x));
    return r;
}

double sqrt(double x)
{
    double r;
    __asm__("sqrt.d %0, %1" : "=f"(r) : "f"(x));
    return r;
}

double floor(double x)
{
    if (!(fabs(x) < 4503599627370496.0))     /* 2^52: already whole (or nan/inf) */
        return x;
    double t = (double)(int64_t)x;
    return t > x ? t - 1 : t;
}

double ceil(double x) { return -floor(-x); }

/* x = k * pi/2 + r, |r| <= pi/4 (for |x| up to about 1e9) */
static double reduce(double x, int *quadrant)
{
    static const double pio2_hi = 1.57079632679489655800e+00;   /* pi/2 rounded to double */
    static const double pio2_lo = 6.12323399573676603587e-17;   /* pi/2 - pio2_hi */
    double k = floor(x * 0.63661977236758134308 + 0.5);         /* x * 2/pi */
    *quadrant = (int)((int64_t)k & 3);
    return (x - k * pio2_hi) - k * pio2_lo;
}

static double sin_series(double r)
{
    double r2 = r * r;
    double p = -1.0 / 121645100408832000.0 * r2 + 1.0 / 355687428096000.0;
    p = p * r2 - 1.0 / 1307674368000.0;
    p = p * r2 + 1.0 / 6227020800.0;
    p = p * r2 - 1.0 / 39916800.0;
    p = p * r2 + 1.0 / 362880.0;
    p = p * r2 - 1.0 / 5040.0;
    p = p * r2 + 1.0 / 120.0;
    p = p * r2 - 1.0 / 6.0;
    return r + r * r2 * p;
}

static double cos_series(double r)
{
    double r2 = r * r;
    double p = 1.0 / 6402373705728000.0 * r2 - 1.0 / 20922789888000.0;
    p = p * r2 + 1.0 / 87178291200.0;
    p = p * r2 - 1.0 / 479001600.0;
    p = p * r2 + 1.0 / 3628800.0;
    p = p * r2 - 1.0 / 40320.0;
    p = p * r2 + 1.0 / 720.0;
    p = p * r2 - 1.0 / 24.0;
    p = p * r2 + 0.5;
    return 1.0 - r2 * p;
}

double sin(double x)
{
    int q;
    double r = reduce(x, &q);
    switch (q) {
    case 0: return sin_series(r);
    case 1: return cos_series(r);
    case 2: return -sin_series(r);
    default: return -cos_series(r);
    }
}

double cos(double x)
{
    int q;
    double r = reduce(x, &q);
    switch (q) {
    case 0: return cos_series(r);
    case 1: return -sin_series(r);
    case 2: return -cos_series(r);
    default: return sin_series(r);
    }
}
