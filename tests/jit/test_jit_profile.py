"""A run's profile (flashvm/kernels/jit.py): the functional regions it entered, saved under a name
made from its specification, loaded into the table when the next run of the same specification
starts.  The second run enters regions sooner (more instructions in regions) and its machine is
the interpreter's bit for bit, whatever the profile says (a region checks its code words on entry)."""
from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from flashvm.kernels import jit
from flashvm.session import run
from flashvm.spec import RunReport
from tests.session.test_roi_sampling import _base

ARRAYS = ("cpu", "gpr", "fpr", "cp0", "stats", "ram32")


@pytest.fixture
def tier(monkeypatch, tmp_path):
    monkeypatch.setenv("FLASHVM_JIT_CACHE", str(tmp_path / "jit"))
    monkeypatch.setattr(jit, "MIN_INSNS_NATIVE", 0)
    monkeypatch.setattr(jit, "THRESHOLD", 1000)
    jit.set_enabled(True)
    yield tmp_path / "jit"
    jit.set_enabled(None)


def _spec():
    return replace(_base(), sim_mode="functional")


def _plain() -> RunReport:
    jit.set_enabled(False)
    try:
        return run(_spec())
    finally:
        jit.set_enabled(True)


def _same(a: RunReport, b: RunReport) -> None:
    assert a.how_ended == b.how_ended == "halted" and a.status == b.status == 0
    for name in ARRAYS:
        assert np.array_equal(getattr(a.machine, name), getattr(b.machine, name)), name


def test_the_second_run_starts_with_the_first_runs_regions(tier):
    first = run(_spec())
    profiles = list((tier / "profiles").glob("*.json"))
    assert len(profiles) == 1 and first.jit is not None and first.jit["preloaded"] == 0
    second = run(_spec())
    assert second.jit is not None and second.jit["preloaded"] >= first.jit["regions"] > 0
    assert second.jit["jit_insns"] > first.jit["jit_insns"]       # regions from the first instruction
    plain = _plain()
    _same(first, plain)
    _same(second, plain)


def test_a_profile_naming_other_code_changes_nothing(tier):
    run(_spec())
    path = next((tier / "profiles").glob("*.json"))
    body = json.loads(path.read_text())
    # every region put 4 bytes further on: loaded (its object is on disk), never run (stale words)
    body["regions"] = [[pa + 4, words, checks] for pa, words, checks in body["regions"]]
    path.write_text(json.dumps(body))
    moved = run(_spec())
    assert moved.jit is not None and moved.jit["preloaded"] > 0 and moved.jit["invalidated"] > 0
    _same(moved, _plain())


def test_a_damaged_profile_is_ignored(tier):
    run(_spec())
    path = next((tier / "profiles").glob("*.json"))
    path.write_text("{not json")
    again = run(_spec())
    assert again.jit is not None and again.jit["preloaded"] == 0
    _same(again, _plain())
