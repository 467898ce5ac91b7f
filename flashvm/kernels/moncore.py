"""The monitor's lowest layer (flashvm/kernels/disco.py builds on it): the time it charges a VCPU
(`_charge`: cycles plus, in timing mode, references to the VCPU's monitor data through the CPU's
caches) and the translation of a guest virtual address to a machine one (`fill_nb`: the guest's
TLB, the VM's pmap and the L2TLB, inserting the result into the real TLB).
"""
from flashvm.kernels.dispatch import njit

from flashvm.kernels.cache import access_nb
from flashvm.kernels.entrylo import LO_CACHED, LO_D, LO_G, LO_V, lo_dirty, lo_flags, lo_pfn, lo_valid, make_lo
from flashvm.kernels.l2tlb import (
    L2_GLOBAL, _l2_index, _l2_put, _l2_ref, _real_insert, _vtlb_lookup, drop_pair_nb,
)
from flashvm.kernels.state import (
    ACC_LOAD, ACC_STORE, CP0_EntryHi,
    CYCLES, DS_BUSERR, DS_L2TLB_HIT, DS_MON_CYCLES, DS_VTLB_HIT, L2_LO0, L2_LO1, L2_TAG,
    P_HOME_SHIFT, P_LSHIFT, P_MON_DATA, P_MON_TLB,
    P_TIMING, S_CYC_BASE, TLB_ENTRYHI, TLB_LO0, TLB_LO1, TLB_PAGEMASK, VS_HAL, VS_VM,
)

M32 = 0xFFFFFFFF
# the HAL build's special page (flashvm/guest/os/mips.h) and monitor-call page
HAL_PAGE = 0xDFFFF000
HAL_MCALL = 0xDFFFE000
HAL_EBASE = 0x80
HAL_MC_ZERO = 0x0
HAL_MC_FREE = 0x4
HAL_MC_DISK = 0x8    # served in Python (DX_MCALL)


# ------------------------------------------------------------ bookkeeping
@njit(cache=True, _nrt=False)
def _charge(m, c, v, cycles, lines):
    """Monitor time: `cycles` of work plus `lines` references to the VCPU's monitor data."""
    st = m.cpu[c]
    if m.params[P_TIMING] and lines > 0:
        # the monitor's data for this VCPU, in the reserved memory of the node that runs it
        addr = (m.cpu_node[c] << m.params[P_HOME_SHIFT]) + m.params[P_MON_DATA] + 256 * v
        base = addr >> m.params[P_LSHIFT]
        for k in range(lines):
            cycles += access_nb(m, c, base + k, ACC_STORE if k == 0 else ACC_LOAD)
    st[CYCLES] += cycles
    m.stats[c, S_CYC_BASE] += cycles
    m.dstats[v, DS_MON_CYCLES] += cycles


# ------------------------------------------------------------ address translation
@njit(cache=True, _nrt=False)
def _machine_lo(m, c, vm, glo):
    """A guest EntryLo (guest-physical PFN) made machine for CPU c; invalid (V=0) if the page is not
    the VM's.  A write-protected machine page is mapped without D (a store to it traps: Mod), and
    through its copy on c's node if it has one (a replicated page)."""
    if not lo_valid(glo):
        return lo_flags(glo) & ~LO_V
    gpfn = lo_pfn(glo)
    if gpfn >= m.pmap.shape[1]:
        return -1
    mp = m.pmap[vm, gpfn]
    if mp < 0:
        return -1
    fl = lo_flags(glo)
    if m.wprot[mp] != 0:
        r = m.replica[mp, m.cpu_node[c]]
        if r >= 0:
            mp = r
        fl &= ~LO_D
    return make_lo(mp, fl)


# fill results
FILLED = 0
NO_ENTRY = 1         # the guest's TLB has no entry: a refill for the guest
NOT_VALID = 2        # it has one, invalid (or not dirty for a store): the guest's own TLBL/TLBS/Mod
BUS_ERROR = 3        # it maps guest-physical memory the VM does not have


