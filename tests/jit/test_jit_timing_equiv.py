"""Timing mode: the JIT tier's timing regions give exactly the interpreter's timing results.

Each run goes twice through the session, tier off and on (threshold lowered so
that short runs translate), and everything must be equal: instructions,
cycles, stall cycles, registers, every counter, the L1/L2 tag arrays, the
directory, the node and MAGIC counters, RAM, the guest's output."""
from __future__ import annotations

import pytest

from flashvm.kernels import jit
from flashvm.machine.config import machine_config, machine_with_cpus
from flashvm.session import run
from flashvm.spec import RunSpec
from flashvm.toolchain import build_user
from tests.jit import test_jit_equivalence as eq
from tests.support import GUEST, OS_PROGRAMS

# the cache model's state beside the functional arrays
CACHE_ARRAYS = ("l1i", "l1d", "l2", "dir_owner", "dir_sharers", "node_stats", "magic", "hotq", "params")


@pytest.fixture(autouse=True)
def _quick_tier(monkeypatch, tmp_path_factory):
    monkeypatch.setattr(jit, "THRESHOLD", 64)
    monkeypatch.setattr(jit, "MIN_INSNS", 0)
    monkeypatch.setattr(jit, "MIN_INSNS_NATIVE", 0)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.setenv("FLASHVM_JIT_CACHE", str(tmp_path_factory.getbasetemp() / "jitcache"))
    monkeypatch.delenv("FLASHVM_JIT_BACKEND", raising=False)
    monkeypatch.delenv("FLASHVM_JIT_TIMING", raising=False)
    yield
    jit.set_enabled(None)


def _state(report) -> dict:
    out = eq._state(report)
    m = report.machine
    for name in CACHE_ARRAYS:
        out[name] = eq.np.array(getattr(m, name))
    return out


def both(spec: RunSpec) -> tuple[dict, dict, dict]:
    jit.set_enabled(False)
    ref = _state(run(spec))
    jit.set_enabled(True)
    report = run(spec)
    assert report.jit is not None
    return ref, _state(report), report.jit


def assert_same(ref: dict, got: dict) -> None:
    eq.assert_same(ref, got)
    for k in CACHE_ARRAYS:
        assert eq.np.array_equal(ref[k], got[k]), k


@pytest.mark.slow
def test_a_program_in_timing_mode():
    exe = build_user([GUEST / "qsort.c"])
    spec = RunSpec("process", exe, machine_config("flash1"), sim_mode="timing", argv=("qsort",),
                   max_insns=2_000_000_000)
    ref, got, st = both(spec)
    assert_same(ref, got)
    assert st["regions"] > 0 and st["jit_insns"] > 0
    assert ref["stats"].sum() > 0


@pytest.mark.slow
def test_guest_os_in_timing_mode(monkeypatch):
    monkeypatch.setattr(jit, "THRESHOLD", 1000)
    exe = build_user([OS_PROGRAMS / "procs.c"])
    spec = RunSpec("os", exe, machine_config("flash1"), sim_mode="timing", argv=("/bin/procs",),
                   files={"/bin/procs": exe})
    ref, got, st = both(spec)
    assert_same(ref, got)
    assert st["jit_insns"] > 0


@pytest.mark.slow
def test_eight_cpus_shared_memory_in_timing_mode(monkeypatch):
    """flash8, 8 CPUs, 8 threads on a mutex, a condition variable and a barrier: misses,
    upgrades, invalidations and 3-hop forwards between CPUs, all as the interpreter has them."""
    monkeypatch.setattr(jit, "THRESHOLD", 1000)
    exe = build_user([OS_PROGRAMS / "threads.c"])
    spec = RunSpec("os", exe, machine_with_cpus("flash8", 8), sim_mode="timing", argv=("/bin/threads",),
                   files={"/bin/threads": exe}, cpus=8)
    ref, got, st = both(spec)
    assert_same(ref, got)
    assert st["jit_insns"] > 0
    assert ref["dir_sharers"].any() or (ref["dir_owner"] >= 0).any()
