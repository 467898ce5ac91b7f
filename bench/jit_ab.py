#!/usr/bin/env python3
"""A/B of two translator variants in one process: runs alternated, CPU seconds, medians.

usage: python bench/jit_ab.py [--pairs N] [--base NAME=VALUE ...] PROGRAM [ARGS ...]

PROGRAM is a bench/programs name (or a .c file); it runs in process mode with the JIT tier,
alternately with the translator as it stands ("new") and with the llvmgen attributes given by
--base changed ("base"; default `LAZY_FCSR=False VERSION='llvm-13'`, the translator before the
FCSR was kept in pieces).  A variant's VERSION names its regions on disk, so both stay cached.
Alternating in one process leaves out the start-up and spreads the shared box's load over both
(the first run of each also pays for loading or compiling its regions: medians).
"""
from __future__ import annotations

import argparse
import io
import statistics
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--pairs", type=int, default=6)
    ap.add_argument("--base", nargs="*", default=["LAZY_FCSR=False", "VERSION='llvm-13'"])
    ap.add_argument("program")
    ap.add_argument("args", nargs="*")
    o = ap.parse_args(argv)

    from flashvm.isa import llvmgen
    from flashvm.kernels import jit
    from flashvm.process import run_process
    from flashvm.toolchain import build_user

    src = Path(o.program) if o.program.endswith(".c") else ROOT / "bench" / "programs" / f"{o.program}.c"
    exe = build_user([src])
    new = {}
    base = {}
    for item in o.base:
        name, _, value = item.partition("=")
        new[name] = getattr(llvmgen, name)
        base[name] = eval(value, {})
    jit.set_enabled(True)
    times: dict[str, list[float]] = {"base": [], "new": []}
    for i in range(o.pairs):
        for v in ("base", "new") if i % 2 == 0 else ("new", "base"):
            for name, value in (base if v == "base" else new).items():
                setattr(llvmgen, name, value)
            c0 = time.process_time()
            r = run_process(str(exe), [src.stem, *o.args], stdout=io.BytesIO(), stderr=io.BytesIO())
            times[v].append(time.process_time() - c0)
            print(f"{v} {times[v][-1]:.3f} s ({r.instructions:,} instructions)", flush=True)
    for v, ts in times.items():
        print(f"{v}: median {statistics.median(ts):.3f} s, best {min(ts):.3f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
