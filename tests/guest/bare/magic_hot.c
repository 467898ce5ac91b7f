/*
 * magic_hot.c -- CPU 0 hammers one page on node 3 with conflict misses,
 * then reads the page's MAGIC miss counter through the MAGIC block.
 * Three addresses ROUNDS * 3 times: P, P + 32 KB, P + 64 KB map to the same
 * set of the 64 KB two-way L2 the test configures, so every access misses.
 */
#include "bare.h"

#define ROUNDS 200
#define STRIDE (32u << 10)

int main(void)
{
    uint32_t node_bytes = *(volatile uint32_t *)(BOOTINFO_BASE + FLASH_BI_NODE_BYTES);
    uint32_t pa = 3 * node_bytes + (1u << 20);
    volatile uint32_t *p = (volatile uint32_t *)(uintptr_t)KWIN(pa);
    uint32_t sum = 0;
    for (int r = 0; r < ROUNDS; r++)
        for (int k = 0; k < 3; k++)
            sum += p[k * STRIDE / 4];
    mmio_write32(MAGIC_PAGE, pa >> 12);
    mmio_write32(MAGIC_NODE, 0);
    uint32_t local = mmio_read32(MAGIC_COUNT);
    mmio_write32(MAGIC_NODE, 3);
    uint32_t remote_node = mmio_read32(MAGIC_COUNT);
    printf("page %x: %u misses from node 0, %u from node 3 (sum %u)\n", pa >> 12, local, remote_node, sum);
    return 0;
}
