"""The run kernel's scheduler, in Python, one instruction at a time (for the trace).

`run_stepped(m, budget, step)` does what `flashvm.kernels.run.run(m, budget)`
does (same rounds, same CPU order, same idling, same exits and the same state
afterwards), but where the kernel lets a CPU run for its whole slice of a round
with one call of the interpreter, it calls `step(m, c, timing)` over and over,
each call running the interpreter for one cycle of budget: one instruction
(or an exception entry, which costs a cycle), plus an interrupt entry first
when one is due.  The caller observes the CPU around each call.

Running a CPU's slice in steps gives the same result as running it at once:
the interpreter checks the timer and interrupts only between instructions,
at the top of its loop, which each step starts with too.  So a traced run
simulates exactly what an untraced one does, on one CPU or several
(tests/test_trace.py checks it).  The normal loop never comes here.

This file mirrors `run_nb` in flashvm/kernels/run.py line for line; a change
to one needs the same change to the other.
"""
from __future__ import annotations

from collections.abc import Callable

from flashvm.kernels.interp import STOP_EXIT, STOP_WAIT, exec_cpu_nb, exec_cpu_timing_nb
from flashvm.kernels.state import (
    CP0_Status, CYCLES, EXIT_BUDGET, EXIT_HALT, EXIT_HOT_PAGE, EXIT_WAIT, HALTED, IDLE_CYCLES, INSNS,
    LLBIT, P_CURCPU, P_HOTQ_N, P_IDLE_ROUND, P_NCPU, P_QUANTUM, P_ROUND_END, P_ROUND_START, P_TIMING,
    S_EXIT_BASE, S_IDLE_CYCLES, S_INSNS, TIMER_DUE, WAITING, X_CPU, X_REASON, Machine,
)

NO_TIMER = 1 << 62

# step(m, c, timing) -> (STOP_* status, instructions retired) for one cycle of budget of CPU c
Step = Callable[[Machine, int, bool], tuple[int, int]]


def plain_step(m: Machine, c: int, timing: bool) -> tuple[int, int]:
    """One step of CPU c through the interpreter, observed by nobody."""
    status, n = (exec_cpu_timing_nb if timing else exec_cpu_nb)(m, c, 1)
    return int(status), int(n)


def _idle(m: Machine, c: int, until: int) -> None:
    st = m.cpu[c]
    d = until - int(st[CYCLES])
    if d > 0:
        st[CYCLES] = until
        st[IDLE_CYCLES] += d
        m.stats[c, S_IDLE_CYCLES] += d


def _timer_wake(m: Machine, c: int) -> int:
    if m.cp0[c, CP0_Status, 0] & (1 << 15):
        return int(m.cpu[c, TIMER_DUE])
    return NO_TIMER


def _exit(m: Machine, c: int, reason: int) -> int:
    m.params[P_CURCPU] = c
    m.exitrec[X_REASON] = reason
    m.exitrec[X_CPU] = c
    return reason


def _slice(m: Machine, c: int, limit: int, timing: bool, step: Step) -> tuple[int, int]:
    """What one interpreter call for `limit` cycles does, in steps."""
    st = m.cpu[c]
    cend = int(st[CYCLES]) + limit
    total = 0
    while True:
        status, n = step(m, c, timing)
        total += n
        if status == STOP_EXIT or status == STOP_WAIT or st[CYCLES] >= cend:
            return status, total


def run_stepped(m: Machine, budget: int, step: Step = plain_step) -> int:
    """`flashvm.kernels.run.run(m, budget)`, calling `step` for every instruction."""
    if budget <= 0:
        raise ValueError(f"budget must be positive, got {budget}")
    params = m.params
    cpu = m.cpu
    ncpu = int(params[P_NCPU])
    quantum = int(params[P_QUANTUM])
    timing = params[P_TIMING] != 0
    target = int(params[P_ROUND_START]) + budget
    while True:
        rs = int(params[P_ROUND_START])
        re = int(params[P_ROUND_END])
        if re <= rs:
            if rs >= target:
                return _exit(m, int(params[P_CURCPU]), EXIT_BUDGET)
            re = (rs // quantum + 1) * quantum
            if params[P_IDLE_ROUND]:
                wake = NO_TIMER
                halted = 0
                for i in range(ncpu):
                    if cpu[i, HALTED]:
                        halted += 1
                    elif cpu[i, WAITING]:
                        wake = min(wake, _timer_wake(m, i))
                    else:
                        wake = rs
                if halted == ncpu:
                    return _exit(m, 0, EXIT_HALT)
                if wake == NO_TIMER:
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
        c = int(params[P_CURCPU])
        while c < ncpu:
            st = cpu[c]
            while st[HALTED] == 0 and st[CYCLES] < re:
                status, n = _slice(m, c, re - int(st[CYCLES]), timing, step)
                if n > 0:
                    params[P_IDLE_ROUND] = 0
                st[INSNS] += n
                m.stats[c, S_INSNS] += n
                if status == STOP_EXIT:
                    params[P_IDLE_ROUND] = 0
                    reason = int(m.exitrec[X_REASON])
                    m.stats[c, S_EXIT_BASE + reason] += 1
                    params[P_CURCPU] = c
                    return reason
                if status == STOP_WAIT:
                    _idle(m, c, min(re, max(_timer_wake(m, c), int(st[CYCLES]))))
                    if st[CYCLES] < re and _timer_wake(m, c) > st[CYCLES]:
                        _idle(m, c, re)
                if params[P_HOTQ_N] > 0:
                    m.stats[c, S_EXIT_BASE + EXIT_HOT_PAGE] += 1
                    return _exit(m, c, EXIT_HOT_PAGE)
            c += 1
            params[P_CURCPU] = c
            if c < ncpu and ncpu > 1 and not timing:
                cpu[c, LLBIT] = 0
        params[P_ROUND_START] = re


__all__ = ["Step", "plain_step", "run_stepped"]
