"""The run loop of `flashvm.kernels.run` with the JIT tier's CPU loop.

`run_jit_nb` is `run_nb` (the rounds, the booking of each CPU's stretch and
the move to the next CPU are run.py's), except that in functional mode each
CPU runs `exec_cpu_jit_nb`, which enters translated regions; it lives in its
own module so that the interpreter's compiled cache stays valid when the tier changes.

**One CPU in functional mode runs across rounds.**  With a single CPU nothing
happens at a round's end in functional mode: no other CPU runs, the hot-page
queue is timing mode's, and the CPU loop itself re-reads the timer, pending
interrupts and the mode between any two of its stretches, exactly what a new
call at the next round does.  So that CPU runs one stretch up to the start of
the budget's last round (an exit, WAIT or the timer still end it where they
would), instead of one call per round (1,000 cycles on flash1): regions are
no longer refused for not fitting before each round's end, nor are the
round's tail and the next round's head left to the interpreter.  The rounds
the stretch covered are booked as the per-round loop books them
(`_span_round`: the round in which the stretch stopped becomes the current
one), so every counter and the machine's parameters are the interpreter's;
the budget's last round runs as a round of its own.

Under Disco too: the monitor charges its work in cycles inside a trap, so a
stretch may stop rounds after the cycle at which the trap began.  The
per-round loop books an exit to the host from a trap to the round the trap
began in: that cycle is kept (cpu slot TRAP_AT, set by trap.exception_nb).  A
trap it did not leave for can carry the CPU past its limit: the per-round
loop then ends that round and runs the CPU next in the round its clock has
reached, which is the round the stretch is booked to.
"""
from numba import njit

from flashvm.kernels.interp import STOP_LIMIT, STOP_WAIT, exec_cpu_timing_nb
from flashvm.kernels.interp_jit import exec_cpu_jit_nb
from flashvm.kernels.run import _account, _begin_round, _next_cpu
from flashvm.kernels.state import (
    CYCLES, EXIT_MMIO_LOAD, EXIT_MMIO_STORE, HALTED, P_CURCPU, P_NCPU, P_QUANTUM, P_ROUND_END,
    P_ROUND_START, P_TIMING, TRAP_AT, X_REASON,
)


@njit(cache=True, _nrt=False)
def _span_round(m, c, status, x, target):
    """A stretch of CPU c ran past its round's end and stopped at cycle x: make the round it
    stopped in the current one, as the per-round loop has it, and return its end.  A stretch
    that reached its limit (a round boundary) ends the round before it, or, carried past it by
    the monitor's charge for a trap, the round before the one it reached.  One ended by a WAIT
    instruction or a device store ends in the round of that instruction (cycle x - 1); a device
    load comes before the instruction at cycle x, in the round holding x; an exception or
    interrupt the host must serve, in the round holding the cycle it was raised at."""
    params = m.params
    q = params[P_QUANTUM]
    reason = m.exitrec[X_REASON]
    if status == STOP_LIMIT or status == STOP_WAIT or reason == EXIT_MMIO_STORE:
        rs = ((x - 1) // q) * q
    elif reason == EXIT_MMIO_LOAD:
        rs = (x // q) * q
    else:
        rs = (m.cpu[c, TRAP_AT] // q) * q
    re = min(rs + q, target)
    params[P_ROUND_START] = rs
    params[P_ROUND_END] = re
    return re


@njit(cache=True, _nrt=False)
def run_jit_nb(m, budget, jt, jcnt, jq, jstat, jctx):
    """`run_nb` with the JIT loop in functional mode (timing mode runs the interpreter)."""
    params = m.params
    cpu = m.cpu
    ncpu = params[P_NCPU]
    timing = params[P_TIMING] != 0
    target = params[P_ROUND_START] + budget
    q = params[P_QUANTUM]
    # one CPU, functional: a stretch may run up to the start of the budget's last round
    last = ((target - 1) // q) * q if ncpu == 1 and not timing else 0
    while True:
        reason, re = _begin_round(m, target)
        if reason >= 0:
            return reason
        c = params[P_CURCPU]
        while c < ncpu:
            st = cpu[c]
            while st[HALTED] == 0 and st[CYCLES] < re:
                if timing:
                    status, n = exec_cpu_timing_nb(m, c, re - st[CYCLES])
                else:
                    lim = max(re, last)
                    status, n = exec_cpu_jit_nb(m, c, lim - st[CYCLES], jt, jcnt, jq, jstat, jctx)
                    if lim > re and st[CYCLES] > re:
                        re = _span_round(m, c, status, st[CYCLES], target)
                reason = _account(m, c, status, n, re)
                if reason >= 0:
                    return reason
            c = _next_cpu(m, c)
        params[P_ROUND_START] = re


__all__ = ["run_jit_nb"]
