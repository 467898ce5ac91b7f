"""The counters the reports explain table2, fig6 and fig7 with: services per call (the
fast refill, calls only, has no time), dirty misses and the busiest node, and each
experiment's own paragraph built from them."""
from __future__ import annotations

import h5py
import numpy as np

from flashvm.experiments import catalog
from flashvm.experiments.model import Run
from flashvm.experiments.measures import take


def _services_file(path, counters, events=None):
    """A result file holding only a /services group with these counters (and monitor events)."""
    from flashvm.kernels import state as S
    from flashvm.machine.services import COUNTERS, MONITOR_PARTS, NAMES
    with h5py.File(path, "w") as f:
        f.attrs["machine_json"] = '{"clock_mhz": 400.0}'
        g = f.create_group("services")
        g.attrs["names"] = NAMES
        g.create_dataset("counters", data=counters).attrs["names"] = COUNTERS
        g.create_dataset("monitor", data=np.zeros((len(NAMES), 4), np.int64)).attrs["names"] = MONITOR_PARTS
        if events is not None:
            g.create_dataset("events", data=events).attrs["names"] = S.DS_NAMES
    return path


def test_services_per_call_and_the_fast_refill_has_no_time(tmp_path):
    from flashvm.machine.services import COUNTERS, NAMES
    counters = np.zeros((len(NAMES), len(COUNTERS)), dtype=np.int64)
    counters[NAMES.index("write"), :] = (4, 8000, 8000, 2000, 3, 40)
    counters[NAMES.index("utlb_miss"), 0] = 500
    path = _services_file(tmp_path / "s.h5", counters)
    got = take(str(path), Run("pmake/bare", "pmake"), ("write_calls", "write_insns", "write_l2miss", "utlb_miss_calls",
                                                      "utlb_miss_us", "utlb_miss_share", "utlb_miss_kernel"))
    assert got == {"write_calls": 4.0, "write_insns": 500.0, "write_l2miss": 10.0, "utlb_miss_calls": 500.0,
                   "utlb_miss_us": None, "utlb_miss_share": None, "utlb_miss_kernel": None}


def test_dirty_misses_and_the_busiest_node(tmp_path):
    path = tmp_path / "m.h5"
    with h5py.File(path, "w") as f:
        g = f.create_group("roi/roi")
        g["cpu/misses_local"] = np.array([10, 10])
        g["cpu/misses_remote"] = np.array([20, 20])
        g["cpu/misses_remote_dirty"] = np.array([70, 70])
        g["node/directory_ops"] = np.array([300, 100])
    got = take(str(path), Run("pmake/os", "pmake", machine="flash8", cpus=8), ("dirty_pct", "hot_node_pct"))
    assert got == {"dirty_pct": 70.0, "hot_node_pct": 75.0}


def test_each_experiments_paragraph_uses_its_counters():
    t2 = {("pmake/bare", "write_us"): 500.0, ("pmake/disco", "write_us"): 650.0, ("pmake/disco", "write_calls"): 78.0,
          ("pmake/disco", "write_insns"): 199_000.0, ("pmake/disco", "write_l2miss"): 31.0,
          ("pmake/disco", "write_kernel"): 0.75, ("pmake/disco", "write_priv"): 0.2}
    said = catalog._table2_why(t2, "pmake/disco", "write_us")
    assert said is not None and "1.30 against the paper's 2.14" in said and "78 calls of 199,000" in said
    assert "guest kernel execution 75%" in said and "other privileged instructions 20%" in said
    assert catalog._table2_why(t2, "pmake/disco", "time") is None

    t6 = {("pmake/8vm", "virtual_mb"): 60.0, ("pmake/8vm", "machine_mb"): 24.0, ("pmake/8vm", "shared_by_all_mb"): 1.0,
          ("pmake/8vm", "virtual_end_mb"): 14.0, ("pmake/8vm", "machine_end_mb"): 6.0}
    said = catalog._fig6_why(t6, "pmake/8vm", "machine_mb")
    assert said is not None and "40% of the virtual footprint (the paper: 49%)" in said and "1.0 MB" in said

    t7 = {("pmake/os", "idle"): 66.0, ("pmake/os", "kernel"): 32.0, ("pmake/os", "stall"): 0.92,
          ("pmake/os", "dirty_pct"): 76.0, ("pmake/os", "hot_node_pct"): 53.0, ("pmake/8vm", "total"): 4.8}
    said = catalog._fig7_why(t7, "pmake/8vm", "total")
    assert said is not None and "idle 66 of the 100" in said and "76% of the misses" in said and "53%" in said
    assert "paragraph on its total" in (catalog._fig7_why(t7, "pmake/8vm", "idle") or "")


