"""How a run ends before its guest halts: the default limits, the watch that
enforces the host-time limit and spots a guest OS that no longer makes progress,
and the words that say what each CPU was doing (docs/results.md, "How a run ended").

    halted       the guest halted (its status is the program's)
    limit        --max-insns (default DEFAULT_MAX_INSNS) or --timeout / run.timeout_s
    deadlock     every CPU waits with nothing pending, or (guest OS, Disco) no CPU ran a
                 user-mode instruction for STALL_SECONDS of simulated time
    interrupted  SIGINT or SIGTERM
"""
from __future__ import annotations

import dataclasses
import signal
import time
from typing import Sequence

from flashvm.elf import SymbolTable
from flashvm.kernels.state import CP0_Status, CYCLES, PC, S_CYC_BASE, WAITING, Machine
from flashvm.machine.flash import StopRun
from flashvm.machine.trace import RunFn
from flashvm.process.abi import SIGNAL_NAMES
from flashvm.spec import RunSpec

DEFAULT_MAX_INSNS = 10_000_000_000   # every run stops here unless told otherwise (minutes of host time)
STALL_SECONDS = 5.0                  # guest OS: simulated seconds without a user-mode instruction
CHECK_EVERY_S = 0.2                  # host seconds between two looks at the machine
MODE_NAMES = ("kernel", "supervisor", "user")


def with_default_limit(spec: RunSpec) -> RunSpec:
    """`spec` with DEFAULT_MAX_INSNS when it names no instruction limit."""
    return spec if spec.max_insns is not None else dataclasses.replace(spec, max_insns=DEFAULT_MAX_INSNS)


def signal_name(signum: int) -> str:
    """"SIGSEGV" for a MIPS Linux signal number (the guest's numbering)."""
    return SIGNAL_NAMES.get(signum, f"signal {signum}")


def host_signal_name(signum: int) -> str:
    """"SIGTERM" for a signal of the host flashvm runs on."""
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def _mode(status: int) -> int:
    """0 kernel, 1 supervisor, 2 user: KSU, or kernel while EXL or ERL is set."""
    return 0 if status & 6 else (status >> 3) & 3


def cpu_states(m: Machine, symbols: Sequence[SymbolTable] = ()) -> str:
    """What each CPU is doing, by symbol: "CPU 0 waits in idle (kernel mode); CPU 1 at
    spin_lock+0x14 (kernel mode)".  `symbols`: the tables to name PCs by, first hit wins."""
    parts = []
    for c in range(m.cpu.shape[0]):
        pc = int(m.cpu[c, PC]) & 0xFFFFFFFF
        where = next((t.symbolize(pc) for t in symbols if t.lookup(pc) is not None), f"pc={pc:#010x}")
        what = "waits in" if m.cpu[c, WAITING] else "at"
        parts.append(f"CPU {c} {what} {where} ({MODE_NAMES[_mode(int(m.cp0[c, CP0_Status, 0]))]} mode)")
    return "; ".join(parts)


class Watch:
    """A run_fn around `run_fn` that ends the run (StopRun) when the host-time
    limit `timeout_s` is over or, with `stall_cycles`, when no CPU has run a
    user-mode instruction for that many simulated cycles.  It looks only every
    CHECK_EVERY_S host seconds, so the hot loop pays one clock read per call."""

    def __init__(self, run_fn: RunFn, *, timeout_s: float | None = None, stall_cycles: int | None = None,
                 symbols: Sequence[SymbolTable] = ()) -> None:
        self.run_fn = run_fn
        self.timeout_s = timeout_s
        self.stall_cycles = stall_cycles
        self.symbols = symbols
        self.start()

    def start(self) -> None:
        """Start the clock (after any compiling, which the limit does not count)."""
        self.t0 = time.perf_counter()
        self.next_look = self.t0 + CHECK_EVERY_S
        self.user = -1
        self.user_since = 0

    def __call__(self, m: Machine, budget: int) -> int:
        reason = self.run_fn(m, budget)
        now = time.perf_counter()
        if now >= self.next_look:
            self.next_look = now + CHECK_EVERY_S
            self._look(m, now)
        return reason

    def _look(self, m: Machine, now: float) -> None:
        if self.timeout_s is not None and now - self.t0 > self.timeout_s:
            raise StopRun("limit", f"the run took more than {self.timeout_s:g} s of host time "
                                   "(--timeout or run.timeout_s); raise it if that is expected")
        if self.stall_cycles is None:
            return
        user = int(m.stats[:, S_CYC_BASE + 2].sum())
        cycles = int(m.cpu[:, CYCLES].max())
        if user != self.user:
            self.user, self.user_since = user, cycles
        elif cycles - self.user_since > self.stall_cycles:
            raise StopRun("deadlock", f"no CPU ran a user-mode instruction for {STALL_SECONDS:g} simulated "
                                      f"seconds: {cpu_states(m, self.symbols)}")
