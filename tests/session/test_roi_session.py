"""Regions of interest through the session: a user program's roi system call in
process mode and under the guest OS, and /sbin/roi from the guest's command line."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from flashvm.kernels import state as S
from flashvm.machine.config import machine_config, machine_with_cpus
from flashvm.session import run
from flashvm.spec import RunSpec
from flashvm.toolchain import GUEST_INCLUDE_DIR, build_user

SRC = Path(__file__).parents[1] / "guest" / "bare" / "roi_work.c"
ROOT = Path(__file__).parents[2]


def roi_workload(tmp_path: Path) -> Path:
    """A workload folder running roi_work.c (its region: `work`) with argument 2."""
    d = tmp_path / "w"
    d.mkdir()
    shutil.copy(SRC, d / "roi_work.c")
    (d / "workload.toml").write_text(f'name = "w"\n[build]\nsources = ["roi_work.c"]\nflags = ["-I{GUEST_INCLUDE_DIR}"]\n'
                                     '[run]\nargs = ["2"]\n')
    return d


def flashvm_run(*args: str) -> subprocess.CompletedProcess:
    """`flashvm run ARGS...` from this checkout, in a child process."""
    return subprocess.run([sys.executable, "-c", "from flashvm.cli import app; app()", "run", *args],
                          cwd=ROOT, capture_output=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(ROOT), "COLUMNS": "400"})


def program() -> Path:
    return build_user([SRC], extra_flags=[f"-I{GUEST_INCLUDE_DIR}"], name="roi_work_user")


def spec(kind: str, argv: tuple[str, ...], **kw) -> RunSpec:
    cfg = machine_config("flash1") if kind == "process" else machine_with_cpus(machine_config("flash1"), 1)
    return RunSpec(kind, program(), cfg, argv=argv, **kw)


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["process", "os"])
def test_user_program_marks_regions(kind):
    prog = program()
    argv = (str(prog), "2") if kind == "process" else ("/bin/roi_work", "2")
    files = {"/bin/roi_work": prog} if kind == "os" else {}
    report = run(spec(kind, argv, files=files))
    assert report.status == 0
    names = [r.name for r in report.regions]
    assert names == ["work", "tail"]
    work = report.regions[0].counters.stats[:, S.S_INSNS].sum()
    assert 3_000_000 < work < report.instructions


@pytest.mark.slow
def test_sbin_roi_from_the_command_line():
    report = run(spec("os", (), commands=(("/sbin/roi", "begin", "shell"), ("/sbin/roi", "end", "shell")),
                      files={}))
    assert report.status == 0
    assert [r.name for r in report.regions] == ["shell"]


@pytest.mark.slow
def test_fast_forward_to_the_region_measures_it_like_a_timing_run():
    from flashvm.toolchain import build_bare
    prog = build_bare([SRC], extra_flags=["-DSETUP=200"], name="roi_work_ff")
    base = RunSpec("bare", prog, machine_config("flash1"), sim_mode="timing")

    def work(spec):
        r = run(spec)
        assert r.status == 0
        return {x.name: x for x in r.regions}["work"].counters
    full = work(base)
    cold = work(replace(base, fast_forward="roi"))
    warm = work(replace(base, fast_forward="roi", warmup=200_000))
    assert cold.stats[0, S.S_INSNS] == full.stats[0, S.S_INSNS]
    assert abs(cold.cycles[0] - full.cycles[0]) <= 0.05 * full.cycles[0]     # cold caches: a few % more
    assert abs(warm.cycles[0] - full.cycles[0]) <= 0.001 * full.cycles[0]
    assert cold.stats[0, S.S_L2_MISS] > warm.stats[0, S.S_L2_MISS]
