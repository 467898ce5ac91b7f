"""Disco's memory: machine pages for the VMs, the pmap (guest page -> machine
page, in the kernel state), the memmap (machine page -> VM and guest page),
back-maps and shootdowns of cached translations, page migration, and guest
reads and writes through a VM's pmap.

Each node keeps its first MONITOR_BYTES for the monitor.  A VM's memory is split
evenly over the nodes its VCPUs run on, in node-contiguous pieces (guest-physical
order follows its VCPUs' order); what a node cannot hold comes from the others.
Spreading leaves every node of a VM room for the pages the NUMA policy moves
there: a VM that filled the first nodes whole left those nodes no free page, and
moves to them were refused (docs/experiments.md, Figure 8).
"""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from flashvm.disco.vm import VirtualMachine
from flashvm.kernels.cache import dma_coherence_nb
from flashvm.kernels.l2tlb import shootdown_nb
from flashvm.kernels.entrylo import lo_pfn, lo_valid
from flashvm.kernels.state import L2_LO0, L2_LO1, L2_TAG, TLB_ENTRYHI, TLB_LO0, Machine
from flashvm.machine.config import MAX_RAM, MachineConfig
from flashvm.machine.flash import GuestError

MONITOR_BYTES = 1 << 20          # reserved at the start of every node: the monitor's code and data
MIN_VM_MB = 4                    # the guest OS needs room for itself, its processes and its file cache
DEFAULT_VM_MB = 32               # a VM's memory when none is asked for and the machine has room


def vm_room(cfg: MachineConfig) -> int:
    """Bytes of machine memory the VMs can have: all of it but the monitor's part."""
    return cfg.ram_bytes - MONITOR_BYTES * (1 if cfg.interleave else cfg.nodes)


