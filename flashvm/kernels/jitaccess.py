"""The cache model's miss path, callable from timing regions (flashvm/isa/llvmtiming.py).

`access_c(ctx, line, kind)` is `cache.access_nb` behind a C ABI: the region's
call context holds the addresses and sizes of the arrays the cache model
uses (set once per machine by flashvm/kernels/jittiming.py), and this rebuilds
them as arrays and runs the very same `access_nb` on them.  It returns the
stall cycles, as `access_nb` does.
"""
from typing import NamedTuple

import numpy as np
from numba import carray, cfunc, types
from numba.extending import intrinsic

from flashvm.kernels.cache import access_nb
from flashvm.kernels.jitcall import _pointer_intrinsic, ptr_i64
from flashvm.kernels.state import HOTQ_LEN, NNODE_STATS, NPARAMS, NSLOTS, NSTATS

# call-context slots (the timing tier's context; flashvm/isa/llvmtiming.py has the others)
A_PARAMS, A_CPU, A_L1I, A_L1D, A_L2, A_STATS = 44, 45, 46, 47, 48, 49
A_SHARERS, A_OWNER, A_CPU_NODE, A_MAGIC, A_NODE_STATS, A_HOTQ = 50, 51, 52, 53, 54, 55
D_NCPU, D_L1I, D_L1D, D_L2, D_NLINES, D_NPAGES, D_NNODES = 56, 57, 58, 59, 60, 61, 62
SLOTS = 64


class CacheView(NamedTuple):
    """The arrays `access_nb` touches, under the names of flashvm.kernels.state.Machine."""
    params: np.ndarray
    cpu: np.ndarray
    l1i: np.ndarray
    l1d: np.ndarray
    l2: np.ndarray
    stats: np.ndarray
    dir_sharers: np.ndarray
    dir_owner: np.ndarray
    cpu_node: np.ndarray
    magic: np.ndarray
    node_stats: np.ndarray
    hotq: np.ndarray


@intrinsic
def ptr_i8(typingctx, addr):
    """The int64 address `addr` as an int8 pointer."""
    return _pointer_intrinsic(types.int8)(typingctx, addr)


@intrinsic
def ptr_i32(typingctx, addr):
    """The int64 address `addr` as an int32 pointer."""
    return _pointer_intrinsic(types.int32)(typingctx, addr)


@cfunc(types.int64(types.int64, types.int64, types.int64), cache=True)
def access_c(ctxa, ln, kind):
    ctx = carray(ptr_i64(ctxa), SLOTS)
    ncpu = ctx[D_NCPU]
    v = CacheView(
        carray(ptr_i64(ctx[A_PARAMS]), NPARAMS),
        carray(ptr_i64(ctx[A_CPU]), (ncpu, NSLOTS)),
        carray(ptr_i64(ctx[A_L1I]), (ncpu, ctx[D_L1I])),
        carray(ptr_i64(ctx[A_L1D]), (ncpu, ctx[D_L1D])),
        carray(ptr_i64(ctx[A_L2]), (ncpu, ctx[D_L2])),
        carray(ptr_i64(ctx[A_STATS]), (ncpu, NSTATS)),
        carray(ptr_i64(ctx[A_SHARERS]), ctx[D_NLINES]),
        carray(ptr_i8(ctx[A_OWNER]), ctx[D_NLINES]),
        carray(ptr_i64(ctx[A_CPU_NODE]), ncpu),
        carray(ptr_i32(ctx[A_MAGIC]), (ctx[D_NPAGES], ctx[D_NNODES])),
        carray(ptr_i64(ctx[A_NODE_STATS]), (ctx[D_NNODES], NNODE_STATS)),
        carray(ptr_i64(ctx[A_HOTQ]), (HOTQ_LEN, 3)),
    )
    c = (ctx[1] - ctx[A_CPU]) // (NSLOTS * 8)     # slot 1: this CPU's row of cpu
    return access_nb(v, c, ln, kind)


def context(m, ctx: np.ndarray) -> None:
    """Put machine m's cache-model arrays into the call context `ctx` (SLOTS long)."""
    for slot, name in ((A_PARAMS, "params"), (A_CPU, "cpu"), (A_L1I, "l1i"), (A_L1D, "l1d"), (A_L2, "l2"),
                       (A_STATS, "stats"), (A_SHARERS, "dir_sharers"), (A_OWNER, "dir_owner"),
                       (A_CPU_NODE, "cpu_node"), (A_MAGIC, "magic"), (A_NODE_STATS, "node_stats"), (A_HOTQ, "hotq")):
        a = getattr(m, name)
        assert a.flags.c_contiguous, name
        ctx[slot] = a.ctypes.data
    ctx[D_NCPU] = m.cpu.shape[0]
    ctx[D_L1I] = m.l1i.shape[1]
    ctx[D_L1D] = m.l1d.shape[1]
    ctx[D_L2] = m.l2.shape[1]
    ctx[D_NLINES] = m.dir_owner.shape[0]
    ctx[D_NPAGES], ctx[D_NNODES] = m.magic.shape


__all__ = ["SLOTS", "access_c", "context"]
