"""Disco's second-level software TLB (the L2TLB) and the real TLB entries the monitor puts in and
takes out: where an entry lives (a hash of VPN2 and ASID), its reference in timing mode, and the
drops and flushes the monitor's emulation of the guest's TLB (disco.py) asks for, and the
shootdown of a machine page's translations when the monitor remaps it (flashvm/disco/memory.py).  Each entry
written is also chained under its machine pages (l2index.py), so page moves find it."""
from flashvm.kernels.dispatch import njit

from flashvm.kernels.cache import access_nb
from flashvm.kernels.entrylo import lo_pfn, lo_valid
from flashvm.kernels.l2index import L2K_HEAD, L2K_NEXT, l2_bucket, l2_index_put_nb
from flashvm.kernels.mmu import tlb_lookup_nb, tlb_match_nb, tlb_write_nb
from flashvm.kernels.state import (
    ACC_LOAD, ACC_STORE, CYCLES, DS_MON_CYCLES, DS_TLB_FLUSH, L2_LO0, L2_LO1, L2_TAG, L2TLB_BITS, P_HOME_SHIFT,
    P_LSHIFT, P_MON_DATA, P_NTLB, P_TIMING, S_CYC_BASE, TLB_LO0,
)

KSSEG = 0xC0000000
L2TLB_MASK = (1 << L2TLB_BITS) - 1
L2_GLOBAL = 0x100        # the ASID field of an L2TLB tag for a global translation
# where the L2TLBs lie in each node's monitor memory (after the VCPUs' data at P_MON_DATA): their
# entries are 16 bytes; timing mode references the line of each entry the monitor reads or writes
L2TLB_REGION = 0x10000
L2TLB_SPAN = 0xC0000


@njit(cache=True, _nrt=False)
def _l2_index(vpn2, tag_asid):
    """The L2TLB slot of a 4 KB pair: VPN2 and ASID (L2_GLOBAL for a global one) hashed, so that the
    same addresses of different address spaces (every process's text, stack) do not evict each other."""
    return (vpn2 ^ (vpn2 >> L2TLB_BITS) ^ (tag_asid * 0x9E5)) & L2TLB_MASK


@njit(cache=True, _nrt=False)
def _l2_ref(m, c, v, k, acc):
    """The monitor reads (or writes) L2TLB entry k of VCPU v: in timing mode, a reference to its line."""
    if not m.params[P_TIMING]:
        return
    off = (((v << L2TLB_BITS) + k) << 4) % L2TLB_SPAN
    addr = (m.cpu_node[c] << m.params[P_HOME_SHIFT]) + m.params[P_MON_DATA] + L2TLB_REGION + off
    cycles = access_nb(m, c, addr >> m.params[P_LSHIFT], acc)
    m.cpu[c, CYCLES] += cycles
    m.stats[c, S_CYC_BASE] += cycles
    m.dstats[v, DS_MON_CYCLES] += cycles


@njit(cache=True, _nrt=False)
def _real_drop(m, c, vpn2, asid):
    """Empty CPU c's real TLB entry for the pair vpn2 under asid (or global), if it has one."""
    i = tlb_lookup_nb(m, c, vpn2 << 13, asid)
    if i >= 0:
        tlb_write_nb(m, c, i, 0, KSSEG + 0x20000000 + (i << 13), 0, 0)


@njit(cache=True, _nrt=False)
def drop_pair_nb(m, c, v, vpn2, asid):
    """Forget the monitor's translations of one 4 KB pair of VCPU v under asid (and a global one):
    its L2TLB entries and the real TLB entry of the CPU running it (c >= 0)."""
    for ta in (asid, L2_GLOBAL):
        k = _l2_index(vpn2, ta)
        _l2_ref(m, c, v, k, ACC_LOAD)
        if m.l2tlb[v, k, L2_TAG] == (vpn2 << 9) | ta:
            m.l2tlb[v, k, L2_TAG] = -1
    if c >= 0:
        _real_drop(m, c, vpn2, asid)


