"""Address translation: MIPS32 segments, the R4000-style TLB and the translation cache.

`xlate_nb` is the slow path behind the interpreter's inline translation-cache
lookup.  It returns a physical address (>= 0) and fills the translation cache
for RAM pages, or a negative code: XL_MMIO for a device access (the physical
address is left in cpu[c, MMIO_PA]), else -1 - ExcCode (ExcCode may carry
EXC_REFILL_FLAG for a TLB refill).  It never raises.

The translation cache (QEMU's "softmmu TLB", TinyEMU's tlb_read/write/code)
maps 4 KiB virtual pages to RAM, per CPU, per MMU mode and per access kind.
It only ever holds RAM pages, and every change of the architectural TLB,
the ASID or Status.ERL invalidates what it could have derived from them.
"""
from flashvm.kernels.dispatch import njit

from flashvm.kernels.entrylo import LO_G, lo_dirty, lo_pfn, lo_valid
from flashvm.kernels.state import (
    MMIO_PENDING, MMIO_SIZE, MMIO_VALUE, ACC_LOAD, ACC_FETCH, ACC_STORE, CP0_EntryHi, CP0_Index, CP0_PageMask, CP0_EntryLo0,
    CP0_EntryLo1, CP0_Status, EXC_ADEL, EXC_ADES, EXC_DBE, EXC_IBE, EXC_MOD, EXC_REFILL_FLAG,
    EXC_TLBL, EXC_TLBS, IO_BASE, IO_SIZE, MMIO_PA, MMU_FLAT, MMU_KERNEL, MMU_SUPER, MMU_USER,
    P_MMU, P_NIO, P_NTLB, P_RAM_SIZE, P_ROM_PA, P_ROM_SIZE, P_ROM_HOST, PTE_R, PTE_W, PTE_X, St_ERL, St_EXL, St_KSU, TC_SIZE,
    TLB_ENTRYHI, TLB_LO0, TLB_LO1, TLB_PAGEMASK, S_TC_MISS,
)

XL_MMIO = -1000
XL_MMIO_LOAD = -1001   # load_xlate_nb: the host must serve this MMIO load first
TC_MASK = TC_SIZE - 1
M32 = 0xFFFFFFFF


@njit(cache=True, _nrt=False)
def mmu_index(status):
    """MMU mode of a Status value: kernel when EXL/ERL are set, else by KSU."""
    if status & (St_EXL | St_ERL):
        return MMU_KERNEL
    ksu = (status & St_KSU) >> 3
    if ksu == 0:
        return MMU_KERNEL
    if ksu == 1:
        return MMU_SUPER
    return MMU_USER


@njit(cache=True, _nrt=False)
def tc_flush_nb(m, c):
    """Forget every translation of CPU c."""
    m.tc_tag[c, :, :, :] = -1


@njit(cache=True, _nrt=False)
def tc_flush_range_nb(m, c, lo, hi):
    """Forget translations of CPU c for virtual pages lo >> 12 .. (hi - 1) >> 12."""
    first = lo >> 12
    last = (hi - 1) >> 12
    if last - first >= TC_SIZE:
        tc_flush_nb(m, c)
        return
    tag = m.tc_tag
    for vpn in range(first, last + 1):
        s = vpn & TC_MASK
        for mi in range(3):
            for k in range(3):
                if tag[c, mi, k, s] == vpn:
                    tag[c, mi, k, s] = -1


@njit(cache=True, _nrt=False)
def _tc_fill(m, c, mi, acc, va, pa):
    vpn = va >> 12
    s = vpn & TC_MASK
    m.tc_tag[c, mi, acc, s] = vpn
    m.tc_add[c, mi, acc, s] = (pa & ~0xFFF) - (va & ~0xFFF)


@njit(cache=True, _nrt=False)
def tlb_match_nb(t, n, va, asid):
    """Index of the entry of TLB `t` ([entries, TLB_NFIELDS], the first n used) mapping `va` for `asid`, or -1."""
    for i in range(n):
        hi = t[i, TLB_ENTRYHI]
        vmask = ~(t[i, TLB_PAGEMASK] | 0x1FFF) & M32
        if (hi ^ va) & vmask == 0:
            g = t[i, TLB_LO0] & t[i, TLB_LO1] & LO_G
            if g or (hi & 0xFF) == asid:
                return i
    return -1


