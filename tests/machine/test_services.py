"""Kernel services (flashvm/machine/services.py): markers charge each task's
services; nesting, tagging, task switches, regions of interest, Disco's split."""
from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from flashvm.kernels import state as S
from flashvm.machine.layout import (SVC_DEMAND_ZERO, SVC_ENTER, SVC_EXIT, SVC_QUICK_FAULT, SVC_READ, SVC_TAG,
                                    SVC_TASK)
from flashvm.machine.services import COUNTERS, NAMES, ServiceDevice, Services


def fake_machine(ncpu: int = 1):
    params = np.zeros(S.NPARAMS, dtype=np.int64)
    params[S.P_MON_TRAP], params[S.P_MON_EMUL], params[S.P_MON_TLB], params[S.P_MON_REFILL] = 40, 25, 30, 32
    params[S.P_LSHIFT] = 7                           # 128-byte lines
    return SimpleNamespace(stats=np.zeros((ncpu, S.NSTATS), dtype=np.int64),
                           dstats=np.zeros((ncpu, S.NDSTATS), dtype=np.int64), params=params)


def spend(m, cpu: int, kernel: int = 0, user: int = 0, insns: int = 0, monitor: int = 0) -> None:
    m.stats[cpu, S.S_CYC_BASE] += monitor if monitor else kernel
    m.stats[cpu, S.S_CYC_BASE + 1] += kernel if monitor else 0
    m.stats[cpu, S.S_CYC_BASE + 2] += user
    m.stats[cpu, S.S_INSNS] += insns


def row(sv: Services, name: str) -> dict[str, int]:
    return dict(zip(COUNTERS, (int(x) for x in sv.totals[NAMES.index(name)])))


def test_a_system_call_with_a_nested_fault_and_a_retag():
    m = fake_machine()
    sv = Services(lambda: m)
    dev = ServiceDevice(sv, lambda: 0)
    dev.write(SVC_TASK, 4, 0x8001000)
    dev.write(SVC_ENTER, 4, SVC_READ)
    spend(m, 0, kernel=100, insns=50)
    dev.write(SVC_ENTER, 4, SVC_QUICK_FAULT)        # a fault inside the read: its own service
    spend(m, 0, kernel=30, insns=10)
    dev.write(SVC_TAG, 4, SVC_DEMAND_ZERO)           # it was a demand-zero fault after all
    spend(m, 0, kernel=20, insns=5)
    dev.write(SVC_EXIT, 4, SVC_QUICK_FAULT)
    spend(m, 0, kernel=7, insns=3)
    dev.write(SVC_EXIT, 4, SVC_READ)
    spend(m, 0, kernel=5, user=1000, insns=900)      # back in user mode: outside, user cycles not charged
    dev.write(SVC_ENTER, 4, SVC_READ)
    assert row(sv, "read")["calls"] == 2 and row(sv, "read")["cycles"] == 107 and row(sv, "read")["instructions"] == 53
    assert row(sv, "demand_zero") == {"calls": 1, "cycles": 50, "kernel_cycles": 50, "instructions": 15,
                                      "tlb_misses": 0, "cache_misses": 0}
    assert row(sv, "quick_fault")["calls"] == 0
    assert row(sv, "outside")["cycles"] == 5 and row(sv, "outside")["instructions"] == 0


def test_a_blocked_task_keeps_its_service_while_another_runs():
    m = fake_machine()
    sv = Services(lambda: m)
    dev = ServiceDevice(sv, lambda: 0)
    dev.write(SVC_TASK, 4, 0x100)
    dev.write(SVC_ENTER, 4, SVC_READ)
    spend(m, 0, kernel=10)
    dev.write(SVC_TASK, 4, 0)                        # it sleeps: the scheduler runs
    spend(m, 0, kernel=3)
    dev.write(SVC_TASK, 4, 0x200)                    # another task runs and faults
    dev.write(SVC_ENTER, 4, SVC_QUICK_FAULT)
    spend(m, 0, kernel=4)
    dev.write(SVC_EXIT, 4, SVC_QUICK_FAULT)
    dev.write(SVC_TASK, 4, 0x100)                    # the reader again
    spend(m, 0, kernel=6)
    dev.write(SVC_EXIT, 4, SVC_READ)
    assert row(sv, "read")["cycles"] == 16 and row(sv, "quick_fault")["cycles"] == 4
    assert row(sv, "outside")["cycles"] == 3


