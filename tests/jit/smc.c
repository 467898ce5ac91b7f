/* Self-modifying code for the JIT tier's tests: a function written into an
   executable page, called until it is hot, then rewritten and called again. */
#include <stdio.h>
#include <sys/mman.h>

typedef unsigned (*fn_t)(unsigned);

int main(void) {
    unsigned *code = mmap(0, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    unsigned long sum = 0;
    if (code == MAP_FAILED)
        return 1;
    for (unsigned round = 0; round < 4; round++) {
        code[0] = 0x24820000u | (round + 1);   /* addiu v0, a0, round+1 */
        code[1] = 0x03e00008u;                 /* jr ra */
        code[2] = 0;                           /* nop */
        __builtin___clear_cache((char *)code, (char *)(code + 3));
        fn_t f = (fn_t)code;
        for (unsigned i = 0; i < 3000; i++)
            sum += f(i);
        printf("round %u sum %lu\n", round, sum);
    }
    return 0;
}
