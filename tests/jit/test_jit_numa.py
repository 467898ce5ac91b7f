"""The JIT tier under Disco's NUMA policy: code and data pages move under translated regions.

An 8-VCPU guest (tests/guest/bare/numa_bare.c) runs on flash8 in timing mode with migration and
replication on, once with the tier off and once on (regions translated after 64 arrivals).  Half
way, the monitor also migrates the guest's code pages to another node and replicates one of them
on two more, as its policy would for hot code: the regions translated at the old machine
addresses are no longer reached, the old frames go back to the free list and may hold data next,
and the code is met again at its new addresses.  Every counter, register, TLB, monitor table and
byte of memory must be the interpreter's."""
from __future__ import annotations

import io

import numpy as np
import pytest

from flashvm.disco import Disco, VmSpec
from flashvm.disco.numa import NumaConfig
from flashvm.kernels import jit
from flashvm.machine.flash import RunStopped
from tests.disco.test_disco_numa import numa_bare

ARRAYS = ("cpu", "gpr", "fpr", "cp0", "tlb", "stats", "vcp0", "vtlb", "vstate", "pmap", "replica", "wprot",
          "magic", "ram32")
CODE_PAGES = range(1, 5)        # the guest's text: ksseg 0xC0001000.. is guest-physical pages 1-4


@pytest.fixture(autouse=True)
def _quick_tier(monkeypatch, tmp_path_factory):
    monkeypatch.setattr(jit, "THRESHOLD", 64)
    monkeypatch.setattr(jit, "MIN_INSNS", 0)
    monkeypatch.setattr(jit, "MIN_INSNS_NATIVE", 0)
    monkeypatch.setattr(jit, "TRANSLATE_SHARE", None)
    monkeypatch.setenv("FLASHVM_JIT_CACHE", str(tmp_path_factory.getbasetemp() / "jitcache"))
    yield
    jit.set_enabled(None)


def _run(tier: bool) -> tuple[Disco, dict]:
    jit.set_enabled(tier)
    jit.reset_stats()
    # the VM's memory on node 0, where numa_bare's CPU 0 fills it, as in tests/disco/test_disco_numa.py
    d = Disco("flash8", [VmSpec(ncpu=8, mem=24 << 20, mem_nodes=(0,))], mode="timing", out=io.BytesIO(),
              numa=NumaConfig(mode="both"))
    vm = d.vms[0]
    d.boot(vm, numa_bare(), ["numa"])
    with pytest.raises(RunStopped):         # half way (the limit is checked between chunks)
        d.run(max_insns=40_000_000)
    before = jit.stats()["jit_insns"]
    old = [int(d.m.pmap[0, g]) for g in CODE_PAGES]
    for k, g in enumerate(CODE_PAGES):
        assert d.numa.migrate(vm, g, 5 + k % 2, c=0)
    assert d.numa.replicate(vm, CODE_PAGES[0], (2, 3), c=0) == 2
    moved = [int(d.m.pmap[0, g]) for g in CODE_PAGES]
    assert all(a != b for a, b in zip(old, moved))                   # the code is at new machine addresses
    d.run(max_insns=400_000_000)
    assert vm.status == 0 and b"numa_bare: 8 cpus, 4 rounds, ok" in bytes(vm.out), bytes(vm.out)
    stats = jit.stats()
    counters = {"before": before, "after": stats["jit_insns"] - before}
    return d, counters


@pytest.mark.slow
def test_code_pages_moved_under_translated_regions_change_nothing():
    ref, _ = _run(False)
    got, counters = _run(True)
    assert counters["before"] > 0 and counters["after"] > 0          # regions ran before and after the moves
    for name in ARRAYS:
        assert np.array_equal(getattr(ref.m, name), getattr(got.m, name)), name
    assert ref.numa.summary() == got.numa.summary()
    assert got.numa.summary()["migrations"] > 100 and got.numa.summary()["replications"] > 10
