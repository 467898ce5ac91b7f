"""The one summary table of a run (printed on stderr after it)."""
from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table

from flashvm.disco.footprint import footprint_line
from flashvm.kernels import state as S
from flashvm.machine.roisamples import Z95
from flashvm.session.status import status_text
from flashvm.spec import RunReport, VmOutcome


def summary(report: RunReport, console: Console, title: str | None = None) -> None:
    """Print what the run did: instructions, time, where the cycles went, misses, exits
    (headed by `title`, else the spec's)."""
    m = report.machine
    t = Table(title=title or report.spec.title, show_header=False, title_justify="left")
    t.add_column(style="bold")
    t.add_column(justify="right")
    mips = report.instructions / report.host_seconds / 1e6 if report.host_seconds else 0.0
    t.add_row("instructions", f"{report.instructions:,}")
    t.add_row("host seconds", f"{report.host_seconds:.2f}")
    t.add_row("simulated MIPS", f"{mips:,.1f}")
    cycles = int(m.cpu[:, S.CYCLES].max())
    t.add_row("simulated cycles", f"{cycles:,}")
    cfg = report.config
    t.add_row("simulated time", f"{cycles / cfg.clock_mhz / 1e3:,.3f} ms "
                                f"({cfg.name}, {report.sim_mode} mode, {m.cpu.shape[0]} CPUs)")
    sampled = sampled_region(report)
    if sampled is not None:
        t.add_row("sampled", _sampled_text(sampled))
    _time_split(t, report)
    misses = m.stats[:, [S.S_MISS_LOCAL, S.S_MISS_REMOTE, S.S_MISS_DIRTY]].sum(axis=0)
    if misses.sum():
        t.add_row("L1I / L1D / L2 misses", f"{int(m.stats[:, S.S_L1I_MISS].sum()):,} / "
                                          f"{int(m.stats[:, S.S_L1D_MISS].sum()):,} / {int(m.stats[:, S.S_L2_MISS].sum()):,}")
        t.add_row("L2 misses local / remote / remote dirty",
                  f"{int(misses[0]):,} / {int(misses[1]):,} / {int(misses[2]):,}  "
                  f"({100 * misses[0] / misses.sum():.1f}% local)")
    if report.disco is not None:
        _disco_rows(t, report.disco, report.vms or [])
    dropped = int(m.params[S.P_HOTQ_DROPS])
    if dropped:
        t.add_row("hot-page events dropped", f"{dropped:,} (MAGIC's queue of {S.HOTQ_LEN} was full)")
    if report.numa is not None and report.numa["mode"] != "off":
        _numa_row(t, report.numa, int(m.stats[:, S.S_CYC_BASE:S.S_CYC_BASE + 3].sum()))
    if report.memory is not None:
        t.add_row("memory footprint (Fig. 6)", footprint_line(report.memory))
    exc = m.stats[:, S.S_EXC_BASE:S.S_EXC_BASE + 32].sum(axis=0)
    taken = ", ".join(f"{S.EXC_NAMES.get(i, i)} {int(n):,}" for i, n in enumerate(exc) if n)
    t.add_row("exceptions", taken or "none")
    t.add_row("TLB refills / soft-TLB misses",
              f"{int(m.stats[:, S.S_TLB_REFILL].sum()):,} / {int(m.stats[:, S.S_TC_MISS].sum()):,}")
    exits = m.stats[:, S.S_EXIT_BASE:S.S_EXIT_BASE + S.NEXITS].sum(axis=0)
    t.add_row("exits to Python", ", ".join(f"{S.EXIT_NAMES[i]} {int(n):,}" for i, n in enumerate(exits) if n)
              or "none")
    if report.instructions:
        t.add_row("exits per M instructions", f"{exits.sum() / (report.instructions / 1e6):.2f}")
    if report.syscalls:
        t.add_row("system calls", f"{sum(report.syscalls.values()):,}")
    if report.unknown_syscalls:
        t.add_row("unknown syscalls (ENOSYS)",
                  ", ".join(f"{k}: {v}" for k, v in sorted(report.unknown_syscalls.items())))
    for r in report.regions:
        _region_row(t, r)
    if report.jit is not None:
        j = report.jit
        share = 100 * j["jit_insns"] / report.instructions if report.instructions else 0.0
        t.add_row("JIT regions / translate s / code bytes",
                  f"{int(j['regions']):,} / {j['translate_s']:.2f} / {int(j['code_bytes']):,}  "
                  f"({int(j['batches'])} batches, {int(j['disk_hits'])} from the disk cache, "
                  f"{int(j.get('preloaded', 0))} from the profile"
                  + (f"; code dropped and reloaded {int(j['code_renewals'])} times" if j.get("code_renewals") else "")
                  + ")")
        t.add_row("JIT hits / instructions", f"{int(j['hits']):,} / {int(j['jit_insns']):,}  ({share:.1f}%)")
    if report.how_ended != "halted":
        t.add_row("ended", f"{report.how_ended}: {report.end_message}")
    t.add_row("exit status", status_text(report.spec.kind, report.status) if report.how_ended == "halted"
              else f"none ({report.how_ended})")
    console.print(t)


