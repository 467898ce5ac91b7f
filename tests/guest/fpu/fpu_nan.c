/* fpu_nan.c -- NaN results of every COP1 op class under the real oracle.
 *
 * Used by tests/test_fpu_qemu.py (not a programs.toml entry): runs each
 * instruction through inline asm on chosen operands (NaN payloads, sNaN,
 * infinities, zero, finite values) with a chosen FCSR (rounding mode, FS;
 * Enables 0) and prints one line per case:
 *
 *     <op> <fcsr_in> <operand>... -> <result> <fcsr_out>
 *
 * all in hex (.d operands/results as 16 digits, .s as 8).  Operand order is
 * fs ft for binary ops and fr fs ft for madd/msub/nmadd/nmsub.  The test
 * recomputes every line with flashvm.kernels.fpu and compares bit for bit.
 * Built for o32 FP32 (FR=0): .d values live in even register pairs.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

typedef uint32_t u32;
typedef uint64_t u64;

static float sf(u32 u) { float f; memcpy(&f, &u, 4); return f; }
static double df(u64 u) { double d; memcpy(&d, &u, 8); return d; }
static u32 sb(float f) { u32 u; memcpy(&u, &f, 4); return u; }
static u64 db(double d) { u64 u; memcpy(&u, &d, 8); return u; }

#define PRE "ctc1 %[f], $31\n\t"
#define POST "\n\tcfc1 %[f], $31"

#define UN(NAME, INSN, TI, TO)                                                 \
    static TO NAME(TI a, u32 *fc)                                              \
    {                                                                          \
        TO r;                                                                  \
        u32 f = *fc;                                                           \
        __asm__ volatile(PRE INSN " %[r], %[a]" POST                           \
                         : [r] "=&f"(r), [f] "+r"(f) : [a] "f"(a));            \
        *fc = f;                                                               \
        return r;                                                              \
    }
#define BIN(NAME, INSN, T)                                                     \
    static T NAME(T a, T b, u32 *fc)                                           \
    {                                                                          \
        T r;                                                                   \
        u32 f = *fc;                                                           \
        __asm__ volatile(PRE INSN " %[r], %[a], %[b]" POST                     \
                         : [r] "=&f"(r), [f] "+r"(f) : [a] "f"(a), [b] "f"(b)); \
        *fc = f;                                                               \
        return r;                                                              \
    }
#define TER(NAME, INSN, T)                                                     \
    static T NAME(T fr, T a, T b, u32 *fc)                                     \
    {                                                                          \
        T r;                                                                   \
        u32 f = *fc;                                                           \
        __asm__ volatile(PRE INSN " %[r], %[c], %[a], %[b]" POST               \
                         : [r] "=&f"(r), [f] "+r"(f)                           \
                         : [c] "f"(fr), [a] "f"(a), [b] "f"(b));               \
        *fc = f;                                                               \
        return r;                                                              \
    }

BIN(add_s, "add.s", float) BIN(sub_s, "sub.s", float) BIN(mul_s, "mul.s", float) BIN(div_s, "div.s", float)
BIN(add_d, "add.d", double) BIN(sub_d, "sub.d", double) BIN(mul_d, "mul.d", double) BIN(div_d, "div.d", double)
UN(sqrt_s, "sqrt.s", float, float) UN(sqrt_d, "sqrt.d", double, double)
UN(abs_s, "abs.s", float, float) UN(abs_d, "abs.d", double, double)
UN(neg_s, "neg.s", float, float) UN(neg_d, "neg.d", double, double)
UN(mov_s, "mov.s", float, float) UN(mov_d, "mov.d", double, double)
UN(recip_s, "recip.s", float, float) UN(recip_d, "recip.d", double, double)
UN(rsqrt_s, "rsqrt.s", float, float) UN(rsqrt_d, "rsqrt.d", double, double)
UN(cvt_s_d, "cvt.s.d", double, float) UN(cvt_d_s, "cvt.d.s", float, double)
TER(madd_s, "madd.s", float) TER(msub_s, "msub.s", float) TER(nmadd_s, "nmadd.s", float) TER(nmsub_s, "nmsub.s", float)
TER(madd_d, "madd.d", double) TER(msub_d, "msub.d", double) TER(nmadd_d, "nmadd.d", double) TER(nmsub_d, "nmsub.d", double)

static const u32 VS[] = {
    0x7FBFFFFF, 0xFFBFFFFF, 0x7F812345, 0xFF800001, 0x7F800001, 0x7FA00000,  /* qNaN */
    0x7FC00000, 0xFFC12345, 0x7FFFFFFF,                                      /* sNaN */
    0x7F800000, 0xFF800000, 0x00000000, 0x80000000, 0x3F800000, 0xC0000000,
    0x00000001, 0x7F7FFFFF,
};
static const u64 VD[] = {
    0x7FF7FFFFFFFFFFFFull, 0xFFF7FFFFFFFFFFFFull, 0x7FF0000020000000ull, 0xFFF0000000000001ull,
    0x7FF0000012345678ull, 0x7FF4000000000000ull, 0xFFF00000E0000000ull,       /* qNaN */
    0x7FF8000000000000ull, 0xFFFC000000000001ull, 0x7FFFFFFFFFFFFFFFull,       /* sNaN */
    0x7FF0000000000000ull, 0xFFF0000000000000ull, 0, 0x8000000000000000ull,
    0x3FF0000000000000ull, 0xC000000000000000ull, 1, 0x7FEFFFFFFFFFFFFFull,
};
#define NS (sizeof VS / sizeof VS[0])
#define ND (sizeof VD / sizeof VD[0])
/* the first NT values are used for the ternary ops, plus a few finite ones */
static const int TS[] = {0, 3, 4, 6, 7, 9, 11, 13, 14};
static const int TD[] = {0, 3, 5, 6, 7, 10, 12, 14, 15};
#define NT (sizeof TS / sizeof TS[0])

