"""The cache-coherence protocol under random load (in the spirit of gem5's
RubyTester), and the latencies it charges, checked against the config.

Random access streams on 2-16 CPUs with tiny caches (so that evictions,
writebacks and conflicts happen all the time) go through the same hit tests
the interpreter inlines and `access_nb`.  After every step the touched line
must satisfy the protocol invariants (cache.check_line_nb: one writer at
most, sharer set == caches holding the line, states agree, L1 within L2, no
ERROR transition), and every load must return the last value stored.
"""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from flashvm.kernels import state as S
from flashvm.kernels.cache import (
    CHECK_NAMES, DIR_ACT, DIR_NEXT, DIR_TABLE, EVENT_NAMES, A_ERROR, access_nb, check_line_nb,
    dma_coherence_nb, drive_nb,
)
from flashvm.machine.config import CacheConfig, MachineConfig
from flashvm.machine.flash import build_state

FETCH, LOAD, STORE = S.ACC_FETCH, S.ACC_LOAD, S.ACC_STORE


def tiny_machine(ncpu: int, nodes: int = 1, *, l1_sets: int = 2, l2_sets: int = 4, ways: int = 2):
    line = 64
    cfg = MachineConfig(name="tiny", nodes=nodes, cpus_per_node=ncpu // nodes, mem_per_node=1 << 20,
                        line_bytes=line, l1i=CacheConfig(l1_sets * ways * line, ways),
                        l1d=CacheConfig(l1_sets * ways * line, ways),
                        l2=CacheConfig(l2_sets * ways * line, ways)).validate()
    return cfg, build_state(cfg, timing=True, rom_bytes=0)


def replay(m, stream, nlines, check_every=0):
    cpus = np.array([a for a, _, _ in stream], np.int64)
    lines = np.array([b for _, b, _ in stream], np.int64)
    kinds = np.array([k for _, _, k in stream], np.int64)
    values = np.arange(1, len(stream) + 1, dtype=np.int64) * 2654435761 % (1 << 32)
    shadow = np.zeros(max(nlines, 1), np.int64)
    return drive_nb(m, cpus, lines, kinds, values, shadow, check_every)


def assert_clean(result, stream):
    step, code, _ = result
    if step >= 0:
        what = "load returned a stale value" if code == 100 else CHECK_NAMES[code]
        c, ln, k = stream[step]
        raise AssertionError(f"step {step}: cpu {c} {['fetch', 'load', 'store'][k]} line {ln}: {what}")


@st.composite
def streams(draw):
    ncpu = draw(st.sampled_from([2, 3, 4, 8, 16]))
    nlines = draw(st.integers(1, 24))
    n = draw(st.integers(1, 300))
    ops = draw(st.lists(st.tuples(st.integers(0, ncpu - 1), st.integers(0, nlines - 1),
                                  st.sampled_from([FETCH, LOAD, LOAD, STORE, STORE])),
                        min_size=n, max_size=n))
    nodes = draw(st.sampled_from([n_ for n_ in (1, 2, 4) if ncpu % n_ == 0]))
    return ncpu, nodes, nlines, ops


@pytest.mark.slow
@settings(max_examples=400, deadline=None)
@given(streams())
def test_random_streams_keep_the_invariants(case):
    ncpu, nodes, nlines, ops = case
    _, m = tiny_machine(ncpu, nodes)
    assert_clean(replay(m, ops, nlines, check_every=25), ops)


@pytest.mark.parametrize("seed", range(6))
def test_long_random_runs(seed):
    """Many thousands of accesses per run, hot lines shared by 2..16 CPUs."""
    rng = np.random.default_rng(seed)
    ncpu = [2, 4, 8, 16, 16, 3][seed]
    nlines = [8, 32, 64, 16, 200, 40][seed]
    n = 60_000
    stream = list(zip(rng.integers(0, ncpu, n).tolist(), rng.integers(0, nlines, n).tolist(),
                      rng.choice([FETCH, LOAD, LOAD, STORE], n).tolist()))
    _, m = tiny_machine(ncpu, 2 if ncpu % 2 == 0 else 1, l1_sets=2, l2_sets=8)
    assert_clean(replay(m, stream, nlines, check_every=5000), stream)
    # the stream must have exercised the protocol, not just hit
    stats = m.stats.sum(axis=0)
    assert stats[S.S_INVALS] > 100 and stats[S.S_UPGRADES] > 100 and stats[S.S_WRITEBACKS] > 10
    assert m.node_stats[:, S.N_FORWARDS].sum() > 100


