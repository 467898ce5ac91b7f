/*
 * share_hostile_bare.c -- a guest kernel that writes wildly over its own
 * memory (Disco's page-sharing tests): random words at random addresses of
 * guest-physical [4 MB, 16 MB), through its mapped kernel window (stores the
 * TLB lets through) and through kseg0 (accesses the monitor emulates).  Pages
 * there that the monitor shares with other VMs must be copied, never written.
 */
#include "bare.h"

#define LO (4u << 20)
#define HI (16u << 20)

static uint32_t seed = 777;
static uint32_t rnd(void)
{
    seed ^= seed << 13;
    seed ^= seed >> 17;
    seed ^= seed << 5;
    return seed;
}

int main(void)
{
    for (int i = 0; i < 40000; i++) {
        uint32_t pa = LO + (rnd() % (HI - LO)) & ~3u;
        *(volatile uint32_t *)(uintptr_t)(0xC0000000u + pa) = rnd();
    }
    for (int i = 0; i < 2000; i++) {
        uint32_t pa = LO + (rnd() % (HI - LO)) & ~3u;
        *(volatile uint32_t *)(uintptr_t)(0x80000000u + pa) = rnd();
    }
    printf("hostile done\n");
    return 0;
}
