/* printf_double.c -- musl's floating-point formatting and parsing.
 *
 * Prints many doubles with %e %f %g %a and assorted widths, precisions and
 * flags, then round-trips strtod(%.17g) and prints float values.  musl's
 * printf does exact decimal conversion with integer arithmetic plus some
 * double operations, so this covers a lot of FPU and 64-bit integer code.
 * Exit status: 0 (3 if a round trip fails).
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const double vals[] = {
    0.0, -0.0, 1.0, -1.0, 0.1, 0.2, 0.3, 0.5, 1.0 / 3.0, 2.0 / 3.0, 0.125, 0.375, 2.5, 3.5,
    -2.5, 9.5, 99.5, 999.9999, 1e-5, 1.5e-5, 123456.789, 1234567.0, 12345678.9, 1e15, 1e16,
    1e17, 1e21, 1e22, 1e23, 123456789012345678901234567890.0, 3.141592653589793,
    2.718281828459045, 1.4142135623730951, 6.02214076e23, 6.62607015e-34, 1.602176634e-19,
    DBL_MAX, -DBL_MAX, DBL_MIN, 4.9406564584124654e-324, 2.2250738585072009e-308,
    DBL_EPSILON, 9007199254740993.0, 0.1 + 0.2, 1e308, 1e-308, 5e-324 * 3, 100.0, 1000000.0,
    0.000123456, 65536.0, 4294967296.0, 18446744073709551616.0, 0.999999999, 9.999999e9,
    INFINITY, -INFINITY, NAN,
};

static const char *const fmts[] = {
    "%e", "%f", "%g", "%a", "%.0e", "%.0f", "%.0g", "%.1f", "%.2f", "%.3e", "%.10g", "%.17g",
    "%.20e", "%.25f", "%15.4f", "%-15.4e|", "%+g", "% g", "%#g", "%#.0f", "%012.3f", "%G",
    "%E", "%A", "%.3a", "%#x-%g",
};

int main(void)
{
    const int nv = (int)(sizeof vals / sizeof vals[0]);
    const int nf = (int)(sizeof fmts / sizeof fmts[0]);
    char buf[512];
    uint32_t h = 2166136261u;
    int bad = 0;

    for (int i = 0; i < nv; i++) {
        double v = vals[i];
        printf("[%d]", i);
        for (int f = 0; f < nf; f++) {
            if (strcmp(fmts[f], "%#x-%g") == 0)
                snprintf(buf, sizeof buf, "%#x-%g", (unsigned)i, v);
            else
                snprintf(buf, sizeof buf, fmts[f], v);
            for (char *p = buf; *p; p++) {
                h ^= (unsigned char)*p;
                h *= 16777619u;
            }
            printf(" %s", buf);
        }
        putchar('\n');
        if (isfinite(v)) {
            snprintf(buf, sizeof buf, "%.17g", v);
            double back = strtod(buf, NULL);
            if (memcmp(&back, &v, sizeof v) != 0) {
                printf("round trip failed for %s\n", buf);
                bad = 1;
            }
        }
    }

    /* strtod on tricky inputs */
    static const char *const inputs[] = {
        "0", "-0", "1e-400", "1e400", "-1e400", "2.2250738585072011e-308",
        "2.2250738585072012e-308", "0x1.fffffffffffffp+1023", "0x1p-1074", "inf", "-nan",
        "1.00000000000000011102230246251565404236316680908203125",
        "1.00000000000000011102230246251565404236316680908203124",
        "9007199254740993", "123.456e-7", "   42.5xyz", ".5", "5.", "1e+308", "4.9e-324",
        "2.4703282292062327e-324", "2.4703282292062328e-324",
    };
    for (unsigned i = 0; i < sizeof inputs / sizeof inputs[0]; i++) {
        char *end;
        double d = strtod(inputs[i], &end);
        uint64_t bits;
        memcpy(&bits, &d, 8);
        printf("strtod(\"%s\") = %.17g [%016llx] rest \"%s\"\n", inputs[i], d,
               (unsigned long long)bits, end);
    }

    /* floats go through the double path */
    static const float fv[] = {0.1f, 1.0f / 3.0f, 16777217.0f, FLT_MAX, FLT_MIN, 1e-45f, 3.0e38f};
    for (unsigned i = 0; i < sizeof fv / sizeof fv[0]; i++)
        printf("float %.9g %e %a\n", (double)fv[i], (double)fv[i], (double)fv[i]);

    /* powers of ten and two */
    double p = 1.0;
    for (int i = 0; i < 40; i++) {
        printf("10^%d = %.17g = %e\n", i, p, p);
        p *= 10.0;
    }
    p = 1.0;
    for (int i = 0; i < 64; i += 7) {
        printf("2^-%d = %.30g\n", i, p);
        p = ldexp(p, -7);
    }
    printf("format hash %08x\n", h);
    return bad ? 3 : 0;
}
