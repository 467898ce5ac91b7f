"""Regions of interest on the bare machine: the ROI device, the counters kept
per region, and their place in the result file."""
from __future__ import annotations

import io
from pathlib import Path

import pytest

from flashvm.elf import load_elf
from flashvm.kernels import state as S
from flashvm.machine.flash import FlashMachine
from flashvm.machine.roi import Regions
from flashvm.results import read_run, write_run
from flashvm.toolchain import build_bare

BARE = Path(__file__).parents[1] / "guest" / "bare"


def roi_machine(mode: str = "functional") -> FlashMachine:
    fm = FlashMachine("flash1", mode=mode, out=io.BytesIO())
    fm.load(load_elf(build_bare([BARE / "roi_work.c"])))
    fm.write_bootinfo(["roi_work"])
    return fm


@pytest.mark.parametrize("mode", ["functional", "timing"])
def test_regions_count_what_runs_inside_them(mode):
    fm = roi_machine(mode)
    r = fm.run()
    regions = {x.name: x for x in fm.roi.finished()}
    assert list(regions) == ["work", "tail"]
    work = regions["work"].counters
    # the region is the work loop: most of the run but not the set-up before it
    assert 1_000_000 < work.stats[0, S.S_INSNS] < r.instructions - 1_000_000
    assert regions["tail"].counters.stats[0, S.S_INSNS] < work.stats[0, S.S_INSNS]
    if mode == "timing":
        assert work.stats[0, S.S_L1D_MISS] > 0
        assert work.cycles[0] > work.stats[0, S.S_INSNS]


def test_region_visits_sum_and_unbalanced_ends_are_ignored():
    m = S.new_machine(1, 1 << 20)
    rg = Regions(lambda: m)
    rg.end("never")                 # no begin: nothing
    for k in range(3):
        rg.begin("loop")
        m.stats[0, S.S_INSNS] += 10
        rg.end("loop")
        m.stats[0, S.S_INSNS] += 100
    rg.mark("a")
    m.stats[0, S.S_INSNS] += 1
    rg.mark("b")                    # ends a, begins b
    rg.close_all()
    got = {x.name: (x.visits, int(x.counters.stats[0, S.S_INSNS])) for x in rg.finished()}
    assert got == {"loop": (3, 30), "a": (1, 1), "b": (1, 0)}


def test_regions_in_the_result_file(tmp_path):
    fm = roi_machine()
    fm.run()
    path = write_run(tmp_path / "r.h5", fm.m, config={}, attrs={}, regions=fm.roi.finished())
    d = read_run(path)
    assert d["roi/work/cpu/instructions"][0] == fm.roi.regions["work"].counters.stats[0, S.S_INSNS]
    assert d["roi/tail/cpu/cycles"].shape == (1,)
