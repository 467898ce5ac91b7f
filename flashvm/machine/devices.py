"""Memory-mapped devices of the bare machine.

Each device is a small class with `read(offset, size)` and `write(offset,
size, value)` on its own register block (QEMU's MemoryRegionOps, Spike's
abstract_device_t).  Unknown offsets are guest errors, logged and counted,
never crashes.  Devices are slow-path objects: the JIT loop exits to Python
for every access, so they hold no state the kernels need.
"""
from __future__ import annotations

import sys
from typing import Callable, Protocol

from flashvm.machine.layout import DEV_BLOCK, UART_BASE   # the devices' addresses: the layout table

# UART registers
UART_TX = 0x0
UART_RX = 0x4
UART_STATUS = 0x8       # bit 0: a byte is ready to read; bit 1: TX ready (always)
UART_IRQ_ENABLE = 0xC   # bit 0: raise HW0 while a byte is ready
# POWER registers
POWER_HALT = 0x0        # write: stop the machine; the value is its exit status
POWER_PANIC = 0x4       # write: the boot ROM's fatal-exception handler reports Cause here
# TIMER registers
TIMER_NS_LO = 0x0
TIMER_NS_HI = 0x4


class ByteSink(Protocol):
    """Where a device's output bytes go: a binary file, or any object that takes
    bytes and can be flushed (the session's Tee, the guest OS's console demultiplexer)."""

    def write(self, b: bytes, /) -> int | None: ...

    def flush(self) -> None: ...


class MachineHalted(Exception):
    """Raised by the POWER device: the guest asked the machine to stop."""

    def __init__(self, status: int, reason: str = "halt"):
        super().__init__(f"{reason} (status {status})")
        self.status = status
        self.reason = reason


class Device:
    """A register block at `base` of `size` bytes."""
    name = "device"

    def __init__(self, base: int, size: int = DEV_BLOCK):
        self.base = base
        self.size = size
        self.guest_errors = 0

    def read(self, offset: int, size: int) -> int:
        self.guest_errors += 1
        return 0

    def write(self, offset: int, size: int, value: int) -> None:
        self.guest_errors += 1


class Uart(Device):
    """Console: bytes written to TX go to `out`; RX reads from `inp` (or -1)."""
    name = "uart"

    def __init__(self, base: int = UART_BASE, out: ByteSink | None = None, inp: bytes = b"",
                 irq: Callable[[bool], None] | None = None):
        super().__init__(base)
        self.out: ByteSink = out if out is not None else sys.stdout.buffer
        self.inp = bytearray(inp)
        self.written = bytearray()
        self.irq = irq              # drives interrupt line HW0 (None: not wired)
        self.irq_enable = 0

    def _update_irq(self) -> None:
        if self.irq is not None:
            self.irq(bool(self.irq_enable & 1 and self.inp))

    def feed(self, data: bytes) -> None:
        """Input bytes arrive on the console."""
        self.inp += data
        self._update_irq()

    def read(self, offset: int, size: int) -> int:
        if offset == UART_RX:
            v = self.inp.pop(0) if self.inp else 0xFFFFFFFF
            self._update_irq()
            return v
        if offset == UART_STATUS:
            return 2 | (1 if self.inp else 0)
        if offset == UART_IRQ_ENABLE:
            return self.irq_enable
        return super().read(offset, size)

    def write(self, offset: int, size: int, value: int) -> None:
        if offset == UART_TX:
            b = bytes([value & 0xFF])
            self.written += b
            self.out.write(b)
            return
        if offset == UART_IRQ_ENABLE:
            self.irq_enable = value & 1
            self._update_irq()
            return
        super().write(offset, size, value)


class Power(Device):
    """Halt register: the write ends the run with the written status."""
    name = "power"

    def write(self, offset: int, size: int, value: int) -> None:
        if offset == POWER_HALT:
            raise MachineHalted(value & 0xFFFFFFFF if value < 0x80000000 else value - (1 << 32))
        if offset == POWER_PANIC:
            raise MachineHalted(-1, f"unhandled exception, Cause={value:#010x}")
        super().write(offset, size, value)


class Timer(Device):
    """Simulated wall clock in nanoseconds, from a callback giving cycles."""
    name = "timer"

    def __init__(self, base: int, cycles: Callable[[], int], ns_per_cycle: float):
        super().__init__(base)
        self.cycles = cycles
        self.ns_per_cycle = ns_per_cycle

    def read(self, offset: int, size: int) -> int:
        ns = int(self.cycles() * self.ns_per_cycle)
        if offset == TIMER_NS_LO:
            return ns & 0xFFFFFFFF
        if offset == TIMER_NS_HI:
            return (ns >> 32) & 0xFFFFFFFF
        return super().read(offset, size)
