#!/usr/bin/env python3
"""Where a program's instructions run outside the JIT tier's regions, by guest function.

usage: python bench/jit_where.py PROGRAM.c|ELF [ARGS ...] [--slice CYCLES] [--top N]

Runs the program in process mode with the tier on, in short slices (`jit.SLICE`), and after
each slice books the instructions the interpreter ran in it (retired minus retired in
regions) to the guest function holding the PC at the slice's start and end (half each).
A sampling profile: it needs no counter in the compiled loop, and with slices of ~64 K
cycles a function that keeps ~1 % of the run out of regions shows up.  The translation
cache is the usual one, so run it twice to see the warm picture.
"""
from __future__ import annotations

import argparse
import bisect
import io
from collections import Counter
from pathlib import Path

from elftools.elf.elffile import ELFFile


def symbols(exe: Path) -> tuple[list[int], list[str]]:
    """Sorted function start addresses and their names."""
    with open(exe, "rb") as fh:
        elf = ELFFile(fh)
        tab = elf.get_section_by_name(".symtab")
        funcs = sorted((s["st_value"], s.name) for s in tab.iter_symbols()
                       if s["st_info"]["type"] == "STT_FUNC" and s["st_value"])
    return [a for a, _ in funcs], [n for _, n in funcs]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("program")
    ap.add_argument("args", nargs="*")
    ap.add_argument("--slice", type=int, default=1 << 16, help="cycles per slice (default 65536)")
    ap.add_argument("--top", type=int, default=15)
    o = ap.parse_args(argv)

    from flashvm.kernels import jit, jitrun
    from flashvm.kernels.state import PC, S_INSNS
    from flashvm.process import run_process
    from flashvm.toolchain import build_user

    exe = Path(o.program)
    if exe.suffix == ".c":
        exe = Path(build_user([exe]))
    starts, names = symbols(exe)

    def where(pc: int) -> str:
        i = bisect.bisect_right(starts, pc) - 1
        return names[i] if i >= 0 else f"0x{pc:08x}"

    interp: Counter[str] = Counter()
    total: Counter[str] = Counter()
    inner = jitrun.run_jit_nb

    def sampled(m, step, jt, jcnt, jq, jstat, jctx):
        pc0, i0, j0 = int(m.cpu[0, PC]), int(m.stats[:, S_INSNS].sum()), int(jstat[1])
        reason = inner(m, step, jt, jcnt, jq, jstat, jctx)
        pc1 = int(m.cpu[0, PC])
        di, dj = int(m.stats[:, S_INSNS].sum()) - i0, int(jstat[1]) - j0
        for pc in (pc0, pc1):
            interp[where(pc)] += (di - dj) / 2
            total[where(pc)] += di / 2
        return reason

    jitrun.run_jit_nb = sampled
    jit.FIRST_SLICE = jit.SLICE = o.slice
    jit.set_enabled(True)
    out = io.BytesIO()
    r = run_process(str(exe), [exe.stem, *o.args], stdout=out, stderr=io.BytesIO())
    s = jit.stats()
    n = r.instructions
    print(f"{exe.stem} {' '.join(o.args)}: {n / 1e6:.1f} M instructions, "
          f"{s['jit_insns'] / n:.1%} in regions ({s['regions']:.0f} regions, {s['hits']:.0f} entries, "
          f"{s['refused']:.0f} refused, {s['empty']:.0f} empty)")
    print("| function | interpreted (M) | share of all interpreted | its instructions interpreted |")
    print("| --- | ---: | ---: | ---: |")
    left = sum(interp.values()) or 1
    for name, k in interp.most_common(o.top):
        print(f"| {name} | {k / 1e6:.2f} | {k / left:.1%} | {k / max(total[name], 1):.1%} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
