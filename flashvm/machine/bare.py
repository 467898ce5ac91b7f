"""The bare machine: CPUs, RAM at physical 0, a boot ROM and three devices.

Wiring (one place, as QEMU's malta.c does it):

    0x00000000  RAM (64 MB by default)
    0x1F000000  UART      (kseg1 0xBF000000)
    0x1F000100  POWER     (kseg1 0xBF000100)
    0x1F000200  TIMER     (kseg1 0xBF000200)
    0x1FC00000  boot ROM  (kseg1 0xBFC00000, the reset vector)

At reset every CPU starts at 0xBFC00000 in kernel mode with BEV=ERL=1.  The
ROM jumps to the loaded program's entry point; its BEV exception vectors
report an unexpected exception through POWER and so stop the machine with a
message naming the cause.  This is the seed of the FLASH machine.
"""
from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import BinaryIO, Callable

import numpy as np

from flashvm.elf import ElfImage
from flashvm.kernels.cp0 import reset_cpu
from flashvm.kernels.run import run
from flashvm.kernels.state import (
    CP0_BadVAddr, CP0_Cause, CP0_EPC, CP0_Status, CYCLES, EXIT_BUDGET, EXIT_HALT, EXIT_MMIO_LOAD,
    EXIT_MMIO_STORE, EXIT_WAIT, HALTED, INSNS, P_CURCPU, P_RAM_SIZE, P_ROM_HOST, WAITING, IO_BASE, IO_DEV, IO_SIZE, MMIO_PENDING, MMIO_VALUE, P_NIO,
    PC, ROM_PA, X_A0, X_A1, X_A2, X_CPU, X_REASON, Machine, new_machine, EXC_NAMES,
)
from flashvm.machine.devices import (
    POWER_BASE, POWER_PANIC, TIMER_BASE, UART_BASE, Device, MachineHalted, Power, Timer, Uart,
)

ROM_SIZE = 64 << 10
KSEG1 = 0xA0000000


class GuestError(RuntimeError):
    """The guest did something the machine cannot continue from."""


def _lui(rt: int, imm: int) -> int:
    return (0x0F << 26) | (rt << 16) | (imm & 0xFFFF)


def _ori(rt: int, rs: int, imm: int) -> int:
    return (0x0D << 26) | (rs << 21) | (rt << 16) | (imm & 0xFFFF)


def _jr(rs: int) -> int:
    return (rs << 21) | 0x08


def _mfc0(rt: int, rd: int) -> int:
    return (0x10 << 26) | (rt << 16) | (rd << 11)


def _sw(rt: int, base: int, off: int) -> int:
    return (0x2B << 26) | (base << 21) | (rt << 16) | (off & 0xFFFF)


