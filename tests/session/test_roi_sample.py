"""--roi-instructions: a sample of the region of interest in timing mode, the run ending
once the region has run N instructions (flashvm/session/fastforward.py, RoiSample)."""
from __future__ import annotations

from dataclasses import replace

import pytest

from flashvm.kernels import state as S
from flashvm.machine.config import machine_config
from flashvm.session import options, run
from flashvm.spec import RunSpec
from flashvm.toolchain import build_bare
from tests.session.test_roi_session import SRC

N = 300_000


def _spec() -> RunSpec:
    prog = build_bare([SRC], extra_flags=["-DSETUP=200"], name="roi_work_ff")
    return RunSpec("bare", prog, machine_config("flash1"), sim_mode="timing")


def test_sample_measures_the_first_n_instructions_of_the_region():
    base = _spec()
    full = run(base)
    sample = run(replace(base, fast_forward="roi", warmup=200_000, roi_instructions=N))
    assert full.how_ended == "halted" and sample.how_ended == "limit"
    assert "--roi-instructions" in (sample.end_message or "")
    work = {r.name: r.counters for r in sample.regions}["work"]
    insns = int(work.stats[0, S.S_INSNS])
    assert N <= insns < N + 2 * base.machine.quantum       # it stops at the end of a round
    assert sample.instructions < full.instructions
    whole = {r.name: r.counters for r in full.regions}["work"]
    # warm caches: the sample's cycles per instruction are the region's (a loop doing the same all along)
    cpi_sample = work.cycles[0] / insns
    cpi_full = whole.cycles[0] / whole.stats[0, S.S_INSNS]
    assert abs(cpi_sample - cpi_full) < 0.1 * cpi_full


def test_roi_instructions_needs_timing_mode():
    base = replace(_spec(), sim_mode="functional")
    with pytest.raises(options.OptionError, match="timing"):
        options.with_roi_instructions(base, N)
    with pytest.raises(options.OptionError, match="positive"):
        options.with_roi_instructions(_spec(), 0)
    assert options.with_roi_instructions(_spec(), N).roi_instructions == N
