"""An experiment's outputs: the tidy CSV, report.md (measured vs paper, the
direction and band of each difference, a paragraph per difference explaining it
from the counters) and the index of all experiments."""
from __future__ import annotations

import csv
from pathlib import Path

from flashvm.disco.footprint import KINDS as FOOTPRINT_KINDS
from flashvm.experiments.table import Results

DESCRIBE = {
    "total": "time (% of the baseline)", "user": "user", "kernel": "kernel", "monitor": "monitor (Disco)",
    "idle": "idle", "local_pct": "% of L2 misses served locally", "virtual_mb": "virtual footprint (MB)",
    "machine_mb": "machine footprint (MB)", "migrations_per_s": "migrations per second",
    "replications_per_s": "replications per second",
    **{f"{side}_{kind}_mb": f"{side}: {kind.replace('_', ' ')} (MB)" for side in ("virtual", "machine")
       for kind in FOOTPRINT_KINDS},
}


def write_csv(res: Results, path: Path) -> None:
    """One row per run and measure (pandas.read_csv reads it as is)."""
    paper = {(p.label, p.measure): p.value for p in res.experiment.paper}
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["experiment", "run", "workload", "system", "machine", "cpus", "vms", "size",
                    "measure", "value", "paper", "status"])
        for r in res.runs:
            names = sorted({m for (lab, m) in res.values if lab == r.label} | {m for (lab, m) in paper if lab == r.label})
            for m in names:
                v = res.values.get((r.label, m))
                status = "ok" if v is not None else res.problems.get(r.label, "not in the result file")
                w.writerow([res.experiment.name, r.label, r.workload, r.system, r.machine, r.cpus, r.vms, r.size,
                            m, "" if v is None else f"{v:.6g}", "" if (r.label, m) not in paper else paper[(r.label, m)],
                            status])


def band(measured: float, paper: float) -> tuple[str, str]:
    """The direction ("higher", "lower", "same") and band of measured against paper."""
    diff = measured - paper
    if abs(paper) < 1e-9:
        rel = abs(diff)
        unit = " points"
    else:
        rel = 100.0 * abs(diff) / abs(paper)
        unit = "%"
    direction = "same" if rel < 1 else ("higher" if diff > 0 else "lower")
    for edge in (10, 25, 50):
        if rel < edge:
            return direction, f"within {edge}{unit}"
    return direction, f"over 50{unit}"


def _fmt(v: float | None) -> str:
    if v is None:
        return "n/a"
    return f"{v:,.0f}" if abs(v) >= 1000 else f"{v:.3g}" if abs(v) < 1 else f"{v:.1f}"


