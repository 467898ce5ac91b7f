"""A sampled run's functional stretches run the JIT tier by default (flashvm/session/fastforward.py):
the same counters and samples, bit for bit, as without it; --no-jit, a trace, --jit (the tier
everywhere) or a plain fast-forward leave the run function alone."""
from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from flashvm.kernels import jit
from flashvm.session import options, run
from flashvm.session.fastforward import tier_by_default
from flashvm.spec import RunReport, RunSpec
from tests.session.test_roi_sampling import N, P, W, _base, _work


@pytest.fixture
def tier_default(monkeypatch, tmp_path):
    """Nothing says --jit or --no-jit; the tier translates this small program from its start."""
    for name in ("FLASHVM_JIT", "FLASHVM_NO_JIT", "FLASHVM_JIT_BACKEND"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("FLASHVM_JIT_CACHE", str(tmp_path / "jit"))
    monkeypatch.setattr(jit, "MIN_INSNS_NATIVE", 0)
    monkeypatch.setattr(jit, "THRESHOLD", 1000)
    jit.set_enabled(None)
    yield
    jit.set_enabled(None)


def test_the_tier_is_on_by_default_for_sampled_runs_only(tier_default):
    sampled = options.with_sampling(_base(), "roi", W, N, P)
    assert tier_by_default(sampled, traced=False)
    assert not tier_by_default(_base(), traced=False)                # no fast-forward: as before
    assert not tier_by_default(options.with_fast_forward(_base(), "roi", 0), traced=False)   # nor a plain one
    assert not tier_by_default(sampled, traced=True)                 # a trace runs its own run function
    assert not tier_by_default(replace(sampled, kind="disco"), traced=False)   # slower under Disco
    jit.set_enabled(False)                                           # --no-jit
    assert not tier_by_default(sampled, traced=False)
    jit.set_enabled(True)                                            # --jit: the run kernel has the tier already
    assert not tier_by_default(sampled, traced=False)


def _twice(spec: RunSpec) -> tuple[RunReport, RunReport]:
    tiered = run(spec)
    jit.set_enabled(False)
    try:
        plain = run(spec)
    finally:
        jit.set_enabled(None)
    for r in (tiered, plain):
        assert r.how_ended == "halted" and r.status == 0
    return tiered, plain


@pytest.mark.parametrize("warmup", [W, 0])
def test_the_tier_changes_no_counter_and_no_sample(tier_default, warmup):
    tiered, plain = _twice(options.with_sampling(_base(), "roi", warmup, N, P))
    assert tiered.jit is not None and tiered.jit["jit_insns"] > 0     # regions ran
    assert plain.jit is None
    a, b = _work(tiered), _work(plain)
    assert a.samples is not None and b.samples is not None and len(a.samples.rows) >= 10
    assert np.array_equal(a.samples.table(), b.samples.table())
    assert np.array_equal(a.counters.stats, b.counters.stats)
    assert np.array_equal(a.counters.cycles, b.counters.cycles)
    for name in ("cpu", "gpr", "fpr", "cp0", "stats", "l1i", "l1d", "l2", "dir_sharers", "ram32"):
        assert np.array_equal(getattr(tiered.machine, name), getattr(plain.machine, name)), name
