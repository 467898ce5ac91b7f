"""The FLASH machine: nodes of CPUs and memory, the boot ROM, devices, the
event queue and the loop that serves the JIT kernel's exits.

Wiring (docs/machine.md is the contract software programs against; the
numbers are the table in flashvm/machine/layout.py):

    0x00000000  RAM, node-contiguous slices (or page-interleaved)
    0x00000800  boot info, written by the host before reset
    0x1F000000  UART   0x1F000100 POWER   0x1F000200 TIMER
    0x1F001000  SMP (IPIs, secondary CPU release)
    0x1F002000  DISK k    0x1F003000  NET k    0x1F004000  MAGIC
    0x1FC00000  boot ROM (the reset vector 0xBFC00000)

`FlashMachine(config, mode=...)` builds the kernel state from a
`MachineConfig` (flash1, flash8, uma8 or a file), `load()` puts a
freestanding ELF in RAM, `run()` runs until the guest halts.  A
`Supervisor` (flashvm/machine/supervisor.py; Disco is one) takes over the
exits, chunk boundaries and failures the bare machine does not serve.  The
machine is also the `DeviceHost` of its DMA devices: simulated time, a
deterministic event queue, interrupt lines and coherent DMA.
"""
from __future__ import annotations

import heapq
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence, TypeVar

import numpy as np

from flashvm.elf import ElfImage
from flashvm.isa.table import encode
from flashvm.kernels.cache import dma_coherence_nb
from flashvm.kernels.cp0 import reset_cpu
from flashvm.kernels.run import run as run_kernel
from flashvm.kernels.state import (
    CP0_BadVAddr, CP0_Cause, CP0_EPC, CP0_Status, CYCLES, EXC_NAMES, EXIT_BUDGET, EXIT_HALT, EXIT_HOT_PAGE,
    EXIT_MMIO_LOAD, EXIT_MMIO_STORE, EXIT_NAMES, EXIT_WAIT, HALTED, INSNS,
    MMIO_PENDING, MMIO_VALUE, MMU_R4K, P_CURCPU, P_HOT_THRESHOLD, P_HOTQ_N, P_HOTQ_PEND, P_LAT_DIRTY, P_LAT_INVAL,
    P_IO_CYCLES, P_LAT_L2, P_LAT_LOCAL, P_LAT_REMOTE, P_NIO, P_NS_PER_CYCLE, P_RAM_SIZE, P_SMP_PA, P_TIMER_PA,
    P_ROM_HOST, P_ROUND_START,
    PC, WAITING,
    X_A0, X_A1, X_A2, X_CPU, Machine, new_machine,
)
from flashvm.kernels.devfast import charge_io_nb
from flashvm.machine.bootinfo import BootInfo, BootInfoTooLarge, OsWords
from flashvm.machine.config import MachineConfig, machine_config
from flashvm.machine.devhost import DmaError
from flashvm.machine.devices import (
    POWER_PANIC, ByteSink, Device, MachineHalted, Power, Timer, Uart,
)
from flashvm.machine.layout import (
    BOOT_HALT_ON_EXIT, BOOTINFO_PA, BOOTINFO_SIZE, KSEG0, KSEG1, KSSEG, MAGIC_BASE, MAGIC_SIZE, POWER_BASE, ROM_SIZE,
    SMP_BASE, SMP_SIZE, TIMER_BASE, UART_BASE,
)
from flashvm.machine.roi import Regions, RoiDevice
from flashvm.machine.services import ServiceDevice, Services
from flashvm.machine.supervisor import Supervisor

IRQ_IPI = 1          # hardware interrupt lines (Cause.IP2 + line)
IRQ_MAGIC = 4
MODES = ("functional", "timing")


class GuestError(RuntimeError):
    """The guest did something the machine cannot continue from."""


# Called each time the run loop is about to call the kernel again (after an exit was served,
# or a chunk ended with its events fired and the supervisor's between_chunks done): there
# the whole run is in the machine's arrays and objects, none in the loop's locals, so a
# checkpoint taken there resumes exactly (flashvm/session/checkpointing.py).  A context
# variable, so the runners that build the machine deep inside (boot_os, run_os_vms) need
# not pass it along.
# Process mode's run loop calls it too, with the LinuxProcess (flashvm/process/sched.py).
chunk_hook: ContextVar[Callable[[Any], None] | None] = ContextVar("chunk_hook", default=None)