@njit(cache=True, _nrt=False)
def fill_nb(m, c, v, va, store):
    """Serve a real TLB miss of CPU c from the L2TLB or the guest's TLB (translated through the pmap)."""
    asid = m.vcp0[v, CP0_EntryHi, 0] & 0xFF
    vpn2 = va >> 13
    odd = (va >> 12) & 1
    if vpn2 == HAL_MCALL >> 13 and m.vstate[v, VS_HAL] != 0:
        # the HAL pair: the monitor-call page stays invalid (it traps), the special page is the VCPU's
        if not odd:
            return NOT_VALID
        _real_insert(m, c, va, asid, 0, make_lo(m.vstate[v, VS_HAL], LO_CACHED | LO_D | LO_V))
        return FILLED
    # the L2TLB: the pair's slot for this ASID, then its slot as a global translation
    k = -1
    ka = _l2_index(vpn2, asid)
    _l2_ref(m, c, v, ka, ACC_LOAD)
    if m.l2tlb[v, ka, L2_TAG] == (vpn2 << 9) | asid:
        k = ka
    else:
        kg = _l2_index(vpn2, L2_GLOBAL)
        _l2_ref(m, c, v, kg, ACC_LOAD)
        if m.l2tlb[v, kg, L2_TAG] == (vpn2 << 9) | L2_GLOBAL:
            k = kg
    if k >= 0:
        lo = m.l2tlb[v, k, L2_LO1 if odd else L2_LO0]
        if lo_valid(lo) and (not store or lo_dirty(lo)):
            _real_insert(m, c, va, asid, m.l2tlb[v, k, L2_LO0], m.l2tlb[v, k, L2_LO1])
            m.dstats[v, DS_L2TLB_HIT] += 1
            return FILLED
    i = _vtlb_lookup(m, v, va, asid)
    if i < 0:
        return NO_ENTRY
    t = m.vtlb
    pm = t[v, i, TLB_PAGEMASK] | 0x1FFF
    half = (pm + 1) >> 1                     # bytes mapped by each EntryLo
    glo = t[v, i, TLB_LO1] if va & half else t[v, i, TLB_LO0]
    if not lo_valid(glo) or (store and not lo_dirty(glo)):
        return NOT_VALID
    vm = m.vstate[v, VS_VM]
    # the 4 KB pair around va, inside the guest's (possibly larger) page
    lo0 = 0
    lo1 = 0
    for h in range(2):
        a = (va & ~0x1FFF) | (h << 12)
        g = t[v, i, TLB_LO1] if a & half else t[v, i, TLB_LO0]
        if lo_valid(g):
            gpa = (lo_pfn(g) << 12) + (a & (half - 1) & ~0xFFF)
            g = make_lo(gpa >> 12, lo_flags(g))
        ml = _machine_lo(m, c, vm, g)
        if ml < 0:
            if h == odd:
                m.dstats[v, DS_BUSERR] += 1
                return BUS_ERROR
            ml = 0
        if h == 0:
            lo0 = ml
        else:
            lo1 = ml
    g_all = t[v, i, TLB_LO0] & t[v, i, TLB_LO1] & LO_G
    _l2_put(m, c, v, vpn2, L2_GLOBAL if g_all else (t[v, i, TLB_ENTRYHI] & 0xFF), lo0, lo1)
    _real_insert(m, c, va, asid, lo0, lo1)
    m.dstats[v, DS_VTLB_HIT] += 1
    return FILLED


@njit(cache=True, _nrt=False)
def _prefill(m, c, v, hi, lo0, lo1):
    """The guest wrote a valid 4 KB-pair entry: put its machine translation in the L2TLB and, if
    it is for the current ASID (or global), in the real TLB, as Disco's tlbwr emulation does (the
    guest's retry then does not trap).  An entry naming memory the VM does not have is left to
    the refill path (its bus error)."""
    vm = m.vstate[v, VS_VM]
    vpn2 = (hi & M32) >> 13
    if vpn2 == HAL_MCALL >> 13 and m.vstate[v, VS_HAL] != 0:
        drop_pair_nb(m, c, v, vpn2, hi & 0xFF)
        return
    drop_pair_nb(m, c, v, vpn2, hi & 0xFF)          # what the monitor cached of the pair before
    ml0 = _machine_lo(m, c, vm, lo0)
    ml1 = _machine_lo(m, c, vm, lo1)
    if ml0 < 0 or ml1 < 0:
        return
    _charge(m, c, v, m.params[P_MON_TLB], 0)
    g = lo0 & lo1 & LO_G
    _l2_put(m, c, v, vpn2, L2_GLOBAL if g else (hi & 0xFF), ml0, ml1)
    cur = m.cp0[c, CP0_EntryHi, 0] & 0xFF
    if g or (hi & 0xFF) == cur:
        _real_insert(m, c, vpn2 << 13, cur, ml0, ml1)
