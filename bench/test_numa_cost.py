"""A bound on the host cost of Disco's NUMA policy (bench/numa_fig8.py's situation, smaller): the
CPU seconds the host spends outside the simulation kernel (its exits, the monitor, the policy's
decisions, copies and shootdowns), per hot-page event, over the same run with --numa off.  Half the
events of this small run end in a move (copy and shootdown), which is what the bound is mostly
made of; the events that move nothing are decided in one kernel call per batch.

    PYTHONPATH=$PWD python -m pytest bench/test_numa_cost.py -s      # about 30 s of CPU

The full-size comparison (the issue's bar: at most 10% more host CPU time than --numa off) is
`python bench/numa_fig8.py`; this test catches a regression of the policy's own path in a minute.
"""
from __future__ import annotations

import pytest

from numa_fig8 import PROGRAM, one, warm

ARGS = ["8", "512", "20"]
PER_EVENT_US = 100          # measured 35 us per event quiet, 84 at a load of 7 (docs/disco.md); ~120 before batching


@pytest.mark.slow
def test_policy_host_cost_per_hot_page_event():
    from flashvm.toolchain import build_user
    exe = build_user([PROGRAM])
    warm(exe)
    runs: dict[str, list[dict]] = {"off": [], "both": []}
    for _ in range(2):
        for mode in runs:
            runs[mode].append(one(exe, ARGS, mode))
    off, on = (min(runs[m], key=lambda x: x["outside"]) for m in ("off", "both"))
    assert off["out"] == on["out"]                            # the same checksum, whatever the placement
    events = on["numa"]["events"]
    assert events > 1000 and on["numa"]["migrations"] > 0 and on["numa"]["replications"] > 0
    per_event = (on["outside"] - off["outside"]) / events * 1e6
    print(f"\npolicy host cost: {per_event:.0f} us per hot-page event ({events:,} events; outside the kernel "
          f"{off['outside']:.2f} s off, {on['outside']:.2f} s both; total CPU {off['cpu']:.2f} s, {on['cpu']:.2f} s)")
    assert per_event <= PER_EVENT_US
