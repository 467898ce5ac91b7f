"""Disco: virtual machines on the FLASH machine (paper §4; DISCO.md §7).

    disco = Disco("flash8", [VmSpec(ncpu=2, mem=32 << 20), VmSpec(ncpu=2)], mode="timing")
    disco.boot(vm, kernel_elf, argv=[...])          # for each VM
    result = disco.run()

The monitor's frequent paths are jitted (flashvm/kernels/disco.py: the trap
path, privileged-instruction emulation, the L2TLB, exception reflection);
this module is the rest, in Python: VMs and their memory (pmap), VCPUs and
where they run, the virtual devices, guest accesses to unmapped segments,
and containment.  Each VM sees the machine of docs/machine.md: RAM from
guest-physical 0, its own CPUs numbered from 0, its own devices.

VCPU g of the run lives on CPU g mod ncpu (affinity); when a CPU has more
than one, they time-share it: between chunks of simulated time (a slice)
the CPU moves on to the next runnable VCPU, round robin; a VCPU in WAIT is
not runnable until an interrupt is posted to it or its timer fires.  Each node keeps its first
MONITOR_BYTES for the monitor; a VM's memory comes from the node of its
first VCPU, then the next nodes, page by page through the pmap.
"""
from __future__ import annotations

import io
import struct
import sys
from dataclasses import dataclass, field
from typing import BinaryIO

import numpy as np

from flashvm.elf import ElfImage
from flashvm.kernels import state as S
from flashvm.kernels.cp0 import reset_cpu
from flashvm.kernels.cache import dma_coherence_nb
from flashvm.kernels.cp0 import mtc0_nb
from flashvm.kernels.disco import (DX_KSEG, DX_MCALL, deliver_pending_nb, hal_push_nb, l2tlb_flush_nb, l2tlb_flush_real,
                                   post_interrupt_nb, reflect_nb, sync_real_status_nb)
from flashvm.machine.bootinfo import BootInfo, BootInfoTooLarge, OsWords
from flashvm.machine.config import MachineConfig, machine_config
from flashvm.machine.devhost import DmaError
from flashvm.machine.devices import Device, MachineHalted, Power, Timer, Uart
from flashvm.machine.flash import FlashMachine, GuestError, RunResult
from flashvm.machine.layout import (
    BOOT_HALT_ON_EXIT, BOOT_VIRTUAL, BOOTINFO_PA, DISK_BASE, DISK_STRIDE, HAL_MC_DISK, KSSEG, POWER_BASE, SMP_BASE,
    SMP_SIZE, TIMER_BASE, UART_BASE,
)

SLICE_NS = 2_500_000             # VCPU time slice when CPUs are shared
MONITOR_BYTES = 1 << 20
HAL_AREA = 0x80000               # offset in each node's monitor memory of the VCPUs' HAL special pages          # reserved at the start of every node: the monitor's code and data
# Disco's cost model, in cycles (see flashvm/kernels/disco.py)
COSTS = {S.P_MON_TRAP: 40, S.P_MON_EMUL: 25, S.P_MON_TLB: 30, S.P_MON_REFLECT: 40}


class VmFailed(Exception):
    """A VM stops for good (panic, bad state); the others go on."""


@dataclass(frozen=True)
class VmSpec:
    """One virtual machine: its CPUs, memory and disks."""
    ncpu: int = 1
    mem: int = 32 << 20
    name: str = ""
    hal: bool = False           # map the HAL special page (for a guest built with the HAL)


@dataclass
class VirtualMachine:
    """A VM as the monitor keeps it."""
    index: int
    name: str
    ncpu: int
    mem: int
    vcpus: list[int]                 # global VCPU numbers
    cpus: list[int]                  # the physical CPU running each VCPU
    base: int                        # machine address of guest-physical 0 (the rest: see the pmap)
    out: bytearray = field(default_factory=bytearray)
    status: int | None = None
    failure: str | None = None
    devices: list[Device] = field(default_factory=list)
    strikes: int = 0                 # watchdog periods in a row with interrupts off
    last_insns: int = 0

    @property
    def done(self) -> bool:
        return self.status is not None or self.failure is not None


class TaggedWriter(io.RawIOBase):
    """A VM's console: bytes kept, and lines echoed to `sink` prefixed with the VM's tag."""

    def __init__(self, vm: VirtualMachine, sink: BinaryIO | None):
        self.vm = vm
        self.sink = sink
        self.line = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        self.vm.out += b
        if self.sink is not None:
            for ch in bytes(b):
                self.line.append(ch)
                if ch == 10:
                    self.flush_line()
        return len(b)

    def flush_line(self) -> None:
        if self.line and self.sink is not None:
            self.sink.write(f"[{self.vm.name}] ".encode() + bytes(self.line))
            self.sink.flush()
        self.line.clear()


