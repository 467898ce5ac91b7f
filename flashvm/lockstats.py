"""Lock contention counters of the guest OS kernel, read from its memory after a run.

The kernel (flashvm/guest/os/sched.c) counts, per lock name and CPU, the
acquisitions, the contended acquisitions (the lock was held: the CPU spun)
and the cycles spent spinning, in `lockstat[MAXCPU][NLOCKCLASS]`; the names
are in `lockclass[]`.  Both are found by symbol in the kernel ELF.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from flashvm.elf import ElfImage

NLOCKCLASS = 32          # as kernel.h
STAT_BYTES = 16          # struct lockstat: u32 acquired, u32 contended, u64 wait_cycles


@dataclass(frozen=True)
class LockStat:
    name: str
    acquired: int
    contended: int
    wait_cycles: int


def _pa(va: int) -> int:
    """Physical address of a kernel virtual address (kseg0, or ksseg 0xC0000000 + pa)."""
    return va - 0xC0000000 if va >= 0xC0000000 else va & 0x1FFFFFFF


def _cstr(ram8: np.ndarray, va: int) -> str:
    pa = _pa(va)
    end = pa
    while end < len(ram8) and ram8[end] and end - pa < 64:
        end += 1
    return ram8[pa:end].tobytes().decode(errors="replace")


def read_lock_stats(ram8: np.ndarray, kernel: ElfImage, ncpu: int) -> list[LockStat]:
    """The counters of every lock name the kernel used, summed over the CPUs, most waited first."""
    names = kernel.symbols.address("lockclass")
    table = _pa(kernel.symbols.address("lockstat"))
    out = []
    for k in range(NLOCKCLASS):
        p = _pa(names) + 4 * k
        va = int(ram8[p:p + 4].view(np.uint32)[0])
        if not va:
            continue
        acq = cont = cyc = 0
        for c in range(ncpu):
            a = table + (c * NLOCKCLASS + k) * STAT_BYTES
            w = ram8[a:a + STAT_BYTES].view(np.uint32)
            acq += int(w[0])
            cont += int(w[1])
            cyc += int(w[2]) | int(w[3]) << 32
        out.append(LockStat(_cstr(ram8, va), acq, cont, cyc))
    return sorted(out, key=lambda s: (-s.wait_cycles, -s.acquired, s.name))


__all__ = ["LockStat", "read_lock_stats"]