def test_protocol_table_is_complete():
    """Every (state, request) pair has an entry; ERROR exactly where a correct cache cannot ask."""
    assert DIR_ACT.shape == (3, len(EVENT_NAMES)) and DIR_NEXT.shape == DIR_ACT.shape
    errors = {(s, EVENT_NAMES[e]) for s in range(3) for e in range(6) if DIR_TABLE[s][e][0] & A_ERROR}
    assert errors == {(0, "UPG"), (0, "PUTS"), (0, "PUTE"), (0, "PUTM"), (1, "PUTE"), (1, "PUTM"),
                      (2, "UPG"), (2, "PUTS")}


def test_checker_catches_a_corrupted_directory():
    ops = [(0, 3, LOAD), (1, 3, LOAD)]
    _, m = tiny_machine(2)
    assert_clean(replay(m, ops, 8), ops)
    m.dir_sharers[3] = 1            # forget CPU 1's copy
    assert check_line_nb(m, 3) != 0


def test_dma_drops_copies_and_reservations():
    _, m = tiny_machine(2)
    access_nb(m, 0, 5, LOAD)
    access_nb(m, 1, 5, LOAD)
    m.cpu[1, S.LLBIT] = 1
    m.cpu[1, S.LLADDR] = 5 * 64 + 8
    dma_coherence_nb(m, 5 * 64, 64)
    assert m.dir_sharers[5] == 0 and m.dir_owner[5] == -1
    assert m.cpu[1, S.LLBIT] == 0
    assert check_line_nb(m, 5) == 0


# ------------------------------------------------------------------ latencies
@pytest.fixture()
def numa4():
    """4 nodes, one CPU each, 1 MB per node, default latencies (400 MHz)."""
    cfg = MachineConfig(name="numa4", nodes=4, mem_per_node=1 << 20).validate()
    return cfg, build_state(cfg, timing=True, rom_bytes=0)


def line_on(node: int, k: int = 0) -> int:
    return (node * (1 << 20) + 4096 * (k + 1)) >> 7


def test_latency_local_and_remote_clean(numa4):
    cfg, m = numa4
    lat = cfg.latencies_cycles()
    assert access_nb(m, 0, line_on(0), LOAD) == lat["local"] == 120
    assert access_nb(m, 1, line_on(2), LOAD) == lat["remote"] == 360
    assert access_nb(m, 1, line_on(2), LOAD) == 0                 # now in the L1
    st_ = m.stats
    assert st_[0, S.S_MISS_LOCAL] == 1 and st_[1, S.S_MISS_REMOTE] == 1


def test_latency_dirty_remote_three_hops(numa4):
    cfg, m = numa4
    lat = cfg.latencies_cycles()
    x = line_on(0)
    access_nb(m, 2, x, STORE)                                     # CPU 2 owns it Modified
    assert access_nb(m, 1, x, LOAD) == lat["dirty"] == 480        # requester 1, home 0, owner 2
    assert m.stats[1, S.S_MISS_DIRTY] == 1
    assert m.stats[2, S.S_WRITEBACKS] == 1                        # the owner's sharing writeback
    y = line_on(1)
    access_nb(m, 2, y, STORE)
    assert access_nb(m, 1, y, LOAD) == lat["remote"]               # home = requester's node: 2 nodes


@pytest.mark.parametrize("nsharers", [1, 2, 3])
def test_latency_upgrade_with_sharers(numa4, nsharers):
    cfg, m = numa4
    lat = cfg.latencies_cycles()
    x = line_on(3)
    for c in range(nsharers + 1):
        access_nb(m, c, x, LOAD)
    # CPU 0 holds it Shared (others read too): upgrade = remote hop + one occupancy per invalidation
    assert access_nb(m, 0, x, STORE) == lat["remote"] + nsharers * lat["inval"]
    assert m.stats[0, S.S_UPGRADES] == 1
    assert sum(m.stats[c, S.S_INVALS] for c in range(1, nsharers + 1)) == nsharers


def test_latency_l2_hit_and_silent_exclusive(numa4):
    cfg, m = numa4
    lat = cfg.latencies_cycles()
    x = line_on(0)
    assert access_nb(m, 0, x, LOAD) == lat["local"]               # granted Exclusive (no one else has it)
    assert access_nb(m, 0, x, STORE) == 0                         # E -> M without the directory
    # push x out of the L1 with two lines of the same L1 set, not of the same L2 set
    l1sets = cfg.l1d.shape(cfg.line_bytes).sets
    for k in (1, 2):
        access_nb(m, 0, x + k * l1sets, LOAD)
    assert access_nb(m, 0, x, LOAD) == lat["l2"]


def test_uma_is_flat():
    cfg = MachineConfig(name="uma4", nodes=4, mem_per_node=1 << 20, uma=True).validate()
    m = build_state(cfg, timing=True, rom_bytes=0)
    flat = cfg.latencies_cycles()["local"]
    assert access_nb(m, 1, line_on(2), LOAD) == flat
    access_nb(m, 2, line_on(0), STORE)
    assert access_nb(m, 1, line_on(0), LOAD) == flat