class VmHost:
    """The DeviceHost of a VM's virtual devices: guest-physical DMA through the pmap,
    interrupts posted to its VCPUs, the machine's clock and event queue."""

    def __init__(self, disco: "Disco", vm: VirtualMachine):
        self.disco = disco
        self.vm = vm
        self.ram_bytes = vm.mem
        self.ram8 = np.zeros(0, np.uint8)     # devices never index it (DeviceHost contract)

    def now_ns(self) -> int:
        return self.disco.fm.now_ns()

    def schedule(self, at_ns: int, fn) -> None:
        self.disco.fm.schedule(at_ns, fn)

    def set_irq(self, source: object, cpu: int, line: int, level: bool) -> None:
        if 0 <= cpu < self.vm.ncpu and not self.vm.done:
            self.disco.post(self.vm, cpu, line, level, source)

    def _pieces(self, pa: int, n: int):
        if not (0 <= pa and n >= 0 and pa + n <= self.vm.mem):
            raise DmaError(f"guest-physical {pa:#x}+{n} is outside the VM's {self.vm.mem >> 20} MB")
        pmap = self.disco.fm.m.pmap[self.vm.index]
        while n > 0:
            chunk = min(n, 4096 - (pa & 0xFFF))
            mp = int(pmap[pa >> 12])
            if mp < 0:
                raise DmaError(f"guest-physical page {pa >> 12:#x} has no machine page")
            yield (mp << 12) | (pa & 0xFFF), chunk
            pa += chunk
            n -= chunk

    def dma_write(self, pa: int, data: bytes) -> None:
        pieces = list(self._pieces(pa, len(data)))     # refuse before touching anything
        off = 0
        for ma, n in pieces:
            self.disco.fm.dma_write(ma, data[off:off + n])
            off += n

    def dma_read(self, pa: int, n: int) -> bytes:
        return b"".join(self.disco.fm.dma_read(ma, k) for ma, k in self._pieces(pa, n))


