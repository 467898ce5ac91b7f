"""Timing mode: the JIT tier's timing regions give exactly the interpreter's timing results.

Each run goes twice through the session, tier off and on (threshold lowered so
that short runs translate), and everything must be equal: instructions,
cycles, stall cycles, registers, every counter, the L1/L2 tag arrays, the
directory, the node and MAGIC counters, RAM, the guest's output."""
from __future__ import annotations

import llvmlite.binding as llvm
import pytest

from flashvm.isa import jitgen, llvmtiming
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


LW, SW, ADDIU, LL = 0x8C820004, 0xAC820004, 0x24420001, 0xC0820000     # lw/sw v0,4(a0); addiu v0,v0,1; ll v0,0(a0)


def test_timing_leaves_test_the_l1d_before_writing():
    """The timing leaf of a store tests way 0 of the L1D after its soft-TLB hit and before the write."""
    code = llvmtiming.leaf(SW)
    assert code is not None and jitgen.leaf(SW) is not None
    test = next(i for i, x in enumerate(code) if "d1[" in x)
    write = next(i for i, x in enumerate(code) if x.startswith("ram32["))
    assert test < write and code[test + 1].strip() == "break"
    assert not any("d1[" in x for x in jitgen.leaf(SW))       # functional regions are unchanged


def test_timing_regions_call_the_cache_model():
    """Misses call the cache model, except in a region holding LL (they leave it instead)."""
    words = [ADDIU, LW, SW, ADDIU]
    assert llvmtiming.scan(words) == 4
    ir = llvmtiming.module_ir([words], "t")
    llvm.parse_assembly(ir).verify()
    # the lw and the sw, and a fetch test where a line starts: at the first instruction only, when all
    # four are in one line (offset 0 in the page), or at the third too when a line starts there
    assert ir.count(f'call i64 @"{llvmtiming.ACCESS}"') == 1 + 2
    other = llvmtiming.module_ir([words], "t", llvmtiming.DEFAULT._replace(off=128 - 8))
    llvm.parse_assembly(other).verify()
    assert other.count(f'call i64 @"{llvmtiming.ACCESS}"') == 2 + 2
    with_ll = llvmtiming.module_ir([[LL, LW, SW]], "u")
    llvm.parse_assembly(with_ll).verify()
    assert f'call i64 @"{llvmtiming.ACCESS}"' not in with_ll


@pytest.mark.slow
@pytest.mark.parametrize("name", ["qsort", "malloc_heavy"])
def test_a_program_in_timing_mode(name):
    exe = build_user([GUEST / f"{name}.c"])
    spec = RunSpec("process", exe, machine_config("flash1"), sim_mode="timing", argv=(name,),
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
