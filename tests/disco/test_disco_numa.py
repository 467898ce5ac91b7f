"""Disco's NUMA page migration and replication (flashvm/disco/numa.py): the policy's decisions on
hand-built MAGIC miss patterns, a running 8-VCPU guest computing right while its pages migrate,
replicate and collapse, a write to a replicated page seen by every reader, determinism, and the
--numa option with its results."""
from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

from flashvm.disco import Disco, VmSpec
from flashvm.disco.numa import NumaConfig, NumaState, default_numa_mode
from flashvm.elf import load_elf
from flashvm.kernels import state as S
from flashvm.machine.config import machine_config
from flashvm.session.options import OptionError, disco_options, numa_option
from flashvm.toolchain import build_bare, build_splashos

ROOT = Path(__file__).parents[1]
MS = 400_000                     # cycles in a millisecond at 400 MHz


def state(mode: str = "both", **kw) -> NumaState:
    return NumaState(NumaConfig(mode=mode, **kw), nvm=1, vm_pages=64, nnodes=8, cycles_per_ms=MS)


def c(*counts: int) -> np.ndarray:
    return np.array(list(counts) + [0] * (8 - len(counts)), np.int64)


# ------------------------------------------------------------ decisions
def test_a_page_missed_by_one_remote_node_migrates_there():
    s = state()
    assert s.decide(0, 1, c(0, 0, 0, 40), home=0, hot_node=3, now=0) == ("migrate", (3,), "one node")
    # the home node's own old misses (the data was made there) do not keep it home
    assert s.decide(0, 1, c(16, 0, 0, 32), home=0, hot_node=3, now=0).kind == "migrate"
    # but a page its home uses more stays there: the other reader gets a copy, or nothing if it is written
    assert s.decide(0, 1, c(64, 0, 0, 32), home=0, hot_node=3, now=0) == ("replicate", (3,), "readers")
    assert s.decide(0, 1, c(64, 0, 0, 32), home=0, hot_node=3, now=0, written=True).kind == "none"


def test_a_page_read_by_several_nodes_is_replicated_on_each_reader():
    s = state()
    d = s.decide(0, 2, c(30, 32, 31, 0, 33, 0, 0, 2), home=0, hot_node=1, now=0)
    assert d.kind == "replicate" and d.nodes == (1, 2, 4)          # not home, not the node with 2 misses
    # one more node reading a replicated page gets its own copy
    assert s.decide(0, 2, c(30, 32, 31, 0, 33, 0, 32), home=0, hot_node=6, now=0, copies=(1, 2, 4)) \
        == ("replicate", (6,), "reader")
    assert s.decide(0, 2, c(30, 32), home=0, hot_node=1, now=0, copies=(1,)).kind == "none"


def test_a_written_shared_page_stays_and_modes_restrict_the_moves():
    shared = c(30, 32, 31, 0, 33)
    assert state().decide(0, 3, shared, 0, 1, 0, written=True) == ("none", (), "shared")
    assert state("off").decide(0, 3, c(0, 40), 0, 1, 0).kind == "none"
    assert state("migrate").decide(0, 3, shared, 0, 1, 0).kind == "none"          # no replication
    assert state("migrate").decide(0, 3, c(0, 40, 10), 0, 1, 0).kind == "migrate"
    assert state("replicate").decide(0, 3, c(0, 40), 0, 1, 0).kind == "none"      # no migration
    assert state("replicate").decide(0, 3, shared, 0, 1, 0).kind == "replicate"
    assert state().decide(0, 3, c(40), 0, 0, 0).kind == "none"                     # its home's misses


def test_a_page_that_keeps_moving_is_frozen_for_a_while():
    s = state(freeze_moves=3, freeze_ms=5.0)
    for t in range(3):
        assert s.decide(0, 4, c(0, 40), 0, 1, t).kind == "migrate"
        s.moved(0, 4, t)
    assert s.stats["frozen"] == 1
    assert s.decide(0, 4, c(0, 0, 40), 1, 2, 10) == ("none", (), "frozen")
    assert s.decide(0, 4, c(0, 0, 40), 1, 2, 5 * MS + 10).kind == "migrate"


def test_no_replication_after_a_collapse_for_longer_each_time():
    s = state(collapse_ms=2.0)
    shared = c(30, 32, 31)
    s.collapse(0, 5, 0)
    assert s.decide(0, 5, shared, 0, 1, MS).kind == "none"
    assert s.decide(0, 5, shared, 0, 1, 2 * MS).kind == "replicate"
    s.collapse(0, 5, 2 * MS)
    assert s.decide(0, 5, shared, 0, 1, 5 * MS).kind == "none"                   # 4 ms this time
    assert s.decide(0, 5, shared, 0, 1, 6 * MS).kind == "replicate"
    assert s.stats["collapses"] == 2


