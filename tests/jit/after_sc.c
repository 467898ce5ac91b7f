/* For the JIT tier's coverage test: a hot loop whose body has an instruction the tier does
   not translate (the SC of an atomic add) in the middle of straight-line code, so the code
   after it is reached only by falling through, never as a jump target. */
#include <stdio.h>

static volatile unsigned counter;

int main(void) {
    unsigned a = 1, b = 2, c = 3, d = 4;
    for (unsigned i = 0; i < 200000; i++) {
        __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
        a = a * 33 + b; b ^= a >> 3; c += a ^ d; d = (d << 1) | (c >> 31);
        a = a * 17 + c; b += d ^ 0x5bd1e995; c ^= b >> 7; d += a;
        a ^= b + c; b = b * 5 + d; c += a >> 11; d ^= c << 3;
    }
    printf("counter %u mix %08x\n", counter, a ^ b ^ c ^ d);
    return 0;
}