def rom_image(entry: int) -> np.ndarray:
    """Boot ROM words: the reset stub and the BEV exception vectors."""
    rom = np.zeros(ROM_SIZE // 4, np.uint32)
    k0, k1, t9 = 26, 27, 25
    rom[0:4] = [_lui(t9, entry >> 16), _ori(t9, t9, entry), _jr(t9), 0]
    panic = (KSEG1 | POWER_BASE) + POWER_PANIC
    handler = [_mfc0(k1, 13), _lui(k0, panic >> 16), _ori(k0, k0, panic), _sw(k1, k0, 0), 0x1000FFFF, 0]
    for vec in (0x200, 0x380, 0x400):
        rom[vec // 4: vec // 4 + len(handler)] = handler
    return rom


@dataclass
class RunResult:
    """What a run of the bare machine produced."""
    status: int
    reason: str
    instructions: int
    cycles: int
    host_seconds: float
    exits: dict = field(default_factory=dict)

    @property
    def mips(self) -> float:
        return self.instructions / self.host_seconds / 1e6 if self.host_seconds else 0.0


class BareMachine:
    """CPUs + RAM + ROM + UART/POWER/TIMER, running freestanding programs."""

    def __init__(self, ncpu: int = 1, ram_bytes: int = 64 << 20, *, ntlb: int = 64,
                 out: BinaryIO | None = None, clock_mhz: float = 200.0, quantum: int = 10_000):
        self.m: Machine = new_machine(ncpu, ram_bytes, ntlb, quantum=quantum, rom_bytes=ROM_SIZE)
        for c in range(ncpu):
            reset_cpu(self.m, c)
        self.clock_mhz = clock_mhz
        self.uart = Uart(UART_BASE, out=out)
        self.devices: list[Device] = [
            self.uart,
            Power(POWER_BASE),
            Timer(TIMER_BASE, lambda: int(self.m.cpu[:, CYCLES].max()), 1000.0 / clock_mhz),
        ]
        for i, d in enumerate(self.devices):
            self.m.iomap[i, IO_BASE] = d.base
            self.m.iomap[i, IO_SIZE] = d.size
            self.m.iomap[i, IO_DEV] = i
        self.m.params[P_NIO] = len(self.devices)
        self.image: ElfImage | None = None

    # ---------------------------------------------------------------- loading
    def load(self, image: ElfImage) -> None:
        """Copy the program's segments into RAM (kseg0/kseg1 addresses) and aim the ROM at its entry."""
        ram = self.m.params[P_RAM_SIZE]
        for seg in image.segments:
            if not 0x80000000 <= seg.vaddr < 0xC0000000:
                raise GuestError(f"{image.path}: segment at {seg.vaddr:#x} is not in kseg0/kseg1; "
                                 "link bare programs with flashvm's link.ld")
            pa = seg.vaddr & 0x1FFFFFFF
            if pa + seg.memsz > ram:
                raise GuestError(f"{image.path}: segment {pa:#x}+{seg.memsz:#x} does not fit in "
                                 f"{ram >> 20} MB of RAM; use a bigger --ram")
            self.m.ram8[pa: pa + seg.filesz] = np.frombuffer(seg.data, np.uint8)
            self.m.ram8[pa + seg.filesz: pa + seg.memsz] = 0
        rom = rom_image(image.entry)
        host = int(self.m.params[P_ROM_HOST])
        self.m.ram32[host // 4: host // 4 + len(rom)] = rom
        self.image = image

    # ---------------------------------------------------------------- running
    def _device(self, pa: int) -> Device:
        for d in self.devices:
            if d.base <= pa < d.base + d.size:
                return d
        raise AssertionError(f"no device at {pa:#x}")  # the kernel only exits for mapped ranges

    def run(self, max_insns: int | None = None, chunk: int = 50_000_000,
            progress: Callable[[int], None] | None = None) -> RunResult:
        """Run until the guest halts (POWER), or `max_insns` are executed."""
        m = self.m
        t0 = time.perf_counter()
        status, reason = 0, "budget"
        exits: dict[str, int] = {}
        try:
            while True:
                done = int(m.cpu[:, INSNS].sum())
                if max_insns is not None and done >= max_insns:
                    raise GuestError(f"the guest ran {done} instructions without halting "
                                     f"(limit {max_insns}); raise --max-insns if that is expected")
                budget = chunk if max_insns is None else min(chunk, max_insns - done)
                why = run(m, max(budget, 1))
                if why == EXIT_BUDGET and int(m.cpu[:, INSNS].sum()) == done and not m.cpu[:, WAITING].any():
                    c = int(m.params[P_CURCPU])
                    cause = int(m.cp0[c, CP0_Cause, 0])
                    raise GuestError(
                        f"CPU {c} is stuck taking {EXC_NAMES.get((cause >> 2) & 31, '?')} exceptions "
                        f"at pc={int(m.cpu[c, PC]):#010x} (EPC={int(m.cp0[c, CP0_EPC, 0]):#010x}); "
                        "its exception vector cannot run")
                if why == EXIT_BUDGET:
                    if progress:
                        progress(int(m.cpu[:, INSNS].sum()))
                    continue
                x = m.exitrec
                c = int(x[X_CPU])
                if why == EXIT_MMIO_LOAD:
                    pa, size = int(x[X_A0]), int(x[X_A1])
                    d = self._device(pa)
                    m.cpu[c, MMIO_VALUE] = d.read(pa - d.base, size) & 0xFFFFFFFF
                    m.cpu[c, MMIO_PENDING] = 1
                elif why == EXIT_MMIO_STORE:
                    pa, size, value = int(x[X_A0]), int(x[X_A1]), int(x[X_A2])
                    d = self._device(pa)
                    d.write(pa - d.base, size, value)
                elif why == EXIT_WAIT:
                    raise GuestError("every CPU waits for an interrupt that nothing can raise "
                                     f"(pc={int(m.cpu[0, PC]):#x})")
                elif why == EXIT_HALT:
                    reason = "halted"
                    break
                else:
                    raise GuestError(f"unexpected exit {why} from CPU {c}")
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
        m.cpu[:, HALTED] = 1
        dt = time.perf_counter() - t0
        return RunResult(status=status, reason=reason, instructions=int(m.cpu[:, INSNS].sum()),
                         cycles=int(m.cpu[:, CYCLES].max()), host_seconds=dt, exits=exits)
