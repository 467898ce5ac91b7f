"""A host-side check of the guest OS's TLB maintenance (bare machine only).

`StaleTlbCheck` wraps the run function: after each call it looks at every CPU
in user mode and compares the valid TLB entries under the CPU's current ASID
with the page table the kernel has active there (`pgd_current[cpu]`).  An
entry whose frame is not the PTE's, or whose PTE is invalid, is a stale
translation the process could use.  It reads the machine without changing
it, so a checked run executes exactly as an unchecked one.

A multi-threaded process may show one for a moment (a CPU has not yet taken
the shootdown IPI of another); single-threaded ones never should.  Under
Disco the TLB holds the monitor's translations: do not use it there.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from flashvm.elf import ElfImage
from flashvm.kernels.run import run as run_kernel
from flashvm.kernels.state import CP0_EntryHi, CP0_Status, TLB_ENTRYHI, TLB_LO0, TLB_LO1, Machine
from flashvm.machine.trace import RunFn

_KSU_USER, _EXL_ERL, _V = 0x10, 0x6, 0x2


@dataclass(frozen=True)
class StaleEntry:
    call: int        # which run call it was seen after (1-based)
    cpu: int
    va: int          # the page
    entry_lo: int    # what the TLB translates it to
    pte: int         # what the page table says


def _pa(va: int) -> int:
    return va - 0xC0000000 if va >= 0xC0000000 else va & 0x1FFFFFFF


@dataclass
class StaleTlbCheck:
    """Call it as the run function (`boot_os(..., run_fn=check)`); `found` lists what it saw."""
    kernel: ElfImage
    inner: RunFn = run_kernel
    found: list[StaleEntry] = field(default_factory=list)
    calls: int = 0

    def __post_init__(self) -> None:
        self._pgd_current = _pa(self.kernel.symbols.address("pgd_current"))

    def __call__(self, m: Machine, budget: int) -> int:
        r = self.inner(m, budget)
        self.calls += 1
        self.check(m)
        return r

    def check(self, m: Machine) -> None:
        words = m.ram32
        for c in range(m.tlb.shape[0]):
            status = int(m.cp0[c, CP0_Status, 0])
            if (status & 0x18) != _KSU_USER or status & _EXL_ERL:
                continue
            asid = int(m.cp0[c, CP0_EntryHi, 0]) & 0xFF
            pgd = _pa(int(words[(self._pgd_current >> 2) + c]))
            hi = m.tlb[c, :, TLB_ENTRYHI] & 0xFFFFFFFF
            for i in np.nonzero(((hi & 0xFF) == asid) & (hi < 0x80000000))[0]:
                for half, lo_field in ((0, TLB_LO0), (1, TLB_LO1)):
                    lo = int(m.tlb[c, i, lo_field]) & 0xFFFFFFFF
                    if not lo & _V:
                        continue
                    va = (int(hi[i]) & ~0x1FFF) + half * 4096
                    table = _pa(int(words[(pgd >> 2) + (va >> 22)]))
                    pte = int(words[(table >> 2) + ((va >> 12) & 1023)])
                    if not pte & _V or (pte >> 6) & 0xFFFFF != (lo >> 6) & 0xFFFFF:
                        self.found.append(StaleEntry(self.calls, c, va, lo, pte))


__all__ = ["StaleEntry", "StaleTlbCheck"]
