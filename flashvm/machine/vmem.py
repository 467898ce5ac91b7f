"""Virtual memory as a CPU sees it now, for debuggers and traces: a virtual
address turned into a place in the machine's RAM or boot ROM the way CPU c's
next access would find it (the soft TLB, the process page table, the kseg0/kseg1
windows or the TLB), without changing any of them: no refill, no dirty bit, no
statistics.  Device registers are never reached (reading one has effects).

    host = host_address(m, c, va, ACC_LOAD)     # byte offset in m.ram8, or None
    data = read_virtual(m, c, va, 16)           # None if a byte is not mapped
"""
from __future__ import annotations

from flashvm.kernels.mmu import TC_MASK, mmu_index, tlb_match_nb
from flashvm.kernels.state import (
    ACC_LOAD, CP0_EntryHi, CP0_Status, MMU_FLAT, P_MMU, P_NTLB, P_RAM_SIZE, P_ROM_HOST, P_ROM_PA, P_ROM_SIZE,
    St_ERL, TLB_LO0, TLB_LO1, TLB_PAGEMASK, Machine,
)

PAGE = 4096


def physical_address(m: Machine, c: int, va: int) -> int | None:
    """The physical address of `va` for CPU c by its page table or TLB (None: unmapped or invalid)."""
    p = m.params
    cp0 = m.cp0[c]
    status = int(cp0[CP0_Status, 0])
    if p[P_MMU] == MMU_FLAT:
        vpn = va >> 12
        e = int(m.ptab[vpn]) if vpn < len(m.ptab) else 0
        return None if e == 0 else (e & ~0xFFF) | (va & 0xFFF)
    if 0x80000000 <= va < 0xC0000000:            # kseg0, kseg1
        return va & 0x1FFFFFFF
    if va < 0x80000000 and status & St_ERL:      # kuseg unmapped while ERL=1
        return va
    i = int(tlb_match_nb(m.tlb[c], int(p[P_NTLB]), va, int(cp0[CP0_EntryHi, 0]) & 0xFF))
    if i < 0:
        return None
    t = m.tlb[c, i]
    pm = int(t[TLB_PAGEMASK]) | 0x1FFF
    lo = int(t[TLB_LO1] if va & ((pm + 1) >> 1) else t[TLB_LO0])
    if lo & 2 == 0:                              # not valid
        return None
    return (((lo >> 6) & 0xFFFFFF) << 12) & ~(pm >> 1) | (va & (pm >> 1))


def host_address(m: Machine, c: int, va: int, access: int = ACC_LOAD) -> int | None:
    """Where `va` lives in m.ram8 for CPU c's `access` (ACC_FETCH, ACC_LOAD, ACC_STORE),
    or None (unmapped, or a device register)."""
    va &= 0xFFFFFFFF
    vpn = va >> 12
    mi = int(mmu_index(int(m.cp0[c, CP0_Status, 0])))
    if m.tc_tag[c, mi, access, vpn & TC_MASK] == vpn:
        return va + int(m.tc_add[c, mi, access, vpn & TC_MASK])
    pa = physical_address(m, c, va)
    if pa is None:
        return None
    p = m.params
    rom = pa - int(p[P_ROM_PA])
    if pa < p[P_RAM_SIZE]:
        return pa
    if 0 <= rom < p[P_ROM_SIZE]:
        return int(p[P_ROM_HOST]) + rom
    return None


def _pieces(m: Machine, c: int, va: int, n: int):
    """(host, length) for each page-sized piece of [va, va+n); host None where unmapped."""
    while n > 0:
        k = min(n, PAGE - (va & (PAGE - 1)))
        yield host_address(m, c, va), k
        va, n = (va + k) & 0xFFFFFFFF, n - k


def read_virtual(m: Machine, c: int, va: int, n: int) -> bytes | None:
    """`n` bytes at `va` as CPU c would load them, or None if any of them is unmapped."""
    out = bytearray()
    for host, k in _pieces(m, c, va, n):
        if host is None:
            return None
        out += m.ram8[host:host + k].tobytes()
    return bytes(out)


def write_virtual(m: Machine, c: int, va: int, data: bytes) -> bool:
    """Store `data` at `va` through CPU c's translation (a debugger's write: it may
    patch read-only pages and sets no dirty bit); False, writing nothing, if a byte is unmapped."""
    pieces = list(_pieces(m, c, va, len(data)))
    if any(host is None for host, _ in pieces):
        return False
    i = 0
    for host, k in pieces:
        m.ram8[host:host + k] = bytearray(data[i:i + k])
        i += k
    return True


__all__ = ["host_address", "physical_address", "read_virtual", "write_virtual"]