static unsigned ctr;
static u32 next_fcsr(void)
{
    /* rounding mode cycles; FS on every 5th case; stale flags/cause bits */
    u32 f = ctr & 3;
    if (ctr % 5 == 4)
        f |= 1u << 24;
    if (ctr % 7 == 3)
        f |= (0x1Fu << 12) | (0x1Fu << 2);
    ctr++;
    return f;
}

int main(void)
{
    static float (*const bs[])(float, float, u32 *) = {add_s, sub_s, mul_s, div_s};
    static double (*const bd[])(double, double, u32 *) = {add_d, sub_d, mul_d, div_d};
    static const char *const bn[] = {"add", "sub", "mul", "div"};
    static float (*const us[])(float, u32 *) = {sqrt_s, abs_s, neg_s, mov_s, recip_s, rsqrt_s};
    static double (*const ud[])(double, u32 *) = {sqrt_d, abs_d, neg_d, mov_d, recip_d, rsqrt_d};
    static const char *const un[] = {"sqrt", "abs", "neg", "mov", "recip", "rsqrt"};
    static float (*const ts[])(float, float, float, u32 *) = {madd_s, msub_s, nmadd_s, nmsub_s};
    static double (*const td[])(double, double, double, u32 *) = {madd_d, msub_d, nmadd_d, nmsub_d};
    static const char *const tn[] = {"madd", "msub", "nmadd", "nmsub"};
    unsigned k, i, j, l;

    for (k = 0; k < 4; k++)
        for (i = 0; i < NS; i++)
            for (j = 0; j < NS; j++) {
                u32 f0 = next_fcsr(), f = f0;
                u32 r = sb(bs[k](sf(VS[i]), sf(VS[j]), &f));
                printf("%s_s %08x %08x %08x -> %08x %08x\n", bn[k], f0, VS[i], VS[j], r, f);
            }
    for (k = 0; k < 4; k++)
        for (i = 0; i < ND; i++)
            for (j = 0; j < ND; j++) {
                u32 f0 = next_fcsr(), f = f0;
                u64 r = db(bd[k](df(VD[i]), df(VD[j]), &f));
                printf("%s_d %08x %016llx %016llx -> %016llx %08x\n", bn[k], f0,
                       (unsigned long long)VD[i], (unsigned long long)VD[j], (unsigned long long)r, f);
            }
    for (k = 0; k < 6; k++)
        for (l = 0; l < 4; l++) {
            for (i = 0; i < NS; i++) {
                u32 f0 = next_fcsr(), f = f0;
                u32 r = sb(us[k](sf(VS[i]), &f));
                printf("%s_s %08x %08x -> %08x %08x\n", un[k], f0, VS[i], r, f);
            }
            for (i = 0; i < ND; i++) {
                u32 f0 = next_fcsr(), f = f0;
                u64 r = db(ud[k](df(VD[i]), &f));
                printf("%s_d %08x %016llx -> %016llx %08x\n", un[k], f0, (unsigned long long)VD[i],
                       (unsigned long long)r, f);
            }
        }
    for (l = 0; l < 4; l++) {
        for (i = 0; i < ND; i++) {
            u32 f0 = next_fcsr(), f = f0;
            u32 r = sb(cvt_s_d(df(VD[i]), &f));
            printf("cvt_s_d %08x %016llx -> %08x %08x\n", f0, (unsigned long long)VD[i], r, f);
        }
        for (i = 0; i < NS; i++) {
            u32 f0 = next_fcsr(), f = f0;
            u64 r = db(cvt_d_s(sf(VS[i]), &f));
            printf("cvt_d_s %08x %08x -> %016llx %08x\n", f0, VS[i], (unsigned long long)r, f);
        }
    }
    for (k = 0; k < 4; k++)
        for (i = 0; i < NT; i++)
            for (j = 0; j < NT; j++)
                for (l = 0; l < NT; l++) {
                    u32 f0 = next_fcsr(), f = f0;
                    u32 a = VS[TS[i]], b = VS[TS[j]], c = VS[TS[l]];
                    u32 r = sb(ts[k](sf(a), sf(b), sf(c), &f));
                    printf("%s_s %08x %08x %08x %08x -> %08x %08x\n", tn[k], f0, a, b, c, r, f);
                    f0 = next_fcsr();
                    f = f0;
                    u64 ad = VD[TD[i]], bd_ = VD[TD[j]], cd = VD[TD[l]];
                    u64 rd = db(td[k](df(ad), df(bd_), df(cd), &f));
                    printf("%s_d %08x %016llx %016llx %016llx -> %016llx %08x\n", tn[k], f0,
                           (unsigned long long)ad, (unsigned long long)bd_, (unsigned long long)cd,
                           (unsigned long long)rd, f);
                }
    return 0;
}
