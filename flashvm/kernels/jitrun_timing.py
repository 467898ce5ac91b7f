"""The run loop of `flashvm.kernels.run` with the JIT tier's timing-mode CPU loop.

`run_jit_timing_nb` is `run_nb` (the rounds, the booking of each CPU's stretch
and the move to the next CPU are run.py's), except that in timing mode each CPU
runs `exec_cpu_jit_timing_nb` (interp_jittiming.py), which enters timing regions
(flashvm/isa/llvmtiming.py); its own module, so that the other loops' compiled
caches stay valid when this one changes.
"""
from numba import njit

from flashvm.kernels.interp import exec_cpu_nb
from flashvm.kernels.interp_jittiming import exec_cpu_jit_timing_nb
from flashvm.kernels.run import _account, _begin_round, _next_cpu
from flashvm.kernels.state import CYCLES, HALTED, P_CURCPU, P_NCPU, P_ROUND_START, P_TIMING


@njit(cache=True, _nrt=False)
def run_jit_timing_nb(m, budget, jt, jcnt, jq, jstat, jctx):
    """`run_nb` with the JIT loop in timing mode (functional mode runs the interpreter)."""
    params = m.params
    cpu = m.cpu
    ncpu = params[P_NCPU]
    timing = params[P_TIMING] != 0
    target = params[P_ROUND_START] + budget
    while True:
        reason, re = _begin_round(m, target)
        if reason >= 0:
            return reason
        c = params[P_CURCPU]
        while c < ncpu:
            st = cpu[c]
            while st[HALTED] == 0 and st[CYCLES] < re:
                if timing:
                    status, n = exec_cpu_jit_timing_nb(m, c, re - st[CYCLES], jt, jcnt, jq, jstat, jctx)
                else:
                    status, n = exec_cpu_nb(m, c, re - st[CYCLES])
                reason = _account(m, c, status, n, re)
                if reason >= 0:
                    return reason
            c = _next_cpu(m, c)
        params[P_ROUND_START] = re


__all__ = ["run_jit_timing_nb"]
