"""Kernel services: cycles, instructions, TLB misses and cache misses spent in
each of the guest kernel's services, and under Disco the monitor's work on
their behalf.

The guest kernel marks its services on the SVC device (flashvm/machine/layout.py:
SVC_ENTER with a service number at a system call's or page fault's entry,
SVC_TAG when a page fault turns out to be a demand-zero or file/copy fault,
SVC_EXIT when it returns), when init's environment holds FLASH_SERVICES=1.
Each marker charges the counters of the CPU that wrote it, since its previous
marker, to the service it was in ("outside" between services): only kernel
(and, under Disco, monitor) cycles count, so a process that blocks in a
service and lets another run user code does not charge that code to it, and
idle time is never charged.  The fast TLB refill (UTLB_MISS) runs in the refill
vector, which has no free register for a marker: its calls are the refill
exceptions taken, and its time is part of "outside" (with the kernel's entry
and exit paths and interrupts).

Under Disco the monitor's cycles in a service are split as the paper's Table 2
does, in proportion to the monitor's events and their costs: TLB-write
emulation, other privileged instructions, monitor calls and page faults (exits
to the monitor's Python half, HAL calls, and the pages those calls zero),
kernel TLB faults (second-level TLB refills).  The monitor's event counters
in each service are kept too (`events`, as /disco's).  When a run has regions
of interest, only their time counts.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from flashvm.kernels import state as S
from flashvm.kernels.pagecopy import zero_loop_cycles
from flashvm.machine.devices import Device
from flashvm.machine.layout import (SVC_BASE, SVC_DEMAND_ZERO, SVC_ENTER, SVC_EXECVE, SVC_EXIT, SVC_OPEN,
                                    SVC_OTHER_FAULT, SVC_OTHER_SYSCALL, SVC_QUICK_FAULT, SVC_READ, SVC_SIZE,
                                    SVC_TAG, SVC_TASK, SVC_WRITE)

NAMES = ["demand_zero", "quick_fault", "other_fault", "open", "read", "write", "execve", "other_syscall",
         "utlb_miss", "outside"]
_NUMBERS = {SVC_DEMAND_ZERO: 0, SVC_QUICK_FAULT: 1, SVC_OTHER_FAULT: 2, SVC_OPEN: 3, SVC_READ: 4, SVC_WRITE: 5,
            SVC_EXECVE: 6, SVC_OTHER_SYSCALL: 7}
UTLB, OUTSIDE = NAMES.index("utlb_miss"), NAMES.index("outside")
FAULTS = {0, 1, 2}          # the page fault kinds: a fault's exit marker matches any of them
COUNTERS = ["calls", "cycles", "kernel_cycles", "instructions", "tlb_misses", "cache_misses"]
MONITOR_PARTS = ["tlb_write_emulation", "other_privileged", "monitor_calls_page_faults", "kernel_tlb_faults"]


class Services:
    """The per-service totals of one run (all CPUs together) and each CPU's open service."""

    def __init__(self, machine: Callable[[], S.Machine], vcpu_of: Callable[[int], int] | None = None):
        self.machine = machine
        self.vcpu_of = vcpu_of          # Disco: the VCPU a CPU runs (-1: none)
        self.gate: Callable[[], bool] = lambda: True    # False outside the regions of interest (when there are some)
        self._regions = False
        self.seen = False               # any marker arrived
        self.stacks: dict[int, list[int]] = {}     # per task: the services it is in, innermost last
        self.task: dict[int, int] = {}             # per CPU: the task it runs (the kernel's address; 0: none)
        self.reset()

    def reset(self) -> None:
        """Zero the totals (the services open now stay open; they count from here on)."""
        n = len(NAMES)
        self.totals = np.zeros((n, len(COUNTERS)), dtype=np.int64)
        self.monitor = np.zeros((n, len(MONITOR_PARTS)), dtype=np.int64)
        self.events = np.zeros((n, S.NDSTATS), dtype=np.int64)     # Disco: the monitor's events (DS_*)
        self.marks: dict[int, tuple[np.ndarray, np.ndarray | None]] = {}

    # ---------------------------------------------------------------- markers
    def _snapshot(self, cpu: int) -> tuple[np.ndarray, np.ndarray | None]:
        m = self.machine()
        v = self.vcpu_of(cpu) if self.vcpu_of else -1
        return m.stats[cpu].copy(), (m.dstats[v].copy() if v >= 0 else None)

    def _charge(self, cpu: int) -> None:
        """Charge CPU `cpu`'s counters since its last marker to the service it is in."""
        now = self._snapshot(cpu)
        before = self.marks.get(cpu)
        self.marks[cpu] = now
        if before is None or not self.gate():
            return
        d = now[0] - before[0]
        stack = self.stacks.get(self.task.get(cpu, 0))
        k = stack[-1] if stack else OUTSIDE
        monitor_mode = self.vcpu_of is not None
        kernel = int(d[S.S_CYC_BASE + 1] if monitor_mode else d[S.S_CYC_BASE] + d[S.S_CYC_BASE + 1])
        mon = int(d[S.S_CYC_BASE]) if monitor_mode else 0
        row = self.totals[k]
        row[1] += kernel + mon
        row[2] += kernel
        if k != OUTSIDE:         # outside a service the CPU also runs user code: only its kernel cycles count
            row[3] += int(d[S.S_INSNS])
            row[4] += int(d[S.S_TLB_REFILL])
            row[5] += int(d[S.S_L2_MISS])
        self.totals[UTLB, 0] += int(d[S.S_TLB_REFILL]) if not monitor_mode else 0
        if monitor_mode and now[1] is not None and before[1] is not None:
            dd = now[1] - before[1]
            self.totals[k, 4] += int(dd[S.DS_L2TLB_HIT] + dd[S.DS_REFLECTED]) if k != OUTSIDE else 0
            self.totals[UTLB, 0] += int(dd[S.DS_L2TLB_HIT]) if k == OUTSIDE else 0
            self.monitor[k] += self._split(dd, mon)
            self.events[k] += dd

    def _split(self, dd: np.ndarray, cycles: int) -> np.ndarray:
        """`cycles` of monitor time split in proportion to the events' costs (MONITOR_PARTS)."""
        p = self.machine().params
        trap, emul, refill = int(p[S.P_MON_TRAP]), int(p[S.P_MON_EMUL]), int(p[S.P_MON_REFILL])
        writes = int(dd[S.DS_TLBWRITE])
        # a monitor call that zeroes a page weighs its zeroing too: weighed by its trap alone, the
        # zeroing (most of the monitor's time in execve, say) was spread over the other parts
        # (the monitor's zeroing code before its cache misses: pagecopy.zero_loop_cycles)
        zero = int(zero_loop_cycles(int(p[S.P_LSHIFT])))
        calls = int(dd[S.DS_HOST] + dd[S.DS_MCALL]) * trap + int(dd[S.DS_ZERO_PAGES]) * zero
        weights = np.array([writes * (trap + emul), max(0, int(dd[S.DS_EMULATED]) - writes) * (trap + emul),
                            calls, int(dd[S.DS_L2TLB_HIT]) * refill], dtype=np.float64)
        if cycles <= 0 or weights.sum() == 0:
            return np.zeros(len(MONITOR_PARTS), dtype=np.int64)
        parts = np.floor(weights / weights.sum() * cycles).astype(np.int64)
        parts[int(np.argmax(weights))] += cycles - int(parts.sum())     # the rounding goes to the largest
        return parts

    def enter(self, cpu: int, number: int) -> None:
        """CPU `cpu` enters a service (a page fault inside a system call nests in it)."""
        self.seen = True
        self._charge(cpu)
        k = _NUMBERS.get(number)
        if k is not None:
            self.stacks.setdefault(self.task.get(cpu, 0), []).append(k)
            if self.gate():
                self.totals[k, 0] += 1

    def tag(self, cpu: int, number: int) -> None:
        """The service CPU `cpu` is in turns out to be `number` (all it did since its entry is that one's)."""
        k, stack = _NUMBERS.get(number), self.stacks.get(self.task.get(cpu, 0))
        if k is None or not stack or stack[-1] == k or stack[-1] not in FAULTS:
            return                   # a system call's own call of vm_fault stays the system call's
        old, stack[-1] = stack[-1], k
        if self.gate():
            self.totals[old, 0] -= 1
            self.totals[k, 0] += 1

    def exit(self, cpu: int, number: int) -> None:
        """CPU `cpu` leaves its innermost service of the kind `number` names (any page fault
        for a fault's number): another task's service left open when it blocked stays below."""
        self._charge(cpu)
        stack = self.stacks.get(self.task.get(cpu, 0))
        k = _NUMBERS.get(number)
        if not stack or k is None:
            return
        kinds = FAULTS if k in FAULTS else {k}
        for i in range(len(stack) - 1, -1, -1):
            if stack[i] in kinds:
                del stack[i]
                return

    def switch(self, cpu: int, task: int) -> None:
        """CPU `cpu` now runs `task` (0: the scheduler): what it did so far was the old task's."""
        self._charge(cpu)
        self.task[cpu] = task

    # ---------------------------------------------------------------- regions of interest
    def region_began(self, name: str) -> None:
        """The first region of interest begins: count from now on, only inside regions."""
        if not self._regions:
            self._regions = True
            self.reset()

    def table(self) -> dict[str, np.ndarray] | None:
        """The results (/services in the HDF5 file); None when the guest wrote no marker."""
        if not self.seen:
            return None
        out = {"counters": self.totals.copy(), "monitor": self.monitor.copy()}
        if self.vcpu_of is not None:
            out["events"] = self.events.copy()
        return out


