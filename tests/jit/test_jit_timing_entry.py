"""Timing regions: which table entries they hold comes from a table kept on disk (a warm start builds
no probe and no leaf per word), and a region that tests the CPU's stop before each instruction is
entered whenever its first instruction fits (near a round's end too), with the interpreter's results."""
from __future__ import annotations

import dataclasses

import pytest

from flashvm.isa import jitgen, llvmtiming
from flashvm.kernels import jit, jittiming
from flashvm.machine.config import machine_config
from flashvm.spec import RunSpec
from flashvm.toolchain import build_user
from tests.jit import test_jit_timing_equiv as teq
from tests.support import GUEST

LW, SW, ADDIU, LL = teq.LW, teq.SW, teq.ADDIU, teq.LL


def test_the_entry_table_decides_without_building(monkeypatch):
    """A known entry is answered from the table: no timing leaf, no probe."""
    name = jitgen.decode(ADDIU).name
    monkeypatch.setitem(llvmtiming.ENTRY_OK, name, False)
    monkeypatch.setattr(llvmtiming, "leaf", lambda word: pytest.fail("built a leaf"))
    monkeypatch.setattr(llvmtiming, "_probe", lambda word, branch: pytest.fail("built a probe"))
    assert not llvmtiming.supported(ADDIU)
    assert llvmtiming.scan([ADDIU, ADDIU]) == 0


def test_the_entry_table_goes_to_disk_and_back(tmp_path, monkeypatch):
    """Saved beside the translation cache under its own key, loaded once per path."""
    monkeypatch.setenv("FLASHVM_JIT_CACHE", str(tmp_path))
    path = jittiming._entry_path()
    assert path.parent == tmp_path and llvmtiming.entry_table_key() in path.name
    jit._save_entry_table({"addiu": True, "sc": False}, path)
    got: dict[str, bool] = {}
    jit._load_entry_table(got, path)
    assert got == {"addiu": True, "sc": False}
    again: dict[str, bool] = {}
    jit._load_entry_table(again, path)        # already loaded in this process: not read again
    assert again == {}


def test_regions_that_call_out_test_the_stop_per_instruction():
    """calls_out says which regions test the stop before each instruction: all but those holding LL."""
    assert llvmtiming.calls_out([ADDIU, LW, SW]) and not llvmtiming.calls_out([LL, LW, SW])
    ir = llvmtiming.module_ir([[ADDIU, LW, SW, ADDIU]], "t")
    assert ir.count("in_time") >= 4
    assert "in_time" not in llvmtiming.module_ir([[LL, LW, SW]], "u")


@pytest.mark.slow
def test_regions_entered_near_the_stop(monkeypatch, tmp_path):
    """A 37-cycle quantum puts a round's end inside most regions: they are entered anyway (their
    table length says 1) and leave before the first instruction that does not fit."""
    monkeypatch.setattr(jit, "THRESHOLD", 64)
    monkeypatch.setattr(jit, "MIN_INSNS_NATIVE", 0)
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1700000000")
    monkeypatch.delenv("FLASHVM_JIT_TIMING", raising=False)
    monkeypatch.delenv("FLASHVM_JIT_BACKEND", raising=False)
    monkeypatch.setenv("FLASHVM_JIT_CACHE", str(tmp_path / "jitcache"))
    monkeypatch.setattr(jittiming, "_tiers", {})      # only this run's tier (others may hold LL)
    exe = build_user([GUEST / "qsort.c"])
    cfg = dataclasses.replace(machine_config("flash1"), quantum=37)
    spec = RunSpec("process", exe, cfg, sim_mode="timing", argv=("qsort",), max_insns=2_000_000_000)
    try:
        ref, got, st = teq.both(spec)
    finally:
        jit.set_enabled(None)
    teq.assert_same(ref, got)
    assert st["jit_insns"] > 0 and st["refused"] < st["hits"]
    lengths = [int(t.jt[3][h]) for _, t in jittiming._tiers.values() for h in range((t.jt[0] >= 0).size)
               if t.jt[0][h] >= 0]
    assert lengths and all(n == 1 for n in lengths)        # qsort holds no LL
