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

The round bookkeeping (starting a round, booking a stretch, moving to the next
CPU) is the kernel's own: this loop calls run.py's `_begin_round`, `_account`
and `_next_cpu`, so only the slice is done differently here.
"""
from __future__ import annotations

from collections.abc import Callable

from flashvm.kernels.interp import STOP_EXIT, STOP_WAIT, exec_cpu_nb, exec_cpu_timing_nb
from flashvm.kernels.run import _account, _begin_round, _next_cpu
from flashvm.kernels.state import CYCLES, HALTED, P_CURCPU, P_NCPU, P_ROUND_START, P_TIMING, Machine

# step(m, c, timing) -> (STOP_* status, instructions retired) for one cycle of budget of CPU c
Step = Callable[[Machine, int, bool], tuple[int, int]]


def plain_step(m: Machine, c: int, timing: bool) -> tuple[int, int]:
    """One step of CPU c through the interpreter, observed by nobody."""
    status, n = (exec_cpu_timing_nb if timing else exec_cpu_nb)(m, c, 1)
    return int(status), int(n)


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
    timing = params[P_TIMING] != 0
    target = int(params[P_ROUND_START]) + budget
    while True:
        reason, re = _begin_round(m, target)
        if reason >= 0:
            return int(reason)
        c = int(params[P_CURCPU])
        while c < ncpu:
            st = cpu[c]
            while st[HALTED] == 0 and st[CYCLES] < re:
                status, n = _slice(m, c, int(re - st[CYCLES]), timing, step)
                reason = _account(m, c, status, n, re)
                if reason >= 0:
                    return int(reason)
            c = int(_next_cpu(m, c))
        params[P_ROUND_START] = re


__all__ = ["Step", "plain_step", "run_stepped"]
