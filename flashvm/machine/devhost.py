"""What a DMA device may ask of the machine it is plugged into.

The disk controller and the network interface never touch the machine
directly: they see a `DeviceHost`, which gives them

* the simulated clock (`now_ns`) and a deterministic event queue (`schedule`:
  callbacks run when simulated time reaches their time, ties broken by
  insertion order);
* level-triggered interrupt lines (`set_irq`: each device drives its own
  level per (cpu, line); the machine ORs the levels of every source);
* DMA (`dma_read` / `dma_write`) in the host's physical address space
  `[0, ram_bytes)`.

Devices check a request's buffer against `[0, ram_bytes)` before accepting it
and then move the whole buffer with ONE `dma_read`/`dma_write` call.  They never
index `ram8` themselves and never assume that the buffer is contiguous in
anything but the host's address space: a host that maps guest-physical pages
onto scattered machine pages (Disco's per-VM host, through its pmap) splits
the call page by page.  Such a host may refuse a transfer it cannot map by
raising `DmaError` before it has touched anything; the device then reports
its "DMA address" error.

`FakeHost` is a complete host for tests: a numpy RAM, an event list, and a
record of every interrupt transition.  Several `FakeHost`s can share one
`FakeClock` (one global simulated time and one event queue), which is how
NICs on different machines / VMs see each other.
"""
from __future__ import annotations

import heapq
from typing import Callable, Protocol, runtime_checkable

import numpy as np


class DmaError(Exception):
    """A host refuses a DMA transfer (an address it cannot map).  Raised before any byte moves."""


@runtime_checkable
class DeviceHost(Protocol):
    ram8: np.ndarray        # guest RAM bytes, physical 0 .. ram_bytes-1 (uint8); devices do not index it
    ram_bytes: int

    def now_ns(self) -> int:
        """Global simulated time in nanoseconds."""
        ...

    def schedule(self, at_ns: int, fn: Callable[[], None]) -> None:
        """Run `fn()` when simulated time reaches `at_ns` (order: by time, then by insertion)."""
        ...

    def set_irq(self, source: object, cpu: int, line: int, level: bool) -> None:
        """Drive `source`'s level on hardware line `line` (0..5) of CPU `cpu`; the machine ORs all sources."""
        ...

    def dma_write(self, pa: int, data: bytes) -> None:
        """Device -> memory at physical `pa` (the machine also drops LL reservations / cached lines there)."""
        ...

    def dma_read(self, pa: int, n: int) -> bytes:
        """Memory -> device: exactly `n` bytes from physical `pa`."""
        ...


def dma_range_ok(host: DeviceHost, pa: int, n: int) -> bool:
    """True when the buffer [pa, pa+n) lies entirely inside the host's RAM [0, ram_bytes)."""
    return 0 <= pa and n >= 0 and pa + n <= host.ram_bytes


class FakeClock:
    """One simulated clock and event queue, shareable by several FakeHosts."""

    def __init__(self, now_ns: int = 0):
        self.now = now_ns
        self._events: list[tuple[int, int, Callable[[], None]]] = []
        self._seq = 0

    def schedule(self, at_ns: int, fn: Callable[[], None]) -> None:
        # An event in the past runs at the next advance, at the current time.
        heapq.heappush(self._events, (max(int(at_ns), self.now), self._seq, fn))
        self._seq += 1

    def pending(self) -> int:
        return len(self._events)

    def next_time(self) -> int | None:
        return self._events[0][0] if self._events else None

    def advance(self, to_ns: int) -> int:
        """Run every event due at or before `to_ns` (time set to each event's time), then set time to `to_ns`.

        Returns the number of callbacks run.  Events scheduled by callbacks run too if due."""
        ran = 0
        while self._events and self._events[0][0] <= to_ns:
            at, _, fn = heapq.heappop(self._events)
            self.now = at
            fn()
            ran += 1
        self.now = max(self.now, int(to_ns))
        return ran

    def run_all(self, limit: int = 1_000_000) -> int:
        """Run events until none is left (at most `limit`); returns the number run."""
        ran = 0
        while self._events and ran < limit:
            ran += self.advance(self._events[0][0])
        return ran


