"""Session fixtures of the flashvm benchmarks (bench/test_speed.py).

Not collected by the default ``python -m pytest`` (testpaths = ["tests"]);
run them with ``python -m pytest bench/ --benchmark-only``.

* ``programs``: the guest ELFs, built once (flashvm.toolchain caches them).
* ``flashvm_warm``: one small process-mode run before anything is timed, so
  the interpreter is loaded from Numba's cache -- or compiled, which takes
  minutes after a kernel change -- outside every measurement.
* At the end, a table of each benchmark's ``extra_info`` (simulated MIPS,
  instructions, µs per exit ...) is printed, since pytest-benchmark's own
  table shows only times.
"""
from __future__ import annotations

import io
import os
import time
from pathlib import Path

import pytest

# These benchmarks track the interpreter, the reference tier, as they have since they were written
# (the JIT tier, on by default for users, has its own scripts: compare.py --jit, jit_bars.py,
# jit_timing.py); FLASHVM_JIT=1 runs them with the tier.  Subprocesses inherit it.
os.environ.setdefault("FLASHVM_JIT", "0")

from compare import PROGRAMS  # noqa: E402

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent

# name -> C source of every guest program the benchmarks use
SOURCES = {
    **{name: p.source for name, p in PROGRAMS.items()},
    "getppid_loop": BENCH / "programs" / "getppid_loop.c",
    "exitcode": ROOT / "tests" / "guest" / "exitcode.c",
}

_RESULTS: list[tuple[str, dict]] = []


@pytest.fixture(scope="session")
def programs() -> dict[str, Path]:
    from flashvm.toolchain import build_user
    return {name: Path(build_user([src])) for name, src in SOURCES.items()}


@pytest.fixture(scope="session")
def flashvm_warm(programs) -> float:
    """Seconds the first process-mode run took (Numba cache load or compile)."""
    from flashvm.process import run_process
    t0 = time.perf_counter()
    r = run_process(str(programs["getppid_loop"]), ["getppid_loop", "10"],
                    stdout=io.BytesIO(), stderr=io.BytesIO())
    assert r.status == 0
    return time.perf_counter() - t0


@pytest.fixture
def report(benchmark, request):
    """report(**info): store info in benchmark.extra_info and in the end-of-run table."""
    def put(**info):
        benchmark.extra_info.update(info)
        _RESULTS.append((request.node.name, dict(info)))
    return put


def _fmt(v) -> str:
    if isinstance(v, float):
        return f"{v:,.3f}" if abs(v) < 100 else f"{v:,.1f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


def pytest_terminal_summary(terminalreporter):
    if not _RESULTS:
        return
    tr = terminalreporter
    tr.section("flashvm benchmark figures (best round)")
    for name, info in _RESULTS:
        tr.write_line(f"{name}: " + ", ".join(f"{k} {_fmt(v)}" for k, v in info.items()))
