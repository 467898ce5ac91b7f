"""MAGIC's hot-page queue (hotq, HOTQ_LEN events) when the host does not drain it: the events past
the queue's capacity are counted in params[P_HOTQ_DROPS], and the result file and the summary say so."""
from __future__ import annotations

import io
from pathlib import Path

import h5py
import numpy as np
from rich.console import Console

from flashvm.kernels import state as S
from flashvm.kernels.cache import access_nb
from flashvm.machine.config import CacheConfig, MachineConfig
from flashvm.machine.flash import build_state
from flashvm.results import write_run
from flashvm.session import summary
from flashvm.spec import RunReport, RunSpec

LINE = 64


def tiny_config() -> MachineConfig:
    return MachineConfig(name="tiny", nodes=2, cpus_per_node=1, mem_per_node=1 << 20, line_bytes=LINE,
                         l1i=CacheConfig(4 * LINE, 2), l1d=CacheConfig(4 * LINE, 2),
                         l2=CacheConfig(8 * LINE, 2)).validate()


def hot_machine():
    """Two nodes of one CPU, every first miss to a page a hot-page event, batches too big to end."""
    m = build_state(tiny_config(), timing=True, rom_bytes=0)
    m.params[S.P_HOT_THRESHOLD] = 1
    m.params[S.P_HOTQ_BATCH] = 1_000_000          # the run loop is never told: the queue only fills
    return m


def touch_pages(m, pages: int) -> None:
    for page in range(pages):
        access_nb(m, 0, page * (4096 // LINE), S.ACC_LOAD)


def test_events_past_the_queue_are_counted():
    m = hot_machine()
    extra = 9
    touch_pages(m, S.HOTQ_LEN + extra)
    assert m.params[S.P_HOTQ_PEND] == S.HOTQ_LEN
    assert m.params[S.P_HOTQ_DROPS] == extra
    # the queue keeps the first HOTQ_LEN events, in order
    assert np.array_equal(m.hotq[:, 0], np.arange(S.HOTQ_LEN))
    assert (m.hotq[:, 1] == 0).all() and (m.hotq[:, 2] == 1).all()


def test_no_drops_while_the_queue_has_room():
    m = hot_machine()
    touch_pages(m, S.HOTQ_LEN)
    assert m.params[S.P_HOTQ_PEND] == S.HOTQ_LEN
    assert m.params[S.P_HOTQ_DROPS] == 0


def test_result_file_has_the_drop_count(tmp_path):
    m = hot_machine()
    touch_pages(m, S.HOTQ_LEN + 3)
    path = write_run(tmp_path / "r.h5", m, config={}, attrs={}, machine_config={"name": "tiny"})
    with h5py.File(path, "r") as f:
        assert f["pages"].attrs["hot_events_dropped"] == 3


def summary_text(m) -> str:
    cfg = tiny_config()
    report = RunReport(spec=RunSpec("process", Path("prog"), cfg), status=0, ended="exit", instructions=0,
                       host_seconds=0.0, machine=m, config=cfg, sim_mode="timing")
    out = io.StringIO()
    summary(report, Console(file=out, width=200), title="t")
    return out.getvalue()


def test_summary_says_how_many_were_dropped():
    m = hot_machine()
    touch_pages(m, S.HOTQ_LEN)
    assert "hot-page events dropped" not in summary_text(m)
    touch_pages(m, S.HOTQ_LEN + 5)             # 5 more pages: all past the full queue
    assert "hot-page events dropped" in summary_text(m) and " 5 (" in summary_text(m)