def test_regions_of_interest_restart_the_count_and_end_it():
    m = fake_machine()
    sv = Services(lambda: m)
    inside = {"open": False}
    sv.gate = lambda: inside["open"] or not sv._regions
    dev = ServiceDevice(sv, lambda: 0)
    dev.write(SVC_ENTER, 4, SVC_READ)
    spend(m, 0, kernel=10)
    dev.write(SVC_EXIT, 4, SVC_READ)
    inside["open"] = True
    sv.region_began("roi")
    dev.write(SVC_ENTER, 4, SVC_READ)
    spend(m, 0, kernel=20)
    dev.write(SVC_EXIT, 4, SVC_READ)
    inside["open"] = False
    dev.write(SVC_ENTER, 4, SVC_READ)
    spend(m, 0, kernel=40)
    dev.write(SVC_EXIT, 4, SVC_READ)
    assert row(sv, "read")["calls"] == 1 and row(sv, "read")["cycles"] == 20


def test_disco_splits_the_monitor_work_by_its_events():
    m = fake_machine()
    sv = Services(lambda: m, vcpu_of=lambda c: 0)
    dev = ServiceDevice(sv, lambda: 0, space=1)
    dev.write(SVC_ENTER, 4, SVC_READ)
    spend(m, 0, kernel=100, monitor=650)
    m.dstats[0, S.DS_TLBWRITE] += 2                  # 2 TLB writes and 8 other emulated instructions
    m.dstats[0, S.DS_EMULATED] += 10
    m.dstats[0, S.DS_L2TLB_HIT] += 1
    dev.write(SVC_EXIT, 4, SVC_READ)
    r = row(sv, "read")
    assert r["cycles"] == 750 and r["kernel_cycles"] == 100
    parts = sv.monitor[NAMES.index("read")]
    assert parts.sum() == 650
    # weights 2*65, 8*65, 0 and one refill the L2TLB served (its fast path, 32) of 682
    assert parts[0] == 123 and parts[1] == 650 - 123 - 30 and parts[2] == 0 and parts[3] == 30
    assert sv.table() is not None


def test_disco_counts_a_zeroing_call_as_monitor_call_work():
    """A HAL call that zeroes a page is mostly the zeroing (the monitor's loop, 1,114 cycles a page of
    128-byte lines before its misses), not its trap: weighed by the trap alone, its cycles went mostly to
    the other parts (execve's kernel TLB faults)."""
    m = fake_machine()
    sv = Services(lambda: m, vcpu_of=lambda c: 0)
    dev = ServiceDevice(sv, lambda: 0, space=1)
    dev.write(SVC_ENTER, 4, SVC_READ)
    spend(m, 0, kernel=100, monitor=5000)
    m.dstats[0, S.DS_MCALL] += 1                     # one zeroing call, 3 kernel TLB refills from the L2TLB
    m.dstats[0, S.DS_ZERO_PAGES] += 1
    m.dstats[0, S.DS_L2TLB_HIT] += 3
    dev.write(SVC_EXIT, 4, SVC_READ)
    parts = sv.monitor[NAMES.index("read")]
    # weights 0, 0, 40 + 26 + 32 * (32 + 2), 3 * 32 of 1250
    assert parts.sum() == 5000 and abs(parts[3] - 5000 * 96 / 1250) <= 1 and parts[2] == 5000 - parts[3]
    events = sv.table()["events"][NAMES.index("read")]
    assert events[S.DS_ZERO_PAGES] == 1 and events[S.DS_L2TLB_HIT] == 3
