"""The JIT tier in timing mode (issue 16's bar): a shared-memory program on the 8 CPUs of flash8,
timing mode, under the guest OS, with and without the tier; aggregate MIPS over host CPU seconds.

    PYTHONPATH=$PWD python bench/jit_timing.py [--program radix|raytrace] [--args "8 262144"] [--repeat N]

The program is workloads/radix (8 threads: histograms, barriers, a permutation all CPUs write)
or workloads/raytrace (8 threads on a shared scene and tile queues, --args "8 200 150").
Prints, per way: instructions, CPU seconds of this process (best of --repeat; the box may be
shared, so not wall time), aggregate MIPS, and for the tier its regions and the share of
instructions run in them; then whether every counter, cache and directory array agreed.
"""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import numpy as np

from flashvm.kernels import jit
from flashvm.machine.config import machine_with_cpus
from flashvm.session import run
from flashvm.spec import RunSpec
from flashvm.toolchain import build_user

WORKLOADS = Path(__file__).resolve().parent.parent / "workloads"
COMPARED = ("cpu", "gpr", "stats", "l1i", "l1d", "l2", "dir_owner", "dir_sharers", "node_stats", "magic", "ram32")


def one(spec: RunSpec, on: bool) -> tuple[float, object]:
    jit.set_enabled(on)
    jit.reset_stats()
    c0 = time.process_time()
    report = run(spec)
    return time.process_time() - c0, report


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--program", default="radix", choices=("radix", "raytrace"))
    ap.add_argument("--args", default="8 262144", help="the program's arguments (radix: THREADS KEYS)")
    ap.add_argument("--repeat", type=int, default=1)
    a = ap.parse_args()
    os.environ.setdefault("SOURCE_DATE_EPOCH", "1700000000")     # the same file times on both runs' disks
    exe = build_user([WORKLOADS / a.program / f"{a.program}.c"])
    guest = f"/bin/{a.program}"
    spec = RunSpec("os", exe, machine_with_cpus("flash8", 8), sim_mode="timing", argv=(guest, *a.args.split()),
                   files={guest: exe}, cpus=8)
    best: dict[bool, tuple[float, object]] = {}
    for _ in range(a.repeat):
        for on in (False, True):
            got = one(spec, on)
            if on not in best or got[0] < best[on][0]:
                best[on] = got
    rows = []
    for on in (False, True):
        cpu, rep = best[on]
        insns = int(rep.instructions)
        rows.append((on, insns, cpu, insns / cpu / 1e6, rep))
        extra = ""
        if on and rep.jit:
            s = rep.jit
            extra = (f"  regions {int(s['regions'])}, in regions {100 * s['jit_insns'] / max(insns, 1):.0f} %,"
                     f" {s['jit_insns'] / max(s['hits'], 1):.1f} per entry, translate {s['translate_s']:.1f} s")
        print(f"{'--jit   ' if on else '--no-jit'}  {insns / 1e6:,.1f} M instructions  {cpu:.1f} CPU s  "
              f"{insns / cpu / 1e6:,.2f} MIPS{extra}", flush=True)
    print(f"stdout: {rows[0][4].stdout.decode().strip().splitlines()[-1:]}")
    differ = [k for k in COMPARED if not np.array_equal(getattr(rows[0][4].machine, k), getattr(rows[1][4].machine, k))]
    print(f"speed-up {rows[1][3] / rows[0][3]:.2f}x; all counters, caches, directory and RAM equal: "
          + ("yes" if not differ else "NO, " + ", ".join(differ)))


if __name__ == "__main__":
    main()
