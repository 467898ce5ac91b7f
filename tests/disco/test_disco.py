"""Disco: virtual machines on the FLASH machine.

Freestanding guests relinked in the supervisor segment (the bare runtime with
link-ksseg.ld) exercise the monitor's emulation of privileged instructions,
TLB refills, exception reflection, virtual interrupts and devices; the guest
OS (its mapped variant) runs unchanged inside VMs; a crashing, a looping and
a hostile guest stay contained.
"""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
import pytest

from flashvm.disco import Disco, VmSpec
from flashvm.elf import load_elf
from flashvm.kernels import state as S
from flashvm.machine.bare import BareMachine
from flashvm.machine.flash import GuestError
from flashvm.toolchain import build_bare

ROOT = Path(__file__).parents[1]
BARE = ROOT / "guest" / "bare"
LINK_KSSEG = ROOT.parent / "flashvm" / "guest" / "bare" / "link-ksseg.ld"


def ksseg(prog: str, *flags: str):
    return load_elf(build_bare([BARE / prog], linker_script=LINK_KSSEG, extra_flags=["-DBARE_KSSEG", *flags],
                               name=Path(prog).stem + "_ksseg" + "".join(f.strip("-D=") for f in flags)))


def run_vms(machine, guests, *, mode="functional", mem=16 << 20, max_insns=100_000_000, **kw):
    """guests: [(program, ncpu, flags...)]; returns (disco, RunResult)."""
    out = io.BytesIO()
    d = Disco(machine, [VmSpec(ncpu=g[1], mem=mem) for g in guests], mode=mode, out=out, **kw)
    for vm, g in zip(d.vms, guests):
        d.boot(vm, ksseg(g[0], *g[2:]), ["guest"])
    r = d.run(max_insns=max_insns)
    return d, r


def bare_output(prog: str) -> tuple[int, bytes]:
    out = io.BytesIO()
    bm = BareMachine(out=out)
    bm.load(load_elf(build_bare([BARE / prog])))
    r = bm.run(max_insns=50_000_000)
    return r.status, out.getvalue()


@pytest.mark.parametrize("prog", ["hello_bare.c", "timer_bare.c", "traps_bare.c", "adel_user_bare.c"])
def test_freestanding_guest_behaves_as_on_the_bare_machine(prog):
    status, want = bare_output(prog)
    d, r = run_vms("flash1", [(prog, 1)])
    vm = d.vms[0]
    assert vm.failure is None, vm.failure
    assert vm.status == status
    assert bytes(vm.out) == want
    st = d.vm_stats(vm)
    assert st["emulated"] > 0 and st["traps"] > 0


def test_privileged_paths_are_counted():
    d, _ = run_vms("flash1", [("timer_bare.c", 1)])
    st = d.vm_stats(d.vms[0])
    assert st["wait"] >= 5 and st["virtual_interrupts"] >= 5 and st["eret"] >= 5
    m = d.m
    # monitor time is kernel mode; the guest kernel runs in supervisor mode
    assert m.stats[0, S.S_CYC_BASE + S.MMU_KERNEL] >= st["monitor_cycles"] > 0
    assert m.stats[0, S.S_CYC_BASE + S.MMU_SUPER] > 0


@pytest.mark.parametrize("mode", ["functional", "timing"])
def test_smp_guest_with_8_vcpus(mode):
    d, r = run_vms("flash8", [("smp_numa.c", 8)], mode=mode, mem=24 << 20)
    vm = d.vms[0]
    assert vm.status == 0, (vm.failure, bytes(vm.out))
    assert b"8 cpus, spread=0, counters 1600 3200, ok" in bytes(vm.out)
    assert (d.m.stats[:, S.S_INSNS] > 100_000).all()


def test_eight_vms_side_by_side():
    d, r = run_vms("flash8", [("hello_bare.c", 1)] * 8)
    _, want = bare_output("hello_bare.c")
    for vm in d.vms:
        assert vm.status == 7 and bytes(vm.out) == want
    assert r.status == 7