def default_vm_mb(cfg: MachineConfig, vms: int) -> int:
    """A VM's memory in MB when none is asked for: DEFAULT_VM_MB, less on a small machine."""
    return max(MIN_VM_MB, min(DEFAULT_VM_MB, (cfg.ram_bytes >> 20) // vms - 2))


def vm_memory_problem(cfg: MachineConfig, vms: int, mb: object, option: str | None = "--vm-mem") -> str | None:
    """What is wrong with giving each of `vms` VMs `mb` MB on `cfg`, in one line (None: nothing);
    `option` names where `mb` came from (None: the default); `mb` may be anything given."""
    said = f"{option} {mb!r}: " if option else ""
    if isinstance(mb, bool) or not isinstance(mb, int) or mb < MIN_VM_MB:
        return f"{said}give a whole number of MB, at least {MIN_VM_MB}"
    if mb << 20 > MAX_RAM:
        return f"{said}a VM's memory must end below its device window, at most {MAX_RAM >> 20} MB"
    room = vm_room(cfg) >> 20
    if vms * mb > room:
        return (f"{said}{vms} VM{'s' if vms > 1 else ''} of {mb} MB need {vms * mb} MB; {cfg.name} has "
                f"{room} MB for VMs ({cfg.ram_bytes >> 20} MB, {MONITOR_BYTES >> 20} MB per node kept for the "
                f"monitor){'; at most ' + str(room // vms) + ' MB each' if room // vms >= MIN_VM_MB else ''}")
    return None


class GuestMemory:
    """The memory part of the monitor (a mixin of Disco: uses `cfg`, `m` and
    the VCPU part's `_cpu_running`)."""
    cfg: MachineConfig
    m: Machine
    _cpu_running: Callable[[int], int]

    def _init_memory(self) -> None:
        cfg = self.cfg
        self._alloc = [MONITOR_BYTES] * cfg.nodes          # next free byte in each node (contiguous layout)
        # memmap: machine page -> (VM << 20 | guest page) that maps it, -1 if none (free or the monitor's)
        self.memmap = np.full(cfg.ram_bytes >> 12, -1, np.int64)
        self._free_pages: list[list[int]] = [[] for _ in range(cfg.nodes)]   # given back by migrations
        self.migrations = 0

    def _map_vm(self, vm: int, nbytes: int, nodes: list[int]) -> np.ndarray:
        """Give VM `vm` its memory, an even share from each of `nodes` (the nodes of its VCPUs, in
        order; repeats count once): its pmap and the memmap; returns the pages."""
        pages = self._spread(nbytes, list(dict.fromkeys(nodes)), vm)
        self.m.pmap[vm, :] = -1
        self.m.pmap[vm, :nbytes >> 12] = pages
        self.memmap[pages] = (vm << 20) | np.arange(len(pages))
        return pages

    def _spread(self, nbytes: int, nodes: list[int], vm: int) -> np.ndarray:
        """Machine pages for `nbytes`: an even share from each of `nodes` while it has room, the
        rest from any node (`_allocate`)."""
        if self.cfg.interleave:                 # one memory: no node to choose
            return self._allocate(nbytes, 0, vm)
        need = nbytes >> 12
        share = -(-need // len(nodes))
        parts: list[np.ndarray] = []
        got = 0
        for n in nodes:
            room = (self.cfg.mem_per_node - self._alloc[n]) >> 12
            take = min(share, room, need - got)
            if take > 0:
                parts.append(self._allocate(take << 12, n, vm))
                got += take
        if got < need:
            parts.append(self._allocate((need - got) << 12, nodes[0], vm))
        return np.concatenate(parts)

    def _allocate(self, nbytes: int, node: int, vm: int) -> np.ndarray:
        """Machine pages for `nbytes` of guest memory: from `node` first, then the
        other nodes in order (the pmap makes them look contiguous to the guest)."""
        per = self.cfg.mem_per_node
        need = nbytes >> 12
        if self.cfg.interleave:
            order = [0]
            limits = {0: self.cfg.ram_bytes}
        else:
            order = [node] + [n for n in range(self.cfg.nodes) if n != node]
            limits = {n: per for n in order}
        pages: list[int] = []
        for n in order:
            base = 0 if self.cfg.interleave else n * per
            free = (limits[n] - self._alloc[n]) >> 12
            take = min(free, need - len(pages))
            if take > 0:
                first = (base + self._alloc[n]) >> 12
                pages.extend(range(first, first + take))
                self._alloc[n] += take << 12
            if len(pages) == need:
                return np.array(pages, np.int64)
        raise GuestError(f"VM {vm}: {nbytes >> 20} MB do not fit in what is left of machine memory "
                         f"({self.cfg.ram_bytes >> 20} MB, {MONITOR_BYTES >> 20} MB per node kept for the monitor)")

    # ------------------------------------------------------------ memmap, back-maps, migration
    def owner_of(self, machine_page: int) -> tuple[int, int] | None:
        """memmap: the (VM, guest page) a machine page backs, or None."""
        e = int(self.memmap[machine_page])
        return None if e < 0 else (e >> 20, e & 0xFFFFF)

    def backmap(self, vm: VirtualMachine, gpage: int) -> list[tuple[int, int]]:
        """Where the monitor's translations map guest page `gpage` of `vm`: (VCPU, virtual
        address) for every L2TLB entry and real TLB entry that points at its machine page."""
        m = self.m
        mp = int(m.pmap[vm.index, gpage])
        out = []
        for v in vm.vcpus:
            l2 = m.l2tlb[v]
            tables = [(l2[:, L2_LO0:L2_LO1 + 1], l2[:, L2_TAG] >= 0, l2[:, L2_TAG] >> 9)]
            c = self._cpu_running(v)
            if c >= 0:
                t = m.tlb[c]
                tables.append((t[:, TLB_LO0:TLB_LO0 + 2], np.ones(len(t), bool), t[:, TLB_ENTRYHI] >> 13))
            for los, valid, vpn2 in tables:
                for half in (0, 1):
                    lo = los[:, half]
                    hit = valid & lo_valid(lo) & (lo_pfn(lo) == mp)
                    for i in np.nonzero(hit)[0]:
                        out.append((v, int(vpn2[i] << 13) | (half << 12)))
        return out

    def shootdown(self, vm: VirtualMachine, gpage: int) -> int:
        """Drop every cached translation of guest page `gpage` (L2TLBs, and the real TLBs of the
        CPUs running the VM's VCPUs); returns how many there were."""
        vcpus = np.asarray(vm.vcpus, np.int64)
        cpus = np.array([self._cpu_running(v) for v in vm.vcpus], np.int64)
        return int(shootdown_nb(self.m, vcpus, cpus, int(self.m.pmap[vm.index, gpage])))

    def migrate_page(self, vm: VirtualMachine, gpage: int, node: int) -> int:
        """Move guest page `gpage` of `vm` to a machine page on `node`: copy it, repoint the
        pmap and memmap, shoot down the old translations.  Returns the new machine page."""
        m = self.m
        old = int(m.pmap[vm.index, gpage])
        if self._free_pages[node]:
            new = self._free_pages[node].pop()
        else:
            new = int(self._allocate(4096, node, vm.index)[0])
        m.ram8[new << 12:(new + 1) << 12] = m.ram8[old << 12:(old + 1) << 12]
        self.shootdown(vm, gpage)
        m.pmap[vm.index, gpage] = new
        self.memmap[new] = (vm.index << 20) | gpage
        self.memmap[old] = -1
        self._free_pages[old * 4096 // self.cfg.mem_per_node].append(old)
        dma_coherence_nb(m, old << 12, 4096)
        self.migrations += 1
        return new

    def guest_write(self, vm: VirtualMachine, gpa: int, data: bytes) -> None:
        """Write guest-physical memory of `vm` (through its pmap, coherently)."""
        vm.host.dma_write(gpa, data)

    def guest_read(self, vm: VirtualMachine, gpa: int, n: int) -> bytes:
        """Read `n` bytes of guest-physical memory of `vm`."""
        return vm.host.dma_read(gpa, n)

__all__ = ["DEFAULT_VM_MB", "MIN_VM_MB", "MONITOR_BYTES", "GuestMemory", "default_vm_mb", "vm_memory_problem",
           "vm_room"]
