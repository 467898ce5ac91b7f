"""Periodic (systematic) sampling of the region of interest: --fast-forward roi
--sample-period P --roi-instructions N [--warmup W], or --sample (`sample_defaults`: P, W
and N per CPU, measured on raytrace, docs/checkpoints.md "--sample").

Everything before the region runs in functional mode.  Inside it, counted in
instructions of the region (all CPUs together, over all its visits), every period
[kP, (k+1)P) runs

    functional  up to kP + P - W - N
    timing      W instructions, not measured (the caches and directory warm up)
    timing      N instructions, measured: one sample

and outside the region the machine runs functional again.  Every switch of mode,
and every sample's begin and end, happens at the end of a round (the budget is cut
to it), so on every CPU at the same global time, and depends on nothing but the
machine's state: the same configuration samples the same instructions.  A sample
the region's end cuts short ends there.  The region sampled is the first the guest
begins (by name, over all its visits; others are not sampled); its row gets the
samples and the estimates of the whole region (flashvm/machine/roisamples.py).

Functional mode does not touch the caches or the directory: after a functional
stretch they hold what the last timing stretch left (consistent with each other,
stale against the program), which the W instructions of warm-up refresh.
"""
from __future__ import annotations

from flashvm.kernels.state import (
    EXIT_BUDGET, INSNS, LLBIT, P_NLINES, P_QUANTUM, P_ROUND_END, P_ROUND_START, P_TIMING, S_INSNS, Machine,
)
from flashvm.machine.roi import Region, Regions, Snapshot, regions_open
from flashvm.machine.roisamples import RoiSamples
from flashvm.machine.trace import RunFn

FUNCTIONAL, WARMING, MEASURING = "functional", "warming", "measuring"
# --sample-period alone: N measured after W of warm-up (docs/checkpoints.md, "Periodic sampling")
DEFAULT_SIZE = 100_000
DEFAULT_WARMUP = 400_000
# --sample: P, W and N for each CPU of the machine (they count all CPUs together), measured on
# raytrace (docs/checkpoints.md, "--sample")
SAMPLE_PERIOD_PER_CPU = 8_000_000
SAMPLE_WARMUP_PER_CPU = DEFAULT_WARMUP
SAMPLE_SIZE_PER_CPU = DEFAULT_SIZE


def sample_defaults(cpus: int) -> tuple[int, int, int]:
    """--sample's period, warm-up and sample size (P, W, N) on a machine of `cpus` CPUs."""
    n = max(1, cpus)
    return SAMPLE_PERIOD_PER_CPU * n, SAMPLE_WARMUP_PER_CPU * n, SAMPLE_SIZE_PER_CPU * n