def test_vms_are_isolated_in_memory():
    """Each VM's pmap names its own machine pages, none shared, none in the monitor's area."""
    d = Disco("flash8", [VmSpec(ncpu=2, mem=16 << 20) for _ in range(4)])
    seen = set()
    for vm in d.vms:
        pages = d.m.pmap[vm.index, : vm.mem >> 12]
        assert (pages >= 0).all()
        assert not seen & set(pages.tolist())
        seen |= set(pages.tolist())
        per_node = d.cfg.mem_per_node >> 12
        assert ((pages % per_node) >= (1 << 20) >> 12).all()     # the first MB of each node is the monitor's


def test_a_vms_memory_is_spread_evenly_over_its_vcpus_nodes():
    """Node-contiguous pieces, one per node of its VCPUs, in their order: every node keeps room for
    the pages the NUMA policy moves there (a VM that filled nodes 0-3 whole left them none)."""
    d = Disco("flash8", [VmSpec(ncpu=8, mem=128 << 20), VmSpec(ncpu=1, mem=8 << 20, mem_nodes=(6,))])
    per_node = d.cfg.mem_per_node >> 12
    big = d.m.pmap[0, : 128 << 8]
    assert [int(n) for n in big[:: 16 << 8] // per_node] == list(range(8))    # 16 MB on each node
    assert (np.diff(big.reshape(8, -1), axis=1) == 1).all()                   # each piece contiguous
    small = d.m.pmap[1, : 8 << 8]
    assert (small // per_node == 6).all()                                     # where it was asked for
    with pytest.raises(GuestError, match="memory on node 8: flash8 has nodes 0-7"):
        Disco("flash8", [VmSpec(ncpu=1, mem=8 << 20, mem_nodes=(8,))])


def test_crashing_guest_fails_alone():
    d, r = run_vms("flash8", [("crash_bare.c", 1), ("hello_bare.c", 1), ("traps_bare.c", 1)])
    crashed, hello, traps = d.vms
    # the guest reports its own crash (the bare runtime's handler) and halts with 0xEE
    assert crashed.status == 0xEE and b"unhandled exception TLBL" in bytes(crashed.out)
    assert hello.status == 7 and traps.status == 0 and b"traps ok" in bytes(traps.out)


def test_guest_looping_with_interrupts_off_is_stopped_by_the_watchdog():
    d, r = run_vms("flash8", [("crash_bare.c", 1, "-DLOOP"), ("hello_bare.c", 1)], watchdog_ms=5)
    looping, hello = d.vms
    assert looping.failure is not None and "watchdog" in looping.failure
    assert hello.status == 7
    assert r.status == 1                      # the run reports that a VM failed


def test_guest_working_with_interrupts_off_is_not_stopped_by_the_watchdog():
    """Writing its way through 4 MB with interrupts off takes several watchdog periods
    (about 20 ms at 5): the monitor sees it touch new pages, so it is busy, not looping."""
    d, r = run_vms("flash8", [("busy_bare.c", 1), ("hello_bare.c", 1)], watchdog_ms=5)
    busy, hello = d.vms
    assert busy.failure is None and busy.status == 5, busy.failure
    assert bytes(busy.out) == b"busy sum 1ff80000\n" and d.fm.now_ns() > 10e6
    assert hello.status == 7


def _machine_hash(d: Disco, exclude: int) -> str:
    """Hash of all machine memory that is not VM `exclude`'s."""
    m = d.m
    mask = np.ones(m.ram8.size - 4096 - m.params[S.P_ROM_SIZE], bool)
    for p in m.pmap[exclude, : d.vms[exclude].mem >> 12]:
        mask[p << 12:(p + 1) << 12] = False
    return hashlib.sha256(m.ram8[: mask.size][mask].tobytes()).hexdigest()


def test_hostile_guest_cannot_touch_other_memory():
    out = io.BytesIO()
    d = Disco("flash8", [VmSpec(ncpu=1, mem=16 << 20) for _ in range(3)], out=out, watchdog_ms=20)
    d.boot(d.vms[0], ksseg("hostile_bare.c"), ["hostile"])
    d.boot(d.vms[1], ksseg("hello_bare.c"), ["a"])
    d.boot(d.vms[2], ksseg("traps_bare.c"), ["b"])
    # the other VMs' memory, as soon as both have halted
    snapshots = []
    orig = d._stop

    def stop(vm):
        if vm.index in (1, 2) and all(v.done or v is vm for v in d.vms[1:]):
            snapshots.append(_machine_hash(d, 0))
        orig(vm)
    d._stop = stop
    d.run(max_insns=300_000_000)
    hostile = d.vms[0]
    assert d.vms[1].status == 7 and d.vms[2].status == 0
    assert hostile.done                                # halted itself or was stopped, with a reason
    assert snapshots and snapshots[0] == _machine_hash(d, 0)
    st = d.vm_stats(hostile)
    assert st["bus_errors"] > 0 or st["reflected"] > 100


def test_disco_is_deterministic():
    a, _ = run_vms("flash8", [("smp_numa.c", 4)], mode="timing", mem=24 << 20)
    b, _ = run_vms("flash8", [("smp_numa.c", 4)], mode="timing", mem=24 << 20)
    assert np.array_equal(a.m.stats, b.m.stats) and np.array_equal(a.m.dstats, b.m.dstats)
    assert np.array_equal(a.m.cpu[:, S.CYCLES], b.m.cpu[:, S.CYCLES])


def test_overcommitted_cpu_time_shares_vcpus():
    """Four VMs on one CPU: they take turns; a VCPU in WAIT gives the CPU away."""
    guests = [("timer_bare.c", 1), ("hello_bare.c", 1), ("timer_bare.c", 1), ("traps_bare.c", 1)]
    d, r = run_vms("flash1", guests, mem=8 << 20)
    assert [vm.status for vm in d.vms] == [0, 7, 0, 0], [(vm.failure, bytes(vm.out)) for vm in d.vms]
    assert b"timer ok" in bytes(d.vms[0].out) and b"traps ok" in bytes(d.vms[3].out)
    assert d.switches >= 4


def test_two_vcpus_of_one_vm_share_a_cpu():
    d, r = run_vms("flash1", [("smp_numa.c", 2, "-DPASSES=1")], mem=24 << 20)
    assert d.vms[0].status == 0, (d.vms[0].failure, bytes(d.vms[0].out))
    assert b"2 cpus, spread=0, counters 400 800, ok" in bytes(d.vms[0].out)
    assert d.switches > 3                      # the barriers need both VCPUs to run, in turn


def test_kernel_must_be_relinked():
    from flashvm.machine.flash import GuestError
    d = Disco("flash1", [VmSpec(ncpu=1)])
    with pytest.raises(GuestError, match="supervisor segment"):
        d.boot(d.vms[0], load_elf(build_bare([BARE / "hello_bare.c"])))


def test_memmap_backmap_and_live_page_migration():
    """Pages of a running 4-VCPU guest move to another node while it computes;
    memmap follows, back-maps find the translations to shoot down, results stay right."""
    moved = []

    class MigratingDisco(Disco):
        def between_chunks(self) -> None:       # after the monitor's own work, a page moves
            super().between_chunks()
            if len(moved) < 3 and self.m.params[S.P_ROUND_START] > 0:
                gp = (16 << 20 >> 12) + 16 * len(moved)                     # in the arrays being summed
                before = self.backmap(vm, gp)
                new = self.migrate_page(vm, gp, node=5)
                assert self.backmap(vm, gp) == [] and self.owner_of(new) == (0, gp)
                moved.append((gp, new, len(before)))

    out = io.BytesIO()
    d = MigratingDisco("flash8", [VmSpec(ncpu=4, mem=24 << 20)], out=out)
    vm = d.vms[0]
    d.boot(vm, ksseg("smp_numa.c"), ["smp"])
    first = int(d.m.pmap[0, 0])
    assert d.owner_of(first) == (0, 0) and d.owner_of(0) is None       # the monitor's page is no VM's
    d.fm.chunk_cycles = 200_000
    d.run(max_insns=200_000_000)
    assert vm.status == 0 and b"4 cpus, spread=0, counters 800 1600, ok" in bytes(vm.out)
    assert len(moved) == 3 and d.migrations == 3
    for gp, new, _ in moved:
        assert new * 4096 // (32 << 20) == 5 and int(d.m.pmap[0, gp]) == new
