"""Memory footprint of Disco's VMs (paper §5.3, Fig. 6): the guest-physical pages
each VM has in use (its "virtual footprint") against the machine pages backing
them (the "machine footprint"), which is smaller when VMs share pages.

The monitor keeps the counts up to date as pages come into use, go out of use
or change their machine page (`use`, `remap`), so the peak is exact:

    fp = Footprint(nvm=8, vm_pages=8192, ram_pages=65536)
    fp.use(vm, gpage, mpage, True)        # the guest allocated (or reserved) the page
    fp.remap(vm, gpage, old, new)         # its machine page changed (shared, copied on write)
    fp.report()                           # per VM and in total, at the end and at the peak

A guest that does not tell the monitor which pages it uses (not the HAL build,
or no sharing) has all its pages counted in use.

Each page in use has a kind (KINDS, the split of Fig. 6): the HAL kernel says
with its page call whether a page holds file data (its page cache: the paper's
buffer cache), a process's own memory (user) or anything else of its own
(kernel data); the monitor knows the kernel text it loaded.  The split is taken
at the peaks: the kinds of the guest pages when their total peaked, and of the
machine pages when theirs did (a machine page counts once per kind using it).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np


KINDS = ("kernel_text", "kernel_data", "buffer_cache", "user")
KERNEL_TEXT, KERNEL_DATA, BUFFER_CACHE, USER = range(len(KINDS))


class Footprint:
    """Guest pages in use per VM and the machine pages that back them, with their peaks."""

    def __init__(self, nvm: int, vm_pages: int, ram_pages: int):
        self.nvm = nvm
        self.inuse = np.zeros((nvm, vm_pages), bool)
        # in-use guest pages backed by each machine page: per VM, and over all VMs
        self.vref = np.zeros((nvm, ram_pages), np.int32)
        self.mref = np.zeros(ram_pages, np.int32)
        self.guest = np.zeros(nvm, np.int64)              # guest pages in use
        self.machine = np.zeros(nvm, np.int64)            # distinct machine pages backing them
        self.guest_peak = np.zeros(nvm, np.int64)
        self.machine_peak = np.zeros(nvm, np.int64)
        self.guest_total = 0
        self.machine_total = 0                            # distinct over all VMs
        self.guest_total_peak = 0
        self.machine_total_peak = 0
        self.kind = np.full((nvm, vm_pages), KERNEL_DATA, np.int8)     # each page's kind while in use
        self.kref = np.zeros((len(KINDS), ram_pages), np.int32)         # in-use guest pages per kind and machine page
        self.guest_kind = np.zeros(len(KINDS), np.int64)                # all VMs' guest pages per kind
        self.machine_kind = np.zeros(len(KINDS), np.int64)              # machine pages per kind
        self.guest_kind_at_peak = np.zeros(len(KINDS), np.int64)
        self.machine_kind_at_peak = np.zeros(len(KINDS), np.int64)

    # ------------------------------------------------------------ updates
    def _add(self, vm: int, mp: int, d: int, kind: int) -> None:
        before_k = self.kref[kind, mp]
        self.kref[kind, mp] = before_k + d
        self.machine_kind[kind] += int(before_k == 0) if d > 0 else -int(before_k == 1)
        before_v = self.vref[vm, mp]
        before_m = self.mref[mp]
        self.vref[vm, mp] = before_v + d
        self.mref[mp] = before_m + d
        if d > 0:
            self.machine[vm] += before_v == 0
            self.machine_total += int(before_m == 0)
        else:
            self.machine[vm] -= before_v == 1
            self.machine_total -= int(before_m == 1)

    def _peaks(self, vm: int) -> None:
        if self.guest[vm] > self.guest_peak[vm]:
            self.guest_peak[vm] = self.guest[vm]
        if self.machine[vm] > self.machine_peak[vm]:
            self.machine_peak[vm] = self.machine[vm]
        if self.guest_total > self.guest_total_peak:
            self.guest_total_peak = self.guest_total
            self.guest_kind_at_peak[:] = self.guest_kind
        if self.machine_total > self.machine_total_peak:
            self.machine_total_peak = self.machine_total
            self.machine_kind_at_peak[:] = self.machine_kind

    def use(self, vm: int, gpage: int, mpage: int, on: bool, kind: int = KERNEL_DATA) -> None:
        """Guest page `gpage` of `vm` (backed by `mpage`) comes into use (`on`, as a page of `kind`)
        or goes out of it."""
        if bool(self.inuse[vm, gpage]) == on:
            return
        self.inuse[vm, gpage] = on
        d = 1 if on else -1
        if on:
            self.kind[vm, gpage] = kind
        else:
            kind = int(self.kind[vm, gpage])
        self.guest[vm] += d
        self.guest_total += d
        self.guest_kind[kind] += d
        self._add(vm, mpage, d, kind)
        if on:
            self._peaks(vm)

    def use_all(self, vm: int, pmap_row: np.ndarray) -> None:
        """Every mapped page of `vm` in use (a guest that does not say which pages it uses)."""
        gs = np.nonzero((pmap_row >= 0) & ~self.inuse[vm, :len(pmap_row)])[0]
        mps = pmap_row[gs]
        self.inuse[vm, gs] = True
        self.kind[vm, gs] = KERNEL_DATA                  # a guest that says nothing: all its own
        self.guest[vm] += len(gs)
        self.guest_total += len(gs)
        self.guest_kind[KERNEL_DATA] += len(gs)
        np.add.at(self.vref[vm], mps, 1)
        np.add.at(self.mref, mps, 1)
        np.add.at(self.kref[KERNEL_DATA], mps, 1)
        self.machine[vm] = int(np.count_nonzero(self.vref[vm]))
        self.machine_total = int(np.count_nonzero(self.mref))
        self.machine_kind[KERNEL_DATA] = int(np.count_nonzero(self.kref[KERNEL_DATA]))
        self._peaks(vm)

    def remap(self, vm: int, gpage: int, old: int, new: int) -> None:
        """The machine page behind guest page `gpage` of `vm` changes from `old` to `new`."""
        if old == new or not self.inuse[vm, gpage]:
            return
        kind = int(self.kind[vm, gpage])
        self._add(vm, new, 1, kind)
        self._add(vm, old, -1, kind)
        self._peaks(vm)

    # ------------------------------------------------------------ figures
    def sharing(self) -> np.ndarray:
        """pages[k]: machine pages in use by exactly k VMs (k = 0..nvm; pages[0] is 0)."""
        users = (self.vref > 0).sum(axis=0)
        return np.bincount(users[self.mref > 0], minlength=self.nvm + 1).astype(np.int64)

    def shared_pages(self) -> np.ndarray:
        """Per VM: its in-use guest pages whose machine page another VM uses too."""
        multi = (self.vref > 0).sum(axis=0) > 1
        return np.array([int(self.vref[v, multi].sum()) for v in range(self.nvm)], np.int64)

    def report(self) -> dict[str, Any]:
        """The numbers of Fig. 6, per VM (arrays indexed by VM) and in total, at the end and the peak."""
        return {
            "guest_pages": self.guest.copy(), "machine_pages": self.machine.copy(),
            "guest_pages_peak": self.guest_peak.copy(), "machine_pages_peak": self.machine_peak.copy(),
            "shared_pages": self.shared_pages(), "sharing": self.sharing(),
            "guest_pages_total": int(self.guest_total), "machine_pages_total": int(self.machine_total),
            "guest_pages_total_peak": int(self.guest_total_peak),
            "machine_pages_total_peak": int(self.machine_total_peak),
            "guest_kinds_at_peak": self.guest_kind_at_peak.copy(),
            "machine_kinds_at_peak": self.machine_kind_at_peak.copy(),
        }


def footprint_line(rep: dict[str, Any]) -> str:
    """The summary row "memory footprint (Fig. 6)": virtual vs machine, at the peak and the end."""
    def mb(pages: int) -> str:
        return f"{pages * 4096 / (1 << 20):.1f} MB"
    gp, mp = rep["guest_pages_total_peak"], rep["machine_pages_total_peak"]
    ge, me = rep["guest_pages_total"], rep["machine_pages_total"]
    shared = int(rep["sharing"][2:].sum())
    pct = f" ({100 * mp / gp:.1f}%)" if gp else ""
    kinds = rep.get("guest_kinds_at_peak")
    split = "" if kinds is None or not int(np.sum(kinds)) else \
        " (" + ", ".join(f"{k.replace('_', ' ')} {mb(int(n))}" for k, n in zip(KINDS, kinds)) + ")"
    return (f"peak virtual {mb(gp)}{split}, machine {mb(mp)}{pct}; end virtual {mb(ge)}, machine {mb(me)}; "
            f"{shared} machine pages shared by 2+ VMs")


def write_memory_group(disco_group: Any, rep: Mapping[str, Any]) -> None:
    """`/disco/memory` in a result file: per-VM datasets and the totals as attributes."""
    g = disco_group.create_group("memory")
    g.attrs["description"] = ("memory footprint (paper Fig. 6): guest-physical pages each VM has in use "
                              "(virtual) and the distinct machine pages backing them (machine), 4 KB pages")
    for name, what in (("guest_pages", "guest-physical pages the VM has in use"),
                       ("machine_pages", "distinct machine pages backing them"),
                       ("shared_pages", "of its pages in use, those whose machine page another VM uses too")):
        d = g.create_dataset(name, data=np.asarray(rep[name], np.int64))
        d.attrs["description"] = what + " (at the end)"
        d.attrs["units"] = "pages"
        if name + "_peak" in rep:
            p = g.create_dataset(name + "_peak", data=np.asarray(rep[name + "_peak"], np.int64))
            p.attrs["description"] = what + " at its peak"
            p.attrs["units"] = "pages"
    s = g.create_dataset("sharing", data=np.asarray(rep["sharing"], np.int64))
    s.attrs["description"] = "machine pages in use by exactly k VMs, indexed by k (at the end)"
    for k in ("guest_pages_total", "machine_pages_total", "guest_pages_total_peak", "machine_pages_total_peak"):
        g.attrs[k] = int(rep[k])
    for name, what in (("guest_kinds_at_peak", "all VMs' guest pages in use when their total peaked"),
                       ("machine_kinds_at_peak", "the machine pages backing them when their total peaked (a page "
                                                 "counts once for each kind of guest page it backs)")):
        if name in rep:
            d = g.create_dataset(name, data=np.asarray(rep[name], np.int64))
            d.attrs["description"] = what + ", by kind (names)"
            d.attrs["names"] = list(KINDS)
            d.attrs["units"] = "pages"


__all__ = ["BUFFER_CACHE", "Footprint", "KERNEL_DATA", "KERNEL_TEXT", "KINDS", "USER", "footprint_line",
           "write_memory_group"]
