"""The JIT loop's entry point: run every CPU of a machine, interleaved in rounds of simulated time.

Time advances in rounds on a fixed grid of `quantum` cycles: in each round
every CPU, in CPU order, runs until its own cycle counter reaches the end
of the round (stall cycles in timing mode count, so a CPU that misses a lot
retires fewer instructions per round), or sits in WAIT, idle, until its
timer fires or the round ends.  A round in which no CPU ran makes the next
one jump straight to the first timer due; when nothing but the host can wake
any CPU, `run` returns EXIT_WAIT.

`run(m, budget)` is the one call the Python side makes: it advances global
time by up to `budget` cycles and returns an EXIT_* reason with details in
m.exitrec.  The caller serves the exit (device access, system call, ...) and
calls `run` again, which resumes exactly where it stopped (same CPU, same
round), so results do not depend on how often the host is asked for help,
nor on the budgets as long as they are multiples of the quantum.
"""
from flashvm.kernels.dispatch import njit

from flashvm.kernels.interp import STOP_EXIT, STOP_WAIT, exec_cpu_nb, exec_cpu_timing_nb
from flashvm.kernels.state import (
    CP0_Status, CYCLES, EXIT_BUDGET, EXIT_HALT, EXIT_HOT_PAGE, EXIT_WAIT, HALTED, IDLE_CYCLES, INSNS,
    LLBIT, P_CURCPU, P_HOTQ_N, P_IDLE_ROUND, P_NCPU, P_QUANTUM, P_ROUND_END, P_ROUND_START, P_TIMING,
    S_EXIT_BASE, S_IDLE_CYCLES, S_INSNS, TIMER_DUE, WAITING, X_CPU, X_REASON, Machine,
)

NO_TIMER = 1 << 62


@njit(cache=True, _nrt=False)
def _idle(m, c, until):
    """CPU c sits in WAIT until simulated time `until`."""
    st = m.cpu[c]
    d = until - st[CYCLES]
    if d > 0:
        st[CYCLES] = until
        st[IDLE_CYCLES] += d
        m.stats[c, S_IDLE_CYCLES] += d


@njit(cache=True, _nrt=False)
def _timer_wake(m, c):
    """When CPU c's timer can next end its WAIT (NO_TIMER if it cannot)."""
    if m.cp0[c, CP0_Status, 0] & (1 << 15):
        return m.cpu[c, TIMER_DUE]
    return NO_TIMER


@njit(cache=True, _nrt=False)
def _exit(m, c, reason):
    m.params[P_CURCPU] = c
    m.exitrec[X_REASON] = reason
    m.exitrec[X_CPU] = c
    return reason


@njit(cache=True, _nrt=False)
def _begin_round(m, target):
    """(EXIT_* reason that ends `run`, or -1; the end of the current round), starting the next
    round if the last one is over: [rs, re), re on the quantum grid unless the budget ends first."""
    params = m.params
    cpu = m.cpu
    ncpu = params[P_NCPU]
    quantum = params[P_QUANTUM]
    rs = params[P_ROUND_START]
    re = params[P_ROUND_END]
    if re > rs:
        return -1, re
    if rs >= target:
        return _exit(m, params[P_CURCPU], EXIT_BUDGET), re
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
            return _exit(m, 0, EXIT_HALT), re
        if wake == NO_TIMER:
            # only the host can wake anyone: idle to the target and ask it
            for i in range(ncpu):
                if cpu[i, HALTED] == 0:
                    _idle(m, i, target)
            params[P_ROUND_START] = target
            params[P_ROUND_END] = target
            params[P_CURCPU] = 0
            return _exit(m, 0, EXIT_WAIT), re
        re = max(re, (wake // quantum + 1) * quantum)
    re = min(re, target)
    params[P_ROUND_END] = re
    params[P_CURCPU] = 0
    params[P_IDLE_ROUND] = 1
    if ncpu > 1 and params[P_TIMING] == 0:
        cpu[0, LLBIT] = 0
    return -1, re


@njit(cache=True, _nrt=False)
def _account(m, c, status, n, re):
    """Book one stretch of CPU c (n instructions, ended by `status`); the EXIT_* reason that
    ends `run`, or -1 to go on."""
    params = m.params
    st = m.cpu[c]
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
    return -1


@njit(cache=True, _nrt=False)
def _next_cpu(m, c):
    """The round moves on from CPU c to the next one (its number)."""
    c += 1
    m.params[P_CURCPU] = c
    if c < m.params[P_NCPU] and m.params[P_NCPU] > 1 and m.params[P_TIMING] == 0:
        # another CPU ran since this one's LL: its reservation cannot be trusted
        # (timing mode drops reservations precisely, when the line is invalidated)
        m.cpu[c, LLBIT] = 0
    return c


@njit(cache=True, _nrt=False)
def run_nb(m, budget):
    """Advance global simulated time by up to `budget` cycles (see the module doc)."""
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
                    status, n = exec_cpu_timing_nb(m, c, re - st[CYCLES])
                else:
                    status, n = exec_cpu_nb(m, c, re - st[CYCLES])
                reason = _account(m, c, status, n, re)
                if reason >= 0:
                    return reason
            c = _next_cpu(m, c)
        params[P_ROUND_START] = re


def run(m: Machine, budget: int) -> int:
    """Advance the machine by up to `budget` cycles of global time; returns the EXIT_* reason (see state.py)."""
    if budget <= 0:
        raise ValueError(f"budget must be positive, got {budget}")
    from flashvm.kernels import jit    # the JIT tier (on unless --no-jit or FLASHVM_JIT=0)
    if jit.enabled():
        return jit.run_jit(m, budget)
    return int(run_nb(m, budget))


__all__ = ["run", "run_nb"]
