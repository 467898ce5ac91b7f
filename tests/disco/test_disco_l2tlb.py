"""Disco's second-level TLB and its cheap privileged-instruction path.

A TLB-heavy program (tests/guest/os/tlbsweep.c: two processes, each sweeping
four times more pages than the TLB holds) runs on the guest OS in one VM.  The
L2TLB must serve most of its TLB misses (the guest's TLB writes evict nothing
from it), the guest's refill handler must cost few traps, and a region
unmapped and mapped again must read zero (no stale translation survives).
"""
from __future__ import annotations

from pathlib import Path

from flashvm.disco.osvm import run_os_vms
from flashvm.toolchain import build_user

OSG = Path(__file__).parents[1] / "guest" / "os"


def _sum(seed: int) -> int:
    # tlbsweep's sweep(): each of 8 words of 256 pages is incremented 5 times by seed + page
    return 120 * sum(seed + i for i in range(256)) & 0xFFFFFFFF


def test_l2tlb_serves_a_tlb_heavy_program():
    exe = build_user([OSG / "tlbsweep.c"])
    res, disco, _ = run_os_vms({"/bin/tlbsweep": exe}, ["/bin/tlbsweep"], vms=1, machine="flash1")
    vm = res[0]
    assert vm.ok and vm.status == 0, (vm.failure, vm.klog[-500:])
    out = vm.stdout.decode()
    assert f"child {_sum(7)}\n" in out and f"parent {_sum(3)}\n" in out, out
    assert "zero\nok\n" in out, out
    st = disco.vm_stats(disco.vms[0])
    # real TLB misses served from the L2TLB against those the guest's own handler had to serve
    share = st["l2tlb_hits"] / (st["l2tlb_hits"] + st["tlb_writes"])
    assert share > 0.8, st
    # the refill handler's mtc0, mtc0, ehb, tlbwr, eret: one trap, not four
    assert st["traps_saved"] >= 2 * st["tlb_writes"], st
    # the monitor's whole work per guest TLB write or L2TLB refill stays small
    per = st["monitor_cycles"] / (st["l2tlb_hits"] + st["vtlb_hits"] + st["tlb_writes"])
    assert per < 400, (per, st)
