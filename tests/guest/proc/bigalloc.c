/* Allocate and touch 400 MB, check it, free it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(void)
{
    size_t n = 400u << 20;
    unsigned char *p = malloc(n);
    if (!p) {
        puts("malloc failed");
        return 1;
    }
    for (size_t i = 0; i < n; i += 4096)
        p[i] = (unsigned char)(i >> 12);
    unsigned long sum = 0;
    for (size_t i = 0; i < n; i += 4096)
        sum += p[i];
    free(p);
    printf("touched %zu MB, sum %lu\n", n >> 20, sum);
    return 0;
}
