"""The JIT tier's coverage and translation policy, on a small program (tests/jit/after_sc.c):
a region starts right after an instruction the tier does not translate (here an SC), results
stay the interpreter's, and the translation budget takes regions found on disk but compiles
no new ones when it is spent."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from flashvm.kernels import jit, jitnative
from flashvm.machine.config import machine_config
from flashvm.session import run
from flashvm.spec import RunSpec
from flashvm.toolchain import build_user
from tests.jit.eager import eager_tier


@pytest.fixture()
def spec(monkeypatch, tmp_path) -> RunSpec:
    eager_tier(monkeypatch, tmp_path)
    exe = build_user([Path(__file__).parent / "after_sc.c"])
    yield RunSpec("process", exe, machine_config("flash1"), argv=("after_sc",))
    jit.set_enabled(None)


def _run(spec: RunSpec, on: bool):
    jit.set_enabled(on)
    return run(spec)


def test_code_after_an_untranslated_instruction_runs_translated(spec):
    ref = _run(spec, False)
    got = _run(spec, True)
    assert got.stdout == ref.stdout and b"counter 200000" in got.stdout
    assert got.instructions == ref.instructions
    assert np.array_equal(ref.machine.gpr, got.machine.gpr) and np.array_equal(ref.machine.stats, got.machine.stats)
    # every loop pass runs the SC (and the LL before it) in the interpreter; the rest is translated
    assert got.jit["jit_insns"] > 0.85 * got.instructions


def test_a_spent_budget_takes_regions_from_disk_but_compiles_none(spec, monkeypatch):
    first = _run(spec, True).jit
    assert first["regions"] > 0
    monkeypatch.setattr(jit, "TRANSLATE_SHARE", 0.0)
    monkeypatch.setattr(jit, "TRANSLATE_FREE_S", 0.0)
    again = _run(spec, True).jit           # all of them found (on disk, or loaded already)
    assert again["regions"] == first["regions"] == again["disk_hits"]
    monkeypatch.setattr(jitnative, "cached",
                        lambda regions, cache, timing=False, layout=None, checks=True: False)    # as if none were
    none = _run(spec, True).jit
    assert none["regions"] == 0 and none["jit_insns"] == 0
