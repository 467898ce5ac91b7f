"""Compile the simulator's Numba kernels into the on-disk cache, beside lint and tests.

On a clean clone every kernel compiles cold (about 6 minutes of the suite: the interpreter's
call tree ~5.5 CPU minutes, one version per function, docs/architecture.md),
and pytest compiles on one core while CI has two.  .ci/run starts this script
in the background before lint and types, so the kernels compile on the idle
core: the suite's first tests find part of the interpreter's call tree
already cached, and the JIT tier's two run loops (about 200 s, no test needs
them before tests/jit/) are ready long before.  Numba writes its cache files
atomically, so two processes compiling one function at once cost time, never
correctness.  Failures are reported but never fail CI (the tests compile
whatever is missing).
"""
from __future__ import annotations

import io
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def _timed(what: str, fn) -> None:
    t0 = time.perf_counter()
    fn()
    print(f"warm_kernels: {what} ready in {time.perf_counter() - t0:.0f} s", file=sys.stderr)


def main() -> None:
    from numba import typeof, types

    from flashvm.elf import load_elf
    from flashvm.kernels import jit
    from flashvm.kernels.interp import exec_cpu_nb
    from flashvm.machine.bare import BareMachine
    from flashvm.machine.config import machine_config
    from flashvm.session import run
    from flashvm.spec import RunSpec
    from flashvm.toolchain import build_bare, build_user

    def interpreter() -> None:
        # the suite's first test compiles run_nb, which types the timing interpreter before the
        # functional one: compiling the functional one first here lets the suite load it instead
        jit.set_enabled(False)     # the suite runs the interpreter (tests/conftest.py), the tier is on by default
        bm = BareMachine(out=io.BytesIO())
        exec_cpu_nb.compile((typeof(bm.m), types.int64, types.int64))
        bm.load(load_elf(build_bare([ROOT / "tests" / "guest" / "bare" / "hello_bare.c"])))
        bm.run(max_insns=1_000_000)

    exe = build_user([ROOT / "tests" / "jit" / "after_sc.c"])

    def jit_tier(mode: str):
        def go() -> None:
            jit.set_enabled(True)
            run(RunSpec("process", exe, machine_config("flash1"), sim_mode=mode, argv=("after_sc",)))
        return go

    from flashvm.session.warmup import compile_lock, interpreter_cached

    def interpreter_once() -> None:
        with compile_lock():        # the test workers wait for it rather than compile it again
            if not interpreter_cached():
                interpreter()

    _timed("interpreter", interpreter_once)
    jit.THRESHOLD, jit.MIN_INSNS, jit.MIN_INSNS_NATIVE = 200, 0, 0   # translate within a short run
    _timed("JIT tier, timing", jit_tier("timing"))
    _timed("JIT tier, functional", jit_tier("functional"))


if __name__ == "__main__":
    regions = tempfile.mkdtemp(prefix="flashvm-warm-")
    os.environ["FLASHVM_JIT_CACHE"] = regions        # its translated regions are of no use later
    try:
        main()
    except Exception as e:      # the tests compile whatever this did not
        print(f"warm_kernels: stopped ({type(e).__name__}: {e})", file=sys.stderr)
    finally:
        shutil.rmtree(regions, ignore_errors=True)
