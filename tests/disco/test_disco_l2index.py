"""The L2TLB's index by machine page (flashvm/kernels/l2index.py): a page move drops exactly the
entries, and counts exactly as many, as a scan of every entry of every VCPU would."""
from __future__ import annotations

import numpy as np

from flashvm.kernels import l2tlb as K
from flashvm.kernels.entrylo import LO_CACHED, LO_D, LO_V, lo_pfn, lo_valid, make_lo
from flashvm.kernels.pagecopy import drop_translations_nb
from flashvm.kernels.pageprot import drop_write_nb
from flashvm.kernels.state import L2_LO0, L2_LO1, L2_TAG, new_machine


def _scan(l2: np.ndarray, use: np.ndarray, v0: int, pages: np.ndarray) -> tuple[np.ndarray, int]:
    """The reference: every entry of every VCPU looked at."""
    l2 = l2.copy()
    n = 0
    for k, u in enumerate(use):
        if not u:
            continue
        t = l2[v0 + k]
        hit = np.zeros(len(t), bool)
        for h in (L2_LO0, L2_LO1):
            lo = t[:, h]
            hit |= lo_valid(lo).astype(bool) & np.isin(lo_pfn(lo), pages)
        hit &= t[:, L2_TAG] >= 0
        t[hit, L2_TAG] = -1
        n += int(hit.sum())
    return l2, n


def _clear_d(l2: np.ndarray, mpage: int) -> tuple[np.ndarray, int]:
    """The reference of write protection's sweep: D cleared in every valid-tag half that maps mpage."""
    l2 = l2.copy()
    n = 0
    for h in (L2_LO0, L2_LO1):
        lo = l2[:, :, h]
        hit = (l2[:, :, L2_TAG] >= 0) & (lo_pfn(lo) == mpage) & ((lo & LO_D) != 0)
        lo[hit] &= ~LO_D
        n += int(hit.sum())
    return l2, n


def _pfn(rng: np.random.Generator, npages: int) -> int:
    # a few dozen pages, some a multiple of the index's table apart (the same bucket)
    return int(rng.integers(npages)) * 37 + 8192 * int(rng.integers(2)) + 1


def test_index_drops_what_a_full_scan_drops():
    rng = np.random.default_rng(12)
    nv, npages = 4, 32                       # few pages: many entries per page, many bucket chains
    m = new_machine(ncpu=1, ram_bytes=1 << 20, nvcpu=nv, nvm=1, vm_pages=npages)
    cpus = np.full(nv, -1, np.int64)
    dropped = 0
    for step in range(4000):
        v = int(rng.integers(nv))
        r = rng.random()
        if r < 0.75:                         # a refill or a tlbwr's prefill, over a few thousand pairs
            vpn2, asid = int(rng.integers(6000)), int(rng.integers(4))
            # an invalid half is flags only, as the monitor makes it (_machine_lo: page 0)
            los = [make_lo(_pfn(rng, npages), LO_CACHED | LO_D | LO_V) if rng.random() < 0.9 else LO_CACHED | LO_D
                   for _ in range(2)]
            K._l2_put(m, -1, v, vpn2, asid, los[0], los[1])
        elif r < 0.95:                       # the guest takes a pair back
            K.drop_pair_nb(m, -1, v, int(rng.integers(6000)), int(rng.integers(4)))
        elif r < 0.955:
            K.l2tlb_flush_nb(m, -1, v)
        elif r < 0.96:                       # write protection of a page (page 0: the invalid halves)
            mp = 0 if rng.random() < 0.2 else _pfn(rng, npages)
            want, n = _clear_d(m.l2tlb, mp)
            assert int(drop_write_nb(m, mp)) == n, step
            assert np.array_equal(m.l2tlb, want), step
        else:                                # a page move: the index against the scan
            pages = np.unique(np.array([_pfn(rng, npages) for _ in range(int(rng.integers(1, 4)))], np.int64))
            use = rng.random(nv) < 0.8
            want, n = _scan(m.l2tlb, use, 0, pages)
            out = np.zeros(2, np.int64)
            drop_translations_nb(m, 0, cpus, use, pages, out)
            assert int(out[0]) == n, step
            assert np.array_equal(m.l2tlb, want), step
            dropped += n
    assert dropped > 500                     # the workload did drop entries, through long chains