def cut_budget(m: Machine, budget: int, left: int) -> int:
    """`budget` cut so that about `left` more instructions (all CPUs together) run: a CPU runs
    at most one instruction a cycle, whole rounds of the quantum."""
    q = int(m.params[P_QUANTUM])
    per_cpu = -(-left // m.cpu.shape[0])
    return min(budget, max(q, -(-per_cpu // q) * q))


def set_timing(m: Machine, on: bool) -> None:
    """Switch every CPU's level of detail, between two rounds."""
    m.tc_tag[:] = -1           # the soft TLB refills, as after any switch (flashvm/session/fastforward.py)
    m.cpu[:, LLBIT] = 0        # an LL reservation taken in the other mode cannot be trusted: its SC fails
    m.params[P_TIMING] = int(on)


class PeriodicSampler:
    """The run function of a sampled run (see the module doc)."""

    def __init__(self, run_fn: RunFn, period: int, warmup: int, size: int):
        if not (size >= 1 and warmup >= 0 and warmup + size <= period):
            raise ValueError(f"sampling: need 1 <= N and W + N <= P (P {period}, W {warmup}, N {size})")
        self.run_fn = run_fn
        self.samples = RoiSamples(period, warmup, size)
        self.started = False
        self.state = FUNCTIONAL
        self.k = 0                          # the period the next sample belongs to
        self.pos = 0                        # instructions run inside the region so far
        self.last_insns = 0
        self.last_inside = False
        self.begin: Snapshot | None = None  # counters when the current sample began
        self.begin_pos = 0
        self.regions: Regions | None = None  # the run's regions (the chunk hook gives them)

    def hook(self, machine: object) -> None:
        """The chunk hook (flashvm.machine.flash.chunk_hook): the run loop's FlashMachine, or
        process mode's LinuxProcess, holds the run's regions."""
        if self.regions is None:
            self.regions = getattr(machine, "roi", None)

    def region(self) -> str | None:
        """The sampled region: the first one the guest began (None: none yet)."""
        if self.regions is None or not self.regions.regions:
            return None
        return next(iter(self.regions.regions))

    def _inside(self, m: Machine) -> bool:
        if self.regions is None:
            return regions_open(m) > 0
        name = self.region()
        return name is not None and name in self.regions.stack

    # -- the schedule, in region instructions
    def _warm_from(self) -> int:
        p = self.samples
        return self.k * p.period + p.period - p.warmup - p.size

    def _measure_from(self) -> int:
        p = self.samples
        return self.k * p.period + p.period - p.size

    def _next_edge(self) -> int:
        if self.state == MEASURING:
            return self.begin_pos + self.samples.size
        return self._warm_from() if self.pos < self._warm_from() else self._measure_from()

    # -- samples
    def _start_sample(self, m: Machine) -> None:
        self.begin, self.begin_pos = Snapshot.of(m), self.pos
        self.state = MEASURING

    def finish_sample(self, m: Machine) -> None:
        """End the sample being measured (if any) now: its counters are those since its begin."""
        if self.state != MEASURING or self.begin is None:
            return
        spent = Snapshot.of(m).minus(self.begin)
        self.samples.add(self.begin_pos, spent.stats, spent.cycles)
        self.begin = None
        self.state = FUNCTIONAL
        self.k += 1

    def _step(self, m: Machine, inside: bool) -> None:
        """Between two rounds: end, begin or warm up for a sample, and set the mode for the next round."""
        if self.state == MEASURING and self.pos >= self.begin_pos + self.samples.size:
            self.finish_sample(m)
        if not inside:
            want = False
        elif self.state == MEASURING:
            want = True
        elif self.pos >= self._measure_from():
            want = True                     # (the counters do not change with the switch below)
            self._start_sample(m)
        else:
            want = self.pos >= self._warm_from()
            self.state = WARMING if want else FUNCTIONAL
        if bool(m.params[P_TIMING]) != want:
            set_timing(m, want)

    def __call__(self, m: Machine, budget: int) -> int:
        p = m.params
        if not self.started:
            if p[P_NLINES] <= 1:
                raise ValueError("--sample-period needs a machine built for timing mode (--mode timing)")
            self.started = True
            set_timing(m, False)
        # the caller's whole budget is run, in pieces cut at the schedule's edges: a piece may
        # retire nothing (a stall past the round's end), a whole chunk may not (the stuck check)
        target = int(p[P_ROUND_START]) + budget
        while True:
            why = self._piece(m, target - int(p[P_ROUND_START]))
            if why != EXIT_BUDGET or int(p[P_ROUND_START]) >= target:
                return why

    def _piece(self, m: Machine, budget: int) -> int:
        p = m.params
        now = int(m.cpu[:, INSNS].sum())
        if self.last_inside:                # a call runs wholly inside or outside: begin and end exit the loop
            self.pos += now - self.last_insns
        inside = self._inside(m)
        if self.state == MEASURING and not inside:
            self.finish_sample(m)           # the region ended: the sample ends with it
        if p[P_ROUND_END] <= p[P_ROUND_START]:
            self._step(m, inside)
        if inside:
            budget = cut_budget(m, budget, self._next_edge() - self.pos)
        self.last_insns, self.last_inside = now, inside
        return self.run_fn(m, budget)

    def attach(self, regions: list[Region], m: Machine) -> None:
        """The run is over (`m`: the machine then; a sample still open ends there): the samples
        go to the sampled region among the finished `regions`."""
        self.finish_sample(m)
        name = self.region()
        for r in regions:
            if r.counters is not None and (r.name == name or name is None):
                self.samples.region_instructions = int(r.counters.stats[:, S_INSNS].sum())
                r.samples = self.samples
                return
