"""The JIT tier gives exactly the interpreter's results.

Each run goes twice through the session, with the tier off and on (the
translation threshold lowered so that short runs translate a lot), and
everything the machine holds must be equal: instructions, cycles, registers,
CP0 and TLB, every counter, RAM, the guest's output and status.  Slow: with an
empty translation cache every region costs a Numba compile (seconds each)."""
from __future__ import annotations

import os
import tomllib
from pathlib import Path

import numpy as np
import pytest

from flashvm.kernels import jit
from flashvm.machine.config import machine_config
from flashvm.session import run
from flashvm.spec import RunSpec
from flashvm.toolchain import build_user
from tests.support import GUEST, OS_PROGRAMS

# Every region of a whole program compiled cold takes minutes to tens of minutes on a 2-core machine:
# these run when asked (FLASHVM_JIT_SUITE=1); the OS and Disco comparisons below always run.
whole_suite = pytest.mark.skipif(not os.environ.get("FLASHVM_JIT_SUITE"),
                                 reason="set FLASHVM_JIT_SUITE=1 to compare whole programs with the JIT tier "
                                        "(cold translation takes minutes per program)")

PROGRAMS = {p["name"]: p for p in tomllib.loads((GUEST / "programs.toml").read_text())["program"]}
ARRAYS = ("cpu", "gpr", "fpr", "cp0", "tlb", "stats", "exitrec", "tc_tag", "tc_add", "vcp0", "vtlb", "vstate")


@pytest.fixture(autouse=True)
def _quick_tier(monkeypatch, tmp_path_factory):
    monkeypatch.setattr(jit, "THRESHOLD", 64)
    monkeypatch.setattr(jit, "MIN_INSNS", 0)
    monkeypatch.setattr(jit, "MIN_INSNS_NATIVE", 0)
    monkeypatch.setattr(jit, "TRANSLATE_SHARE", None)       # compile whatever gets hot, however short the run
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")   # the same file times on both runs' disks
    monkeypatch.setenv("FLASHVM_JIT_CACHE", str(tmp_path_factory.getbasetemp() / "jitcache"))
    yield
    jit.set_enabled(None)


def _state(report) -> dict:
    m = report.machine
    out = {name: np.array(getattr(m, name)) for name in ARRAYS}
    out["ram"] = np.array(m.ram32)
    out["report"] = (report.status, report.ended, report.instructions, report.stdout, report.stderr,
                     report.how_ended, [(v.status, v.stdout) for v in report.vms or []], report.disco)
    return out


def both(spec: RunSpec) -> tuple[dict, dict, dict]:
    """(interpreter state, JIT state, JIT counters) of one spec run both ways."""
    jit.set_enabled(False)
    ref = _state(run(spec))
    jit.set_enabled(True)
    report = run(spec)
    assert report.jit is not None
    return ref, _state(report), report.jit


def assert_same(ref: dict, got: dict) -> None:
    assert ref["report"] == got["report"]
    for k in ARRAYS:
        assert np.array_equal(ref[k], got[k]), k
    bad = np.nonzero(ref["ram"] != got["ram"])[0]
    assert len(bad) == 0, [(hex(4 * int(i)), int(ref["ram"][i]), int(got["ram"][i])) for i in bad[:12]]


def _program(name: str) -> RunSpec:
    p = PROGRAMS[name]
    exe = build_user([GUEST / s for s in p.get("sources", [f"{name}.c"])])
    return RunSpec("process", exe, machine_config("flash1"), argv=(name, *p.get("args", [])),
                   env=p.get("env", {}), max_insns=2_000_000_000)


@whole_suite
@pytest.mark.slow
def test_a_program_both_ways():
    ref, got, st = both(_program("qsort"))
    assert_same(ref, got)
    assert st["regions"] > 0 and st["jit_insns"] > 0


@whole_suite
@pytest.mark.slow
@pytest.mark.parametrize("name", [n for n in PROGRAMS if n not in ("files", "time", "qsort")])
def test_program_suite_both_ways(name):
    ref, got, st = both(_program(name))
    assert_same(ref, got)


@pytest.mark.slow
def test_guest_os_both_ways(monkeypatch):
    monkeypatch.setattr(jit, "THRESHOLD", 3000)     # a few regions: each costs a compile
    exe = build_user([OS_PROGRAMS / "procs.c"])
    spec = RunSpec("os", exe, machine_config("flash1"), argv=("/bin/procs",), files={"/bin/procs": exe})
    ref, got, st = both(spec)
    assert_same(ref, got)
    assert st["jit_insns"] > 0


@pytest.mark.slow
def test_disco_both_ways(monkeypatch):
    monkeypatch.setattr(jit, "THRESHOLD", 3000)
    exe = build_user([OS_PROGRAMS / "hello.c"])
    spec = RunSpec("disco", exe, machine_config("flash8"), argv=("/bin/hello",), files={"/bin/hello": exe},
                   vms=2, vm_mem_mb=12)
    ref, got, st = both(spec)
    assert_same(ref, got)
    assert st["jit_insns"] > 0


@whole_suite
@pytest.mark.slow
def test_rewritten_code_is_not_run_stale():
    """A hot function rewritten in place: its stale translation is dropped (and counted)."""
    exe = build_user([Path(__file__).parent / "smc.c"])
    spec = RunSpec("process", exe, machine_config("flash1"), argv=("smc",))
    ref, got, st = both(spec)
    assert_same(ref, got)
    assert b"round 3 sum 18024000\n" in got["report"][3]
    assert st["invalidated"] > 0 and st["jit_insns"] > 0