@njit(cache=True, _nrt=False)
def tlb_lookup_nb(m, c, va, asid):
    """Index of CPU c's TLB entry mapping `va` for `asid`, or -1."""
    return tlb_match_nb(m.tlb[c], m.params[P_NTLB], va, asid)


@njit(cache=True, _nrt=False)
def _fault(acc, code_load, code_store):
    return -1 - (code_store if acc == ACC_STORE else code_load)


@njit(cache=True, _nrt=False)
def xlate_nb(m, c, mi, va, acc):
    """Translate `va` for an access of kind `acc` in MMU mode `mi` (see module doc)."""
    m.stats[c, S_TC_MISS] += 1
    if m.params[P_MMU] == MMU_FLAT:
        e = m.ptab[va >> 12]
        need = PTE_X if acc == ACC_FETCH else (PTE_W if acc == ACC_STORE else PTE_R)
        if e & need == 0:
            return _fault(acc, EXC_TLBL, EXC_TLBS)
        pa = (e & ~0xFFF) | (va & 0xFFF)
    else:
        if va >= 0x80000000 and mi != MMU_KERNEL:
            if mi == MMU_USER or va < 0xC0000000 or va >= 0xE0000000:
                return _fault(acc, EXC_ADEL, EXC_ADES)
        if 0x80000000 <= va < 0xA0000000:            # kseg0: unmapped, cached
            pa = va - 0x80000000
        elif 0xA0000000 <= va < 0xC0000000:          # kseg1: unmapped, uncached
            pa = va - 0xA0000000
        elif va < 0x80000000 and m.cp0[c, CP0_Status, 0] & St_ERL:
            pa = va                                  # kuseg is unmapped while ERL=1
        else:                                        # kuseg, ksseg, kseg3: through the TLB
            asid = m.cp0[c, CP0_EntryHi, 0] & 0xFF
            i = tlb_lookup_nb(m, c, va, asid)
            if i < 0:
                return _fault(acc, EXC_TLBL | EXC_REFILL_FLAG, EXC_TLBS | EXC_REFILL_FLAG)
            pm = m.tlb[c, i, TLB_PAGEMASK] | 0x1FFF
            odd = va & ((pm + 1) >> 1)
            lo = m.tlb[c, i, TLB_LO1] if odd else m.tlb[c, i, TLB_LO0]
            if not lo_valid(lo):
                return _fault(acc, EXC_TLBL, EXC_TLBS)
            if acc == ACC_STORE and not lo_dirty(lo):
                return -1 - EXC_MOD
            off = va & (pm >> 1)
            pa = (lo_pfn(lo) << 12) & ~(pm >> 1) | off
    if pa < m.params[P_RAM_SIZE]:
        _tc_fill(m, c, mi, acc, va, pa)
        return pa
    rom = pa - m.params[P_ROM_PA]
    if 0 <= rom < m.params[P_ROM_SIZE]:
        host = m.params[P_ROM_HOST] + rom
        _tc_fill(m, c, mi, acc, va, host)
        return host
    io = m.iomap
    for k in range(m.params[P_NIO]):
        if io[k, IO_BASE] <= pa < io[k, IO_BASE] + io[k, IO_SIZE]:
            m.cpu[c, MMIO_PA] = pa
            return XL_MMIO
    return -1 - (EXC_IBE if acc == ACC_FETCH else EXC_DBE)


# MMIO accesses go through the spare page just past RAM (ram8 has 4 KiB more
# than the guest sees): a replayed load reads the host's value from there, and
# a device store writes its value there for the host to pick up.  So the
# interpreter's load/store code is the same for RAM and devices.
@njit(cache=True, _nrt=False)
def load_xlate_nb(m, c, mi, va, size):
    """Physical address for a load (RAM or the MMIO spare page), or a negative code."""
    pa = xlate_nb(m, c, mi, va, ACC_LOAD)
    if pa != XL_MMIO:
        return pa
    st = m.cpu[c]
    st[MMIO_SIZE] = size
    if size == 8:
        return -1 - EXC_DBE
    if st[MMIO_PENDING] == 0:
        return XL_MMIO_LOAD
    st[MMIO_PENDING] = 0
    spare = m.params[P_RAM_SIZE]
    v = st[MMIO_VALUE]
    for i in range(4):
        m.ram8[spare + i] = (v >> (8 * i)) & 0xFF
    return spare