def _time_split(t: Table, report: RunReport) -> None:
    m = report.machine
    by_mode = m.stats[:, S.S_CYC_BASE:S.S_CYC_BASE + 3].sum(axis=0)
    stall = m.stats[:, S.S_STALL_BASE:S.S_STALL_BASE + 3].sum(axis=0)
    idle = int(m.stats[:, S.S_IDLE_CYCLES].sum())
    total = int(by_mode.sum()) + idle
    if not total:
        return
    if report.disco is not None:     # Disco runs in kernel mode, the guest kernels in supervisor mode
        parts = [("user", by_mode[2]), ("guest kernel", by_mode[1]), ("monitor", by_mode[0]), ("idle", idle)]
    else:
        parts = [("user", by_mode[2]), ("kernel", by_mode[0]), ("supervisor", by_mode[1]), ("idle", idle)]
    t.add_row("time split (all CPUs)", "  ".join(f"{k} {100 * v / total:.1f}%" for k, v in parts if v))
    if stall.sum():
        t.add_row("stalled on memory", f"{100 * stall.sum() / total:.1f}% of all cycles")


def _disco_rows(t: Table, d: dict[str, int], vms: list[VmOutcome]) -> None:
    t.add_row("VMs", ", ".join(f"{v.name}: " + ("failed" if v.status is None else f"status {v.status}")
                               + (f" ({v.verdict})" if v.verdict else "")
                               for v in vms))
    t.add_row("monitor traps / emulated instructions", f"{d['traps']:,} / {d['emulated']:,}")
    refills = d["l2tlb_hits"] + d["vtlb_hits"]
    if refills:
        t.add_row("real TLB refills served by the monitor",
                  f"{refills:,} ({100 * d['l2tlb_hits'] / refills:.1f}% from the L2TLB)")
    t.add_row("exceptions reflected / virtual interrupts", f"{d['reflected']:,} / {d['virtual_interrupts']:,}")
    if d["monitor_calls"]:
        t.add_row("HAL monitor calls", f"{d['monitor_calls']:,}")
    if d.get("subnet_frames"):
        t.add_row("subnet: pages remapped / frames copied",
                  f"{d['subnet_remapped_pages']:,} / {d['subnet_copied_frames']:,} of {d['subnet_frames']:,} frames "
                  f"({d['subnet_copied_bytes']:,} bytes copied, {d['subnet_cow_copies']:,} copy-on-write copies, "
                  f"{d['subnet_shared_pages']:,} machine pages shared)")


