"""The run loop of `flashvm.kernels.run` with the JIT tier's timing-mode CPU loop.

`run_jit_timing_nb` is `run_nb` line for line (keep them in step), except that
in timing mode each CPU runs `exec_cpu_jit_timing_nb` (interp_jittiming.py),
which enters timing regions (flashvm/isa/llvmtiming.py); its own module, so
that the other loops' compiled caches stay valid when this one changes.
"""
from numba import njit

from flashvm.kernels.interp import STOP_EXIT, STOP_WAIT, exec_cpu_nb
from flashvm.kernels.interp_jittiming import exec_cpu_jit_timing_nb
from flashvm.kernels.run import NO_TIMER, _exit, _idle, _timer_wake
from flashvm.kernels.state import (
    CYCLES, EXIT_BUDGET, EXIT_HALT, EXIT_HOT_PAGE, EXIT_WAIT, HALTED, INSNS,
    LLBIT, P_CURCPU, P_HOTQ_N, P_IDLE_ROUND, P_NCPU, P_QUANTUM, P_ROUND_END, P_ROUND_START, P_TIMING,
    S_EXIT_BASE, S_INSNS, WAITING, X_REASON,
)


@njit(cache=True, _nrt=False)
def run_jit_timing_nb(m, budget, jt, jcnt, jq, jstat, jctx):
    """`run_nb` with the JIT loop in timing mode (functional mode runs the interpreter)."""
    params = m.params
    cpu = m.cpu
    ncpu = params[P_NCPU]
    quantum = params[P_QUANTUM]
    timing = params[P_TIMING] != 0
    target = params[P_ROUND_START] + budget
    while True:
        rs = params[P_ROUND_START]
        re = params[P_ROUND_END]
        if re <= rs:
            # ---- a new round: [rs, re), re on the quantum grid unless the budget ends first
            if rs >= target:
                return _exit(m, params[P_CURCPU], EXIT_BUDGET)
            re = (rs // quantum + 1) * quantum
            if params[P_IDLE_ROUND]:
                # nobody ran last round: jump to the first timer that can wake someone
                wake = NO_TIMER
                halted = 0
                for i in range(ncpu):
                    if cpu[i, HALTED]:
                        halted += 1
                    elif cpu[i, WAITING]:
                        wake = min(wake, _timer_wake(m, i))
                    else:
                        wake = rs      # runnable: no jump
                if halted == ncpu:
                    return _exit(m, 0, EXIT_HALT)
                if wake == NO_TIMER:
                    # only the host can wake anyone: idle to the target and ask it
                    for i in range(ncpu):
                        if cpu[i, HALTED] == 0:
                            _idle(m, i, target)
                    params[P_ROUND_START] = target
                    params[P_ROUND_END] = target
                    params[P_CURCPU] = 0
                    return _exit(m, 0, EXIT_WAIT)
                re = max(re, (wake // quantum + 1) * quantum)
            re = min(re, target)
            params[P_ROUND_END] = re
            params[P_CURCPU] = 0
            params[P_IDLE_ROUND] = 1
            if ncpu > 1 and not timing:
                cpu[0, LLBIT] = 0
        c = params[P_CURCPU]
        while c < ncpu:
            st = cpu[c]
            while st[HALTED] == 0 and st[CYCLES] < re:
                if timing:
                    status, n = exec_cpu_jit_timing_nb(m, c, re - st[CYCLES], jt, jcnt, jq, jstat, jctx)
                else:
                    status, n = exec_cpu_nb(m, c, re - st[CYCLES])
                if n > 0:
                    params[P_IDLE_ROUND] = 0
                st[INSNS] += n
                m.stats[c, S_INSNS] += n
                if status == STOP_EXIT:
                    params[P_IDLE_ROUND] = 0
                    reason = m.exitrec[X_REASON]
                    m.stats[c, S_EXIT_BASE + reason] += 1
                    params[P_CURCPU] = c
                    return reason
                if status == STOP_WAIT:
                    # idle until the timer can wake it, at most to the end of the round
                    _idle(m, c, min(re, max(_timer_wake(m, c), st[CYCLES])))
                    if st[CYCLES] < re and _timer_wake(m, c) > st[CYCLES]:
                        _idle(m, c, re)
                if params[P_HOTQ_N] > 0:
                    m.stats[c, S_EXIT_BASE + EXIT_HOT_PAGE] += 1
                    return _exit(m, c, EXIT_HOT_PAGE)
            c += 1
            params[P_CURCPU] = c
            if c < ncpu and ncpu > 1 and not timing:
                # another CPU ran since this one's LL: its reservation cannot be trusted
                # (timing mode drops reservations precisely, when the line is invalidated)
                cpu[c, LLBIT] = 0
        params[P_ROUND_START] = re


__all__ = ["run_jit_timing_nb"]
