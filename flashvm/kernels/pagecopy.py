"""Disco's page moves inside the JIT (flashvm/disco/numa.py): a machine page copied as a CPU would
copy it (the data, and in timing mode a load of every source line and a store of every
destination line through that CPU's caches and the directory), the drop of exactly the monitor's
translations that map some pages, and whether a page's lines are held modified in a cache."""
from flashvm.kernels.dispatch import njit

from flashvm.kernels.cache import ST_M, access_nb, dma_coherence_nb
from flashvm.kernels.entrylo import lo_pfn, lo_valid
from flashvm.kernels.l2index import L2K_HEAD, L2K_NEXT, l2_bucket
from flashvm.kernels.mmu import tlb_write_nb
from flashvm.kernels.state import (
    ACC_LOAD, ACC_STORE, L2_LO0, L2_LO1, L2_TAG, P_L1D_SETS, P_L1D_WAYS, P_L2_SETS, P_L2_WAYS, P_LSHIFT,
    P_NTLB, P_TIMING, TLB_LO0, TLB_LO1,
)

INVALID_VPN2 = 0xE0000000        # real TLB slot i is emptied with VPN2 INVALID_VPN2 + (i << 13), as a flush does


@njit(cache=True, _nrt=False)
def copy_page_nb(m, c, src, dst):
    """Copy machine page `src` to `dst` on CPU c (c < 0: free, as a device would); returns the
    cycles CPU c spends.  Whatever caches held of `dst` from an earlier use is dropped first."""
    dma_coherence_nb(m, dst << 12, 4096)
    s = src << 12
    d = dst << 12
    for i in range(4096):
        m.ram8[d + i] = m.ram8[s + i]
    cyc = 0
    if c >= 0 and m.params[P_TIMING]:
        sh = m.params[P_LSHIFT]
        for k in range(4096 >> sh):
            cyc += access_nb(m, c, (s >> sh) + k, ACC_LOAD) + 1
            cyc += access_nb(m, c, (d >> sh) + k, ACC_STORE) + 1
    return cyc


# The monitor's own zeroing code, as MIPS32 instructions at one cycle each (docs/disco.md, the cost
# model).  Decoding the call, 26: the store that trapped read at EPC and its register taken from the
# trap frame (8), the guest page bounded and looked up in the pmap (6), its write protection tested
# (3), the page counted (3), the loop's kseg0 bounds set (3), the call into the loop and back (3).
# Then per cache line an unrolled body: a `sw` a word, an `addiu` and a `bne` (the last `sw` in its
# delay slot).  The trap in and out is the call's P_MON_TRAP; the write misses are charged apart.
ZERO_CALL_INSNS = 26
ZERO_LINE_OVERHEAD = 2


@njit(cache=True, _nrt=False)
def zero_loop_cycles(line_shift):
    """Cycles the monitor's zeroing code executes for one 4 KB page, before its cache misses."""
    lines = 4096 >> line_shift
    return ZERO_CALL_INSNS + lines * ((1 << line_shift) // 4 + ZERO_LINE_OVERHEAD)


@njit(cache=True, _nrt=False)
def zero_page_nb(m, c, mp):
    """Zero machine page `mp` on CPU c as the monitor's zeroing code would (zero_loop_cycles); in
    timing mode every line is stored through c's caches and the directory, so the page's write
    misses are charged as the guest kernel's own zeroing would be.  Returns the cycles CPU c spends."""
    base = mp << 12
    for i in range(4096):
        m.ram8[base + i] = 0
    sh = m.params[P_LSHIFT]
    cyc = zero_loop_cycles(sh)
    if m.params[P_TIMING]:
        for k in range(4096 >> sh):
            cyc += access_nb(m, c, (base >> sh) + k, ACC_STORE)
    else:
        dma_coherence_nb(m, base, 4096)
    return cyc


@njit(cache=True, _nrt=False)
def _maps(lo, pages):
    if not lo_valid(lo):
        return False
    pfn = lo_pfn(lo)
    for p in pages:
        if pfn == p:
            return True
    return False


@njit(cache=True, _nrt=False)
def drop_translations_nb(m, v0, cpus, use, pages, out):
    """Drop the translations mapping one of `pages` held for VCPUs v0, v0+1, ... : VCPU v0+k (if
    use[k]) loses its L2TLB entries, and the CPU cpus[k] running it (if >= 0) its real TLB entries.
    Adds to out[0] the L2TLB entries dropped and to out[1 + cpu] each CPU's real TLB entries."""
    l2 = m.l2tlb
    ln = m.l2link
    for k in range(len(use)):
        if not use[k]:
            continue
        v = v0 + k
        # only the halves chained under the pages' buckets can map them (l2index.py)
        for p in pages:
            n = ln[v, L2K_HEAD, l2_bucket(m, p)]
            while n >= 0:
                i = n >> 1
                if l2[v, i, L2_TAG] >= 0 and (_maps(l2[v, i, L2_LO0], pages) or _maps(l2[v, i, L2_LO1], pages)):
                    l2[v, i, L2_TAG] = -1
                    out[0] += 1
                n = ln[v, L2K_NEXT, n]
        c = cpus[k]
        if c < 0:
            continue
        for i in range(m.params[P_NTLB]):
            if _maps(m.tlb[c, i, TLB_LO0], pages) or _maps(m.tlb[c, i, TLB_LO1], pages):
                tlb_write_nb(m, c, i, 0, INVALID_VPN2 + (i << 13), 0, 0)
                out[1 + c] += 1


@njit(cache=True, _nrt=False)
def modified_lines_nb(m, mp, most):
    """How many lines of machine page mp some cache holds modified (the directory names the owner
    of each exclusive line, its L1D or L2 says M), counting up to `most`."""
    if not m.params[P_TIMING]:
        return 0
    p = m.params
    sh = p[P_LSHIFT]
    a = (mp << 12) >> sh
    n = 0
    for ln in range(a, a + (4096 >> sh)):
        o = m.dir_owner[ln]
        if o < 0:
            continue
        w1 = p[P_L1D_WAYS]
        b1 = (ln & (p[P_L1D_SETS] - 1)) * w1
        w2 = p[P_L2_WAYS]
        b2 = (ln & (p[P_L2_SETS] - 1)) * w2
        want = (ln << 2) | ST_M
        hit = False
        for j in range(w1):
            if m.l1d[o, b1 + j] == want:
                hit = True
        for j in range(w2):
            if m.l2[o, b2 + j] == want:
                hit = True
        if hit:
            n += 1
            if n >= most:
                return n
    return n


__all__ = ["INVALID_VPN2", "ZERO_CALL_INSNS", "ZERO_LINE_OVERHEAD", "copy_page_nb", "drop_translations_nb",
           "modified_lines_nb", "zero_loop_cycles", "zero_page_nb"]