def explain(res: Results, label: str, measure: str, measured: float, paper: float) -> str:
    """A paragraph saying from the run's counters why `measure` differs from the paper's."""
    g = res.get
    direction, _ = band(measured, paper)
    run = next(r for r in res.runs if r.label == label)
    if res.experiment.explain is not None:
        own = res.experiment.explain(res.values, label, measure)
        if own:
            return f"**{label} {DESCRIBE.get(measure, measure)}**: {_fmt(measured)} vs the paper's {_fmt(paper)} " \
                   f"({direction}). {own}"
    refills, l2tlb, emul, stall = (g(label, m) for m in ("tlb_refills_per_minsn", "l2tlb_hit_pct",
                                                           "emulated_per_minsn", "stall"))
    facts = []
    if refills is not None:
        facts.append(f"{refills:,.0f} TLB refills per million instructions")
    if l2tlb is not None:
        facts.append(f"Disco's second-level TLB made {l2tlb:.0f}% of the monitor's TLB refills")
    if emul is not None:
        facts.append(f"the monitor emulated {emul:,.0f} privileged instructions per million")
    if stall is not None:
        facts.append(f"{100 * stall:.0f}% of busy cycles stalled on cache misses")
    why = ""
    if measure in ("monitor", "total") and run.system != "os" and run.numa and g(label, "migrations") is None:
        why = ("This tree's Disco has no NUMA policy yet: nothing migrates or replicates, so the run pays the "
               "monitor's costs without the policy's gain in local misses, and stays slower than the OS alone.")
    elif measure in ("monitor", "total") and run.system != "os":
        why = ("Under Disco the monitor's cost is the guest kernel's privileged instructions (each emulated by a trap) "
               "and the TLB misses it serves: those its second-level TLB refills cost a short trap, the others are "
               "reflected to the guest kernel's refill handler, which runs mapped and so misses too. The paper's Disco "
               "mapped only 4 KB page pairs.")
    elif measure == "total" and run.machine.startswith("uma"):
        why = _uma_gain(res, res.experiment.baselines.get(label))
    elif measure == "kernel":
        why = ("The kernel share follows the TLB miss rate: every refill of this guest kernel is a software handler, "
               "and the workloads here are written for flashvm, not IRIX's.")
    elif measure == "idle":
        why = "Idle time is the CPUs waiting in the region (disk, barriers, the serial parts of the workload)."
    elif measure == "local_pct":
        mig, rep = g(label, "migrations"), g(label, "replications")
        if run.numa and mig is None:
            why = ("This tree's Disco has no NUMA policy yet (no /disco/numa in the file): the run measures the "
                   "initial page placement only, so the local share cannot rise as the paper's did.")
        elif mig is not None:
            why = f"The policy migrated {mig:,.0f} and replicated {rep or 0:,.0f} pages in the region."
        elif run.system == "os":
            why = ("The guest OS alone has its memory round-robin over the nodes page by page, as the paper's IRIX "
                   "allocated it (runspec.ROUND_ROBIN), so a miss is local about once in as many times as there are "
                   "nodes; a workload whose misses fall on few hot pages (one CPU's node) strays from that share.")
        else:
            why = "Remote misses follow where the pages were placed and how they are shared."
    elif measure == "user":
        why = "The user share is what is left of the total when kernel, monitor and idle time are taken out."
    counters = ("; ".join(facts) + ".") if facts else ""
    size = " The quick sizes are much shorter than the paper's runs, so start-up costs weigh more." \
        if run.size == "quick" else ""
    return (f"**{label} {DESCRIBE.get(measure, measure)}**: {_fmt(measured)} vs the paper's {_fmt(paper)} ({direction}). "
            f"{counters} {why}{size}").replace("  ", " ")


def _uma_gain(res: Results, numa: str | None) -> str:
    """Why a UMA run gains what it does over the NUMA run `numa`: the remote misses' extra latency
    (what the counters bound) and the idle time that goes with it."""
    why = ("The UMA machine differs from the NUMA one only in what a miss costs: every miss at the local latency "
           "(300 ns), where a remote one costs 900 ns or more.")
    if numa is None:
        return why
    g = res.get
    stall, local, idle = g(numa, "stall"), g(numa, "local_pct"), g(numa, "idle")
    if stall is None or local is None or idle is None:
        return why
    # stalled cycles as a share of the whole (busy = 100 - idle); the remote misses' part of them, each
    # costing three local ones; two thirds of that part is what the local latency saves
    stalled = (100 - idle) * stall
    remote = 1 - local / 100
    saved = stalled * (3 * remote / (3 * remote + (1 - remote))) * 2 / 3
    return (why + f" On the NUMA machine `{numa}` is busy {100 - idle:.0f} of its 100 and stalls {100 * stall:.0f}% of "
            f"those cycles on cache misses ({stalled:.0f} of the 100), {100 - local:.0f}% of its L2 misses remote, each "
            f"as long as three local ones: serving those at the local latency saves about {saved:.0f} of the 100. "
            f"What UMA gains beyond that is idle time "
            f"(`{numa}` idle {idle:.1f}): threads that wait at barriers and joins for slower ones wait less. The paper's "
            "IRIX stalled far more on remote misses (63.2 of engineering's 100 and 56.1 of raytrace's), hence its "
            "UMA runs took about half the time.")


