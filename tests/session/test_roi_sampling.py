"""--sample-period: periodic sampling of the region of interest (flashvm/session/sampling.py),
its estimates of the whole region (flashvm/machine/roisamples.py) and their place in the
results file.  The program: roi_work.c, whose region sweeps a 256 KB buffer four times, the
same loop all along (a known, uniform behaviour)."""
from __future__ import annotations

import io
import subprocess
from dataclasses import replace

import h5py
import numpy as np
import pytest
from rich.console import Console

from flashvm.kernels import state as S
from flashvm.machine.config import machine_config
from flashvm.machine.roisamples import FIELDS, Z95, RoiSamples, ratio_estimate
from flashvm.results import write_report
from flashvm.session import options, run, summary
from flashvm.spec import RunReport, RunSpec
from flashvm.toolchain import build_bare
from tests.session.test_roi_session import SRC, flashvm_run, roi_workload

P, W, N = 200_000, 20_000, 30_000


def _base() -> RunSpec:
    prog = build_bare([SRC], extra_flags=["-DSETUP=200"], name="roi_work_ff")
    return RunSpec("bare", prog, machine_config("flash1"), sim_mode="timing")


def _sampled(period: int = P, warmup: int | None = W, size: int | None = N) -> RunReport:
    report = run(options.with_sampling(_base(), "roi", warmup, size, period))
    assert report.how_ended == "halted" and report.status == 0
    return report


def _work(report: RunReport):
    return {r.name: r for r in report.regions}["work"]


def test_sampling_is_deterministic():
    a, b = _work(_sampled()), _work(_sampled())
    assert a.samples is not None and len(a.samples.rows) >= 10
    assert np.array_equal(a.samples.table(), b.samples.table())
    assert np.array_equal(a.counters.stats, b.counters.stats)
    assert np.array_equal(a.counters.cycles, b.counters.cycles)
    starts = a.samples.column("start")
    # one sample per period, measured at its end, after the warm-up
    assert np.all(np.diff(starts) > P - 2_000)
    assert starts[0] >= P - N - 2_000


def test_estimates_match_the_full_timing_run():
    full = _work(run(_base())).counters
    insns = int(full.stats[:, S.S_INSNS].sum())
    cpi = int(full.cycles.max()) / insns
    l1d = 1000 * int(full.stats[:, S.S_L1D_MISS].sum()) / insns
    region = _work(_sampled())
    e = region.samples.estimates()
    assert e["region_instructions"] == insns          # the whole region ran, functional in between
    assert e["measured_instructions"] < 0.25 * insns
    assert abs(e["cpi"] - cpi) < 0.05 * cpi
    assert abs(e["l1d_per_1000"] - l1d) < 0.03 * l1d
    assert abs(e["cycles"] - cpi * insns) < 0.05 * cpi * insns
    assert e["cpi_se"] > 0 and e["l1d_per_1000_se"] > 0


def test_samples_tile_the_region_when_all_of_it_is_measured():
    base = _base()
    q = base.machine.quantum
    region = _work(_sampled(period=100_000, warmup=0, size=100_000))
    t = region.samples.table()
    insns = int(region.counters.stats[:, S.S_INSNS].sum())
    # the region begins mid-round: the rest of that round runs functional, then every instruction is measured
    assert insns - 2 * q <= t[:, FIELDS.index("instructions")].sum() <= insns
    assert int(region.counters.cycles.max()) - 2 * q <= t[:, FIELDS.index("cycles")].sum() <= \
        int(region.counters.cycles.max())


def test_ratio_estimate_and_its_standard_error():
    y, x = np.array([10, 20, 30]), np.array([10, 10, 10])
    r, se = ratio_estimate(y, x)
    assert r == 2.0 and se == pytest.approx(np.std(y / x, ddof=1) / np.sqrt(3))
    assert np.isnan(ratio_estimate(np.array([1]), np.array([0]))[0])


def _rows(cpis: list[float], size: int = 100_000) -> RoiSamples:
    s = RoiSamples(4_000_000, 400_000, size, region_instructions=400_000_000)
    for i, c in enumerate(cpis):
        row = dict.fromkeys(FIELDS, 0)
        row.update(start=i * 4_000_000, instructions=size, cycles=round(c * size))
        s.rows.append([row[f] for f in FIELDS])
    return s


def test_the_sample_size_for_a_target_interval():
    rng = np.random.default_rng(1)
    s = _rows(list(1.0 + 0.05 * rng.standard_normal(100)))
    e = s.estimates()
    half = Z95 * e["cpi_se"] / e["cpi"]               # ~1% with 100 samples of 5% spread
    need = s.samples_for(0.01)
    assert need == pytest.approx(100 * (half / 0.01) ** 2, abs=1)
    assert s.samples_for(0.005) == pytest.approx(4 * need, abs=4)    # half the interval: 4 times the samples
    period = s.period_for(0.01)
    assert period % 100_000 == 0 and period <= 400_000_000 / need < period + 100_000
    # a spread so wide that every period is too long: the shortest the schedule allows, W + N
    assert _rows([0.5, 2.0, 0.5, 2.0]).period_for(0.001) == 500_000
    assert _rows([1.0]).samples_for(0.01) is None and _rows([1.0]).period_for(0.01) is None


