"""Whole-process cost and accuracy of sampled runs against the whole timing run (docs/checkpoints.md,
"Periodic sampling", "Host time").

    python bench/sampling_cost.py [--workload workloads/raytrace] [--repeat 2] [--region render]
                                  [--config P,W,N | ff[,W] | sample[,OPT...] | func ...]

Runs `flashvm run WORKLOAD --mode timing` and, for each --config, `... --fast-forward roi
--sample-period P --warmup W --roi-instructions N` (or `ff,W`: `... --fast-forward roi --warmup W`,
the region timed whole; `sample[,OPT,...]`: `... --sample [OPT ...]`, its defaults; `func`:
`flashvm --jit run WORKLOAD --mode functional`, the floor of a sampled run) as child processes, one after the other, --repeat
rounds (the configurations interleaved, so a change of load hits all of them), and prints for each the
best and the median whole-process CPU seconds (user + system of the child, start-up included), the
simulator's own host seconds of the run (wall, the last round's), and the sampled region's estimates (CPI, cycles, L1D and L2
misses per 1000 instructions, each with its 95% interval) against the whole timing run's region.
The load (1-minute average) is printed with every round.
"""
from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import h5py

CLI = "from flashvm.cli import app; app()"
DEFAULT_CONFIGS = ("4000000,400000,100000", "8000000,400000,100000")


def run_child(args: list[str], results: Path) -> tuple[float, Path]:
    """CPU seconds (user + system) of one `flashvm run` and the results file it wrote (options
    before "run" in `args` are the top-level ones, e.g. --jit)."""
    before = set(results.glob("*.h5"))
    r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    cut = args.index("run") if "run" in args else -1
    subprocess.run([sys.executable, "-c", CLI, *args[:cut + 1], *([] if cut >= 0 else ["run"]), *args[cut + 1:],
                    "--results", str(results), "--quiet"],
                   check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    new = sorted(set(results.glob("*.h5")) - before)
    if len(new) != 1:
        raise RuntimeError(f"expected one new results file, found {new}")
    return (r1.ru_utime - r0.ru_utime) + (r1.ru_stime - r0.ru_stime), new[0]


def region_figures(path: Path, region: str) -> dict[str, float]:
    """The region's counters (whole run) or its estimates (sampled run), and the run's host seconds."""
    with h5py.File(path, "r") as f:
        out = {"host_s": float(f.attrs.get("host_seconds", float("nan")))}
        if f.attrs.get("sim_mode") == "functional":
            return out          # no timing counters
        g = f["roi"][region]
        if "samples" in g:
            a = g["samples"].attrs
            z = float(a["z"])
            for k in ("cpi", "cycles", "l1d_per_1000", "l2_per_1000"):
                out[k], out[k + "_hw"] = float(a[k]), z * float(a[k + "_se"])
            out["count"] = float(a["count"])
            return out
        cpu = g["cpu"]
        insns = float(cpu["instructions"][()].sum())
        cycles = float(g["cpu"]["cycles"][()].max())
        out.update(cpi=cycles / insns, cycles=cycles, l1d_per_1000=1000 * float(cpu["l1d_misses"][()].sum()) / insns,
                   l2_per_1000=1000 * float(cpu["l2_misses"][()].sum()) / insns)
        return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workload", default="workloads/raytrace")
    ap.add_argument("--region", default="render")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--config", action="append",
                    help="P,W,N of a sampled run; ff[,W]: --fast-forward roi [--warmup W]; sample[,OPT...]: --sample "
                         "[OPT...]; func: a functional run with --jit (default: 4M and 8M periods)")
    ap.add_argument("--extra", default="", help="more options for every run, e.g. --no-jit")
    a = ap.parse_args()
    configs = a.config or list(DEFAULT_CONFIGS)
    runs: dict[str, list[str]] = {"timing": [a.workload, "--mode", "timing", *a.extra.split()]}
    for c in configs:
        if c == "func":                 # the floor: a whole functional run with the JIT tier
            runs["functional --jit"] = ["--jit", "run", a.workload, "--mode", "functional", *a.extra.split()]
            continue
        if c.startswith("sample"):      # sample or sample,EXTRA...: --sample with its defaults
            runs[c] = [*runs["timing"], "--sample", *c.split(",")[1:]]
            continue
        if c.startswith("ff"):          # ff or ff,W: the region timed whole after a fast-forward
            w = c.split(",")[1] if "," in c else "0"
            runs[f"fast-forward W {int(w) / 1e6:g}M"] = [*runs["timing"], "--fast-forward", "roi", "--warmup", w]
            continue
        p, w, n = (int(x) for x in c.split(","))
        runs[f"P {p / 1e6:g}M W {w / 1e3:g}k N {n / 1e3:g}k"] = [
            *runs["timing"], "--fast-forward", "roi", "--sample-period", str(p), "--warmup", str(w),
            "--roi-instructions", str(n)]
    cpu: dict[str, list[float]] = {k: [] for k in runs}
    figs: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="sampling-cost-") as tmp:
        for i in range(a.repeat):
            print(f"round {i + 1}: load {os.getloadavg()[0]:.1f} at {time.strftime('%H:%M:%S')}", flush=True)
            for name, args in runs.items():
                s, path = run_child(args, Path(tmp))
                cpu[name].append(s)
                figs[name] = region_figures(path, a.region)
                print(f"  {name:28s} {s:6.2f} s CPU (run {figs[name]['host_s']:.2f} s)", flush=True)
    ref = figs["timing"]
    print(f"load now {os.getloadavg()[0]:.1f}")
    print("| run | CPU s best (median) | run wall s | x less CPU | samples | CPI (+-95%) | cycles err | "
          "L1D / 1000 | L2 / 1000 |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    base = min(cpu["timing"])
    for name in runs:
        f, best = figs[name], min(cpu[name])
        if "cycles" not in f:
            print(f"| {name} | {best:.2f} ({statistics.median(cpu[name]):.2f}) | {f['host_s']:.2f} | "
                  f"{base / best:.2f} | - | - | - | - | - |")
            continue
        err = (f["cycles"] / ref["cycles"] - 1) * 100
        if "count" in f:
            cpi = f"{f['cpi']:.4f} +- {f['cpi_hw']:.4f}"
            rest = f"{int(f['count'])} | {cpi} | {err:+.2f}% +- {100 * f['cpi_hw'] / f['cpi']:.2f}%"
        else:
            rest = f"- | {f['cpi']:.4f} | {err:+.3f}%"
        l1 = f"{f['l1d_per_1000']:.3f} ({(f['l1d_per_1000'] / ref['l1d_per_1000'] - 1) * 100:+.1f}%)"
        l2 = f"{f['l2_per_1000']:.4f} (x{f['l2_per_1000'] / ref['l2_per_1000']:.2f})"
        print(f"| {name} | {best:.2f} ({statistics.median(cpu[name]):.2f}) | {f['host_s']:.2f} | "
              f"{base / best:.2f} | {rest} | {l1} | {l2} |")


if __name__ == "__main__":
    main()