@njit(cache=True, _nrt=False)
def store_xlate_nb(m, c, mi, va, size):
    """Physical address for a store (RAM or the MMIO spare page), or a negative code."""
    pa = xlate_nb(m, c, mi, va, ACC_STORE)
    if pa != XL_MMIO:
        return pa
    if size == 8:
        return -1 - EXC_DBE
    m.cpu[c, MMIO_SIZE] = size
    return m.params[P_RAM_SIZE]


# ------------------------------------------------------------- TLB instructions
@njit(cache=True, _nrt=False)
def tlbp_nb(m, c):
    hi = m.cp0[c, CP0_EntryHi, 0]
    i = tlb_lookup_nb(m, c, hi & 0xFFFFE000, hi & 0xFF)
    if i < 0:
        m.cp0[c, CP0_Index, 0] = m.cp0[c, CP0_Index, 0] | 0x80000000
    else:
        m.cp0[c, CP0_Index, 0] = i


@njit(cache=True, _nrt=False)
def tlbr_nb(m, c):
    i = m.cp0[c, CP0_Index, 0] & 0x7FFFFFFF
    if i >= m.params[P_NTLB]:
        return
    t = m.tlb
    g = t[c, i, TLB_LO0] & t[c, i, TLB_LO1] & LO_G
    m.cp0[c, CP0_PageMask, 0] = t[c, i, TLB_PAGEMASK]
    m.cp0[c, CP0_EntryHi, 0] = t[c, i, TLB_ENTRYHI]
    m.cp0[c, CP0_EntryLo0, 0] = (t[c, i, TLB_LO0] & ~LO_G) | g
    m.cp0[c, CP0_EntryLo1, 0] = (t[c, i, TLB_LO1] & ~LO_G) | g
    tc_flush_nb(m, c)  # EntryHi (and so the ASID) may have changed


@njit(cache=True, _nrt=False)
def tlb_write_nb(m, c, index, pagemask, entryhi, lo0, lo1):
    """Write TLB entry `index` of CPU c, dropping cached translations of the old and new ranges."""
    t = m.tlb
    # drop cached translations of the entry being replaced
    old_pm = t[c, index, TLB_PAGEMASK] | 0x1FFF
    old_lo = t[c, index, TLB_ENTRYHI] & ~old_pm & M32
    tc_flush_range_nb(m, c, old_lo, old_lo + old_pm + 1)
    t[c, index, TLB_PAGEMASK] = pagemask
    t[c, index, TLB_ENTRYHI] = entryhi & (~(pagemask | 0x1FFF) & M32 | 0xFF)
    t[c, index, TLB_LO0] = lo0
    t[c, index, TLB_LO1] = lo1
    # a new entry may shadow an unmapped segment nowhere, but can replace a
    # mapping cached from an overlapping (multiple-match) entry: flush its range too
    new_lo = t[c, index, TLB_ENTRYHI] & ~(pagemask | 0x1FFF) & M32
    tc_flush_range_nb(m, c, new_lo, new_lo + (pagemask | 0x1FFF) + 1)


@njit(cache=True, _nrt=False)
def tlbwi_nb(m, c, index):
    """Write the TLB entry `index` (-1: the one CP0 Index names) from EntryHi/Lo/PageMask."""
    if index < 0:
        index = m.cp0[c, CP0_Index, 0] & 0x7FFFFFFF
    if index >= m.params[P_NTLB]:
        return
    cp0 = m.cp0
    tlb_write_nb(m, c, index, cp0[c, CP0_PageMask, 0], cp0[c, CP0_EntryHi, 0],
                 cp0[c, CP0_EntryLo0, 0], cp0[c, CP0_EntryLo1, 0])
