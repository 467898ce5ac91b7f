"""Disco's NUMA policy takes MAGIC's hot-page events in batches (flashvm/disco/numa.py
`on_hot_batch`, flashvm/kernels/numapolicy.py `triage_nb`): a batch ends as the same events taken
one after another, and each event's work is done by the CPU of the node that missed, whichever CPU
the run loop last served."""
from __future__ import annotations

import io

import numpy as np

from flashvm.disco import Disco, VmSpec
from flashvm.kernels import state as S


def one_vm() -> Disco:
    d = Disco("flash8", [VmSpec(ncpu=8, mem=24 << 20)], mode="timing", out=io.BytesIO())
    vm = d.vms[0]
    for g in range(2000, 2040):
        d.guest_write(vm, g << 12, bytes([g & 0xFF]) * 4096)
    return d


def misses(d: Disco) -> list[tuple[int, int]]:
    """Hand-built MAGIC counts on 40 pages: one remote node, several readers, a page the home node
    uses most, one page hot twice; returns the events MAGIC would raise, in order."""
    m = d.m
    ev = []
    for k, g in enumerate(range(2000, 2040)):
        mp = int(m.pmap[0, g])
        home = d.numa.node_of(mp)
        a, b = (home + 1 + k % 7) % 8, (home + 2 + k % 5) % 8
        if b == a:
            b = (a + 1) % 8
            b = b if b != home else (b + 1) % 8
        kind = k % 4
        if kind == 0:                        # one remote node: migrates
            m.magic[mp, a] = 40
        elif kind == 1:                      # two readers: replicated on both
            m.magic[mp, a], m.magic[mp, b] = 32, 32
        elif kind == 2:                      # its home uses it most: a copy for the other reader
            m.magic[mp, home], m.magic[mp, a] = 80, 32
        else:                                # hot for two nodes, both events in the batch
            m.magic[mp, a], m.magic[mp, b] = 33, 32
            ev.append((mp, b))
        ev.append((mp, a))
    return ev


def state_of(d: Disco) -> tuple:
    m = d.m
    return (m.pmap.copy(), m.replica.copy(), m.magic.copy(), m.wprot.copy(), m.cpu[:, S.CYCLES].copy(),
            dict(d.numa.state.stats))


def test_a_batch_ends_as_its_events_one_after_another():
    one, batch = one_vm(), one_vm()
    ev = misses(one)
    assert misses(batch) == ev
    for page, node in ev:
        one.numa.on_hot_page(page, node, 32)
    batch.numa.on_hot_batch(np.array([(p, n, 32) for p, n in ev], np.int64))
    a, b = state_of(one), state_of(batch)
    for x, y in zip(a[:-1], b[:-1]):
        assert np.array_equal(x, y)
    assert a[-1] == b[-1]
    st = a[-1]
    assert st["events"] == len(ev) and st["migrations"] >= 10 and st["replications"] >= 20, st


def test_the_node_that_missed_does_the_work_whatever_cpu_is_current():
    runs = []
    for current in (0, 5):
        d = one_vm()
        g = 2000
        mp = int(d.m.pmap[0, g])
        node = (d.numa.node_of(mp) + 3) % 8
        d.m.magic[mp, node] = 40
        d.fm.current_cpu = current
        before = d.m.cpu[:, S.CYCLES].copy()
        d.numa.on_hot_page(mp, node, 40)
        spent = d.m.cpu[:, S.CYCLES] - before
        assert d.numa.node_of(int(d.m.pmap[0, g])) == node
        cpu = int(np.nonzero(d.m.cpu_node == node)[0][0])
        assert spent[cpu] > 0 and spent.sum() == spent[cpu]        # only IPIs would charge others: none here
        runs.append(spent)
    assert np.array_equal(runs[0], runs[1])