def test_moves_per_period_are_limited_and_counters_decay_each_period():
    s = state(max_moves=2, decay_ms=1.0)
    for g in range(2):
        s.moved(0, 10 + g, 0)
    assert s.decide(0, 12, c(0, 40), 0, 1, 0) == ("none", (), "limit")
    assert not s.tick(MS - 1)
    assert s.tick(MS)                                  # the period ends: counters halve, the limit resets
    assert s.decide(0, 12, c(0, 40), 0, 1, MS).kind == "migrate"


def test_defaults_and_the_option():
    assert default_numa_mode(machine_config("flash8")) == "both"
    assert default_numa_mode(machine_config("uma8")) == "off"
    assert default_numa_mode(machine_config("flash1")) == "off"
    assert numa_option(None, False) is None and numa_option("migrate", True) == "migrate"
    with pytest.raises(OptionError, match="use one of off, migrate, replicate, both"):
        numa_option("fast", True)
    with pytest.raises(OptionError, match="only to runs in Disco VMs"):
        disco_options(False, "both", None, False)
    assert disco_options(False, "replicate", None, True) == "replicate"
    with pytest.raises(ValueError, match="must be >= 0"):
        NumaConfig(hot_threshold=-1).validate()


# ------------------------------------------------------------ in a running guest
def numa_bare(*flags: str):
    return load_elf(build_bare([ROOT / "guest" / "bare" / "numa_bare.c"],
                               linker_script=ROOT.parent / "flashvm" / "guest" / "bare" / "link-ksseg.ld",
                               extra_flags=["-DBARE_KSSEG", *flags],
                               name="numa_bare_ksseg" + "".join(f.strip("-D=") for f in flags)))


def run_numa(numa: str = "both", **kw):
    # all the VM's memory on node 0, where numa_bare's CPU 0 fills it: the situation it was written
    # for (the slices then migrate to the CPUs that sum them)
    d = Disco("flash8", [VmSpec(ncpu=8, mem=24 << 20, mem_nodes=(0,))], mode="timing", out=io.BytesIO(),
              numa=NumaConfig(mode=numa, **kw))
    vm = d.vms[0]
    d.boot(vm, numa_bare(), ["numa"])
    d.run(max_insns=400_000_000)
    return d, vm


def check_maps(d: Disco) -> None:
    """pmap, memmap, replica table and write protection agree."""
    m = d.m
    for g in range(d.vms[0].mem >> 12):
        mp = int(m.pmap[0, g])
        assert d.owner_of(mp) == (0, g)
        reps = [int(r) for r in m.replica[mp] if r >= 0]
        assert bool(reps) == bool(m.wprot[mp])
        for r in reps:
            assert d.owner_of(r) == (0, g) and m.wprot[r] and d.numa.master_of[r] == mp
            assert m.ram8[r << 12:(r + 1) << 12].tobytes() == m.ram8[mp << 12:(mp + 1) << 12].tobytes()


def test_8_vcpu_guest_computes_right_while_pages_migrate_replicate_and_collapse():
    d, vm = run_numa()
    assert vm.status == 0, bytes(vm.out)
    assert b"numa_bare: 8 cpus, 4 rounds, ok" in bytes(vm.out)      # the table sums saw every write
    n = d.numa.summary()
    assert n["migrations"] > 100 and n["replications"] > 10 and n["collapses"] > 0, n
    assert n["tlb_entries_dropped"] > 0 and n["l2tlb_entries_dropped"] > 0 and n["copy_cycles"] > 0
    assert n["local_miss_share"] > 0.3
    check_maps(d)
    # the slices moved to the nodes of the CPUs that sum them (CPU k on node k)
    slice0 = ((8 << 20) + (64 << 12)) >> 12
    for k in range(1, 8):
        g = slice0 + k * 384 + 100
        assert d.numa.node_of(int(d.m.pmap[0, g])) == k


def test_a_write_to_a_replicated_page_is_seen_by_every_reader():
    d = Disco("flash8", [VmSpec(ncpu=8, mem=24 << 20)], mode="timing", out=io.BytesIO())
    vm = d.vms[0]
    d.boot(vm, numa_bare(), ["numa"])
    g = 3000
    d.guest_write(vm, g << 12, b"old!" * 1024)
    master = int(d.m.pmap[0, g])
    assert d.numa.replicate(vm, g, (2, 5), c=0) == 2
    reps = {n: int(d.m.replica[master, n]) for n in (2, 5)}
    assert all(d.numa.node_of(r) == n for n, r in reps.items())
    check_maps(d)
    d.guest_write(vm, (g << 12) + 8, b"new!")                          # a device's write collapses them
    assert d.numa.state.stats["collapses"] == 1 and (d.m.replica[master] < 0).all()
    assert not d.m.wprot[int(d.m.pmap[0, g])]
    assert d.guest_read(vm, g << 12, 12) == b"old!old!new!"
    check_maps(d)