class FakeHost:
    """A DeviceHost for tests: `ram_bytes` of zeroed RAM, an event queue, an interrupt log."""

    def __init__(self, ram_bytes: int = 1 << 20, clock: FakeClock | None = None, name: str = "host"):
        self.name = name
        self.ram_bytes = ram_bytes
        self.ram8 = np.zeros(ram_bytes, dtype=np.uint8)
        self.clock = clock if clock is not None else FakeClock()
        self.levels: dict[tuple[int, int], set[int]] = {}      # (cpu, line) -> ids of sources driving it high
        self.irq_log: list[tuple[int, str, int, int, bool]] = []  # (time, source name, cpu, line, level)
        self.dma_log: list[tuple[int, str, int, int]] = []       # (time, "r"/"w", pa, n)

    # -- DeviceHost
    def now_ns(self) -> int:
        return self.clock.now

    def schedule(self, at_ns: int, fn: Callable[[], None]) -> None:
        self.clock.schedule(at_ns, fn)

    def set_irq(self, source: object, cpu: int, line: int, level: bool) -> None:
        srcs = self.levels.setdefault((cpu, line), set())
        if level:
            srcs.add(id(source))
        else:
            srcs.discard(id(source))
        self.irq_log.append((self.clock.now, getattr(source, "name", "?"), cpu, line, bool(level)))

    def dma_write(self, pa: int, data: bytes) -> None:
        if not dma_range_ok(self, pa, len(data)):
            raise DmaError(f"dma_write {pa:#x}+{len(data)}")
        self.dma_log.append((self.clock.now, "w", pa, len(data)))
        self.ram8[pa: pa + len(data)] = np.frombuffer(bytes(data), dtype=np.uint8)

    def dma_read(self, pa: int, n: int) -> bytes:
        if not dma_range_ok(self, pa, n):
            raise DmaError(f"dma_read {pa:#x}+{n}")
        self.dma_log.append((self.clock.now, "r", pa, n))
        return self.ram8[pa: pa + n].tobytes()

    # -- test helpers
    def irq(self, cpu: int, line: int) -> bool:
        """The ORed level of (cpu, line)."""
        return bool(self.levels.get((cpu, line)))

    def advance(self, to_ns: int) -> int:
        return self.clock.advance(to_ns)

    def run_all(self) -> int:
        return self.clock.run_all()

    def poke(self, pa: int, data: bytes) -> None:
        self.ram8[pa: pa + len(data)] = np.frombuffer(bytes(data), dtype=np.uint8)

    def peek(self, pa: int, n: int) -> bytes:
        return self.ram8[pa: pa + n].tobytes()


class IrqPin:
    """One device's level on one hardware line, routed to a CPU that software may change (IRQ_CPU).

    Calls `host.set_irq` only on transitions; moving the CPU while the level is
    high lowers it on the old CPU and raises it on the new one."""

    def __init__(self, host: DeviceHost, source: object, line: int, cpu: int = 0):
        self.host = host
        self.source = source
        self.line = line
        self._cpu = cpu
        self._high_on: int | None = None       # the CPU on which the line is currently driven high

    @property
    def cpu(self) -> int:
        return self._cpu

    @cpu.setter
    def cpu(self, cpu: int) -> None:
        self._cpu = cpu
        if self._high_on is not None and self._high_on != cpu:
            self.host.set_irq(self.source, self._high_on, self.line, False)
            self._high_on = None
            self.drive(True)

    @property
    def level(self) -> bool:
        return self._high_on is not None

    def drive(self, level: bool) -> None:
        if level and self._high_on is None:
            self.host.set_irq(self.source, self._cpu, self.line, True)
            self._high_on = self._cpu
        elif not level and self._high_on is not None:
            self.host.set_irq(self.source, self._high_on, self.line, False)
            self._high_on = None


def word_access(offset: int, size: int) -> bool:
    """True for a well-formed register access: 32 bits at a 4-byte-aligned offset."""
    return size == 4 and offset & 3 == 0