class VSmp(Device):
    """A VM's SMP block: its VCPU numbers, virtual IPIs, the release of its secondary VCPUs."""
    name = "smp"

    def __init__(self, disco: "Disco", vm: VirtualMachine):
        super().__init__(SMP_BASE, SMP_SIZE)
        self.disco = disco
        self.vm = vm
        self.release = [0] * 64

    def read(self, offset: int, size: int) -> int:
        k = self.disco.current_vcpu_index
        if offset == 0x000:
            return k
        if offset == 0x004:
            return self.vm.ncpu
        if offset == 0x014:
            return int(self.disco.fm.m.cpu_node[self.vm.cpus[k]])
        if 0x100 <= offset < 0x200 and offset % 4 == 0:
            return self.release[(offset - 0x100) // 4]
        return super().read(offset, size)

    def write(self, offset: int, size: int, value: int) -> None:
        k = self.disco.current_vcpu_index
        if offset == 0x008:
            if 0 <= value < self.vm.ncpu:
                self.disco.post(self.vm, value, 1, True, self)
            else:
                self.guest_errors += 1
        elif offset == 0x00C:
            self.disco.post(self.vm, k, 1, False, self)
        elif offset == 0x010:
            for t in range(min(self.vm.ncpu, 32)):
                if value >> t & 1:
                    self.disco.post(self.vm, t, 1, True, self)
        elif 0x100 <= offset < 0x200 and offset % 4 == 0:
            t = (offset - 0x100) // 4
            if t < self.vm.ncpu:
                self.release[t] = value & 0xFFFFFFFF
                self.disco.start_vcpu(self.vm, t, value & 0xFFFFFFFF)
            else:
                self.guest_errors += 1
        else:
            super().write(offset, size, value)


# ------------------------------------------------------------ load/store decoding
_LOADS = {0x20: (1, True), 0x24: (1, False), 0x21: (2, True), 0x25: (2, False), 0x23: (4, True)}
_STORES = {0x28: 1, 0x29: 2, 0x2B: 4}


class Disco:
    """The virtual machine monitor: VMs with VCPUs on a FLASH machine."""

    def __init__(self, config: MachineConfig | str, vms: list[VmSpec], *, mode: str = "functional",
                 out: BinaryIO | None = None, costs: dict[int, int] | None = None, consoles=None,
                 watchdog_ms: float = 100.0):
        """`out`: where the VMs' console lines go, tagged "[vmN] "; `consoles`: a function
        VirtualMachine -> byte sink to use instead (e.g. the guest OS's console demultiplexer).
        `watchdog_ms`: a VM whose every VCPU keeps interrupts off in its kernel for this long
        (simulated time) is stopped (0: no watchdog)."""
        self.consoles = consoles
        cfg = machine_config(config)
        nvcpu = sum(v.ncpu for v in vms)
        if not vms:
            raise GuestError("Disco needs at least one VM")
        max_pages = max(v.mem for v in vms) >> 12
        self.fm = FlashMachine(cfg, mode=mode, out=out, disco=(nvcpu, len(vms), max_pages))
        self.cfg = cfg
        self.m = self.fm.m
        self.out = out if out is not None else sys.stdout.buffer
        for k, v in {**COSTS, **(costs or {})}.items():
            self.m.params[k] = v
        self.m.params[S.P_MON_DATA] = 0x10000
        self.fm.exit_handlers[S.EXIT_DISCO] = self._on_disco_exit
        self.fm.all_waiting = self._all_waiting
        self.fm.stuck = self._stuck
        self.watchdog_ms = watchdog_ms
        self.fm.chunk_hooks.append(self._schedule)
        self.current_vcpu_index = 0
        self.vms: list[VirtualMachine] = []
        for c in range(cfg.ncpu):
            reset_cpu(self.m, c)
        self._reset_cp0 = self.m.cp0[0].copy()               # a MIPS CPU's CP0 after reset
        self.running = [-1] * cfg.ncpu                         # the VCPU each CPU runs
        self.queue: list[list[int]] = [[] for _ in range(cfg.ncpu)]   # VCPUs homed on each CPU (affinity)
        self.ctx: dict[int, dict] = {}                         # saved state of VCPUs not running
        self.switches = 0                                      # VCPU switch-ins
        self._irq_sources: dict[tuple[int, int, int], set[int]] = {}
        self._alloc = [MONITOR_BYTES] * cfg.nodes          # next free byte in each node (contiguous layout)
        # memmap: machine page -> (VM << 20 | guest page) that maps it, -1 if none (free or the monitor's)
        self.memmap = np.full(cfg.ram_bytes >> 12, -1, np.int64)
        self._free_pages: list[list[int]] = [[] for _ in range(cfg.nodes)]   # given back by migrations
        self.migrations = 0
        vcpu = 0
        for i, spec in enumerate(vms):
            if spec.mem % 4096 or spec.mem < (1 << 20):
                raise GuestError(f"VM {i}: memory {spec.mem} must be a multiple of 4 KB, at least 1 MB")
            if spec.ncpu > 64:
                raise GuestError(f"VM {i}: {spec.ncpu} CPUs; a VM has at most 64")
            # VCPU g runs on CPU g mod ncpu: VMs spread over the machine, more VCPUs than CPUs time-share
            cpus = [(vcpu + k) % cfg.ncpu for k in range(spec.ncpu)]
            pages = self._allocate(spec.mem, int(self.m.cpu_node[cpus[0]]), i)
            vm = VirtualMachine(index=i, name=spec.name or f"vm{i}", ncpu=spec.ncpu, mem=spec.mem,
                                vcpus=list(range(vcpu, vcpu + spec.ncpu)), cpus=cpus, base=int(pages[0]) << 12)
            vcpu += spec.ncpu
            self.m.pmap[i, :] = -1
            self.m.pmap[i, :spec.mem >> 12] = pages
            self.memmap[pages] = (i << 20) | np.arange(len(pages))
            self._devices(vm)
            self.vms.append(vm)
            for k in range(spec.ncpu):
                v = vm.vcpus[k]
                self.queue[cpus[k]].append(v)
                self.ctx[v] = self._fresh_context()
                if spec.hal:                                   # its special page, in the monitor's memory
                    if v >= 128:
                        raise GuestError("HAL special pages: at most 128 virtual CPUs")
                    node = int(self.m.cpu_node[cpus[k]])
                    page = ((0 if cfg.interleave else node * cfg.mem_per_node) + HAL_AREA + (v << 12)) >> 12
                    self.m.vstate[v, S.VS_HAL] = page
                    self.m.ram8[page << 12:(page + 1) << 12] = 0
        for c in range(cfg.ncpu):
            if self.queue[c]:
                self._switch_in(c, self.queue[c][0])
            else:
                self.m.cpu[c, S.HALTED] = 1                    # CPUs without a VCPU stay off
        if max(len(q) for q in self.queue) > 1:                # time-sharing: a slice of 2.5 ms
            q = cfg.quantum
            self.fm.chunk_cycles = max(q, cfg.cycles(SLICE_NS) // q * q)

    # ------------------------------------------------------------ memory
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
        pages = []
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
            tables = [("l2", m.l2tlb[v][:, 1:3], m.l2tlb[v][:, 0] >= 0, m.l2tlb[v][:, 0] >> 9)]
            c = self._cpu_running(v)
            if c >= 0:
                t = m.tlb[c]
                tables.append(("tlb", t[:, 2:4], np.ones(len(t), bool), t[:, 1] >> 13))
            for _, los, valid, vpn2 in tables:
                for half in (0, 1):
                    lo = los[:, half]
                    hit = valid & (lo & 2 != 0) & (((lo >> 6) & 0xFFFFFF) == mp)
                    for i in np.nonzero(hit)[0]:
                        out.append((v, int(vpn2[i] << 13) | (half << 12)))
        return out

    def shootdown(self, vm: VirtualMachine, gpage: int) -> int:
        """Drop every cached translation of guest page `gpage` (L2TLBs, and the real TLBs of the
        CPUs running the VM's VCPUs); returns how many there were."""
        m = self.m
        hits = self.backmap(vm, gpage)
        mp = int(m.pmap[vm.index, gpage])
        for v in vm.vcpus:
            for half in (1, 2):
                lo = m.l2tlb[v][:, half]
                stale = (m.l2tlb[v][:, 0] >= 0) & (((lo >> 6) & 0xFFFFFF) == mp)
                m.l2tlb[v][stale, 0] = -1
            c = self._cpu_running(v)
            if c >= 0 and any(h[0] == v for h in hits):
                l2tlb_flush_real(m, c)
        return len(hits)

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
        vm.host.dma_write(gpa, data)

    def guest_read(self, vm: VirtualMachine, gpa: int, n: int) -> bytes:
        return vm.host.dma_read(gpa, n)

    # ------------------------------------------------------------ devices
    def _devices(self, vm: VirtualMachine) -> None:
        host = VmHost(self, vm)
        vm.host = host
        vm.console = TaggedWriter(vm, self.out)
        vm.uart = Uart(UART_BASE, out=self.consoles(vm) if self.consoles else vm.console)
        vm.smp = VSmp(self, vm)
        # POWER raises MachineHalted, which _vm_halted turns into stopping this VM only
        vm.devices = [vm.uart, Power(POWER_BASE), Timer(TIMER_BASE, self.fm.now_cycles, self.fm.ns_per_cycle),
                      vm.smp]

    def add_device(self, vm: VirtualMachine, dev: Device) -> Device:
        """Give VM `vm` another device (a Disk or Nic built on `vm.host`)."""
        vm.devices.append(dev)
        return dev

    def post(self, vm: VirtualMachine, k: int, line: int, level: bool, source: object) -> None:
        """Drive interrupt line `line` of VCPU k of `vm` (level-triggered, OR of sources)."""
        srcs = self._irq_sources.setdefault((vm.index, k, line), set())
        (srcs.add if level else srcs.discard)(id(source))
        v = vm.vcpus[k]
        post_interrupt_nb(self.m, self._cpu_running(v), v, line, bool(srcs))

    # ------------------------------------------------------------ booting
    def boot(self, vm: VirtualMachine, image: ElfImage, argv: list[str] = (), envp: list[str] = (),
             *, os_words: OsWords = OsWords()) -> None:
        """Load a guest kernel relinked for the supervisor segment and start VCPU 0.

        Segments in ksseg (0xC0000000 + guest-physical) or kseg0/kseg1 are
        loaded at their guest-physical address.  The VCPU starts at the
        kernel's `_start_virtual` if it has one (the monitor has wired the
        kernel window its boot code would wire), else at the ELF entry, which
        must then be in ksseg.  `os_words` go to boot info's OS area."""
        for seg in image.segments:
            if KSSEG <= seg.vaddr < 0xE0000000:
                gpa = seg.vaddr - KSSEG
            elif 0x80000000 <= seg.vaddr < 0xC0000000:
                gpa = seg.vaddr & 0x1FFFFFFF
            else:
                raise GuestError(f"{image.path}: segment at {seg.vaddr:#x} is neither in the supervisor segment "
                                 "nor in kseg0/kseg1: Disco runs kernels relinked in ksseg (the mapped variant)")
            if gpa + seg.memsz > vm.mem:
                raise GuestError(f"{image.path}: segment {gpa:#x}+{seg.memsz:#x} does not fit in "
                                 f"VM {vm.name}'s {vm.mem >> 20} MB")
            self.guest_write(vm, gpa, bytes(seg.data) + bytes(seg.memsz - seg.filesz))
        sym = image.symbols.get("_start_virtual")
        entry = sym.addr if sym is not None else image.entry
        if not KSSEG <= entry < 0xE0000000:
            raise GuestError(f"{image.path}: entry {entry:#x} is not in the supervisor segment; a guest kernel "
                             "for Disco must be relinked there (link it like flashvm/guest/bare/link-ksseg.ld, "
                             "or give it a _start_virtual)")
        ndisks = sum(1 for d in vm.devices if d.name == "disk")
        nnics = sum(1 for d in vm.devices if d.name == "net")
        info = BootInfo(ncpu=vm.ncpu, ram_bytes=vm.mem, nnodes=1, node_bytes=vm.mem, clock_hz=int(self.cfg.clock_mhz * 1e6),
                        ndisks=ndisks, nnets=nnics, flags=BOOT_HALT_ON_EXIT | BOOT_VIRTUAL, vmnum=vm.index,
                        argv=list(argv), envp=list(envp), os=os_words)
        try:
            block = info.pack()
        except BootInfoTooLarge:
            raise GuestError("the command line and environment do not fit the boot info block") from None
        self.guest_write(vm, BOOTINFO_PA, block)
        for k in range(vm.ncpu):
            self._reset_vcpu(vm, k)
        self.start_vcpu(vm, 0, entry)

    def _reset_vcpu(self, vm: VirtualMachine, k: int) -> None:
        m = self.m
        v = vm.vcpus[k]
        m.vcp0[v] = self._reset_cp0                            # the reset values of a MIPS CPU ...
        m.vcp0[v, S.CP0_PRId, S.SEL_EBase] = 0x80000000 | k   # ... numbered inside the VM
        m.vcp0[v, S.CP0_Status, 0] = 0                          # kernel mode, as the firmware leaves it
        m.vstate[v, S.VS_VM] = vm.index
        m.vstate[v, S.VS_INDEX] = k
        m.vtlb[v] = 0
        for i in range(m.vtlb.shape[1]):                      # distinct, unmatchable (kseg0 VPN2s)
            m.vtlb[v, i, S.TLB_ENTRYHI] = 0x80000000 + (i << 13)
        # the firmware wires the kernel's window: ksseg 0xC0000000 + gpa -> gpa (16 MB page pairs)
        size, i, gpa = 32 << 20, 0, 0
        while gpa < vm.mem:
            m.vtlb[v, i] = (0x01FFE000, KSSEG + gpa, ((gpa >> 12) << 6) | 0x1F,
                            (((gpa + (16 << 20)) >> 12) << 6) | 0x1F)
            gpa += size
            i += 1
        m.vcp0[v, S.CP0_Wired, 0] = i
        slots, _ = self._view(v)
        slots[S.WAITING] = 1                                  # until released
        c = self._cpu_running(v)
        if c >= 0:
            m.cp0[c, S.CP0_Status, 0] = 0x3 << 3               # user mode, all interrupts masked: only the monitor wakes it
        l2tlb_flush_nb(m, c, v)
        hal_push_nb(m, v)

    def start_vcpu(self, vm: VirtualMachine, k: int, pc: int) -> None:
        """Start (or restart) VCPU k of `vm` at `pc` in its kernel mode."""
        m = self.m
        v = vm.vcpus[k]
        if vm.done:
            return
        slots, gpr = self._view(v)
        slots[S.PC] = pc
        slots[S.NPC] = (pc + 4) & 0xFFFFFFFF
        slots[S.BRANCH_PC] = -1
        gpr[4] = k                                             # a0 = CPU number, as the ROM passes it
        slots[S.WAITING] = 0
        c = self._cpu_running(v)
        if c >= 0:
            m.cpu[c, S.CYCLES] = max(int(m.cpu[c, S.CYCLES]), int(m.params[S.P_ROUND_START]))
            sync_real_status_nb(m, c, v)

    # ------------------------------------------------------------ VCPU scheduling
    _SAVED_SLOTS = (S.PC, S.NPC, S.HI, S.LO, S.BRANCH_PC, S.FCSR, S.FIR, S.WAITING)

    def _fresh_context(self) -> dict:
        slots = np.zeros(S.NSLOTS, np.int64)
        slots[S.WAITING] = 1
        slots[S.BRANCH_PC] = -1
        slots[S.FIR] = self.m.cpu[0, S.FIR]
        return {"slots": slots, "gpr": np.zeros(32, np.int64), "fpr": np.zeros(32, np.int64),
                "count": 0, "compare": 0, "t": 0}

    def _cpu_running(self, v: int) -> int:
        for c, r in enumerate(self.running):
            if r == v:
                return c
        return -1

    def _view(self, v: int):
        """(cpu slots, GPRs) of VCPU v: the CPU's own arrays when it runs, else its saved context."""
        c = self._cpu_running(v)
        if c >= 0:
            return self.m.cpu[c], self.m.gpr[c]
        return self.ctx[v]["slots"], self.ctx[v]["gpr"]

    def _switch_out(self, c: int) -> None:
        m = self.m
        v = self.running[c]
        st = m.cpu[c]
        cyc = int(st[S.CYCLES])
        count = (int(st[S.COUNT_AT_BASE]) + ((cyc - int(st[S.COUNT_BASE])) >> 1)) & 0xFFFFFFFF
        self.ctx[v] = {"slots": st.copy(), "gpr": m.gpr[c].copy(), "fpr": m.fpr[c].copy(),
                       "count": count, "compare": int(m.cp0[c, S.CP0_Compare, 0]), "t": cyc}
        self.running[c] = -1
        m.cpu[c, S.VCPU] = 0

    def _switch_in(self, c: int, v: int) -> None:
        """Load VCPU v on CPU c: registers, the guest's ASID and timer in the real CP0, an empty real TLB."""
        m = self.m
        ctx = self.ctx.pop(v)
        self.switches += 1
        st = m.cpu[c]
        for k in self._SAVED_SLOTS:
            st[k] = ctx["slots"][k]
        st[S.LLBIT] = 0
        m.gpr[c] = ctx["gpr"]
        m.fpr[c] = ctx["fpr"]
        self.running[c] = v
        st[S.VCPU] = v + 1
        st[S.HALTED] = 0
        cyc = int(st[S.CYCLES])
        vc = m.vcp0
        mtc0_nb(m, c, S.CP0_EntryHi, 0, int(vc[v, S.CP0_EntryHi, 0]), cyc)
        m.cp0[c, S.CP0_HWREna, 0] = vc[v, S.CP0_HWREna, 0]
        m.cp0[c, S.CP0_Context, S.SEL_UserLocal] = vc[v, S.CP0_Context, S.SEL_UserLocal]
        # virtual time went on while it was away; a timer that expired meanwhile is posted
        ticks = max(cyc - ctx["t"], 0) >> 1
        count = (ctx["count"] + ticks) & 0xFFFFFFFF
        mtc0_nb(m, c, S.CP0_Count, 0, count, cyc)
        mtc0_nb(m, c, S.CP0_Compare, 0, ctx["compare"], cyc)
        if ctx["t"] and not m.vstate[v, S.VS_TIMER_MASKED] and 0 < ((ctx["compare"] - ctx["count"]) & 0xFFFFFFFF) <= ticks:
            vc[v, S.CP0_Cause, 0] |= S.Ca_TI | (1 << 15)
            m.vstate[v, S.VS_TIMER_MASKED] = 1
        l2tlb_flush_real(m, c)
        sync_real_status_nb(m, c, v)
        hal_push_nb(m, v)
        if st[S.WAITING] and int(vc[v, S.CP0_Status, 0]) & int(vc[v, S.CP0_Cause, 0]) & S.Ca_IP:
            st[S.WAITING] = 0
        deliver_pending_nb(m, c, v)

    def _runnable(self, v: int) -> bool:
        m = self.m
        c = self._cpu_running(v)
        if c >= 0:
            return not m.cpu[c, S.WAITING]
        ctx = self.ctx[v]
        if not ctx["slots"][S.WAITING]:
            return True
        if int(m.vcp0[v, S.CP0_Status, 0]) & int(m.vcp0[v, S.CP0_Cause, 0]) & S.Ca_IP:
            return True
        if m.vstate[v, S.VS_TIMER_MASKED] or not (int(m.vcp0[v, S.CP0_Status, 0]) & (1 << 15)):
            return False
        now = int(m.params[S.P_ROUND_START])
        return ((ctx["compare"] - ctx["count"]) & 0xFFFFFFFF) <= max(now - ctx["t"], 0) >> 1

    def _schedule(self) -> None:
        """Between chunks: each CPU with several VCPUs moves on to the next runnable one (round robin)."""
        for c, q in enumerate(self.queue):
            if len(q) < 2:
                continue
            cur = self.running[c]
            i = q.index(cur) if cur in q else -1
            for v in q[i + 1:] + q[:i + 1]:
                if v == cur:
                    break
                if self._runnable(v):
                    if cur >= 0:
                        self._switch_out(c)
                    self._switch_in(c, v)
                    break

    # ------------------------------------------------------------ exits
    def _vm_of_cpu(self, c: int) -> tuple[VirtualMachine, int]:
        v = int(self.m.cpu[c, S.VCPU]) - 1
        vm = self.vms[int(self.m.vstate[v, S.VS_VM])]
        return vm, int(self.m.vstate[v, S.VS_INDEX])

    def _on_disco_exit(self, c: int) -> None:
        x = self.m.exitrec
        kind = int(x[S.X_A0])
        vm, k = self._vm_of_cpu(c)
        self.current_vcpu_index = k
        try:
            if kind == DX_KSEG:
                self._kseg_access(vm, c, int(x[S.X_A1]), int(x[S.X_A2]))
                hal_push_nb(self.m, vm.vcpus[k])
            elif kind == DX_MCALL:
                self._monitor_call(vm, c, int(x[S.X_A1]), int(x[S.X_A2]))
            else:
                raise VmFailed(f"monitor exit {kind}")
        except MachineHalted as h:
            self._vm_halted(vm, h)
        except VmFailed as e:
            self.fail(vm, str(e))

    def _kseg_access(self, vm: VirtualMachine, c: int, va: int, insn: int) -> None:
        """The guest kernel touched kseg0/kseg1: emulate the load or store (devices or unmapped memory)."""
        m = self.m
        op = insn >> 26
        rt = (insn >> 16) & 31
        pa = va & 0x1FFFFFFF
        if op in _LOADS:
            size, signed = _LOADS[op]
        elif op in _STORES:
            size, signed = _STORES[op], False
        else:                               # lwl/swl/ll/sc/FPU to an unmapped segment: a bus error
            self._bus_error(c, va)
            return
        if va & (size - 1):                 # the guest's own address error, as its CPU would raise it
            reflect_nb(m, c, int(m.cpu[c, S.VCPU]) - 1, S.EXC_ADES if op in _STORES else S.EXC_ADEL,
                       int(m.cpu[c, S.PC]), int(m.cpu[c, S.BRANCH_PC]), va, 0)
            return
        dev = next((d for d in vm.devices if d.base <= pa < d.base + d.size), None)
        if dev is not None:
            self.fm.charge_io(c)
        if op in _STORES:
            value = int(m.gpr[c, rt]) & ((1 << (8 * size)) - 1)
            if dev is not None:
                dev.write(pa - dev.base, size, value)
            elif pa + size <= vm.mem:
                self.guest_write(vm, pa, value.to_bytes(size, "little"))
            else:
                self._bus_error(c, va)
                return
        else:
            if dev is not None:
                value = dev.read(pa - dev.base, size) & ((1 << (8 * size)) - 1)
            elif pa + size <= vm.mem:
                value = int.from_bytes(self.guest_read(vm, pa, size), "little")
            else:
                self._bus_error(c, va)
                return
            if signed and value >> (8 * size - 1):
                value -= 1 << (8 * size)
            if rt:
                m.gpr[c, rt] = value & 0xFFFFFFFF
        # the access is done: on to the next instruction (NPC already holds a branch target)
        npc = int(m.cpu[c, S.NPC])
        m.cpu[c, S.PC] = npc
        m.cpu[c, S.NPC] = (npc + 4) & 0xFFFFFFFF
        m.cpu[c, S.BRANCH_PC] = -1

    def _monitor_call(self, vm: VirtualMachine, c: int, call: int, value: int) -> None:
        """A HAL monitor call served in Python: a disk request in one call (the block
        {disk, sector, count, addr, cmd} at guest-physical `value`)."""
        if call != HAL_MC_DISK:
            return
        try:
            blk = self.guest_read(vm, value & 0xFFFFFFFC, 20)
        except DmaError:
            self._bus_error(c, value)
            return
        k, sector, count, addr, cmd = struct.unpack("<5I", blk)
        disk = next((d for d in vm.devices if d.name == "disk" and d.base == DISK_BASE + DISK_STRIDE * k), None)
        if disk is None:
            return
        self.fm.charge_io(c)
        for off, val in ((0x00, sector), (0x04, count), (0x08, addr), (0x0C, cmd)):
            disk.write(off, 4, val)

    def _bus_error(self, c: int, va: int) -> None:
        """Nothing at that guest-physical address: the guest gets the bus error its CPU would."""
        m = self.m
        v = int(m.cpu[c, S.VCPU]) - 1
        m.dstats[v, S.DS_BUSERR] += 1
        reflect_nb(m, c, v, S.EXC_DBE, int(m.cpu[c, S.PC]), int(m.cpu[c, S.BRANCH_PC]), va, 0)

    # ------------------------------------------------------------ containment
    def _vm_halted(self, vm: VirtualMachine, h: MachineHalted) -> None:
        if h.status == -1:
            self.fail(vm, h.reason)
            return
        vm.status = h.status
        self._stop(vm)

    def fail(self, vm: VirtualMachine, why: str) -> None:
        """Stop `vm` for good; the other VMs go on."""
        if vm.done:
            return
        vm.failure = why
        self._stop(vm)

    def _stop(self, vm: VirtualMachine) -> None:
        m = self.m
        vm.console.flush_line()
        for k, v in enumerate(vm.vcpus):
            c = vm.cpus[k]
            if v in self.queue[c]:
                self.queue[c].remove(v)
            if self.running[c] == v:
                self._switch_out(c)
                if self.queue[c]:
                    self._switch_in(c, self.queue[c][0])
                else:
                    m.cpu[c, S.HALTED] = 1
                    m.cpu[c, S.WAITING] = 0
        if all(v.done for v in self.vms):
            raise MachineHalted(self.status)

    def _stuck(self, c: int) -> None:
        """Nothing retired in a whole chunk: the VMs whose CPUs loop taking exceptions fail."""
        m = self.m
        failed = False
        for vm in self.vms:
            if not vm.done and not any(self._view(v)[0][S.WAITING] for v in vm.vcpus):
                v = vm.vcpus[0]
                self.fail(vm, f"stuck taking exceptions (a VCPU at pc={int(m.cpu[vm.cpus[0], S.PC]):#010x}, "
                              f"guest EPC={int(m.vcp0[v, S.CP0_EPC, 0]):#010x})")
                failed = True
        if not failed:
            FlashMachine.stuck(self.fm, c)

    def _watchdog(self) -> None:
        """Every watchdog period: a VM with interrupts off in all its VCPUs' kernels, twice running, stops."""
        m = self.m
        for vm in self.vms:
            if vm.done:
                continue
            off = all((m.vcp0[v, S.CP0_Status, 0] & S.St_IE) == 0 or m.vcp0[v, S.CP0_Status, 0] & 6
                      for v in vm.vcpus)
            progress = int(m.cpu[vm.cpus, S.INSNS].sum())
            waiting = all(self._view(v)[0][S.WAITING] for v in vm.vcpus)
            if progress == vm.last_insns and not waiting:
                self.fail(vm, f"stuck: no instruction retired in {self.watchdog_ms / 2:g} ms of simulated time "
                              f"(an exception loop at guest pc={int(m.cpu[vm.cpus[0], S.PC]):#010x})")
                continue
            vm.strikes = (vm.strikes + 1) if off else 0
            vm.last_insns = progress
            if vm.strikes >= 2:
                self.fail(vm, f"watchdog: no interrupts for {self.watchdog_ms:g} ms of simulated time "
                              "(a guest looping with interrupts off)")
        if not all(v.done for v in self.vms):
            self.fm.schedule(self.fm.now_ns() + int(self.watchdog_ms * 1e6 / 2), self._watchdog)

    def _all_waiting(self) -> None:
        """No CPU can ever run again: the VMs still going are deadlocked; they fail."""
        for vm in self.vms:
            if not vm.done:
                self.fail(vm, "every virtual CPU waits for an interrupt that nothing can raise")

    @property
    def status(self) -> int:
        """0 when every VM exited 0; else the first failing VM's status (1 for a failed VM)."""
        for vm in self.vms:
            if vm.failure is not None:
                return 1
            if vm.status:
                return vm.status
        return 0

    # ------------------------------------------------------------ running
    def run(self, max_insns: int | None = None, progress=None) -> RunResult:
        if self.watchdog_ms > 0:
            self.fm.schedule(self.fm.now_ns() + int(self.watchdog_ms * 1e6 / 2), self._watchdog)
        r = self.fm.run(max_insns=max_insns, progress=progress)
        for vm in self.vms:
            vm.console.flush_line()
        return r

    def vm_stats(self, vm: VirtualMachine) -> dict[str, int]:
        """The monitor's counters summed over the VM's VCPUs."""
        d = self.m.dstats[vm.vcpus].sum(axis=0)
        return {name: int(d[i]) for i, name in enumerate(S.DS_NAMES)}