def test_a_move_to_a_full_node_is_refused_and_counted():
    """Full fig8's engineering: a node filled and 15,809 moves to it failed without a trace."""
    d = Disco("flash8", [VmSpec(ncpu=8, mem=24 << 20)], mode="timing", out=io.BytesIO())
    vm = d.vms[0]
    d.boot(vm, numa_bare(), ["numa"])
    while d.numa.node_of(int(d._allocate(4096, 5, 0)[0])) == 5:    # take every page node 5 has left
        pass
    d.numa.free[5].clear()
    assert not d.numa.migrate(vm, 3000, 5, c=0) and d.numa.replicate(vm, 3001, (5,), c=0) == 0
    assert d.numa.summary()["moves_refused"] == 2 and d.numa.summary()["migrations"] == 0
    assert d.numa.node_of(int(d.m.pmap[0, 3000])) != 5
    check_maps(d)


def test_a_kernel_filling_remote_memory_with_interrupts_off_is_busy_not_looping():
    """numa_bare's CPU 0 fills 12 MB with interrupts off.  With the VM's memory spread over its 8
    nodes most of its stores are remote, it touches fewer new pages per ms than WORK_FILLS_PER_MS,
    and the watchdog stopped it after 100 ms; it touches as many per instruction as ever."""
    d = Disco("flash8", [VmSpec(ncpu=8, mem=24 << 20)], mode="timing", out=io.BytesIO(), numa=NumaConfig(mode="off"))
    vm = d.vms[0]
    d.boot(vm, numa_bare(), ["numa"])
    d.run(max_insns=400_000_000)
    assert vm.failure is None and vm.status == 0, vm.failure
    assert b"numa_bare: 8 cpus, 4 rounds, ok" in bytes(vm.out)


def test_numa_runs_are_deterministic_bit_for_bit():
    a, _ = run_numa()
    b, _ = run_numa()
    assert np.array_equal(a.m.stats, b.m.stats) and np.array_equal(a.m.cpu, b.m.cpu)
    assert a.numa.summary() == b.numa.summary()
    assert np.array_equal(a.m.pmap, b.m.pmap) and np.array_equal(a.m.magic, b.m.magic)


def test_off_leaves_the_pages_where_they_are():
    d, vm = run_numa("off")
    assert vm.status == 0 and d.numa.summary()["migrations"] == 0
    assert int(d.m.params[S.P_HOT_THRESHOLD]) == 0


# ------------------------------------------------------------ the command line and the results
def test_exec_numa_option_and_results(tmp_path):
    exe = build_splashos([ROOT / "guest" / "soak" / "radix.c"])
    env = {**os.environ, "PYTHONPATH": str(ROOT.parent)}

    def flashvm(*args: str):
        return subprocess.run([sys.executable, "-c", "from flashvm.cli import app; app()", *args],
                              capture_output=True, env=env, timeout=900)
    p = flashvm("exec", "--splashos", "--machine", "flash8", "--mode", "timing", "--cpus", "8", "--numa", "both",
                "--results", str(tmp_path), str(exe), "8", "16384")
    assert p.returncode == 0, p.stderr
    assert b"NUMA policy (both)" in p.stderr
    (f,) = tmp_path.glob("*.h5")
    with h5py.File(f) as h:
        a = dict(h["disco/numa"].attrs)
        assert {"migrations", "replications", "collapses", "frozen", "local_miss_share", "policy_cycles"} <= set(a)
        assert a["mode"] == "both"
        local, remote = int(h["cpu/misses_local"][()].sum()), int(h["cpu/misses_remote"][()].sum())
        assert local + remote > 0
    p = flashvm("exec", "--numa", "both", str(exe))
    assert p.returncode == 2 and b"--numa applies only to runs in Disco VMs" in p.stderr


def test_guest_os_threads_get_the_same_result_with_pages_moving():
    """pthreads on the guest OS in one VM of 8 VCPUs: the kernel's and the program's pages move,
    the checksum is the one of a run where nothing moves."""
    from flashvm.disco.osvm import run_os_vms
    from flashvm.toolchain import build_user
    exe = build_user([ROOT.parent / "bench" / "programs" / "numa_sweep.c"])
    out = {}
    for mode in ("off", "both"):
        vms, d, _ = run_os_vms({"/bin/s": exe}, ["/bin/s", "8", "512", "6"], vms=1, cpus_per_vm=8, machine="flash8",
                               mode="timing", mem_mb=24, numa=mode)
        assert vms[0].status == 0, vms[0].verdict
        out[mode] = vms[0].stdout
        n = d.numa.summary()
    assert out["off"] == out["both"] and b"checksum" in out["off"]
    assert n["migrations"] > 100 and n["replications"] > 0, n
    check_maps(d)
