"""An index of Disco's L2TLB by machine page, so that a page move drops the translations of its
pages without scanning every entry of every VCPU (flashvm/kernels/pagecopy.py).

Each half of L2TLB slot k (node 2k + half) that holds a valid EntryLo sits in a doubly linked
chain of its bucket, the machine page's number modulo the table size.  Only a slot's rewrite
(_l2_put in disco.py) moves its nodes; an entry emptied by a drop or a flush (tag -1) stays
chained until its slot is rewritten, so a walk must check the tag and the EntryLo itself.

l2link[v, L2K_NEXT, n], l2link[v, L2K_PREV, n]: node n's neighbours, -1 none; PREV -1 also marks
an unchained node and PREV <= -2 the first node of bucket -2 - PREV.  l2link[v, L2K_HEAD, b]:
the first node of bucket b, -1 none.

An invalid half (V = 0) is in no chain: the monitor makes it with page number 0 (disco.py's
_machine_lo), so only a sweep for page 0 must look past the chains (pageprot.py)."""
from flashvm.kernels.dispatch import njit

from flashvm.kernels.entrylo import lo_pfn, lo_valid

L2K_NEXT = 0
L2K_PREV = 1
L2K_HEAD = 2


@njit(cache=True, _nrt=False)
def l2_bucket(m, pfn):
    return pfn & (m.l2link.shape[2] - 1)


@njit(cache=True, _nrt=False)
def _unlink(m, v, n):
    ln = m.l2link
    p = ln[v, L2K_PREV, n]
    if p == -1:
        return
    nx = ln[v, L2K_NEXT, n]
    if p >= 0:
        ln[v, L2K_NEXT, p] = nx
    else:
        ln[v, L2K_HEAD, -2 - p] = nx
    if nx >= 0:
        ln[v, L2K_PREV, nx] = p
    ln[v, L2K_PREV, n] = -1
    ln[v, L2K_NEXT, n] = -1


@njit(cache=True, _nrt=False)
def _link(m, v, n, lo):
    if not lo_valid(lo):
        return
    ln = m.l2link
    b = l2_bucket(m, lo_pfn(lo))
    h = ln[v, L2K_HEAD, b]
    ln[v, L2K_NEXT, n] = h
    ln[v, L2K_PREV, n] = -2 - b
    if h >= 0:
        ln[v, L2K_PREV, h] = n
    ln[v, L2K_HEAD, b] = n


@njit(cache=True, _nrt=False)
def l2_index_put_nb(m, v, k, lo0, lo1):
    """L2TLB slot k of VCPU v now holds EntryLos lo0 and lo1: chain its halves under their pages."""
    _unlink(m, v, 2 * k)
    _unlink(m, v, 2 * k + 1)
    _link(m, v, 2 * k, lo0)
    _link(m, v, 2 * k + 1, lo1)


__all__ = ["L2K_HEAD", "L2K_NEXT", "L2K_PREV", "l2_bucket", "l2_index_put_nb"]
