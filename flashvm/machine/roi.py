"""Regions of interest: the counters of the parts of a run the guest marks.

The guest marks a region with the ROI device (flashvm/machine/layout.py:
ROI_NAME bytes then a ROI_CMD command), from C through
flashvm/guest/include/roi.h; user programs under the guest OS and in process
mode make the roi system call (SYS_ROI) instead.  At `begin` the machine's
counter arrays are copied; at `end` the differences are added to the
region's totals, so a region entered several times sums its visits.

`Regions` keeps them and tells listeners (fast-forward, checkpoints) when a
region begins.  Counters are the whole machine's: a region measures every
CPU (and, under Disco, every VM) while it is open.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from flashvm.kernels.state import CYCLES, NEXIT, X_A3, Machine
from flashvm.machine.devices import Device
from flashvm.machine.layout import ROI_BASE, ROI_BEGIN, ROI_CMD, ROI_END, ROI_MARK, ROI_NAME, ROI_SIZE

# Two slots of the exit record the kernels never write (they use X_REASON..X_A3): regions
# begun so far and regions open now, for run functions that only see the state arrays
# (fast-forward, sampling).  Not in params: every params slot belongs to the kernels
# (an earlier version used the slot that is now P_HOTQ_BATCH).
X_ROI_BEGUN = NEXIT - 1
X_ROI_OPEN = NEXIT - 2
assert X_ROI_OPEN > X_A3
DEFAULT_NAME = "roi"
MAX_NAME = 64


@dataclass
class Snapshot:
    """Copies of the counter arrays at one instant."""
    stats: np.ndarray        # int64[ncpu, NSTATS]
    cycles: np.ndarray       # int64[ncpu]   each CPU's clock
    node_stats: np.ndarray   # int64[nnodes, NNODE_STATS]
    dstats: np.ndarray       # int64[nvcpu, NDSTATS]

    @classmethod
    def of(cls, m: Machine) -> "Snapshot":
        return cls(m.stats.copy(), m.cpu[:, CYCLES].copy(), m.node_stats.copy(), m.dstats.copy())

    def minus(self, other: "Snapshot") -> "Snapshot":
        return Snapshot(self.stats - other.stats, self.cycles - other.cycles,
                        self.node_stats - other.node_stats, self.dstats - other.dstats)

    def plus(self, other: "Snapshot") -> "Snapshot":
        return Snapshot(self.stats + other.stats, self.cycles + other.cycles,
                        self.node_stats + other.node_stats, self.dstats + other.dstats)


@dataclass
class Region:
    """One named region: how often it was entered and the counters spent inside it."""
    name: str
    visits: int = 0
    counters: Snapshot | None = None
    open_at: Snapshot | None = None
    samples: Any = None      # flashvm.machine.roisamples.RoiSamples when the region was sampled (--sample-period)


@dataclass
class Regions:
    """The regions of one run, in the order they first began."""
    machine: Callable[[], Machine]
    regions: dict[str, Region] = field(default_factory=dict)
    stack: list[str] = field(default_factory=list)     # open regions, last begun last
    on_begin: list[Callable[[str], None]] = field(default_factory=list)

    def begin(self, name: str = DEFAULT_NAME) -> None:
        r = self.regions.setdefault(name, Region(name))
        if r.open_at is not None:
            return                       # already open: a second begin changes nothing
        m = self.machine()
        r.open_at = Snapshot.of(m)
        m.exitrec[X_ROI_BEGUN] += 1
        self.stack.append(name)
        m.exitrec[X_ROI_OPEN] = len(self.stack)
        for fn in list(self.on_begin):
            fn(name)

    def end(self, name: str = "", prefix: str = "") -> None:
        """End region `name` (none: the last begun whose name starts with `prefix`)."""
        if not name:
            mine = [n for n in self.stack if n.startswith(prefix)]
            if not mine:
                return
            name = mine[-1]
        r = self.regions.get(name)
        if r is None or r.open_at is None:
            return                       # an end without its begin is ignored
        m = self.machine()
        spent = Snapshot.of(m).minus(r.open_at)
        r.counters = spent if r.counters is None else r.counters.plus(spent)
        r.visits += 1
        r.open_at = None
        self.stack.remove(name)
        m.exitrec[X_ROI_OPEN] = len(self.stack)

    def mark(self, name: str = DEFAULT_NAME, prefix: str = "") -> None:
        self.end(prefix=prefix)
        self.begin(name)

    def restart(self, name: str) -> None:
        """Region `name` (open) starts again from now: what it counted so far is dropped
        (fast-forward: the region is measured from the switch to timing mode)."""
        r = self.regions.get(name)
        if r is not None and r.open_at is not None:
            r.open_at = Snapshot.of(self.machine())

    def command(self, cmd: int, name: str, prefix: str = "") -> bool:
        """Do ROI_BEGIN/ROI_END/ROI_MARK for `name` ("": the default), every name
        prefixed with `prefix` (Disco: "vm0."); False for an unknown command."""
        full = prefix + (name or DEFAULT_NAME)
        if cmd == ROI_BEGIN:
            self.begin(full)
        elif cmd == ROI_END:
            self.end(prefix + name if name else "", prefix)
        elif cmd == ROI_MARK:
            self.mark(full, prefix)
        else:
            return False
        return True

    def close_all(self) -> None:
        """The run is over: regions still open end now."""
        while self.stack:
            self.end(self.stack[-1])

    def finished(self) -> list[Region]:
        return [r for r in self.regions.values() if r.counters is not None]


def regions_begun(m: Machine) -> int:
    """How many times a region of interest has begun in this run (0: none yet)."""
    return int(m.exitrec[X_ROI_BEGUN])


def regions_open(m: Machine) -> int:
    """How many regions of interest are open now."""
    return int(m.exitrec[X_ROI_OPEN])


def clean_name(raw: bytes) -> str:
    """A region name as the results file can use it (a plain HDF5 group name)."""
    text = raw[:MAX_NAME].decode("latin-1")
    return "".join(ch if ch.isalnum() or ch in "-_.:" else "_" for ch in text)


class RoiDevice(Device):
    """The ROI register block: bytes of a name, then a command (layout.py)."""
    name = "roi"

    def __init__(self, regions: Regions, prefix: str = "", base: int = ROI_BASE):
        super().__init__(base, ROI_SIZE)
        self.regions = regions
        self.prefix = prefix             # Disco: "vm0.", so each VM's regions stay apart
        self.pending = bytearray()

    def read(self, offset: int, size: int) -> int:
        return 0

    def write(self, offset: int, size: int, value: int) -> None:
        if offset == ROI_NAME:
            if len(self.pending) < MAX_NAME:
                self.pending.append(value & 0xFF)
        elif offset == ROI_CMD:
            name = clean_name(bytes(self.pending))
            self.pending.clear()
            if not self.regions.command(value, name, self.prefix):
                self.guest_errors += 1
        else:
            super().write(offset, size, value)
