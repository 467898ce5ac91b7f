"""A machine page copied by the monitor as a CPU would copy it: the data, and in timing mode a
load of every source line and a store of every destination line through that CPU's caches and
the directory (Disco's page migration and replication, flashvm/disco/numa.py)."""
from numba import njit

from flashvm.kernels.cache import access_nb, dma_coherence_nb
from flashvm.kernels.state import ACC_LOAD, ACC_STORE, P_LSHIFT, P_TIMING


@njit(cache=True, _nrt=False)
def copy_page_nb(m, c, src, dst):
    """Copy machine page `src` to `dst` on CPU c (c < 0: free, as a device would); returns the
    cycles CPU c spends.  Whatever caches held of `dst` from an earlier use is dropped first."""
    dma_coherence_nb(m, dst << 12, 4096)
    s = src << 12
    d = dst << 12
    for i in range(4096):
        m.ram8[d + i] = m.ram8[s + i]
    cyc = 0
    if c >= 0 and m.params[P_TIMING]:
        sh = m.params[P_LSHIFT]
        for k in range(4096 >> sh):
            cyc += access_nb(m, c, (s >> sh) + k, ACC_LOAD) + 1
            cyc += access_nb(m, c, (d >> sh) + k, ACC_STORE) + 1
    return cyc


__all__ = ["copy_page_nb"]
