"""Compile the JIT tier's Numba kernels into the on-disk cache, beside the test suite.

On a clean clone every kernel compiles cold, and pytest compiles on one core
while CI has two.  The JIT tier's two run loops (timing: interp_jittiming and
run_jit_timing_nb; functional: interp_jit and run_jit_nb) are about 200 s of
that compilation, and no test needs them before tests/jit/.  .ci/run starts
this script in the background as the suite begins, so they compile on the
idle core and the JIT tests load them from the cache (Numba writes cache
files atomically: at worst both processes compile the same function).
It runs tests/jit/after_sc.c once per mode with the tier on; failures are
reported but never fail CI (the tests compile what is missing).
"""
from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def main() -> int:
    os.environ["FLASHVM_JIT_CACHE"] = tempfile.mkdtemp(prefix="flashvm-warm-jit-")
    from flashvm.kernels import jit
    from flashvm.machine.config import machine_config
    from flashvm.session import run
    from flashvm.spec import RunSpec
    from flashvm.toolchain import build_user

    jit.THRESHOLD, jit.MIN_INSNS, jit.MIN_INSNS_NATIVE = 200, 0, 0   # translate within a short run
    exe = build_user([ROOT / "tests" / "jit" / "after_sc.c"])
    jit.set_enabled(True)
    for mode in ("timing", "functional"):
        t0 = time.perf_counter()
        run(RunSpec("process", exe, machine_config("flash1"), sim_mode=mode, argv=("after_sc",)))
        print(f"warm_jit: {mode} JIT kernels ready in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Exception as e:      # the tests compile whatever this did not
        print(f"warm_jit: skipped ({type(e).__name__}: {e})", file=sys.stderr)
        sys.exit(0)
