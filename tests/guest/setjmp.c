/* setjmp.c -- setjmp/longjmp: returning values, nested buffers, jumping out of
 * deep recursion, callee-saved integer and FP registers ($s0-$s7, $f20-$f31)
 * surviving a longjmp.  Exit status: 0.
 */
#include <setjmp.h>
#include <stdio.h>

static jmp_buf outer, inner;
static int depth_reached;

static __attribute__((noinline)) void recurse(int n, jmp_buf env)
{
    volatile char pad[64];
    pad[n % 64] = (char)n;
    depth_reached = n;
    if (n == 500)
        longjmp(env, n + pad[n % 64]);
    recurse(n + 1, env);
    pad[0]++;
}

static __attribute__((noinline)) void thrower(int v)
{
    longjmp(inner, v);
}

static __attribute__((noinline)) double fp_work(double x, int jump)
{
    /* values kept live across the call in callee-saved FP registers */
    double a = x * 1.5, b = x + 0.25, c = x / 3.0, d = x - 7.0, e = x * x, f = x * 0.125;
    if (jump)
        thrower(99);
    return a + b + c + d + e + f;
}

int main(void)
{
    volatile int count = 0;
    int r = setjmp(outer);
    printf("setjmp returned %d (count %d)\n", r, count);
    if (count++ < 3)
        longjmp(outer, count * 10);

    r = setjmp(outer);
    if (r == 0)
        longjmp(outer, 0);    /* longjmp(.., 0) makes setjmp return 1 */
    printf("longjmp with 0 gives %d\n", r);

    r = setjmp(outer);
    if (r == 0)
        recurse(0, outer);
    printf("out of recursion: r=%d depth %d\n", r, depth_reached);

    /* values that stay live in callee-saved registers across setjmp/longjmp;
     * they are not modified after setjmp, so their values are determinate */
    int s0 = 11, s1 = 22, s2 = 33;
    __asm__ volatile("" : "+r"(s0), "+r"(s1), "+r"(s2));
    volatile double keep = 2.75;
    double live = 3.5;
    __asm__ volatile("" : "+f"(live));
    for (int i = 0; i < 3; i++) {
        r = setjmp(inner);
        if (r == 0) {
            if (i == 1)
                printf("fp_work no jump: %.6f\n", fp_work(live, 0));
            fp_work(live + i + s0, 1);
        } else {
            printf("iteration %d: caught %d, keep %.2f live %.2f\n", i, r, keep, live);
        }
    }
    printf("ints after jumps %d %d %d\n", s0, s1, s2);

    /* nested: inner handler rethrows to the outer one */
    volatile int stage = 0;
    if ((r = setjmp(outer)) == 0) {
        if ((r = setjmp(inner)) == 0) {
            stage = 1;
            thrower(5);
        }
        stage = 2;
        printf("inner caught %d\n", r);
        longjmp(outer, r + 1);
    }
    printf("outer caught %d at stage %d\n", r, stage);
    return 0;
}
