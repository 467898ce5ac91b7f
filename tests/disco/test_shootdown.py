"""The monitor's shootdown of a machine page's translations (kernels/l2tlb.shootdown_nb, called by
GuestMemory.shootdown when a guest page is remapped: shared, unshared, migrated): against the
rule written out here, on random L2TLB and real-TLB contents that point at a few machine pages.
The L2TLB is filled as the monitor fills it (l2tlb._l2_put): each slot chained under its pages
(l2index.py), an invalid half made with page number 0."""
from __future__ import annotations

import numpy as np

from flashvm.disco import Disco, VmSpec
from flashvm.kernels import state as S
from flashvm.kernels.entrylo import lo_pfn, lo_valid
from flashvm.kernels.l2index import l2_index_put_nb
from flashvm.kernels.l2tlb import shootdown_nb

PAGES = (300, 301, 302)


def _lo(rng: np.random.Generator) -> int:
    """An EntryLo for one of PAGES, valid or not (then page 0, as the monitor makes it), dirty or not."""
    flags = int(rng.integers(0, 8)) << 1
    pfn = int(rng.choice(PAGES)) if flags & 2 else 0
    return (pfn << 6) | flags


def expected(m, vcpus: list[int], cpus: list[int], mp: int) -> tuple[int, np.ndarray, list[int]]:
    """(valid translations of mp, the L2TLBs after, the CPUs whose real TLB is flushed)."""
    l2 = m.l2tlb.copy()
    hits, flushed = 0, []
    for v, c in zip(vcpus, cpus):
        mine = 0
        for i in range(l2.shape[1]):
            if l2[v, i, S.L2_TAG] < 0:
                continue
            los = [int(l2[v, i, h]) for h in (S.L2_LO0, S.L2_LO1)]
            mine += sum(1 for lo in los if lo_valid(lo) and lo_pfn(lo) == mp)
            if any(lo_pfn(lo) == mp for lo in los):
                l2[v, i, S.L2_TAG] = -1
        if c >= 0:
            los = [int(x) for x in m.tlb[c, :, S.TLB_LO0:S.TLB_LO0 + 2].ravel()]
            mine += sum(1 for lo in los if lo_valid(lo) and lo_pfn(lo) == mp)
            if mine:
                flushed.append(c)
        hits += mine
    return hits, l2, flushed


def test_shootdown_drops_what_maps_the_page_and_flushes_only_cpus_that_held_it():
    d = Disco("flash8", [VmSpec(ncpu=4, mem=24 << 20)])
    m = d.m
    rng = np.random.default_rng(7)
    vcpus, cpus = [0, 1, 2, 3], [2, -1, 5, 6]
    for trial in range(20):
        for v in vcpus:
            m.l2tlb[v, :, S.L2_TAG] = np.where(rng.random(m.l2tlb.shape[1]) < 0.02, rng.integers(0, 1 << 20), -1)
            for i in range(m.l2tlb.shape[1]):
                lo0, lo1 = _lo(rng), _lo(rng)
                m.l2tlb[v, i, S.L2_LO0], m.l2tlb[v, i, S.L2_LO1] = lo0, lo1
                l2_index_put_nb(m, v, i, lo0, lo1)
        for c in cpus:
            if c >= 0:
                m.tlb[c, :, S.TLB_LO0] = [_lo(rng) if rng.random() < 0.1 else 0 for _ in range(m.tlb.shape[1])]
                m.tlb[c, :, S.TLB_LO0 + 1] = 0
        if trial % 5 == 0:          # sometimes a CPU holds none of it: its TLB must stay
            m.tlb[6, :, S.TLB_LO0] = 0
        mp = (*PAGES, 0)[trial % 4]           # page 0: invalid halves read as it (swept, not indexed)
        want_hits, want_l2, flushed = expected(m, vcpus, cpus, mp)
        tlb_before = m.tlb.copy()
        got = shootdown_nb(m, np.array(vcpus, np.int64), np.array(cpus, np.int64), mp)
        assert got == want_hits
        assert np.array_equal(m.l2tlb, want_l2)
        for c in (2, 5, 6):
            emptied = not any(lo_valid(int(x)) for x in m.tlb[c, :, S.TLB_LO0:S.TLB_LO0 + 2].ravel())
            if c in flushed:
                assert emptied
            else:
                assert np.array_equal(m.tlb[c], tlb_before[c])
