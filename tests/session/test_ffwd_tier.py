"""Fast-forwarded and sampled runs run the JIT tier by default, in their functional and their timing
stretches (flashvm/session/fastforward.py): the same counters and samples, bit for bit, as with
--no-jit."""
from __future__ import annotations

import numpy as np
import pytest

from flashvm.kernels import jit
from flashvm.session import options, run
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


@pytest.mark.parametrize("warmup", [W, 0])
def test_a_plain_fast_forward_with_the_tier_is_the_interpreters(tier_default, warmup):
    tiered, plain = _twice(options.with_fast_forward(_base(), "roi", warmup))
    assert tiered.jit is not None and tiered.jit["jit_insns"] > 0
    a, b = _work(tiered), _work(plain)
    assert np.array_equal(a.counters.stats, b.counters.stats)
    assert np.array_equal(a.counters.cycles, b.counters.cycles)
    for name in ("cpu", "gpr", "fpr", "cp0", "stats", "l1i", "l1d", "l2", "dir_sharers", "ram32"):
        assert np.array_equal(getattr(tiered.machine, name), getattr(plain.machine, name)), name
