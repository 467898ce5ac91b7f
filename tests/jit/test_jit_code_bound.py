"""The JIT tier's bound on native code (flashvm/kernels/jitnative.py): one LLVM engine holds at most
`capacity()` regions, because MCJIT maps every object on its own and a long run would otherwise
exhaust Linux's memory-map limit.  When it is full the tier drops all native code and loads
again the regions its tables still use; results stay the interpreter's."""
from __future__ import annotations

import gc
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from flashvm.kernels import jit, jitnative
from flashvm.machine.config import machine_config
from flashvm.session import run
from flashvm.session.summary import summary
from flashvm.spec import RunSpec
from flashvm.toolchain import build_user
from tests.jit.eager import eager_tier


def _maps() -> int:
    with open("/proc/self/maps") as f:
        return sum(1 for _ in f)


@pytest.fixture()
def spec(monkeypatch, tmp_path) -> RunSpec:
    eager_tier(monkeypatch, tmp_path, first_slice=1 << 14, slice_=1 << 15)
    exe = build_user([Path(__file__).parent / "many_regions.c"])
    yield RunSpec("process", exe, machine_config("flash1"), argv=("many_regions",))
    jit.set_enabled(None)


def test_a_full_engine_is_renewed_and_results_stay_the_interpreters(spec, monkeypatch):
    jit.set_enabled(False)
    ref = run(spec)
    jit.reset_stats()
    jitnative.renew([], 0)          # start from an empty engine
    monkeypatch.setattr(jitnative, "capacity", lambda: 6)
    jit.set_enabled(True)
    loaded = []
    compile_batch = jitnative.compile_batch

    def counting(*args, **kwargs):
        out = compile_batch(*args, **kwargs)
        loaded.append(len(jitnative._loaded))
        return out

    monkeypatch.setattr(jitnative, "compile_batch", counting)
    got = run(spec)
    assert got.stdout == ref.stdout and got.stdout.startswith(b"mix ")
    assert got.instructions == ref.instructions
    assert np.array_equal(ref.machine.gpr, got.machine.gpr) and np.array_equal(ref.machine.stats, got.machine.stats)
    assert got.jit["regions"] > 12 and got.jit["code_renewals"] >= 2
    assert max(loaded) <= 6                     # never more in the engine than it may hold
    assert got.jit["jit_insns"] > 0.5 * got.instructions
    console = Console(record=True, width=200)
    summary(got, console)
    assert f"code dropped and reloaded {int(got.jit['code_renewals'])} times" in console.export_text()


def test_renewing_unmaps_the_dropped_code(tmp_path):
    jitnative.renew([], 0)
    gc.collect()
    before = _maps()
    addrs = []
    for k in range(40):
        words = [0x25080000 | k, 0x25290000 | (k + 7), 0x03E00008, 0x00000000]   # addiu t0; addiu t1; jr ra; nop
        addrs += jitnative.compile_batch([words], tmp_path, checks=False)[0]
    assert _maps() >= before + 40                   # each object maps its sections on its own
    moved = jitnative.renew(addrs[-5:], keep=3)     # keep the three newest in use
    assert sorted(moved) == sorted(addrs[-3:]) and all(moved.values())
    assert len(jitnative._loaded) == 3
    assert _maps() <= before + 3 * jitnative.MAPS_PER_OBJECT + 4


def test_a_finished_machines_tier_goes_with_it():
    class M:
        cpu = np.zeros(4)

    m = M()
    m.cpu = np.zeros(4)
    t = jit.tier_of(m)       # type: ignore[arg-type]
    assert jit.tier_of(m) is t and t in jit._live_tiers()     # type: ignore[arg-type]
    del m
    gc.collect()
    assert t not in jit._live_tiers()