@njit(cache=True, _nrt=False)
def real_tlb_flush_nb(m, c):
    """Empty CPU c's real TLB (unique, invalid kseg3 VPN2s): on a VCPU switch or a guest invalidation."""
    for i in range(m.params[P_NTLB]):
        tlb_write_nb(m, c, i, 0, KSSEG + 0x20000000 + (i << 13), 0, 0)


@njit(cache=True, _nrt=False)
def _l2_shoot(m, v, i, mp):
    """Empty L2TLB slot i of VCPU v if it maps machine page mp; how many valid halves did."""
    l2 = m.l2tlb[v]
    if l2[i, L2_TAG] < 0:
        return 0
    stale = False
    valid = 0
    for half in (L2_LO0, L2_LO1):
        lo = l2[i, half]
        if lo_pfn(lo) == mp:
            stale = True
            if lo_valid(lo):
                valid += 1
    if stale:
        l2[i, L2_TAG] = -1
    return valid


@njit(cache=True, _nrt=False)
def shootdown_nb(m, vcpus, cpus, mp):
    """Drop every translation of machine page mp held for the VCPUs `vcpus` (cpus[k]: the CPU
    running vcpus[k], or -1): their L2TLB entries for it, valid or not, and the real TLB of each
    such CPU that held a valid one in either.  Returns how many valid ones there were.  The
    L2TLB entries are found through the index by machine page (l2index.py); an invalid half
    reads as page 0 and is in no chain, so page 0 is swept."""
    hits = 0
    for k in range(vcpus.shape[0]):
        v = vcpus[k]
        c = cpus[k]
        mine = 0
        if mp == 0:
            for i in range(m.l2tlb.shape[1]):
                mine += _l2_shoot(m, v, i, mp)
        else:
            n = m.l2link[v, L2K_HEAD, l2_bucket(m, mp)]
            while n >= 0:
                mine += _l2_shoot(m, v, n >> 1, mp)
                n = m.l2link[v, L2K_NEXT, n]
        if c >= 0:
            t = m.tlb[c]
            for i in range(t.shape[0]):
                for half in (TLB_LO0, TLB_LO0 + 1):
                    lo = t[i, half]
                    if lo_valid(lo) and lo_pfn(lo) == mp:
                        mine += 1
            if mine:
                real_tlb_flush_nb(m, c)
        hits += mine
    return hits


@njit(cache=True, _nrt=False)
def l2tlb_flush_nb(m, c, v):
    """Forget every translation of VCPU v: its L2TLB and the real TLB of the CPU running it (c >= 0)."""
    m.l2tlb[v, :, L2_TAG] = -1
    m.dstats[v, DS_TLB_FLUSH] += 1
    if c >= 0:
        real_tlb_flush_nb(m, c)


@njit(cache=True, _nrt=False)
def _real_insert(m, c, va, asid, lo0, lo1):
    """Put a 4 KB pair for va into CPU c's real TLB (replacing one for the same VPN2, else a random slot)."""
    hi = (va & 0xFFFFE000) | asid
    i = tlb_lookup_nb(m, c, va, asid)
    if i < 0:
        n = m.params[P_NTLB]
        i = m.cpu[c, CYCLES] % n
    tlb_write_nb(m, c, i, 0, hi, lo0, lo1)


@njit(cache=True, _nrt=False)
def _vtlb_lookup(m, v, va, asid):
    return tlb_match_nb(m.vtlb[v], m.params[P_NTLB], va, asid)


@njit(cache=True, _nrt=False)
def _l2_put(m, c, v, vpn2, tag_asid, lo0, lo1):
    k = _l2_index(vpn2, tag_asid)
    _l2_ref(m, c, v, k, ACC_STORE)
    m.l2tlb[v, k, L2_TAG] = (vpn2 << 9) | tag_asid
    m.l2tlb[v, k, L2_LO0] = lo0
    m.l2tlb[v, k, L2_LO1] = lo1
    l2_index_put_nb(m, v, k, lo0, lo1)