def _counters(res: Results, extra: list[str]) -> list[str]:
    """The counters beside the paper's: a row per run, or (many counters) a row per counter."""
    runs = [r.label for r in res.runs if r.label not in res.problems]
    if len(extra) <= 10:
        return (["| run | " + " | ".join(extra) + " |", "|---" * (len(extra) + 1) + "|"]
                + [f"| {lab} | " + " | ".join(_fmt(res.get(lab, m)) for m in extra) + " |" for lab in runs])
    return (["| counter | " + " | ".join(runs) + " |", "|---" * (len(runs) + 1) + "|"]
            + [f"| {m} | " + " | ".join(_fmt(res.get(lab, m)) for lab in runs) + " |" for m in extra])


def write_report(res: Results, path: Path, png: str | None) -> list[tuple[str, bool | None]]:
    """report.md; returns each check's (statement, holds) (None: its runs are missing)."""
    exp = res.experiment
    paper = {(p.label, p.measure): p.value for p in exp.paper}
    lines = [f"# {exp.title}", ""]
    lines += [f"- {n}" for n in exp.notes]
    if exp.full_host_time:
        lines.append(f"- Full sizes: {exp.full_host_time}.")
    sizes = sorted({r.size for r in res.runs})
    lines += [f"- Sizes run: {', '.join(sizes)}.", ""]
    if png:
        lines += [f"![{exp.name}]({png})", ""]
    if res.problems:
        lines += ["## Runs without numbers", ""]
        lines += [f"- `{lab}`: {why}" for lab, why in res.problems.items()]
        lines.append("")
    lines += ["## Measured vs paper", "", "| run | measure | flashvm | paper | direction | band |", "|---|---|---|---|---|---|"]
    diffs = []
    for r in res.runs:
        for m in [m for (lab, m) in paper if lab == r.label]:
            v, p = res.get(r.label, m), paper[(r.label, m)]
            if v is None:
                lines.append(f"| {r.label} | {DESCRIBE.get(m, m)} | n/a | {_fmt(p)} | | |")
                continue
            d, b = band(v, p)
            lines.append(f"| {r.label} | {DESCRIBE.get(m, m)} | {_fmt(v)} | {_fmt(p)} | {d} | {b} |")
            if d != "same" and not (r.label == exp.baselines.get(r.label) and m == "total"):
                diffs.append((r.label, m, v, p))
    extra = sorted({m for (_, m) in res.values} - {m for (_, m) in paper})
    if extra:
        lines += ["", "## Other counters", ""] + _counters(res, extra)
    checks = []
    lines += ["", "## Directions", ""]
    for c in exp.checks:
        have = all(lab not in res.problems for lab in c.needs)
        holds: bool | None = None
        if have:
            try:
                holds = bool(c.holds(res.values))
            except KeyError:
                holds = None
        checks.append((c.says, holds))
        mark = {True: "holds", False: "DOES NOT HOLD", None: "not measured (runs missing)"}[holds]
        lines.append(f"- {c.says}: **{mark}**")
        if holds is False and c.why_not is not None:
            try:
                lines.append(f"  Why: {c.why_not(res.values)}")
            except (KeyError, TypeError, ZeroDivisionError):
                pass
    if diffs:
        lines += ["", "## Differences explained", ""]
        for lab, m, v, p in diffs:
            lines += [explain(res, lab, m, v, p), ""]
    path.write_text("\n".join(lines) + "\n")
    return checks


def write_index(root: Path, done: dict[str, list[tuple[str, bool | None]]]) -> Path:
    """results/experiments/index.md: each experiment's report and how its checks came out."""
    lines = ["# flashvm experiments", "", "| experiment | report | figure | checks holding |", "|---|---|---|---|"]
    failing = []
    for name, checks in done.items():
        ok = sum(1 for _, h in checks if h)
        measured = sum(1 for _, h in checks if h is not None)
        fig = f"[{name}.png]({name}/{name}.png)" if (root / name / f"{name}.png").exists() else "-"
        rep = f"[report]({name}/report.md)" if (root / name / "report.md").exists() else "-"
        lines.append(f"| {name} | {rep} | {fig} | {ok} of {measured} measured ({len(checks)} in all) |")
        failing += [f"- {name}: {says}" for says, h in checks if h is False]
    if failing:
        lines += ["", "Checks that do not hold (each report says why):", "", *failing]
    root.mkdir(parents=True, exist_ok=True)
    path = root / "index.md"
    path.write_text("\n".join(lines) + "\n")
    return path
