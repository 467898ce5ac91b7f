"""The JIT tier in timing mode: policy (its own region table, translation, the run in slices).

Timing regions (flashvm/isa/llvmtiming.py) are other code than functional
ones for the same words, so a machine has a second tier for timing mode: a
run that fast-forwards functionally and then switches to timing finds no
functional region in the timing table.  Everything else (threshold, slices,
the disk cache, the counters in `jit.STATS`) is flashvm/kernels/jit.py's.

Regions serve their misses by calling the cache model (flashvm/kernels/jitaccess.py,
which needs the machine's cache arrays in the call context, set here).
Only the llvm backend translates timing regions; with the numba backend, or
FLASHVM_JIT_TIMING=0, timing mode runs the interpreter.
"""
from __future__ import annotations

import gc
import operator
import os
import time
import weakref
from pathlib import Path

import numpy as np

from flashvm.isa import llvmgen, llvmtiming
from flashvm.kernels import jit
from flashvm.kernels.state import (P_L1D_SETS, P_L1D_WAYS, P_L1I_SETS, P_L1I_WAYS, P_LSHIFT,
                                   S_INSNS, Machine)

_tiers: dict[int, tuple[weakref.ref, jit.Tier]] = {}
jit.register_tiers(_tiers)


def enabled() -> bool:
    """Translate in timing mode (the llvm backend, unless FLASHVM_JIT_TIMING=0)."""
    return jit.backend() == "llvm" and os.environ.get("FLASHVM_JIT_TIMING", "") != "0"


def tier_of(m: Machine) -> jit.Tier:
    """The timing-mode tier of machine m (its call context has the timing slots too)."""
    return jit.tier_in(_tiers, m, _timing_tier)


def _timing_tier() -> jit.Tier:
    _seen.clear()       # it holds earlier machines' arrays (their CPU's too, which keeps their tiers)
    t = jit.Tier()
    t.jctx = np.zeros(llvmtiming.CTX_SLOTS, dtype=np.int64)
    t.jctx[llvmgen.CTX_TABLE] = t.jt.ctypes.data
    t.jctx[llvmgen.CTX_TSIZE] = jit.TABLE_SIZE
    t.jstat[7] = jit.THRESHOLD
    return t


def translate(m: Machine, t: jit.Tier) -> None:
    """Translate the queued hot jump targets as timing regions (jit.translate's rules)."""
    k = int(t.jq[0])
    early = int(m.stats[:, S_INSNS].sum()) < jit.MIN_INSNS_NATIVE
    if k == 0 or (early and t.deferred == k):
        return
    if t.deferred == k and jit.over_budget(t):
        return          # all of it waited last time and the budget is still spent
    t0 = time.perf_counter()
    t.c_start = t0
    gc.disable()        # building IR makes many objects: a collection would walk the whole heap
    try:
        _translate(m, t, k, early)
    finally:
        gc.enable()
        dt = time.perf_counter() - t0
        jit.STATS["translate_s"] += dt
        t.cpu_translate += dt


def _entry_path() -> Path:
    return jit.cache_dir() / f"timing-entries-{llvmtiming.entry_table_key()}.json"


def _translate(m: Machine, t: jit.Tier, k: int, early: bool) -> None:
    """As functional regions (jit.translate_regions), through llvmtiming."""
    mask = jit.TABLE_SIZE - 1

    def entered(pa: int, words: list[int]) -> None:
        if llvmtiming.calls_out(words):
            # it tests before each instruction that it still fits: entered whenever one instruction
            # fits (its length in the table says 1), so the loop and chaining regions enter it near
            # the round's end too instead of interpreting that stretch
            t.jt[3, (pa >> 2) & mask] = 1

    jit.translate_regions(m, t, k, early, llvmtiming, _entry_path(), timing=True,
                          before_compile=_access_symbol, entered=entered, layout=lambda pa: layout(m, pa))


def layout(m: Machine, pa: int) -> tuple[int, ...]:
    """What a timing region at physical address pa is compiled for (llvmtiming.Layout): the machine's
    L1 geometry and the region's offset in its page."""
    p = m.params
    return tuple(llvmtiming.Layout(int(p[P_LSHIFT]), int(p[P_L1I_SETS]) - 1, int(p[P_L1I_WAYS]),
                                   int(p[P_L1D_SETS]) - 1, int(p[P_L1D_WAYS]), pa & 0xFFF))


_CACHE_ARRAYS = ("params", "cpu", "l1i", "l1d", "l2", "stats", "dir_sharers", "dir_owner", "cpu_node", "magic",
                 "node_stats", "hotq")
_cache_arrays = operator.attrgetter(*_CACHE_ARRAYS)
_seen: dict[int, tuple] = {}


def _cache_context(m: Machine, t: jit.Tier) -> None:
    """The cache model's arrays in the call context (jitaccess.py), again whenever the machine
    has new ones (process mode grows RAM with new directory and MAGIC arrays, same CPU array).
    Called once per call of the run loop (every exit to the host): kept to C-level calls."""
    arrays = _cache_arrays(m)
    old = _seen.get(id(t))
    if old is None or not all(map(operator.is_, arrays, old)):
        from flashvm.kernels import jitaccess
        jitaccess.context(m, t.jctx)
        _seen[id(t)] = arrays


def _access_symbol() -> None:
    """Make the cache model's miss path known to the linker (regions call it by name)."""
    if not _linked:
        import llvmlite.binding as llvm

        from flashvm.kernels import jitaccess
        llvm.add_symbol(llvmtiming.ACCESS, int(jitaccess.access_c.address or 0))
        _linked.append(True)


_linked: list[bool] = []


def run(m: Machine, budget: int) -> int:
    """`flashvm.kernels.run.run` in timing mode with the tier: the same result, in slices on the
    quantum grid (jit.run_slices, with the timing loop, table and translator)."""
    from flashvm.kernels.jitrun_timing import run_jit_timing_nb
    t = tier_of(m)
    _cache_context(m, t)
    return jit.run_slices(m, t, budget, run_jit_timing_nb, translate)


__all__ = ["enabled", "run", "tier_of", "translate"]