STOPS = ("limit", "deadlock", "interrupted")     # how a run can end before the guest halts


class StopRun(Exception):
    """Raised by a run_fn or progress callback to end a run early (a host-time
    limit, a deadlock found by watching the guest); FlashMachine.run turns it
    into RunStopped.  `ended` is one of STOPS."""

    def __init__(self, ended: str, message: str) -> None:
        super().__init__(message)
        self.ended = ended


class RunStopped(GuestError):
    """The run ended before the guest halted: `ended` is "limit", "deadlock" or
    "interrupted" (SIGINT, SIGTERM: the KeyboardInterrupt is the __cause__).
    `machine` and `result` (the counts so far) let a caller still report the run;
    devices are flushed and the exception passes through every cleanup above."""

    def __init__(self, ended: str, message: str) -> None:
        super().__init__(message)
        self.ended = ended
        self.machine: "FlashMachine | None" = None
        self.result: "RunResult | None" = None


# ------------------------------------------------------------------ the boot ROM
def rom_image(entry: int) -> np.ndarray:
    """Boot ROM words: the reset stub (CPU 0 jumps to `entry`; the others wait
    for RELEASE, see docs/machine.md) and the BEV exception vectors, which
    report an unexpected exception through POWER."""
    zero, a0, t0, t1, t9, k0, k1 = 0, 4, 8, 9, 25, 26, 27
    smp = KSEG1 | SMP_BASE
    e = encode
    code = [
        e("mfc0", rt=k0, rd=15, sel=1),                    # EBase
        e("andi", rt=k0, rs=k0, uimm=0x3FF),               # CPUNum
        e("bne", rs=k0, rt=zero, simm=5),                  # -> secondary
        e("lui", rt=t9, uimm=entry >> 16),
        e("ori", rt=t9, rs=t9, uimm=entry & 0xFFFF),
        e("jr", rs=t9),
        e("or", rd=a0, rs=zero, rt=zero),                  # a0 = 0 (delay slot)
        0,
        # secondary:
        e("mfc0", rt=k1, rd=12, sel=0),
        e("ori", rt=k1, rs=k1, uimm=0x0800),               # Status.IM3: an IPI ends WAIT (IE stays 0)
        e("mtc0", rt=k1, rd=12, sel=0),
        e("lui", rt=t0, uimm=smp >> 16),
        e("ori", rt=t0, rs=t0, uimm=smp & 0xFFFF),
        e("sll", rd=t1, rt=k0, sa=2),
        e("addu", rd=t1, rs=t1, rt=t0),
        # loop:
        e("wait"),
        e("sw", rt=zero, rs=t0, simm=0x00C),               # IPI_ACK
        e("lw", rt=t9, rs=t1, simm=0x100),                 # RELEASE[cpu]
        e("beq", rs=t9, rt=zero, simm=-4),                 # -> loop
        0,
        e("jr", rs=t9),
        e("or", rd=a0, rs=k0, rt=zero),                    # a0 = cpu (delay slot)
    ]
    rom = np.zeros(ROM_SIZE // 4, np.uint32)
    rom[:len(code)] = code
    panic = (KSEG1 | POWER_BASE) + POWER_PANIC
    handler = [e("mfc0", rt=k1, rd=13, sel=0), e("lui", rt=k0, uimm=panic >> 16),
               e("ori", rt=k0, rs=k0, uimm=panic & 0xFFFF), e("sw", rt=k1, rs=k0, simm=0),
               e("beq", rs=zero, rt=zero, simm=-1), 0]
    for vec in (0x200, 0x380, 0x400):
        rom[vec // 4: vec // 4 + len(handler)] = handler
    return rom


# ------------------------------------------------------------ SMP and MAGIC blocks
class Smp(Device):
    """CPU number/count, interprocessor interrupts and secondary CPU release."""
    name = "smp"
    CPUNUM, NCPU, IPI_SEND, IPI_ACK, IPI_SEND_MASK, NODE_OF_CPU = 0x0, 0x4, 0x8, 0xC, 0x10, 0x14
    RELEASE = 0x100

    def __init__(self, machine: "FlashMachine"):
        super().__init__(SMP_BASE, SMP_SIZE)
        self.mach = machine
        self.ncpu = machine.cfg.ncpu
        self.release = [0] * 64
        self.ipis_sent = 0

    def read(self, offset: int, size: int) -> int:
        c = self.mach.current_cpu
        if offset == self.CPUNUM:
            return c
        if offset == self.NCPU:
            return self.ncpu
        if offset == self.NODE_OF_CPU:
            return int(self.mach.m.cpu_node[c])
        if self.RELEASE <= offset < self.RELEASE + 4 * 64 and offset % 4 == 0:
            return self.release[(offset - self.RELEASE) // 4]
        return super().read(offset, size)

    def ipi(self, target: int) -> None:
        if 0 <= target < self.ncpu:
            self.ipis_sent += 1
            self.mach.set_irq(self, target, IRQ_IPI, True)
        else:
            self.guest_errors += 1

    def write(self, offset: int, size: int, value: int) -> None:
        if offset == self.IPI_SEND:
            self.ipi(value)
        elif offset == self.IPI_ACK:
            self.mach.set_irq(self, self.mach.current_cpu, IRQ_IPI, False)
        elif offset == self.IPI_SEND_MASK:
            for c in range(min(self.ncpu, 32)):
                if value >> c & 1:
                    self.ipi(c)
        elif self.RELEASE <= offset < self.RELEASE + 4 * 64 and offset % 4 == 0:
            k = (offset - self.RELEASE) // 4
            self.release[k] = value & 0xFFFFFFFF
            self.ipi(k)
        else:
            super().write(offset, size, value)


class Magic(Device):
    """Software's window on MAGIC's per-page, per-node miss counters (docs/machine.md)."""
    name = "magic"
    PAGE, NODE, COUNT, RESET_PAGE, HOT_PAGE, HOT_NODE, HOT_COUNT, ACK, THRESHOLD, NNODES, IRQ_CPU = (
        0x00, 0x04, 0x08, 0x0C, 0x10, 0x14, 0x18, 0x1C, 0x20, 0x24, 0x28)

    def __init__(self, machine: "FlashMachine"):
        super().__init__(MAGIC_BASE, MAGIC_SIZE)
        self.mach = machine
        self.page = 0
        self.node = 0
        self.hot = (0, 0, 0)
        self.irq_cpu = 0
        self.events = 0

    def _counters(self) -> np.ndarray:
        return self.mach.m.magic

    def read(self, offset: int, size: int) -> int:
        mg = self._counters()
        if offset == self.COUNT:
            if self.page < mg.shape[0] and self.node < mg.shape[1]:
                return int(mg[self.page, self.node])
            return 0
        if offset in (self.HOT_PAGE, self.HOT_NODE, self.HOT_COUNT):
            return self.hot[(offset - self.HOT_PAGE) // 4]
        if offset == self.THRESHOLD:
            return int(self.mach.m.params[P_HOT_THRESHOLD])
        if offset == self.NNODES:
            return self.mach.cfg.nodes
        if offset == self.IRQ_CPU:
            return self.irq_cpu
        if offset == self.PAGE:
            return self.page
        if offset == self.NODE:
            return self.node
        return super().read(offset, size)

    def write(self, offset: int, size: int, value: int) -> None:
        mg = self._counters()
        if offset == self.PAGE:
            self.page = value
        elif offset == self.NODE:
            self.node = value
        elif offset == self.RESET_PAGE:
            if value < mg.shape[0]:
                mg[value, :] = 0
        elif offset == self.ACK:
            self.mach.set_irq(self, self.irq_cpu, IRQ_MAGIC, False)
        elif offset == self.THRESHOLD:
            self.mach.m.params[P_HOT_THRESHOLD] = value
        elif offset == self.IRQ_CPU:
            self.irq_cpu = value if value < self.mach.cfg.ncpu else 0
        else:
            super().write(offset, size, value)

    def hot_page(self, page: int, node: int, count: int) -> None:
        self.events += 1
        self.hot = (page, node, count)
        self.mach.set_irq(self, self.irq_cpu, IRQ_MAGIC, True)

    def hot_batch(self, rows: list[tuple[int, int, int]]) -> None:
        """Several events at once: the device shows the last; its line is raised once."""
        if rows:
            self.events += len(rows)
            self.hot = rows[-1]
            self.mach.set_irq(self, self.irq_cpu, IRQ_MAGIC, True)


# ------------------------------------------------------------------ results
@dataclass
class RunResult:
    """What a run of the machine produced."""
    status: int
    reason: str
    instructions: int
    cycles: int
    host_seconds: float
    exits: dict = field(default_factory=dict)
    hot_pages: list = field(default_factory=list)
    message: str | None = None       # the one-line diagnostic printed, if any (process mode)

    @property
    def mips(self) -> float:
        return self.instructions / self.host_seconds / 1e6 if self.host_seconds else 0.0


def build_state(cfg: MachineConfig, *, timing: bool, rom_bytes: int = ROM_SIZE, mmu: int = MMU_R4K,
                exc_to_host: bool = False, ram_bytes: int | None = None,
                disco: tuple[int, int, int] = (0, 0, 0)) -> Machine:
    """Kernel state for `cfg` (latencies in cycles, caches, directory, MAGIC).
    `disco` = (virtual CPUs, VMs, pages per VM) makes room for Disco's state."""
    ram = cfg.ram_bytes if ram_bytes is None else ram_bytes
    nvcpu, nvm, vm_pages = disco
    m = new_machine(cfg.ncpu, ram, cfg.tlb_entries, mmu=mmu, exc_to_host=exc_to_host,
                    quantum=cfg.quantum, rom_bytes=rom_bytes, nnodes=cfg.nodes,
                    home_shift=cfg.home_shift(), cpu_node=cfg.cpu_node(), timing=timing,
                    line_bytes=cfg.line_bytes, l1i=cfg.l1i.shape(cfg.line_bytes),
                    l1d=cfg.l1d.shape(cfg.line_bytes), l2=cfg.l2.shape(cfg.line_bytes),
                    nvcpu=nvcpu, nvm=nvm, vm_pages=vm_pages)
    lat = cfg.latencies_cycles()
    p = m.params
    p[P_LAT_L2], p[P_LAT_LOCAL], p[P_LAT_REMOTE] = lat["l2"], lat["local"], lat["remote"]
    p[P_LAT_DIRTY], p[P_LAT_INVAL] = lat["dirty"], lat["inval"]
    p[P_HOT_THRESHOLD] = cfg.hot_page_threshold
    return m


AnyDevice = TypeVar("AnyDevice", bound=Device)   # add_device gives back what it is given


class FlashMachine:
    """CPUs, memory, ROM and devices of a FLASH machine, running freestanding software."""

    def __init__(self, config: MachineConfig | str | Path = "flash1", *, mode: str = "functional",
                 out: ByteSink | None = None, chunk_cycles: int = 4_000_000,
                 disco: tuple[int, int, int] = (0, 0, 0), supervisor: Supervisor | None = None):
        """`supervisor`: who serves what the bare machine does not (default: nobody)."""
        if mode not in MODES:
            raise ValueError(f"mode {mode!r}: must be one of {', '.join(MODES)}")
        self.cfg = machine_config(config)
        self.mode = mode
        self.m: Machine = build_state(self.cfg, timing=mode == "timing", disco=disco)
        self.supervisor = supervisor if supervisor is not None else Supervisor()
        for c in range(self.cfg.ncpu):
            reset_cpu(self.m, c)
        self.ram8 = self.m.ram8
        self.ram_bytes = int(self.m.params[P_RAM_SIZE])
        self.ns_per_cycle = 1000.0 / self.cfg.clock_mhz
        self.io_cycles = self.cfg.latencies_cycles()["io"]
        # the SMP block's IPIs and the timer's words are served in the kernels, as Smp and Timer
        # below do them (flashvm/kernels/devfast.py); a Disco VM's are at the same addresses
        p = self.m.params
        p[P_IO_CYCLES] = self.io_cycles
        p[P_NS_PER_CYCLE] = np.float64(self.ns_per_cycle).view(np.int64)
        p[P_SMP_PA], p[P_TIMER_PA] = SMP_BASE, TIMER_BASE
        q = self.cfg.quantum
        self.chunk_cycles = max(q, chunk_cycles // q * q)
        self.current_cpu = 0
        self._serving = False          # True while an exit of current_cpu is being served
        self._events: list[tuple[int, int, Callable[[], None]]] = []
        self._seq = 0
        # the sources driving each line, held as objects (not id()s) so a checkpoint keeps them
        self._irq_sources: dict[tuple[int, int], set[object]] = {}
        self.hot_pages: list[tuple[int, int, int]] = []
        self.uart = Uart(UART_BASE, out=out, irq=lambda level: self.set_irq(self.uart, 0, 0, level))
        self.smp = Smp(self)
        self.magic = Magic(self)
        self.roi = Regions(lambda: self.m)
        # the guest kernel's services, counted inside the regions of interest once there are some
        self.services = Services(lambda: self.m)
        self.services.gate = lambda: not self.roi.regions or bool(self.roi.stack)
        self.roi.on_begin.append(self.services.region_began)
        self.devices: list[Device] = []
        for d in (self.uart, Power(POWER_BASE), Timer(TIMER_BASE, self.now_cycles, self.ns_per_cycle),
                  self.smp, self.magic, RoiDevice(self.roi), ServiceDevice(self.services, lambda: self.current_cpu)):
            self.add_device(d)
        self.image: ElfImage | None = None

    # ------------------------------------------------------------ devices
    def add_device(self, d: AnyDevice) -> AnyDevice:
        """Map device `d` at its base address (at most 16 devices)."""
        i = len(self.devices)
        if i >= self.m.iomap.shape[0]:
            raise ValueError("no room for another device (16 at most)")
        for other in self.devices:
            if d.base < other.base + other.size and other.base < d.base + d.size:
                raise ValueError(f"{d.name} at {d.base:#x} overlaps {other.name} at {other.base:#x}")
        self.devices.append(d)
        self.m.iomap[i] = (d.base, d.size, i)
        self.m.params[P_NIO] = len(self.devices)
        return d

    def _device(self, pa: int) -> Device:
        for d in self.devices:
            if d.base <= pa < d.base + d.size:
                return d
        raise AssertionError(f"no device at {pa:#x}")  # the kernel only exits for mapped ranges

    # ------------------------------------------------------------ DeviceHost
    def now_cycles(self) -> int:
        """Global simulated time: the clock of the CPU being served, else the current round's start."""
        if self._serving:
            return int(self.m.cpu[self.current_cpu, CYCLES])
        return int(self.m.params[P_ROUND_START])

    def now_ns(self) -> int:
        return int(self.now_cycles() * self.ns_per_cycle)

    def schedule(self, at_ns: int, fn: Callable[[], None]) -> None:
        at = max(int(-(-at_ns // self.ns_per_cycle)), self.now_cycles())
        heapq.heappush(self._events, (at, self._seq, fn))
        self._seq += 1

    def set_irq(self, source: object, cpu: int, line: int, level: bool) -> None:
        """Drive `source`'s level on hardware interrupt line `line` (0..5) of `cpu`."""
        if not (0 <= cpu < self.cfg.ncpu and 0 <= line <= 5):
            return
        srcs = self._irq_sources.setdefault((cpu, line), set())
        (srcs.add if level else srcs.discard)(source)
        bit = 1 << (10 + line)
        if srcs:
            self.m.cp0[cpu, CP0_Cause, 0] |= bit
            if self.m.cpu[cpu, WAITING] and self.m.cp0[cpu, CP0_Status, 0] & bit:
                # the line ends the CPU's WAIT now: left WAITING, the run kernel would
                # see an idle machine and jump the next round to the CPU's timer tick
                self.m.cpu[cpu, WAITING] = 0
        else:
            self.m.cp0[cpu, CP0_Cause, 0] &= ~bit

    def dma_write(self, pa: int, data: bytes) -> None:
        if not (0 <= pa and pa + len(data) <= self.ram_bytes):
            raise DmaError(f"DMA write {pa:#x}+{len(data)} outside RAM")
        self.ram8[pa:pa + len(data)] = np.frombuffer(bytes(data), np.uint8)
        dma_coherence_nb(self.m, pa, len(data))

    def dma_read(self, pa: int, n: int) -> bytes:
        if not (0 <= pa and n >= 0 and pa + n <= self.ram_bytes):
            raise DmaError(f"DMA read {pa:#x}+{n} outside RAM")
        return self.ram8[pa:pa + n].tobytes()

    # ------------------------------------------------------------ loading
    def load(self, image: ElfImage) -> None:
        """Copy the program's segments into RAM (kseg0/kseg1 addresses) and aim the ROM at its entry."""
        for seg in image.segments:
            if not KSEG0 <= seg.vaddr < KSSEG:
                raise GuestError(f"{image.path}: segment at {seg.vaddr:#x} is not in kseg0/kseg1; "
                                 "link freestanding programs for kseg0 (flashvm's link.ld)")
            pa = seg.vaddr & 0x1FFFFFFF
            if pa + seg.memsz > self.ram_bytes:
                raise GuestError(f"{image.path}: segment {pa:#x}+{seg.memsz:#x} does not fit in "
                                 f"{self.ram_bytes >> 20} MB of RAM; use a machine with more memory")
            self.ram8[pa: pa + seg.filesz] = np.frombuffer(seg.data, np.uint8)
            self.ram8[pa + seg.filesz: pa + seg.memsz] = 0
        rom = rom_image(image.entry)
        host = int(self.m.params[P_ROM_HOST])
        self.m.ram32[host // 4: host // 4 + len(rom)] = rom
        self.image = image

    def write_bootinfo(self, argv: Sequence[str] = (), envp: Sequence[str] = (), *, vm: int = 0,
                       ndisks: int = 0, nnics: int = 0, flags: int = BOOT_HALT_ON_EXIT,
                       os_words: OsWords = OsWords()) -> None:
        """The boot info block at physical BOOTINFO_PA (docs/machine.md), describing this machine."""
        cfg = self.cfg
        info = BootInfo(ncpu=cfg.ncpu, ram_bytes=self.ram_bytes, nnodes=cfg.nodes,
                        node_bytes=0 if cfg.interleave else cfg.mem_per_node, interleave=cfg.interleave,
                        clock_hz=int(cfg.clock_mhz * 1e6), ndisks=ndisks, nnets=nnics, flags=flags, vmnum=vm,
                        argv=list(argv), envp=list(envp), os=os_words)
        try:
            block = info.pack()
        except BootInfoTooLarge as e:
            raise GuestError(str(e)) from None
        self.ram8[BOOTINFO_PA:BOOTINFO_PA + BOOTINFO_SIZE] = np.frombuffer(block, np.uint8)

    # ------------------------------------------------------------ MAGIC
    def magic_reset(self, page: int | None = None) -> None:
        """Zero MAGIC's miss counters (of one machine page, or all)."""
        if page is None:
            self.m.magic[:] = 0
        else:
            self.m.magic[page, :] = 0

    def magic_decay(self, shift: int = 1) -> None:
        """Age the counters: divide every count by 2**shift (a policy's periodic decay)."""
        np.right_shift(self.m.magic, shift, out=self.m.magic)

    def magic_top(self, n: int = 10) -> list[tuple[int, list[int]]]:
        """The n pages with the most misses: (page, misses per node)."""
        total = self.m.magic.sum(axis=1, dtype=np.int64)
        top = np.argsort(-total, kind="stable")[:n]
        return [(int(p), [int(x) for x in self.m.magic[p]]) for p in top if total[p] > 0]

    # ------------------------------------------------------------ running
    def _fire_events(self, upto: int) -> None:
        while self._events and self._events[0][0] <= upto:
            _, _, fn = heapq.heappop(self._events)
            fn()

    def _hot_pages(self) -> None:
        m = self.m
        # the events batched so far (P_HOTQ_PEND; P_HOTQ_N once the run loop has seen a batch)
        n = max(int(m.params[P_HOTQ_N]), int(m.params[P_HOTQ_PEND]))
        events = m.hotq[:n].copy()
        m.params[P_HOTQ_N] = 0
        m.params[P_HOTQ_PEND] = 0
        if n == 0:
            return
        rows = [(int(p), int(nd), int(k)) for p, nd, k in events.tolist()]
        self.hot_pages.extend(rows)
        self.magic.hot_batch(rows)
        self.supervisor.hot_pages(events)     # the whole batch at once (Disco decides it in one kernel)

    def run(self, max_insns: int | None = None, progress: Callable[[int], None] | None = None,
            run_fn: Callable[[Machine, int], int] = run_kernel) -> RunResult:
        """Run until the guest halts (POWER) or `max_insns` instructions have been executed.
        `run_fn` stands in for the run kernel (the trace's, flashvm/machine/trace.py)."""
        m = self.m
        t0 = time.perf_counter()
        status, reason = 0, "halted"
        exits: dict[str, int] = {}
        c = 0
        # Chunks end on a fixed grid of simulated time (multiples of chunk_cycles), whatever exits to
        # the host happened inside them: what runs at a chunk's end (the supervisor's between_chunks:
        # Disco's VCPU scheduler and NUMA policy, MAGIC's unfinished batch of hot pages) then happens
        # at the same simulated times however often the guest needed the host.  (A chunk counted from
        # the last exit moved them: a device access the kernels serve, devfast.py, changed a NUMA run.)
        chunk_end = -1
        chunk_insns = -1    # instructions when the current chunk began, if this run saw it begin
        try:
            while True:
                hook = chunk_hook.get()
                if hook is not None:
                    hook(self)
                done = int(m.cpu[:, INSNS].sum())
                if max_insns is not None and done >= max_insns:
                    raise RunStopped("limit", f"the guest ran {done:,} instructions without halting "
                                     f"(limit {max_insns:,}); raise --max-insns if that is expected")
                now = int(m.params[P_ROUND_START])
                if now >= chunk_end:
                    chunk = self.chunk_cycles
                    chunk_insns = done if now % chunk == 0 else -1
                    chunk_end = (now // chunk + 1) * chunk
                budget = chunk_end - now
                if self._events:
                    budget = max(1, min(budget, self._events[0][0] - now))
                why = run_fn(m, budget)
                exits[EXIT_NAMES[why]] = exits.get(EXIT_NAMES[why], 0) + 1
                c = int(m.exitrec[X_CPU])
                if why == EXIT_BUDGET or why == EXIT_WAIT:
                    now = int(m.params[P_ROUND_START])
                    if m.params[P_HOTQ_PEND]:
                        self._hot_pages()           # a batch not yet full: its events wait no longer than a chunk
                    if why == EXIT_WAIT and not self._events and not self.supervisor.all_waiting():
                        self._deadlock()
                    if why == EXIT_BUDGET and now >= chunk_end and chunk_insns >= 0:
                        self._check_stuck(chunk_insns)      # a whole chunk went by
                    self._fire_events(now)
                    self.supervisor.between_chunks()
                    if progress:
                        progress(int(m.cpu[:, INSNS].sum()))
                    continue
                self.current_cpu = c
                self._serving = True
                try:
                    if why == EXIT_MMIO_LOAD:
                        pa, size = int(m.exitrec[X_A0]), int(m.exitrec[X_A1])
                        d = self._device(pa)
                        self.charge_io(c)
                        m.cpu[c, MMIO_VALUE] = d.read(pa - d.base, size) & 0xFFFFFFFF
                        m.cpu[c, MMIO_PENDING] = 1
                    elif why == EXIT_MMIO_STORE:
                        pa, size, value = int(m.exitrec[X_A0]), int(m.exitrec[X_A1]), int(m.exitrec[X_A2])
                        d = self._device(pa)
                        self.charge_io(c)
                        d.write(pa - d.base, size, value)
                    elif why == EXIT_HOT_PAGE:
                        self._hot_pages()
                    elif why == EXIT_HALT:
                        reason = "all CPUs halted"
                        break
                    elif not self.supervisor.on_exit(why, c):
                        raise GuestError(f"unexpected exit {EXIT_NAMES[why]} from CPU {c}")
                finally:
                    self._serving = False
        except RunStopped as e:
            raise self._stopped(e, t0)
        except StopRun as e:
            raise self._stopped(RunStopped(e.ended, str(e)), t0) from None
        except KeyboardInterrupt as e:
            raise self._stopped(RunStopped("interrupted", "interrupted"), t0) from e
        except MachineHalted as h:
            status, reason = h.status, h.reason
            if h.status == -1:
                cause = int(m.cp0[c, CP0_Cause, 0])
                code = (cause >> 2) & 31
                raise GuestError(
                    f"unhandled {EXC_NAMES.get(code, code)} exception on CPU {c} at "
                    f"EPC={int(m.cp0[c, CP0_EPC, 0]):#010x} BadVAddr={int(m.cp0[c, CP0_BadVAddr, 0]):#010x} "
                    f"(Status={int(m.cp0[c, CP0_Status, 0]):#x}); the program installs no handler for it"
                ) from None
        finally:
            self.roi.close_all()
            self.flush()
        m.cpu[:, HALTED] = 1
        dt = time.perf_counter() - t0
        return RunResult(status=status, reason=reason, instructions=int(m.cpu[:, INSNS].sum()),
                         cycles=int(m.cpu[:, CYCLES].max()), host_seconds=dt, exits=exits,
                         hot_pages=list(self.hot_pages))

    def _stopped(self, e: RunStopped, t0: float) -> RunStopped:
        """`e` with the machine and the counts so far, for a caller to report."""
        m = self.m
        e.machine = self
        e.result = RunResult(status=-1, reason=e.ended, instructions=int(m.cpu[:, INSNS].sum()),
                             cycles=int(m.cpu[:, CYCLES].max()), host_seconds=time.perf_counter() - t0,
                             hot_pages=list(self.hot_pages), message=str(e))
        return e

    def charge_io(self, c: int) -> None:
        """A device-register access stalls CPU c for the config's io latency (P_IO_CYCLES): the
        kernels' own charge, so the accesses they serve themselves cost the same (devfast.py)."""
        charge_io_nb(self.m, c)

    def _deadlock(self) -> None:
        """Every CPU waits and no event is due: nothing can ever run again."""
        m = self.m
        raise RunStopped("deadlock", "every CPU waits for an interrupt that nothing can raise "
                         f"(CPU 0 at pc={int(m.cpu[0, PC]):#x})")

    def _check_stuck(self, insns_before: int) -> None:
        m = self.m
        if int(m.cpu[:, INSNS].sum()) == insns_before and not m.cpu[:, WAITING].any():
            c = int(m.params[P_CURCPU]) % self.cfg.ncpu
            if not self.supervisor.stuck(c):
                self._stuck(c)

    def _stuck(self, c: int) -> None:
        """No CPU retired an instruction in a whole chunk: CPU c loops taking exceptions."""
        m = self.m
        cause = int(m.cp0[c, CP0_Cause, 0])
        raise GuestError(
            f"CPU {c} is stuck taking {EXC_NAMES.get((cause >> 2) & 31, '?')} exceptions "
            f"at pc={int(m.cpu[c, PC]):#010x} (EPC={int(m.cp0[c, CP0_EPC, 0]):#010x}); "
            "its exception vector cannot run")

    def flush(self) -> None:
        """Make what devices hold reach their host files (disks)."""
        for d in self.devices:
            f = getattr(d, "flush", None)
            if callable(f):
                f()

    def close(self) -> None:
        for d in self.devices:
            f = getattr(d, "close", None)
            if callable(f):
                f()


__all__ = ["FlashMachine", "GuestError", "RunStopped", "StopRun", "STOPS", "RunResult", "build_state", "rom_image",
           "Smp", "Magic", "MODES"]
