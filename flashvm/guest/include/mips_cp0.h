/*
 * mips_cp0.h -- MIPS32r2 coprocessor 0: register numbers, Status and Cause
 * bits, exception codes, TLB entry fields.  Shared by the bare runtime
 * (guest/bare) and the guest kernel (guest/os); included from C and from
 * assembly, so it holds only #defines.  The build puts this directory on
 * the include path (flashvm/toolchain.py build_bare).
 */
#ifndef FLASHVM_MIPS_CP0_H
#define FLASHVM_MIPS_CP0_H

/* registers (select 0 unless noted) */
#define CP0_INDEX     0
#define CP0_RANDOM    1
#define CP0_ENTRYLO0  2
#define CP0_ENTRYLO1  3
#define CP0_CONTEXT   4
#define CP0_PAGEMASK  5
#define CP0_WIRED     6
#define CP0_HWRENA    7
#define CP0_BADVADDR  8
#define CP0_COUNT     9
#define CP0_ENTRYHI   10
#define CP0_COMPARE   11
#define CP0_STATUS    12
#define CP0_CAUSE     13
#define CP0_EPC       14
#define CP0_PRID      15   /* sel 1: EBase */
#define CP0_CONFIG    16   /* sel 0..3 */
#define CP0_LLADDR    17
#define CP0_ERROREPC  30

/* Status */
#define ST_IE    0x00000001
#define ST_EXL   0x00000002
#define ST_ERL   0x00000004
#define ST_KSU   0x00000018
#define ST_UM    0x00000010
#define ST_IM(n) (0x100 << (n))
#define ST_IM_ALL 0x0000FF00
#define ST_BEV   0x00400000
#define ST_FR    0x04000000
#define ST_CU0   0x10000000
#define ST_CU1   0x20000000

/* Cause */
#define CAUSE_EXC_SHIFT 2
#define CAUSE_EXC_MASK  0x7C
#define CAUSE_EXC(c)    (((c) >> 2) & 0x1F)
#define CAUSE_IP(n)     (0x100 << (n))
#define CAUSE_IV        0x00800000
#define CAUSE_CE(c)     (((c) >> 28) & 3)
#define CAUSE_BD        0x80000000

/* Cause.ExcCode values */
#define EXC_INT   0
#define EXC_MOD   1
#define EXC_TLBL  2
#define EXC_TLBS  3
#define EXC_ADEL  4
#define EXC_ADES  5
#define EXC_IBE   6
#define EXC_DBE   7
#define EXC_SYS   8
#define EXC_BP    9
#define EXC_RI    10
#define EXC_CPU   11
#define EXC_OV    12
#define EXC_TR    13
#define EXC_FPE   15

/* EntryLo: PFN<<6 | C<<3 | D<<2 | V<<1 | G */
#define ENTRYLO_G      0x1
#define ENTRYLO_V      0x2
#define ENTRYLO_D      0x4
#define ENTRYLO_C(c)   ((c) << 3)     /* 2 = uncached, 3 = cacheable */
#define ENTRYLO_PFN(pa) ((((pa) >> 12) & 0xFFFFF) << 6)
#define PAGEMASK_4K    0x00000000
#define PAGEMASK_16K   0x00006000
#define PAGEMASK_64K   0x0001E000
#define PAGEMASK_1M    0x001FE000
#define PAGEMASK_16M   0x01FFE000
#define INDEX_P        0x80000000     /* tlbp: no match */
#endif
