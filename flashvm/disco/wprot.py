"""Write protection of machine pages: the monitor's way to hear of the first write to a page it
shares or replicates (NUMA replicas, copy-on-write disk cache, remapped network pages).

    wp = disco.write_protection
    wp.register("numa", self._numa_write)          # once per owner: handler(fault) -> None
    wp.protect(mpage, "numa")                       # translations lose D; later ones are made without it
    ...                                             # a write by a guest, a device or the monitor:
    def _numa_write(self, fault: WriteFault) -> None:
        ...                                         # copy, remap, and/or wp.unprotect(mpage)

How: `m.wprot[mpage]` holds the owner's tag (0: not protected).  The monitor's TLB refill
(`_machine_lo` in flashvm/kernels/moncore.py) makes the translation of a protected page without the
D bit, so a guest store to it raises Mod; when the guest's own entry is dirty, the trap path exits
to Python (DX_WPROT) and `fault()` calls the owner's handler, after which the store is re-executed
through a fresh translation.  Device DMA (VmHost.dma_write, and so every guest_write) and the HAL
zero-page monitor call ask the same way before writing.

A handler must leave the written guest page writable: unprotect the machine page, or point the
VM's pmap at another, unprotected one (then shoot down the old translations).  Handlers are
looked up by the owner's name, so the state kept here (tags, names) is plain data.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from flashvm.kernels.pageprot import drop_write_nb
from flashvm.kernels.state import Machine

if TYPE_CHECKING:
    from flashvm.disco.vm import VirtualMachine


class WriteFault(NamedTuple):
    """A write about to reach a write-protected machine page."""
    vm: VirtualMachine       # the VM writing
    gpage: int               # its guest page
    mpage: int               # the machine page its pmap names (a replica's master for a replicated page)
    cpu: int                 # the CPU whose store trapped; -1 for a device's DMA or the monitor
    kind: str                # "store" (re-executed afterwards), "dma" or "zero" (done afterwards)


Handler = Callable[[WriteFault], None]


class WriteProtection:
    """Owner tags of write-protected machine pages, and the dispatch of writes to their owners."""

    def __init__(self, m: Machine):
        self.m = m
        self._tags: dict[str, int] = {}
        self._names: list[str] = [""]           # tag -> owner name (tag 0: none)
        self._handlers: dict[str, Handler] = {}
        self.faults = 0                         # writes handed to an owner

    def register(self, owner: str, handler: Handler) -> None:
        """`handler(fault)` is called for each write to a page `owner` protected."""
        if owner not in self._tags:
            if len(self._names) > 127:
                raise ValueError("at most 127 write-protection owners")
            self._tags[owner] = len(self._names)
            self._names.append(owner)
        self._handlers[owner] = handler

    def protect(self, mpage: int, owner: str) -> None:
        """Make machine page `mpage` read-only for every VM, for `owner` (registered).  Cached
        translations of it lose their D bit now; new ones are made without it."""
        self.m.wprot[mpage] = self._tags[owner]
        self.drop_write_permission(mpage)

    def unprotect(self, mpage: int) -> None:
        """Writable again (translations regain D at their next refill)."""
        self.m.wprot[mpage] = 0

    def owner(self, mpage: int) -> str | None:
        t = int(self.m.wprot[mpage])
        return self._names[t] if t else None

    def tag(self, owner: str) -> int:
        """The tag `m.wprot` holds for `owner`'s pages (-1: never registered)."""
        return self._tags.get(owner, -1)

    def is_protected(self, mpage: int) -> bool:
        return bool(self.m.wprot[mpage])

    def protected_pages(self, owner: str | None = None) -> np.ndarray:
        """Machine pages protected (by `owner`, or by anyone)."""
        w = self.m.wprot
        return np.nonzero(w == self._tags[owner] if owner is not None else w != 0)[0]

    def drop_write_permission(self, mpage: int) -> int:
        """Clear D in every L2TLB and real TLB entry that maps `mpage`; returns how many."""
        return int(drop_write_nb(self.m, mpage))

    def fault(self, vm: VirtualMachine, gpage: int, cpu: int, kind: str) -> None:
        """A write by `vm` to its guest page `gpage` found the page protected: tell the owner."""
        mp = int(self.m.pmap[vm.index, gpage])
        t = int(self.m.wprot[mp])
        if not t:
            return
        self.faults += 1
        self._handlers[self._names[t]](WriteFault(vm, gpage, mp, cpu, kind))
        if self.m.wprot[int(self.m.pmap[vm.index, gpage])]:
            raise RuntimeError(f"write-protection owner {self._names[t]!r} left guest page {gpage:#x} "
                               f"of {vm.name} protected")

    def before_dma(self, vm: VirtualMachine, pa: int, n: int) -> None:
        """A device (or the monitor) is about to write guest-physical [pa, pa+n) of `vm`."""
        pmap = self.m.pmap[vm.index]
        for g in range(pa >> 12, (pa + max(n, 1) - 1 >> 12) + 1):
            if 0 <= g < len(pmap) and pmap[g] >= 0 and self.m.wprot[pmap[g]]:
                self.fault(vm, g, -1, "dma")


__all__ = ["Handler", "WriteFault", "WriteProtection"]