def test_table2_says_which_services_are_not_slower_and_why():
    t = {(run, f"{s}_us"): 10.0 if run == "pmake/bare" else 11.0 for s in catalog.SERVICES
         for run in ("pmake/bare", "pmake/disco")}
    t[("pmake/disco", "demand_zero_us")] = 5.0
    t[("pmake/disco", "demand_zero_l2miss")], t[("pmake/bare", "demand_zero_l2miss")] = 0.5, 32.0
    [check] = catalog.TABLE2.checks
    assert not check.holds(t) and check.why_not is not None
    said = check.why_not(t)
    assert "demand_zero 5.0 µs against 10.0" in said and "0.5 L2 misses a call against" in said and "32.0" in said
    assert "execve" not in said and "HAL_MC_ZERO" in said


def test_table2_weighs_a_service_that_zeroes_pages_from_the_monitors_events(tmp_path):
    """execve not slower in the VM: the report says how many pages a call zeroes, what that zeroing
    took the guest alone, and what the monitor spends on it and on everything else."""
    from flashvm.kernels import state as S
    from flashvm.machine.services import COUNTERS, NAMES
    events = np.zeros((len(NAMES), S.NDSTATS), dtype=np.int64)
    events[NAMES.index("execve"), S.DS_ZERO_PAGES] = 40
    events[NAMES.index("execve"), S.DS_TRAPS] = 200
    counters = np.zeros((len(NAMES), len(COUNTERS)), dtype=np.int64)
    counters[NAMES.index("execve"), :2] = (2, 4000)
    path = _services_file(tmp_path / "d.h5", counters, events)
    got = take(str(path), Run("pmake/disco", "pmake"), ("execve_zeroed", "execve_traps", "read_zeroed"))
    assert got == {"execve_zeroed": 20.0, "execve_traps": 100.0, "read_zeroed": None}
    t = {(run, f"{s}_us"): 10.0 if run == "pmake/bare" else 11.0 for s in catalog.SERVICES
         for run in ("pmake/bare", "pmake/disco")}
    t[("pmake/bare", "execve_us")], t[("pmake/disco", "execve_us")] = 500.0, 490.0
    t.update({("pmake/disco", "execve_zeroed"): 20.0, ("pmake/disco", "execve_traps"): 100.0,
              ("pmake/disco", "execve_kernel"): 0.5, ("pmake/disco", "execve_mcall"): 0.45,
              ("pmake/disco", "execve_ktlb"): 0.05})
    said = catalog.TABLE2.checks[0].why_not(t)
    # the guest's part 245 µs, 255 less than alone (12.75 a page); the monitor 220.5 on the calls, 24.5 on the rest
    assert "zeroes 20.0 pages a call" in said and "255.0 µs (12.75 a page) less than alone" in said
    assert "220.5 µs on its calls and their zeroing (11.03 a page) and 24.5 on the rest (100 traps" in said


def test_table2_draws_its_own_figure(tmp_path):
    from flashvm.experiments.plot import draw
    from flashvm.experiments.table import Results
    res = Results(catalog.TABLE2, list(catalog.TABLE2.runs(True)))
    for s in catalog.SERVICES:
        res.values[("pmake/bare", f"{s}_us")], res.values[("pmake/disco", f"{s}_us")] = 10.0, 15.0
        for part, share in zip(catalog._PART_NAMES, (0.6, 0.1, 0.1, 0.1, 0.1)):
            res.values[("pmake/disco", f"{s}_{part}")] = share
    draw(res, tmp_path / "t2.png")
    assert (tmp_path / "t2.png").stat().st_size > 10_000


def test_the_numa_policys_own_cycles(tmp_path):
    path = tmp_path / "n.h5"
    with h5py.File(path, "w") as f:
        f.create_group("roi/vm0.roi")["cpu/cycles"] = np.array([1000, 1000])
        g = f.create_group("disco/numa")
        g.attrs["monitor_cycles"], g.attrs["copy_cycles"], g.attrs["frozen_pages"] = 500, 2_000_000, 7
    got = take(str(path), Run("engineering/disco", "engineering", "disco", vms=1, numa="migrate+replicate"),
               ("policy_pct", "copy_mcycles", "frozen_pages"))
    assert got == {"policy_pct": 25.0, "copy_mcycles": 2.0, "frozen_pages": 7.0}
    t = {("e/disco", "policy_pct"): 25.0, ("e/disco", "copy_mcycles"): 2.0, ("e/disco", "frozen_pages"): 7.0}
    said = catalog._policy_cost(t, "e/disco")
    assert "25.0% of all CPUs' cycles" in said and "7 pages moved so often" in said


def test_the_uma_runs_gain_is_explained_from_the_numa_runs_stall():
    """It once said the guest OS alone served most misses locally, of a run with 11.6% local."""
    from flashvm.experiments.report import explain
    from flashvm.experiments.table import Results
    runs = catalog.FIG8.runs(False)
    res = Results(catalog.FIG8, list(runs), {("engineering/numa", "stall"): 0.645, ("engineering/numa", "idle"): 30.7,
                                             ("engineering/numa", "local_pct"): 11.6})
    said = explain(res, "engineering/uma", "total", 62.1, 48.0)
    assert "busy 69 of its 100" in said and "(45 of the 100), 88% of its L2 misses remote" in said
    assert "saves about 29 of the 100" in said and "idle 30.7" in said
    assert "already serves most misses locally" not in said
