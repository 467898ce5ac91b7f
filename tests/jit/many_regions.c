/* For the JIT tier's bound on native code: twenty-four hot loops, each other code, so a run
   translates more regions than a small engine capacity holds and the tier must renew its code. */
#include <stdio.h>

#define LOOP(n) static unsigned __attribute__((noinline)) loop##n(unsigned x) { \
        for (unsigned i = 0; i < 40; i++) x = x * (2 * n + 3) + (x >> (n % 7 + 1)) + i; \
        return x; }
LOOP(0) LOOP(1) LOOP(2) LOOP(3) LOOP(4) LOOP(5) LOOP(6) LOOP(7) LOOP(8) LOOP(9) LOOP(10) LOOP(11)
LOOP(12) LOOP(13) LOOP(14) LOOP(15) LOOP(16) LOOP(17) LOOP(18) LOOP(19) LOOP(20) LOOP(21) LOOP(22) LOOP(23)

static unsigned (*const loops[])(unsigned) = {
    loop0, loop1, loop2, loop3, loop4, loop5, loop6, loop7, loop8, loop9, loop10, loop11,
    loop12, loop13, loop14, loop15, loop16, loop17, loop18, loop19, loop20, loop21, loop22, loop23,
};

int main(void) {
    unsigned x = 1;
    for (unsigned round = 0; round < 3; round++)        /* each loop hot in turn, then all again */
        for (unsigned k = 0; k < 24; k++)
            for (unsigned r = 0; r < 200; r++)
                x = loops[k](x);
    printf("mix %08x\n", x);
    return 0;
}