class ServiceDevice(Device):
    """The SVC register block (layout.py): markers from the CPU the machine is serving."""
    name = "svc"

    def __init__(self, services: Services, current_cpu: Callable[[], int], space: int = 0, base: int = SVC_BASE):
        super().__init__(base, SVC_SIZE)
        self.services = services
        self.current_cpu = current_cpu
        self.space = space << 32        # Disco: the VM's index, so two VMs' task addresses stay apart

    def read(self, offset: int, size: int) -> int:
        return 0

    def write(self, offset: int, size: int, value: int) -> None:
        cpu = self.current_cpu()
        if offset == SVC_ENTER:
            self.services.enter(cpu, value)
        elif offset == SVC_TAG:
            self.services.tag(cpu, value)
        elif offset == SVC_EXIT:
            self.services.exit(cpu, value)
        elif offset == SVC_TASK:
            self.services.switch(cpu, self.space | value if value else 0)
        else:
            super().write(offset, size, value)


def services_table(group, title: str):
    """A rich Table of a result file's /services group (flashvm report --services)."""
    from rich.table import Table
    names = [str(n) for n in group.attrs["names"]]
    counters = np.asarray(group["counters"][...])
    cols = [str(c) for c in group["counters"].attrs["names"]]
    monitor = np.asarray(group["monitor"][...]) if "monitor" in group else None
    mhz = float(group.attrs.get("clock_mhz", 400.0))
    kernel_total = max(1, int(counters[:, cols.index("cycles")].sum()))
    t = Table("service", "calls", "% of kernel time", "avg µs", "instructions", "TLB misses", "cache misses",
              *(["monitor: " + p.replace("_", " ") for p in MONITOR_PARTS] if monitor is not None and monitor.any() else []),
              title=title, title_justify="left")
    for i, name in enumerate(names):
        row = dict(zip(cols, (int(x) for x in counters[i])))
        avg = f"{row['cycles'] / row['calls'] / mhz:.2f}" if row["calls"] and name not in ("utlb_miss", "outside") else ""
        cells = [name, f"{row['calls']:,}", f"{100 * row['cycles'] / kernel_total:.1f}", avg, f"{row['instructions']:,}",
                 f"{row['tlb_misses']:,}", f"{row['cache_misses']:,}"]
        if monitor is not None and monitor.any():
            cells += [f"{int(x):,}" for x in monitor[i]]
        t.add_row(*cells)
    return t
