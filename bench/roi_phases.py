"""Where a workload's host time goes, phase by phase (docs/checkpoints.md, "Where the time goes").

    python bench/roi_phases.py workloads/raytrace [--mode timing] [--fast-forward roi] [--warmup N]
                               [--roi-instructions N] [--sample-period P] [--size uni]
                               [--jit | --no-jit]

Runs the workload as `flashvm run` does, with the run function wrapped to note, after each
call of the interpreter, the host time, the instructions done and whether the guest is still
booting (no user-mode cycle yet), setting up (user mode, no region begun), inside its region of
interest, or past its end.  Prints one row per phase: host CPU seconds of the main thread (all, and inside the
interpreter), instructions, simulated MIPS, calls of the interpreter, and the mode switch.
The phases' edges are exact to one call of the interpreter (at most a chunk, 4 M cycles).
With --sample-period (periodic sampling, docs/checkpoints.md) the sampled region's estimates
follow, each against --reference's counters when given (a JSON file this script wrote with
--save for a whole timing run: its region's cycles, instructions, misses).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import time
from pathlib import Path

import flashvm.session.running as session   # run() and the run functions it looks up
from flashvm.kernels.state import (
    INSNS, MMU_USER, P_TIMING, S_CYC_BASE, S_INSNS, S_L1D_MISS, S_L1I_MISS, S_L2_MISS, S_MISS_DIRTY, S_MISS_LOCAL,
    S_MISS_REMOTE, S_TLB_REFILL,
)
from flashvm.machine.config import machine_config
from flashvm.machine.roi import Regions, regions_begun
from flashvm.session import options
from flashvm.workload import load_workload

PHASES = ("boot", "setup", "roi", "exit")


@dataclasses.dataclass
class Phase:
    wall: float = 0.0          # host seconds from the phase's first call to the next phase's
    kernel: float = 0.0        # host seconds inside the interpreter
    insns: int = 0
    calls: int = 0
    timing_insns: int = 0      # instructions run with the timing model on
    timing_kernel: float = 0.0  # host seconds inside the interpreter with the timing model on


class Recorder:
    """Wraps the session's run function; see the module doc."""

    def __init__(self) -> None:
        self.runs: list[dict[str, Phase]] = []     # one per machine (--warmup with roi: a probe run first)
        self.cpu = None
        self.new_run()

    def new_run(self) -> None:
        self.phases = {p: Phase() for p in PHASES}
        self.runs.append(self.phases)
        self.roi_ended = False
        self.last: float | None = None
        self.phase = "boot"

    def which(self, m) -> str:
        if self.roi_ended:
            return "exit"
        if regions_begun(m) > 0:
            return "roi"
        if int(m.stats[:, S_CYC_BASE + MMU_USER].sum()) > 0:
            return "setup"
        return "boot"

    def wrap(self, run_fn):
        def recorded(m, budget: int) -> int:
            if m.cpu is not self.cpu:        # a new machine: --warmup's probe run (not wrapped) came first
                if self.cpu is not None:
                    self.new_run()
                self.roi_ended = False
                self.cpu = m.cpu
            t0 = time.thread_time()
            if self.last is not None:       # host time between two calls: the exits served, events
                self.phases[self.phase].wall += t0 - self.last
            self.phase = self.which(m)
            n0 = int(m.cpu[:, INSNS].sum())
            timing = int(m.params[P_TIMING])
            why = run_fn(m, budget)
            t1 = time.thread_time()
            ph = self.phases[self.phase]
            n = int(m.cpu[:, INSNS].sum()) - n0
            ph.wall += t1 - t0
            ph.kernel += t1 - t0
            ph.insns += n
            ph.timing_insns += n if timing else 0
            ph.timing_kernel += t1 - t0 if timing else 0.0
            ph.calls += 1
            self.last = t1
            return why
        return recorded


def region_counters(c) -> dict[str, int]:
    """The counters the fast-forward comparison reports (docs/checkpoints.md)."""
    s = c.stats.sum(axis=0)
    return {"cycles": int(c.cycles.max()), "instructions": int(s[S_INSNS]), "l1i_miss": int(s[S_L1I_MISS]),
            "l1d_miss": int(s[S_L1D_MISS]), "l2_miss": int(s[S_L2_MISS]), "tlb_refill": int(s[S_TLB_REFILL]),
            "local": int(s[S_MISS_LOCAL]), "remote": int(s[S_MISS_REMOTE] + s[S_MISS_DIRTY])}


