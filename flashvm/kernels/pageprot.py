"""Write protection's one machine-wide sweep inside the JIT (flashvm/disco/wprot.py): every cached
translation of a machine page loses its D bit, in one call instead of numpy passes over all the
L2TLB and TLB arrays."""
from flashvm.kernels.dispatch import njit

from flashvm.kernels.entrylo import LO_D, lo_pfn
from flashvm.kernels.l2index import L2K_HEAD, L2K_NEXT, l2_bucket
from flashvm.kernels.state import L2_LO0, L2_LO1, L2_TAG, TLB_LO0, TLB_LO1


@njit(cache=True, _nrt=False)
def drop_write_nb(m, mpage):
    """Clear D in every L2TLB entry (valid tag) and real TLB entry whose EntryLo maps machine page
    `mpage`; a CPU whose TLB lost one forgets its cached translations.  Returns how many."""
    n = 0
    l2 = m.l2tlb
    ln = m.l2link
    for v in range(l2.shape[0]):
        if mpage == 0:
            # an invalid half reads as page 0 and is in no chain (l2index.py): scan them all
            for i in range(l2.shape[1]):
                if l2[v, i, L2_TAG] < 0:
                    continue
                for h in (L2_LO0, L2_LO1):
                    lo = l2[v, i, h]
                    if lo_pfn(lo) == mpage and (lo & LO_D) != 0:
                        l2[v, i, h] = lo & ~LO_D
                        n += 1
            continue
        # only the halves chained under the page's bucket can map it
        k = ln[v, L2K_HEAD, l2_bucket(m, mpage)]
        while k >= 0:
            i = k >> 1
            h = L2_LO0 + (k & 1)
            lo = l2[v, i, h]
            if l2[v, i, L2_TAG] >= 0 and lo_pfn(lo) == mpage and (lo & LO_D) != 0:
                l2[v, i, h] = lo & ~LO_D
                n += 1
            k = ln[v, L2K_NEXT, k]
    t = m.tlb
    for c in range(t.shape[0]):
        hit = False
        for i in range(t.shape[1]):
            for h in (TLB_LO0, TLB_LO1):
                lo = t[c, i, h]
                if lo_pfn(lo) == mpage and (lo & LO_D) != 0:
                    t[c, i, h] = lo & ~LO_D
                    n += 1
                    hit = True
        if hit:
            m.tc_tag[c] = -1            # the CPU's cached translations may allow the store
    return n


__all__ = ["drop_write_nb"]
