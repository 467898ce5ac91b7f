"""--sample: the region of interest sampled with measured defaults (flashvm/session/options.py
with_sample, flashvm/session/sampling.py sample_defaults), and the run saying it was sampled in
its summary and results file.  The program: roi_work.c (tests/session/test_roi_session.py)."""
from __future__ import annotations

import io
from dataclasses import replace

import h5py
import pytest
from rich.console import Console

from flashvm.machine.config import machine_config
from flashvm.results import write_report
from flashvm.session import options, run, summary
from flashvm.session.sampling import (
    SAMPLE_PERIOD_PER_CPU, SAMPLE_SIZE_PER_CPU, SAMPLE_WARMUP_PER_CPU, sample_defaults,
)
from flashvm.spec import RunSpec
from flashvm.toolchain import build_bare
from tests.session.test_roi_session import SRC, flashvm_run, roi_workload

P, W, N = 200_000, 20_000, 30_000


def _base(machine: str = "flash1", mode: str = "timing") -> RunSpec:
    prog = build_bare([SRC], extra_flags=["-DSETUP=200"], name="roi_work_ff")
    return RunSpec("bare", prog, machine_config(machine), sim_mode=mode)


def test_defaults_scale_with_the_cpus():
    spec = options.with_region_options(_base(), None, None, None, None, sample=True)
    assert (spec.fast_forward, spec.sample_period, spec.warmup, spec.roi_instructions) == (
        "roi", SAMPLE_PERIOD_PER_CPU, SAMPLE_WARMUP_PER_CPU, SAMPLE_SIZE_PER_CPU)
    spec8 = options.with_region_options(_base("flash8"), "roi", None, None, None, sample=True)
    assert (spec8.sample_period, spec8.warmup, spec8.roi_instructions) == sample_defaults(8)
    assert sample_defaults(8) == (8 * SAMPLE_PERIOD_PER_CPU, 8 * SAMPLE_WARMUP_PER_CPU, 8 * SAMPLE_SIZE_PER_CPU)


def test_given_options_replace_their_default():
    spec = options.with_region_options(_base(), None, 0, None, 4_000_000, sample=True)
    assert (spec.sample_period, spec.warmup, spec.roi_instructions) == (4_000_000, 0, SAMPLE_SIZE_PER_CPU)
    spec = options.with_region_options(_base(), None, None, 50_000, None, sample=True)
    assert (spec.sample_period, spec.warmup, spec.roi_instructions) == (
        SAMPLE_PERIOD_PER_CPU, SAMPLE_WARMUP_PER_CPU, 50_000)


def test_without_sample_fast_forward_roi_stays_exact():
    """--fast-forward roi --mode timing (no --sample) still times the whole region: no period."""
    spec = options.with_region_options(_base(), "roi", None, None, None)
    assert spec.fast_forward == "roi" and spec.sample_period is None and spec.roi_instructions is None


@pytest.mark.parametrize("ff, mode, match", [
    ("1000", "timing", "--fast-forward 1000 cannot go with it"),
    (None, "functional", "--sample measures the region in timing mode"),
    (None, "timing", "exceed --sample-period"),
])
def test_bad_combinations_are_one_line_errors(ff, mode, match):
    period = 100 if match.startswith("exceed") else None
    with pytest.raises(options.OptionError, match=match) as e:
        options.with_region_options(_base(mode=mode), ff, None, None, period, sample=True)
    assert "\n" not in str(e.value)


def test_summary_and_results_say_the_run_was_sampled(tmp_path):
    report = run(options.with_region_options(_base(), None, W, N, P, sample=True))
    assert report.how_ended == "halted" and report.status == 0
    (work,) = [r for r in report.regions if r.samples is not None]
    with h5py.File(write_report(report, tmp_path / "s")) as f:
        assert f.attrs["sampled"] == "work"
        assert f["roi/work/samples"].attrs["cpi_se"] > 0
    out = io.StringIO()
    summary(report, Console(file=out, width=400))
    row = next(line for line in out.getvalue().splitlines() if line.strip("│ ").startswith("sampled"))
    assert f"region work: {len(work.samples.rows)} samples of {N:,} instructions" in row
    assert f"one every {P:,} after {W:,} of warm-up" in row
    plain = run(options.with_region_options(_base(), "roi", None, None, None))
    with h5py.File(write_report(plain, tmp_path / "p")) as f:
        assert f.attrs["sampled"] == ""
    out = io.StringIO()
    summary(plain, Console(file=out, width=400))
    assert not any(line.strip("│ ").startswith("sampled") for line in out.getvalue().splitlines())


def test_the_command_line(tmp_path):
    """`flashvm run WORKLOAD --sample`: timing mode without --mode, the region sampled; --sample with
    --mode functional: one line, status 2; `run --help` names the flag."""
    d = roi_workload(tmp_path)
    flashvm = flashvm_run
    p = flashvm(str(d), "--sample", "--sample-period", str(P), "--warmup", str(W), "--roi-instructions", str(N),
                "--results", str(tmp_path / "res"))
    assert p.returncode == 0, p.stderr.decode()
    assert b"region work: estimate" in p.stderr and b"timing mode" in p.stderr
    (f,) = (tmp_path / "res").glob("w-*.h5")
    with h5py.File(f) as h:
        assert h.attrs["sampled"] == "work" and h.attrs["sim_mode"] == "timing"
        assert h["roi/work/samples"].attrs["period"] == P
    p = flashvm(str(d), "--sample", "--mode", "functional")
    err = p.stderr.decode().strip().splitlines()
    assert p.returncode == 2 and err[-1].startswith("error: --sample") and "Traceback" not in p.stderr.decode()
    p = flashvm("--help")
    assert p.returncode == 0 and b"--sample " in p.stdout


def test_the_schedule_is_the_sample_period_one():
    """--sample with P, W, N given samples exactly as --fast-forward roi --sample-period P does."""
    a = run(options.with_region_options(_base(), None, W, N, P, sample=True))
    b = run(options.with_sampling(replace(_base()), "roi", W, N, P))
    (ra,), (rb,) = ([r for r in x.regions if r.samples is not None] for x in (a, b))
    assert ra.samples.rows == rb.samples.rows