def print_estimates(e: dict[str, float], ref: dict[str, int] | None) -> None:
    """A sampled region's estimates (+- 95%), and their error against a whole run's region `ref`."""
    from flashvm.machine.roisamples import Z95
    print(f"  {int(e['count'])} samples, {int(e['measured_instructions']):,} instructions measured")
    pairs = [("cycles", "cycles", 1.0), ("cpi", None, 1.0), ("l1i_per_1000", "l1i_miss", 1000.0),
             ("l1d_per_1000", "l1d_miss", 1000.0), ("l2_per_1000", "l2_miss", 1000.0),
             ("tlb_per_1000", "tlb_refill", 1000.0)]
    for name, key, scale in pairs:
        line = f"  {name:13} {e[name]:16,.4f} +- {Z95 * e[name + '_se']:,.4f}"
        if ref is not None:
            if key is None:
                truth = ref["cycles"] / ref["instructions"]
            elif key == "cycles":
                truth = ref["cycles"]
            else:
                truth = scale * ref[key] / ref["instructions"]
            line += f"   whole run {truth:,.4f} ({100 * (e[name] / truth - 1) if truth else 0:+.2f}%)"
        print(line)
    line = f"  local share   {e['local_share']:.4f} +- {Z95 * e['local_share_se']:.4f}"
    if ref is not None and "local" in ref and ref["local"] + ref["remote"]:
        line += f"   whole run {ref['local'] / (ref['local'] + ref['remote']):.4f}"
    print(line)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workload", type=Path)
    ap.add_argument("--mode", default="functional")
    ap.add_argument("--size", default=None)
    ap.add_argument("--fast-forward", default=None)
    ap.add_argument("--warmup", type=int, default=None)
    ap.add_argument("--roi-instructions", type=int, default=None)
    ap.add_argument("--sample-period", type=int, default=None)
    ap.add_argument("--machine", default=None)
    ap.add_argument("--jit", action=argparse.BooleanOptionalAction, default=None,
                    help="the JIT tier on (--jit) or off (--no-jit) (default: as flashvm run decides)")
    ap.add_argument("--save", type=Path, default=None, help="write the region's counters here (JSON)")
    ap.add_argument("--reference", type=Path, default=None, help="compare the estimates with these (JSON)")
    a = ap.parse_args()
    options.jit_option(a.jit)
    w = load_workload(a.workload, a.size)
    exe = w.build()
    cfg = machine_config(a.machine or w.machine)
    spec = options.workload_spec(w, exe, cfg, a.mode, cpus=None, variant=None, max_insns=None, timeout=None)
    if a.sample_period is not None:
        spec = options.with_sampling(spec, a.fast_forward, a.warmup, a.roi_instructions, a.sample_period)
    else:
        spec = options.with_fast_forward(spec, a.fast_forward, a.warmup or 0)
        if a.roi_instructions is not None:
            spec = dataclasses.replace(spec, roi_instructions=a.roi_instructions)
    rec = Recorder()
    # the profile wraps whatever the session would run (fast-forward wraps it in turn)
    plain = session.run_fn
    session.run_fn = lambda tracer: rec.wrap(plain(tracer))

    ended = Regions.end

    def end(self, name: str = "", prefix: str = "") -> None:
        ended(self, name, prefix)
        if not self.stack:
            rec.roi_ended = True
    Regions.end = end                  # type: ignore[method-assign]
    t0 = time.thread_time()
    report = session.run(spec)
    total = time.thread_time() - t0
    print(f"{w.name} {a.mode} ff={a.fast_forward} warmup={a.warmup} roi_instructions={a.roi_instructions}: "
          f"{report.instructions:,} instructions, run {report.host_seconds:.2f} s, session {total:.2f} s, "
          f"status {report.status}")
    for phases in rec.runs:
        print(f"{'phase':6} {'host s':>7} {'in kernel':>9} {'insns':>13} {'timing insns':>13} {'MIPS':>6} "
              f"{'timing s':>8} {'MIPS':>6} {'calls':>6}")
        for name, ph in phases.items():
            mips = ph.insns / ph.kernel / 1e6 if ph.kernel else 0.0
            tmips = ph.timing_insns / ph.timing_kernel / 1e6 if ph.timing_kernel else 0.0
            print(f"{name:6} {ph.wall:7.2f} {ph.kernel:9.2f} {ph.insns:13,} {ph.timing_insns:13,} {mips:6.1f} "
                  f"{ph.timing_kernel:8.2f} {tmips:6.1f} {ph.calls:6}")
        print(f"run CPU s (all phases): {sum(ph.wall for ph in phases.values()):.2f}")
    for r in report.regions:
        c = r.counters
        assert c is not None
        print(f"region {r.name}: " + ", ".join(f"{k} {v:,}" for k, v in region_counters(c).items()))
        if a.save is not None and r is report.regions[0]:
            a.save.write_text(json.dumps(region_counters(c)))
        if r.samples is not None:
            print_estimates(r.samples.estimates(), json.loads(a.reference.read_text()) if a.reference else None)
    print("stdout:", report.stdout.decode(errors="replace").strip().splitlines()[-1:])


if __name__ == "__main__":
    main()