def _numa_row(t: Table, n: dict[str, Any], cycles: int) -> None:
    """Disco's NUMA policy: its moves and its own time (flashvm/disco/numa.py)."""
    t.add_row(f"NUMA policy ({n['mode']})",
              f"{n['migrations']:,} migrations, {n['replications']:,} replications, {n['collapses']:,} collapses, "
              f"{n['frozen']:,} freezes; {n['monitor_cycles']:,} cycles "
              f"({100 * n['monitor_cycles'] / max(cycles, 1):.2f}% of all: policy {n['policy_cycles']:,}, "
              f"copies {n['copy_cycles']:,}, shootdowns {n['shootdown_cycles']:,}, {n['ipis']:,} IPIs)"
              + (f"; {n['moves_refused']:,} moves refused, the target node full" if n.get("moves_refused") else ""))


def _region_row(t: Table, r) -> None:
    """One region of interest: what was spent inside it (flashvm.machine.roi.Region)."""
    c = r.counters
    insns, cycles = int(c.stats[:, S.S_INSNS].sum()), int(c.cycles.max())
    text = f"{insns:,} instructions, {cycles:,} cycles"
    l2 = int(c.stats[:, S.S_L2_MISS].sum())
    if l2 or c.stats[:, S.S_L1D_MISS].any():
        l1d = int(c.stats[:, S.S_L1D_MISS].sum())
        # rates per instruction: what a sample (--roi-instructions) compares with a whole region
        kilo = max(insns, 1) / 1000
        text += (f", L1D / L2 misses {l1d:,} / {l2:,}; CPI {cycles / max(insns, 1):.3f}, "
                 f"per 1000 instructions {l1d / kilo:.3f} / {l2 / kilo:.4f}")
    if r.visits > 1:
        text += f" ({r.visits} visits)"
    if r.samples is not None:
        text += " (sampled: functional and timing mixed; the estimate is the region's)"
    t.add_row(f"region {r.name}", text)
    if r.samples is not None:
        t.add_row(f"region {r.name}: estimate", _estimate_text(r.samples.estimates()))
        t.add_row(f"region {r.name}: sample size", _sample_size_text(r.samples))


def sampled_region(report: RunReport):
    """The region whose samples the run took (--sample, --sample-period), or None."""
    return next((r for r in report.regions if getattr(r, "samples", None) is not None), None)


def _sampled_text(r) -> str:
    """How the run measured its sampled region: the run's counters mix the two modes."""
    s = r.samples
    return (f"region {r.name}: {len(s.rows)} samples of {s.size:,} instructions in timing mode, one every "
            f"{s.period:,} after {s.warmup:,} of warm-up, the rest functional; the counters of the run and of "
            f"the region mix both modes, the region's estimates (95% intervals) are below")


def _estimate_text(e: dict[str, float]) -> str:
    """A sampled region's estimates of the whole region, each +- the half-width of its 95% interval."""
    def pm(name: str, digits: int) -> str:
        return f"{e[name]:.{digits}f} +- {Z95 * e[name + '_se']:.{digits}f}"
    text = (f"{int(e['count'])} samples of {int(e['measured_instructions']):,} instructions: CPI {pm('cpi', 4)}, "
            f"cycles {e['cycles']:,.0f} +- {Z95 * e['cycles_se']:,.0f}; per 1000 instructions L1I {pm('l1i_per_1000', 3)}, "
            f"L1D {pm('l1d_per_1000', 3)}, L2 {pm('l2_per_1000', 4)}")
    if e["local_share"] == e["local_share"]:        # not NaN: the samples missed in the L2
        text += f"; L2 misses served locally {100 * e['local_share']:.1f}% +- {100 * Z95 * e['local_share_se']:.1f}%"
    return text + " (95%)"


def _sample_size_text(samples) -> str:
    """The sample period that would give CPI a 95% interval of +-1% (and +-0.5%), from this run's
    spread (flashvm.machine.roisamples.RoiSamples.period_for): SMARTS's check of a first run."""
    parts = []
    for target in (0.01, 0.005):
        need, period = samples.samples_for(target), samples.period_for(target)
        if need is None or period is None:
            return "cannot be told (fewer than 2 samples)"
        parts.append(f"CPI +-{100 * target:g}% needs ~{need} samples (--sample-period {period:,} or less)")
    return "; ".join(parts) + f", with --warmup {samples.warmup:,} --roi-instructions {samples.size:,}"
