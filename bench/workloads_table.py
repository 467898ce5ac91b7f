#!/usr/bin/env python3
"""The paper's workloads in every configuration, as one Markdown table.

usage: python bench/workloads_table.py [--workloads pmake,radix] [--size uni|mp]
           [--configs uni-os,uni-disco,mp-os] [--modes functional,timing] [--jobs N]
           [--timeout S] [--results DIR] [--out FILE] [--retry] [--table-only]

The matrix is workload x configuration x simulation mode:
- workloads: pmake, engineering, raytrace, database, radix;
- configurations: `uni-os` (the uniprocessor size on the guest OS, flash1),
  `uni-disco` (the uniprocessor size in one Disco VM, `--vms 1`), `mp-os` (the
  multiprocessor size on the 8 CPUs of flash8);
- modes: functional and timing.

Each cell is one `flashvm run` of this checkout (a subprocess, so a crash or a
timeout stays in its cell) writing into its own folder under --results
(`NAME-CONFIG-MODE/`): the HDF5 file, the run's stderr (`run.log`) and its
outcome (`outcome.json`).  A cell whose HDF5 file or recorded outcome exists is
not run again (resumable); --retry reruns the cells that did not pass.  The
figures come from the HDF5 counters (docs/results.md) and the check is the
workload's own `[check]`, applied again to the saved output.  The table's rows are in
matrix order, whatever order the cells finished in (deterministic).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
WORKLOADS = ("pmake", "engineering", "raytrace", "database", "radix")
CONFIGS = ("uni-os", "uni-disco", "mp-os")
MODES = ("functional", "timing")


@dataclass(frozen=True)
class Cell:
    workload: str
    config: str         # uni-os, uni-disco or mp-os
    mode: str           # functional or timing

    @property
    def size(self) -> str:
        return self.config.split("-")[0]

    @property
    def disco(self) -> bool:
        return self.config.endswith("disco")

    @property
    def name(self) -> str:
        return f"{self.workload}-{self.config}-{self.mode}"

    def argv(self, folder: Path, timeout: float | None) -> list[str]:
        """The flashvm command line of this cell (this checkout's code)."""
        cmd = [sys.executable, "-c", "from flashvm.cli import app; app()", "run",
               f"workloads/{self.workload}", "--size", self.size, "--mode", self.mode,
               "--results", str(folder), "-q"]
        if self.disco:
            cmd += ["--vms", "1"]
        if timeout:
            cmd += ["--timeout", str(timeout)]
        return cmd


# the order the cells run in: the quick ones first, so that a partial matrix answers most
_COST = {"raytrace": 0, "radix": 1, "engineering": 2, "database": 3, "pmake": 4}


def run_order(cells: list[Cell]) -> list[Cell]:
    """Cheapest first: functional before timing, the guest OS before Disco, uni before mp."""
    return sorted(cells, key=lambda c: (c.mode != "functional", c.disco, c.size != "uni", _COST[c.workload]))


def matrix(workloads: list[str], configs: list[str], modes: list[str]) -> list[Cell]:
    """The cells, in table order: by workload, then configuration, then mode."""
    return [Cell(w, c, m) for w in workloads for c in configs for m in modes]


def result_file(folder: Path) -> Path | None:
    files = sorted(folder.glob("*.h5"))
    return files[-1] if files else None


def outcome(folder: Path) -> dict[str, Any] | None:
    p = folder / "outcome.json"
    return json.loads(p.read_text()) if p.exists() else None


def needs_run(cell: Cell, results: Path, retry: bool) -> bool:
    folder = results / cell.name
    out = outcome(folder)
    if retry and out is not None and out.get("check") != "pass":
        return True
    return result_file(folder) is None and out is None


def run_cell(cell: Cell, results: Path, timeout: float | None) -> None:
    """Run one cell; its HDF5 file, log and outcome go in its own folder."""
    folder = results / cell.name
    folder.mkdir(parents=True, exist_ok=True)
    for old in folder.glob("*.h5"):         # a retry starts clean
        old.unlink()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    t0 = time.monotonic()
    with open(folder / "run.log", "wb") as log:
        # the wall-clock guard is a margin over flashvm's own --timeout (which saves the run)
        try:
            rc = subprocess.run(cell.argv(folder, timeout), cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT, timeout=timeout * 1.5 + 600 if timeout else None,
                                check=False).returncode
        except subprocess.TimeoutExpired:
            rc = -9
    text = (folder / "run.log").read_text(errors="replace")
    last = [ln for ln in text.splitlines() if ln.strip()][-1:] or [""]
    # 124: flashvm's limit; 130/143 or a negative status: interrupted or killed (not a failed check)
    check = "pass" if rc == 0 and "check passed" in text else ("stopped" if rc in (124, 130, 143) or rc < 0 else "fail")
    (folder / "outcome.json").write_text(json.dumps(
        {"cell": cell.name, "argv": cell.argv(folder, timeout)[3:], "returncode": rc, "check": check,
         "last_line": last[0].strip(), "wall_seconds": round(time.monotonic() - t0, 1)}, indent=1) + "\n")
    print(f"{cell.name}: {check} (exit {rc}, {time.monotonic() - t0:.0f} s)", file=sys.stderr, flush=True)


# ------------------------------------------------------------------ figures from the HDF5 file
def counters(cpu: Any, clock_mhz: float, disco: Any = None) -> dict[str, float]:
    """Instructions, simulated time and where the cycles went, from a `cpu` group (the whole
    run's or a region's); `disco`: the monitor's per-VCPU counters of the same span."""
    import numpy as np
    insns = int(cpu["instructions"][:].sum())
    by_mode = cpu["cycles_by_mode"][:].sum(axis=0)       # kernel, supervisor, user
    idle = int(cpu["idle_cycles"][:].sum())
    stall = int(cpu["stall_by_mode"][:].sum()) if "stall_by_mode" in cpu else 0
    total = int(by_mode.sum()) + idle

    def pct(x: int) -> float:
        return 100 * x / total if total else 0.0
    # on the bare machine the guest kernel runs in kernel mode; under Disco the monitor does,
    # and the guest kernel runs in supervisor mode
    kernel, monitor = (int(by_mode[1]), int(by_mode[0])) if disco is not None else (int(by_mode[0] + by_mode[1]), 0)
    refills = int(cpu["tlb_refills"][:].sum())
    if disco is not None:
        # the real TLB refills are the monitor's (from its L2TLB or the VM's virtual TLB)
        names = [n.decode() if isinstance(n, bytes) else str(n) for n in disco.attrs["names"]]
        refills = int(disco[:, names.index("l2tlb_hits")].sum() + disco[:, names.index("vtlb_hits")].sum())
    return {"instructions": insns, "sim_ms": float(np.max(cpu["cycles"][:])) / clock_mhz / 1e3,
            "user": pct(int(by_mode[2])), "kernel": pct(kernel), "monitor": pct(monitor), "idle": pct(idle),
            "stall_pct": pct(stall),
            "tlb_per_m": refills / (insns / 1e6) if insns else 0.0}


def figures(cell: Cell, path: Path) -> dict[str, Any]:
    """The table's figures of one run, from its result file; `region`: those of its longest
    region of interest (None without one)."""
    import h5py
    with h5py.File(path, "r") as f:
        a = f.attrs
        clock = float(json.loads(a["machine_json"])["clock_mhz"])
        out: dict[str, Any] = counters(f["cpu"], clock, f["disco/vcpu_counters"] if cell.disco else None)
        vm_stdout = [bytes(f[f"disco/vm{i}/stdout"][()]) for i in range(len(f["disco/vm_status"]))] \
            if "disco/vm_status" in f else None
        out.update({
            "host_s": float(a["host_seconds"]), "ended": str(a["ended"]), "status": int(a["status"]),
            "stdout": bytes(f["stdout"][()]) if "stdout" in f else b"",
            "vm_stdout": vm_stdout,
            "vm_status": [int(s) for s in f["disco/vm_status"][:]] if vm_stdout is not None else None,
            "region": None})
        if "roi" in f:
            # the longest region (with several at once, each counts the whole machine)
            name = max(f["roi"], key=lambda n: int(f["roi"][n]["cpu/cycles"][:].max()))
            g = f["roi"][name]
            out["region"] = {"name": name, "regions": len(f["roi"]),
                             **counters(g["cpu"], clock, g["disco_vcpu_counters"] if cell.disco else None)}
    return out


def check_again(cell: Cell, fig: dict[str, Any]) -> str:
    """The workload's own [check] on the saved output: pass, fail, or stopped (did not halt)."""
    from flashvm.workload import load_workload
    if fig["ended"] != "halted":
        return "stopped"
    w = load_workload(ROOT / "workloads" / cell.workload, cell.size)
    if fig["vm_stdout"] is not None:
        ok = all(not w.check(s if s >= 0 else 1, o) for s, o in zip(fig["vm_status"], fig["vm_stdout"]))
    else:
        ok = not w.check(fig["status"], fig["stdout"])
    return "pass" if ok else "fail"


HEADER = ("| workload | config | mode | guest instructions | simulated time | host s | "
          "user / kernel / idle (monitor) | TLB refills per M instructions | stalled on memory | check |")


def _split(fig: dict[str, Any], cell: Cell) -> str:
    text = f"{fig['user']:.1f} / {fig['kernel']:.1f} / {fig['idle']:.1f} %"
    return text + (f" (monitor {fig['monitor']:.1f} %)" if cell.disco else "")


def _figure_cells(fig: dict[str, Any], cell: Cell) -> str:
    stall = f"{fig['stall_pct']:.1f} %" if cell.mode == "timing" else ""
    return (f" {fig['instructions'] / 1e6:,.1f} M | {fig['sim_ms']:,.1f} ms | {{host}}"
            f"{_split(fig, cell)} | {fig['tlb_per_m']:,.0f} | {stall} |")


def row(cell: Cell, results: Path) -> str:
    folder = results / cell.name
    path, out = result_file(folder), outcome(folder)
    lead = f"| {cell.workload} | {cell.config} | {cell.mode} |"
    if path is None:
        what = "not run" if out is None else f"{out['check']} (exit {out['returncode']}; no result file)"
        return lead + " | | | | | | " + what + " |"
    fig = figures(cell, path)
    check = check_again(cell, fig)
    if check == "stopped":      # the figures are those of the run until it stopped
        check = f"stopped ({fig['ended']}; figures until then)"
    return lead + _figure_cells(fig, cell).format(host=f"{fig['host_s']:,.1f} | ") + f" {check} |"


def region_row(cell: Cell, results: Path) -> str | None:
    """The cell's longest region of interest (the paper's measured part), or None."""
    path = result_file(results / cell.name)
    fig = figures(cell, path)["region"] if path is not None else None
    if fig is None:
        return None
    name = fig["name"] + (f" (longest of {fig['regions']})" if fig["regions"] > 1 else "")
    return f"| {cell.workload} | {cell.config} | {cell.mode} | {name} |" + _figure_cells(fig, cell).format(host="")


REGION_HEADER = ("| workload | config | mode | region | guest instructions | simulated time | "
                 "user / kernel / idle (monitor) | TLB refills per M instructions | stalled on memory |")


def _rule(header: str) -> str:
    return "|" + "---|" * (header.count(" | ") + 1)


def table(cells: list[Cell], results: Path) -> str:
    lines = [HEADER, _rule(HEADER), *(row(c, results) for c in cells)]
    regions = [r for r in (region_row(c, results) for c in cells) if r is not None]
    if regions:
        lines += ["", "Inside the regions of interest (`/roi`):", "", REGION_HEADER, _rule(REGION_HEADER), *regions]
    return "\n".join(lines) + "\n"


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--workloads", default=",".join(WORKLOADS), help="comma-separated subset")
    p.add_argument("--configs", default=",".join(CONFIGS), help="comma-separated: uni-os, uni-disco, mp-os")
    p.add_argument("--size", choices=("uni", "mp"), help="only this size's configurations")
    p.add_argument("--modes", default=",".join(MODES), help="comma-separated: functional, timing")
    p.add_argument("--jobs", type=int, default=1, help="runs at once (default 1)")
    p.add_argument("--timeout", type=float, default=None, help="host seconds per run (flashvm --timeout)")
    p.add_argument("--results", type=Path, default=ROOT / "results" / "workloads_table")
    p.add_argument("--out", type=Path, help="write the Markdown table to this file too")
    p.add_argument("--retry", action="store_true", help="rerun the cells that did not pass")
    p.add_argument("--table-only", action="store_true", help="run nothing: the table of what is there")
    p.add_argument("--dry-run", action="store_true", help="print the command lines of the cells to run")
    a = p.parse_args(argv)

    def pick(text: str, allowed: tuple[str, ...], what: str) -> list[str]:
        chosen = [x.strip() for x in text.split(",") if x.strip()]
        bad = [x for x in chosen if x not in allowed]
        if bad:
            p.error(f"{what}: unknown {', '.join(bad)} (use {', '.join(allowed)})")
        return chosen
    a.workloads = pick(a.workloads, WORKLOADS, "--workloads")
    a.configs = [c for c in pick(a.configs, CONFIGS, "--configs") if a.size is None or c.startswith(a.size)]
    a.modes = pick(a.modes, MODES, "--modes")
    if a.jobs < 1:
        p.error("--jobs must be at least 1")
    return a


def main(argv: list[str] | None = None) -> int:
    a = parse(argv)
    cells = matrix(a.workloads, a.configs, a.modes)
    todo = [] if a.table_only else run_order([c for c in cells if needs_run(c, a.results, a.retry)])
    if a.dry_run:
        for c in todo:
            print(" ".join(c.argv(a.results / c.name, a.timeout)[3:]))
        return 0
    with ThreadPoolExecutor(max_workers=a.jobs) as pool:
        list(pool.map(lambda c: run_cell(c, a.results, a.timeout), todo))
    text = table(cells, a.results)
    sys.stdout.write(text)
    if a.out:
        a.out.parent.mkdir(parents=True, exist_ok=True)
        a.out.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