@pytest.mark.parametrize("kw, match", [
    (dict(fast_forward=None), "--fast-forward roi"),
    (dict(fast_forward="1000"), "--fast-forward roi"),
    (dict(mode="functional"), "--mode timing"),
    (dict(period=0), "positive"),
    (dict(size=0), "positive"),
    (dict(warmup=-1), "positive"),
    (dict(warmup=150_000, size=100_000), "exceed --sample-period"),
])
def test_bad_combinations_are_one_line_errors(kw, match):
    base = _base() if kw.get("mode") is None else replace(_base(), sim_mode=kw["mode"])
    with pytest.raises(options.OptionError, match=match) as e:
        options.with_sampling(base, kw.get("fast_forward", "roi"), kw.get("warmup", W), kw.get("size", N),
                              kw.get("period", P))
    assert "\n" not in str(e.value)


def test_defaults_and_the_plain_options():
    spec = options.with_sampling(_base(), "roi", None, None, 10_000_000)
    assert spec.roi_instructions and spec.warmup and spec.sample_period == 10_000_000
    # without --sample-period the options mean what they meant
    spec = options.with_region_options(_base(), "roi", None, 5000, None)
    assert spec.sample_period is None and spec.warmup == 0 and spec.roi_instructions == 5000


def test_results_file_holds_the_samples_and_estimates(tmp_path):
    report = _sampled()
    region = _work(report)
    path = write_report(report, tmp_path)
    with h5py.File(path) as f:
        g = f["roi/work/samples"]
        assert (g.attrs["period"], g.attrs["warmup"], g.attrs["size"]) == (P, W, N)
        for name in FIELDS:
            assert np.array_equal(g[name][:], region.samples.column(name))
        e = region.samples.estimates()
        for name in ("cpi", "cpi_se", "cycles", "cycles_se", "l1d_per_1000", "l2_per_1000", "local_share", "count"):
            assert g.attrs[name] == pytest.approx(e[name], nan_ok=True)
        assert "samples" not in f["roi/tail"]
        assert g.attrs["z"] == pytest.approx(1.96)
    out = io.StringIO()
    summary(report, Console(file=out, width=400))
    row = next(line for line in out.getvalue().splitlines() if "region work: estimate" in line)
    assert f"{len(region.samples.rows)} samples" in row and f"CPI {e['cpi']:.4f} +- " in row
    size = next(line for line in out.getvalue().splitlines() if "region work: sample size" in line)
    assert f"CPI +-1% needs ~{region.samples.samples_for(0.01)} samples" in size
    assert f"--sample-period {region.samples.period_for(0.01):,} or less" in size


def test_region_flags_leave_the_kernel_params_alone():
    """The begun/open counts live in exit-record slots no kernel writes; they once shared the last
    params slot with P_HOTQ_BATCH, so Disco's NUMA batching looked like a region already begun."""
    from flashvm.machine.flash import build_state
    from flashvm.machine.roi import Regions, regions_begun, regions_open
    m = build_state(machine_config("flash1"), timing=False, ram_bytes=1 << 20)
    m.params[S.P_HOTQ_BATCH] = 16
    params = m.params.copy()
    regions = Regions(lambda: m)
    assert regions_begun(m) == 0 and regions_open(m) == 0
    regions.begin("a")
    regions.begin("b")
    assert (regions_begun(m), regions_open(m)) == (2, 2)
    regions.end("b")
    assert (regions_begun(m), regions_open(m)) == (2, 1)
    assert np.array_equal(m.params, params)


@pytest.mark.parametrize("kind", ["process", "os"])
def test_sampling_a_user_program(kind):
    """The roi system call marks the region: in process mode (the host serves it) and under the guest OS."""
    from tests.session.test_roi_session import program, spec
    prog = program()
    argv = (str(prog), "2") if kind == "process" else ("/bin/roi_work", "2")
    base = spec(kind, argv, files={"/bin/roi_work": prog} if kind == "os" else {}, sim_mode="timing")
    full = _work(run(base)).counters
    cpi = int(full.cycles.max()) / int(full.stats[:, S.S_INSNS].sum())
    report = run(options.with_sampling(base, "roi", W, N, P))
    assert report.status == 0
    sampled = [r for r in report.regions if r.samples is not None]
    assert [r.name for r in sampled] == ["work"] and len(sampled[0].samples.rows) >= 10
    assert abs(sampled[0].samples.estimates()["cpi"] - cpi) < 0.05 * cpi


def test_the_command_line(tmp_path):
    """`flashvm run WORKLOAD --fast-forward roi --mode timing --sample-period P`: the estimate row, the
    samples in the result file; a bad combination: one line, status 2."""
    d = roi_workload(tmp_path)

    def flashvm(*args: str) -> subprocess.CompletedProcess:
        return flashvm_run(str(d), *args)
    p = flashvm("--mode", "timing", "--fast-forward", "roi", "--sample-period", str(P), "--warmup", str(W),
                "--roi-instructions", str(N), "--results", str(tmp_path / "res"))
    assert p.returncode == 0, p.stderr.decode()
    assert b"region work: estimate" in p.stderr
    (f,) = (tmp_path / "res").glob("w-*.h5")
    with h5py.File(f) as h:
        assert h["roi/work/samples/instructions"].shape[0] >= 10
        assert h["roi/work/samples"].attrs["cpi_se"] > 0
    p = flashvm("--mode", "timing", "--sample-period", str(P))
    err = p.stderr.decode().strip().splitlines()
    assert p.returncode == 2 and err[-1].startswith("error: --sample-period") and "Traceback" not in p.stderr.decode()
