"""Fast-forward: run in functional mode, then switch every CPU to timing mode
at one instant, between two rounds, in the same run.

`fast_forwarded(run_fn, at, warmup)` wraps a run function (the run kernel or
the trace's).  The machine must have been built for timing mode (the cache,
directory and MAGIC arrays exist); the wrapper turns timing off on its first
call and on again at the switch: when the guest begins its first region of
interest (`at` = "roi") or after `at - warmup` instructions (`at` a number).
Caches and directory are empty then (cold), which is consistent with memory;
with `warmup` W the switch comes W instructions early so the caches are warm
at instruction `at`.  The switch waits for the end of the current round (the
budget is cut to it), so it happens on every CPU at the same global time.
`RoiSample` times the region's first N instructions only; with a sample period,
flashvm/session/sampling.py samples all of it instead.

The JIT tier runs both kinds of stretch unless --no-jit (functional and timing
regions, flashvm/kernels/jit.py and jittiming.py): its results are the
interpreter's bit for bit (tests/session/test_ffwd_tier.py).
"""
from __future__ import annotations

import dataclasses

from flashvm.kernels.run import run as run_kernel
from flashvm.kernels.state import EXIT_BUDGET, INSNS, P_NLINES, P_ROUND_END, P_ROUND_START, P_TIMING, Machine
from flashvm.machine.flash import StopRun
from flashvm.machine.roi import regions_begun
from flashvm.machine.trace import RunFn
from flashvm.session.sampling import PeriodicSampler, cut_budget, set_timing
from flashvm.session.runners import RUNNERS
from flashvm.spec import RunSpec


class FastForward:
    """A run function that fast-forwards (see the module doc)."""

    def __init__(self, run_fn: RunFn, at: str | int, warmup: int = 0):
        self.run_fn = run_fn
        self.at = at
        self.warmup = warmup
        self.started = False
        self.switched = False
        self.switch_insns: int | None = None     # instructions done when timing began

    def _due(self, m: Machine) -> bool:
        if self.at == "roi":
            return regions_begun(m) > 0
        return int(m.cpu[:, INSNS].sum()) >= max(0, int(self.at) - self.warmup)

    def switch(self, m: Machine) -> None:
        # the soft TLB starts empty, as in a run that was always timing, and LL reservations are
        # dropped: functional mode does not invalidate them on other CPUs' stores in the last round
        set_timing(m, True)
        self.switched = True

    def __call__(self, m: Machine, budget: int) -> int:
        p = m.params
        if not self.started:
            if p[P_NLINES] <= 1:
                raise ValueError("--fast-forward needs a machine built for timing mode (--mode timing)")
            self.started = True
            p[P_TIMING] = 0
        if not self.switched:
            if self._due(m):
                if p[P_ROUND_END] > p[P_ROUND_START]:
                    # finish this round first; the caller still gets the whole budget it asked for
                    cut = int(p[P_ROUND_END] - p[P_ROUND_START])
                    if cut >= budget:
                        return self.run_fn(m, budget)
                    why = self.run_fn(m, cut)
                    if why != EXIT_BUDGET or p[P_ROUND_END] > p[P_ROUND_START]:
                        return why
                    budget -= cut
                self.switch_insns = int(m.cpu[:, INSNS].sum())
                self.switch(m)
            elif self.at != "roi":
                # stop near the switch point: functional mode runs one instruction per cycle
                budget = cut_budget(m, budget, int(self.at) - self.warmup - int(m.cpu[:, INSNS].sum()))
        return self.run_fn(m, budget)


class RoiSample:
    """A run function that ends the run once the first region of interest has run `n`
    instructions (all CPUs together, counted from the region's begin): a sample of the
    region in timing mode, its counters those of its first n instructions (or a few more:
    the run stops at the end of a round).  With fast-forward, everything before the region
    runs in functional mode, so the run costs the set-up at functional speed plus the sample."""

    def __init__(self, run_fn: RunFn, n: int):
        self.run_fn = run_fn
        self.n = n
        self.start: int | None = None        # instructions done when the region began

    def __call__(self, m: Machine, budget: int) -> int:
        if self.start is None and regions_begun(m) > 0:
            self.start = int(m.cpu[:, INSNS].sum())      # a begin is served between two calls
        if self.start is not None:
            done = int(m.cpu[:, INSNS].sum()) - self.start
            if done >= self.n:
                raise StopRun("limit", f"the sample of the region of interest is complete: {done:,} instructions "
                                       f"measured (--roi-instructions {self.n:,})")
            budget = cut_budget(m, budget, self.n - done)
        return self.run_fn(m, budget)


class _Probe(FastForward):
    """Fast-forward that ends the run where it would switch (finding that instant)."""

    def switch(self, m: Machine) -> None:
        raise StopRun("limit", "the region of interest begins")


def roi_start(spec: RunSpec) -> int:
    """Instructions done when `spec`'s first region of interest begins (at the end of that round)."""
    probe = _Probe(run_kernel, "roi")
    RUNNERS[spec.kind](dataclasses.replace(spec, fast_forward=None, roi_instructions=None,
                                                     sample_period=None), None, None, None, probe)
    if probe.switch_insns is None:
        raise ValueError("--fast-forward roi --warmup: the program marks no region of interest")
    return probe.switch_insns


def fast_forward_option(text: str | None) -> str | int | None:
    """The value of --fast-forward: "roi" or a positive number of instructions."""
    if text is None or text == "roi":
        return text
    try:
        n = int(text.replace("_", ""), 10)
    except ValueError:
        n = 0
    if n < 1:
        raise ValueError(f"--fast-forward {text!r}: give roi or a positive number of instructions")
    return n


def fast_forwarded(spec: RunSpec, run_fn: RunFn) -> RunFn:
    """`run_fn` fast-forwarding and sampling the region of interest as `spec` asks."""
    if spec.sample_period is not None:
        assert spec.roi_instructions is not None      # options.with_sampling checks it
        return PeriodicSampler(run_fn, spec.sample_period, spec.warmup, spec.roi_instructions)
    ff = _fast_forwarded(spec, run_fn)
    return ff if spec.roi_instructions is None else RoiSample(ff, spec.roi_instructions)


def _fast_forwarded(spec: RunSpec, run_fn: RunFn) -> RunFn:
    """`run_fn` fast-forwarding as `spec` asks (itself when it does not).  With
    "roi" and a warm-up, a first functional run finds the instruction at which
    the region begins (runs are deterministic), then the switch comes that many
    instructions before it."""
    if spec.fast_forward is None:
        return run_fn
    if spec.fast_forward == "roi" and spec.warmup:
        return FastForward(run_fn, roi_start(spec), spec.warmup)
    return FastForward(run_fn, spec.fast_forward, spec.warmup)
