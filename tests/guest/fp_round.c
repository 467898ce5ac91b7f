/* fp_round.c -- IEEE rounding modes, exception flags and conversions.
 *
 * For every rounding mode (fesetround) the basic double and single
 * operations, sqrt, conversions (cvt.s.d, cvt.w.d, round/trunc/ceil/floor.w.d,
 * cvt.d.w, cvt.s.w), rint and fma are evaluated on edge operands.  Results are
 * collected with the mode active and printed afterwards in round-to-nearest as
 * hex bits, %a and %.17g, together with the exception flags reported by
 * fetestexcept (I=invalid Z=divbyzero O=overflow U=underflow X=inexact).
 * Also prints MIPS legacy NaN encodings (0/0 -> 7ff7ffffffffffff) and
 * out-of-range float->int results (0x7fffffff).
 * Exit status: 0.
 */
#include <fenv.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* keep the compiler from folding or moving FP operations across fesetround */
#define BARRIER(x) __asm__ volatile("" : "+f"(x))

static uint64_t dbits(double d)
{
    uint64_t u;
    memcpy(&u, &d, 8);
    return u;
}

static uint32_t fbits(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static double from_bits(uint64_t u)
{
    double d;
    memcpy(&d, &u, 8);
    return d;
}

static const int modes[4] = {FE_TONEAREST, FE_TOWARDZERO, FE_UPWARD, FE_DOWNWARD};
static const char *const mode_names[4] = {"RN", "RZ", "RU", "RD"};

static void flags_str(int f, char *s)
{
    s[0] = f & FE_INVALID ? 'I' : '-';
    s[1] = f & FE_DIVBYZERO ? 'Z' : '-';
    s[2] = f & FE_OVERFLOW ? 'O' : '-';
    s[3] = f & FE_UNDERFLOW ? 'U' : '-';
    s[4] = f & FE_INEXACT ? 'X' : '-';
    s[5] = 0;
}

struct dres {
    double v;
    int flags;
};

static void print_d(const char *mode, const char *op, double a, double b, struct dres r)
{
    char fs[8];
    flags_str(r.flags, fs);
    printf("%s %-5s %016llx %016llx -> %016llx %a %.17g %s\n", mode, op,
           (unsigned long long)dbits(a), (unsigned long long)dbits(b),
           (unsigned long long)dbits(r.v), r.v, r.v, fs);
}

#define ALL_EXC (FE_INVALID | FE_DIVBYZERO | FE_OVERFLOW | FE_UNDERFLOW | FE_INEXACT)

/* one binary double operation under the current rounding mode */
static struct dres dop(int op, double a, double b)
{
    struct dres r;
    double x;
    feclearexcept(FE_ALL_EXCEPT);
    BARRIER(a);
    BARRIER(b);
    switch (op) {
    case 0: x = a + b; break;
    case 1: x = a - b; break;
    case 2: x = a * b; break;
    case 3: x = a / b; break;
    case 4: x = __builtin_sqrt(a); break;
    case 5: x = (double)(float)a; break;           /* cvt.s.d then exact cvt.d.s */
    case 6: x = rint(a); break;
    default: x = fma(a, b, a); break;
    }
    BARRIER(x);
    r.v = x;
    r.flags = fetestexcept(ALL_EXC);
    return r;
}

static const char *const dop_names[] = {"add", "sub", "mul", "div", "sqrt", "d2f", "rint", "fma"};

struct fres {
    float v;
    int flags;
};

static struct fres fop(int op, float a, float b)
{
    struct fres r;
    float x;
    feclearexcept(FE_ALL_EXCEPT);
    BARRIER(a);
    BARRIER(b);
    switch (op) {
    case 0: x = a + b; break;
    case 1: x = a - b; break;
    case 2: x = a * b; break;
    case 3: x = a / b; break;
    default: x = __builtin_sqrtf(a); break;
    }
    BARRIER(x);
    r.v = x;
    r.flags = fetestexcept(ALL_EXC);
    return r;
}

/* float -> int32 conversions, straight MIPS instructions */
#define CVT(insn, d, out) \
    __asm__ volatile(insn " %1, %2\n\tmfc1 %0, %1" : "=r"(out), "=&f"(tmp) : "f"(d))

struct ires {
    int32_t cvt, rnd, trn, cei, flo;
    int flags[5];
};

static struct ires iops(double d)
{
    struct ires r;
    float tmp;
    feclearexcept(FE_ALL_EXCEPT);
    CVT("cvt.w.d", d, r.cvt);
    r.flags[0] = fetestexcept(ALL_EXC);
    feclearexcept(FE_ALL_EXCEPT);
    CVT("round.w.d", d, r.rnd);
    r.flags[1] = fetestexcept(ALL_EXC);
    feclearexcept(FE_ALL_EXCEPT);
    CVT("trunc.w.d", d, r.trn);
    r.flags[2] = fetestexcept(ALL_EXC);
    feclearexcept(FE_ALL_EXCEPT);
    CVT("ceil.w.d", d, r.cei);
    r.flags[3] = fetestexcept(ALL_EXC);
    feclearexcept(FE_ALL_EXCEPT);
    CVT("floor.w.d", d, r.flo);
    r.flags[4] = fetestexcept(ALL_EXC);
    return r;
}

int main(void)
{
    static const double pairs[][2] = {
        {1.0, 3.0},
        {2.0, 3.0},
        {-1.0, 3.0},
        {-2.0, 3.0},
        {0.1, 0.2},
        {1.0, 1e-17},
        {-1.0, 1e-17},
        {1e308, 10.0},
        {-1e308, 10.0},
        {DBL_MIN, 3.0},
        {4.9406564584124654e-324, 0.5},
        {1.0, 0.0},
        {0.0, 0.0},
        {INFINITY, INFINITY},
        {-0.0, 0.0},
        {1.0000000000000002, 0.99999999999999989},
        {9007199254740992.0, 1.0},
        {-9007199254740992.0, -1.0},
        {1.5, 2.5},
        {123456789.0, 987654321.0},
    };
    const int npairs = (int)(sizeof pairs / sizeof pairs[0]);
    static struct dres res[4][20][8];
    static const double uvals[] = {
        2.0, 3.0, 0.5, 1e-310, -1.0, 1e300, 2.5, -2.5, 3.5, -0.5, 0.49999999999999994,
        16777217.0, 3.4028235677973366e38, 1.0000000596046448, 2147483647.5,
        -2147483648.5, 1e10, -0.0, NAN, INFINITY,
    };
    const int nu = (int)(sizeof uvals / sizeof uvals[0]);
    static struct dres ures[4][20][3];
    static struct ires ires[4][20];
    static struct fres fres[4][8][5];
    static const float fpairs[][2] = {
        {1.0f, 3.0f}, {-1.0f, 3.0f}, {16777216.0f, 1.0f}, {3.0e38f, 10.0f},
        {1.1754944e-38f, 3.0f}, {2.0f, 0.0f}, {0.1f, 0.7f}, {-0.0f, -0.0f},
    };
    static int32_t ivals[] = {0, 1, -1, 16777217, -16777217, 2147483647, -2147483647 - 1,
                              123456789};
    static float i2f[4][8];
    static double i2d[4][8];
    int got_mode[4];

    for (int m = 0; m < 4; m++) {
        if (fesetround(modes[m]) != 0) {
            printf("fesetround(%s) failed\n", mode_names[m]);
            return 1;
        }
        got_mode[m] = fegetround();
        for (int p = 0; p < npairs; p++)
            for (int op = 0; op < 8; op++) {
                if (op == 4 || op == 5 || op == 6)
                    continue;
                res[m][p][op] = dop(op, pairs[p][0], pairs[p][1]);
            }
        for (int u = 0; u < nu; u++) {
            ures[m][u][0] = dop(4, uvals[u], 0);
            ures[m][u][1] = dop(5, uvals[u], 0);
            ures[m][u][2] = dop(6, uvals[u], 0);
            ires[m][u] = iops(uvals[u]);
        }
        for (int p = 0; p < 8; p++)
            for (int op = 0; op < 5; op++)
                fres[m][p][op] = fop(op, fpairs[p][0], fpairs[p][1]);
        for (int i = 0; i < 8; i++) {
            int32_t v = ivals[i];
            float f;
            double d;
            __asm__ volatile("" : "+r"(v));
            f = (float)v;
            d = (double)v;
            BARRIER(f);
            BARRIER(d);
            i2f[m][i] = f;
            i2d[m][i] = d;
        }
    }
    fesetround(FE_TONEAREST);

    for (int m = 0; m < 4; m++)
        printf("mode %s: fegetround %s\n", mode_names[m],
               got_mode[m] == modes[m] ? "matches" : "MISMATCH");

    for (int m = 0; m < 4; m++) {
        for (int p = 0; p < npairs; p++)
            for (int op = 0; op < 8; op++) {
                if (op == 4 || op == 5 || op == 6)
                    continue;
                print_d(mode_names[m], dop_names[op], pairs[p][0], pairs[p][1], res[m][p][op]);
            }
        for (int u = 0; u < nu; u++) {
            for (int k = 0; k < 3; k++)
                print_d(mode_names[m], dop_names[4 + k], uvals[u], 0.0, ures[m][u][k]);
            struct ires *ir = &ires[m][u];
            char f0[8], f1[8], f2[8], f3[8], f4[8];
            flags_str(ir->flags[0], f0);
            flags_str(ir->flags[1], f1);
            flags_str(ir->flags[2], f2);
            flags_str(ir->flags[3], f3);
            flags_str(ir->flags[4], f4);
            printf("%s toint %.17g: cvt %08x %s round %08x %s trunc %08x %s ceil %08x %s "
                   "floor %08x %s\n",
                   mode_names[m], uvals[u], (uint32_t)ir->cvt, f0, (uint32_t)ir->rnd, f1,
                   (uint32_t)ir->trn, f2, (uint32_t)ir->cei, f3, (uint32_t)ir->flo, f4);
        }
        for (int p = 0; p < 8; p++)
            for (int op = 0; op < 5; op++) {
                char fs[8];
                struct fres r = fres[m][p][op];
                flags_str(r.flags, fs);
                printf("%s %-5s.s %08x %08x -> %08x %a %.9g %s\n", mode_names[m],
                       dop_names[op], fbits(fpairs[p][0]), fbits(fpairs[p][1]), fbits(r.v),
                       (double)r.v, (double)r.v, fs);
            }
        for (int i = 0; i < 8; i++)
            printf("%s int %d -> float %08x double %016llx\n", mode_names[m], ivals[i],
                   fbits(i2f[m][i]), (unsigned long long)dbits(i2d[m][i]));
    }

    /* NaN encodings and comparisons with NaN (c.cond.d) */
    volatile double zero = 0.0, one = 1.0, nan_v = NAN;
    double qnan = zero / zero;
    printf("0/0 bits %016llx, NAN macro bits %016llx, nan(\"\") %016llx\n",
           (unsigned long long)dbits(qnan), (unsigned long long)dbits(nan_v),
           (unsigned long long)dbits(nan("")));
    float fz = (float)zero;
    float fq = fz / fz;
    printf("0f/0f bits %08x\n", fbits(fq));
    double snan = from_bits(0x7FF8000000000001ull);   /* signaling in the MIPS legacy encoding */
    double qn = from_bits(0x7FF4000000000000ull);     /* quiet in the legacy encoding */
    char fs[8];
    BARRIER(snan);
    BARRIER(qn);
    feclearexcept(FE_ALL_EXCEPT);
    volatile double sres = snan + one;
    flags_str(fetestexcept(ALL_EXC), fs);
    printf("sNaN+1 bits %016llx flags %s\n", (unsigned long long)dbits(sres), fs);
    feclearexcept(FE_ALL_EXCEPT);
    volatile double qres = qn * one;
    flags_str(fetestexcept(ALL_EXC), fs);
    printf("qNaN*1 bits %016llx flags %s\n", (unsigned long long)dbits(qres), fs);
    feclearexcept(FE_ALL_EXCEPT);
    int lt = nan_v < one, eq = nan_v == nan_v, ne = nan_v != nan_v, ge = one >= nan_v;
    flags_str(fetestexcept(ALL_EXC), fs);
    printf("NaN compares: lt %d eq %d ne %d ge %d flags %s\n", lt, eq, ne, ge, fs);
    feclearexcept(FE_ALL_EXCEPT);
    int un = __builtin_isunordered(nan_v, one), isl = __builtin_isless(nan_v, one);
    flags_str(fetestexcept(ALL_EXC), fs);
    printf("quiet compares: unordered %d isless %d flags %s\n", un, isl, fs);

    /* raising via feraiseexcept and reading back */
    feclearexcept(FE_ALL_EXCEPT);
    feraiseexcept(FE_OVERFLOW | FE_INEXACT);
    flags_str(fetestexcept(ALL_EXC), fs);
    printf("feraiseexcept(O|X) -> %s\n", fs);
    fenv_t env;
    fegetenv(&env);
    feclearexcept(FE_ALL_EXCEPT);
    fesetround(FE_UPWARD);
    fesetenv(&env);
    flags_str(fetestexcept(ALL_EXC), fs);
    printf("fesetenv restores flags %s and mode %s\n", fs,
           fegetround() == FE_TONEAREST ? "RN" : "other");
    return 0;
}
