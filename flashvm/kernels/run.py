"""The JIT loop's entry point: run every CPU of a machine, interleaved in quanta.

`run(m, budget)` is the one call the Python side makes.  It returns an
EXIT_* reason with details in m.exitrec; the caller serves the exit (device
access, system call, ...) and calls `run` again, which resumes exactly where
it stopped (same CPU, same remaining quantum), so results do not depend on
how often the host is asked for help.
"""
from numba import njit

from flashvm.kernels.interp import STOP_EXIT, STOP_WAIT, exec_cpu_nb
from flashvm.kernels.state import (
    CP0_Cause, CP0_Status, CYCLES, EXIT_BUDGET, EXIT_HALT, EXIT_WAIT, HALTED, IDLE_CYCLES, INSNS,
    LLBIT, P_CURCPU, P_NCPU, P_QUANTUM, QUANTUM_LEFT, S_EXIT_BASE, S_IDLE_CYCLES, S_INSNS,
    TIMER_DUE, X_CPU, X_REASON, Ca_IP, Machine,
)


@njit(cache=True, _nrt=False)
def run_nb(m, budget):
    """Advance the machine by up to `budget` CPU ticks (instructions or idle cycles)."""
    params = m.params
    cpu = m.cpu
    ncpu = params[P_NCPU]
    quantum = params[P_QUANTUM]
    c = params[P_CURCPU]
    done = 0
    stuck = 0          # consecutive CPUs seen that only the host can wake (or halted)
    while done < budget:
        st = cpu[c]
        left = st[QUANTUM_LEFT]
        if left <= 0:
            left = quantum
        k = min(left, budget - done)
        if st[HALTED] == 0:
            before = st[CYCLES]
            status, n = exec_cpu_nb(m, c, k)
            st[INSNS] += n
            m.stats[c, S_INSNS] += n
            ticks = st[CYCLES] - before     # instructions, plus a cycle per exception taken
            done += ticks
            left -= ticks
            if status == STOP_EXIT:
                st[QUANTUM_LEFT] = left
                params[P_CURCPU] = c
                reason = m.exitrec[X_REASON]
                m.stats[c, S_EXIT_BASE + reason] += 1
                return reason
            if status == STOP_WAIT:
                # idle until the timer is due, for at most the rest of the slice
                idle = k - ticks
                due = st[TIMER_DUE] - st[CYCLES]
                timer_wakes = (m.cp0[c, CP0_Status, 0] & (1 << 15)) != 0
                if timer_wakes and due < idle:
                    idle = max(due, 0)
                st[CYCLES] += idle
                st[IDLE_CYCLES] += idle
                m.stats[c, S_IDLE_CYCLES] += idle
                done += idle
                left = 0
                pending = m.cp0[c, CP0_Status, 0] & m.cp0[c, CP0_Cause, 0] & Ca_IP
                if not timer_wakes and pending == 0:
                    stuck += 1
                else:
                    stuck = 0
            else:
                stuck = 0
        else:
            left = 0
            stuck += 1
        st[QUANTUM_LEFT] = left
        if stuck >= ncpu:
            params[P_CURCPU] = (c + 1) % ncpu
            all_halted = True
            for i in range(ncpu):
                if cpu[i, HALTED] == 0:
                    all_halted = False
            m.exitrec[X_REASON] = EXIT_HALT if all_halted else EXIT_WAIT
            m.exitrec[X_CPU] = c
            return m.exitrec[X_REASON]
        if left <= 0:
            c += 1
            if c == ncpu:
                c = 0
            if ncpu > 1:
                # another CPU ran since this one's LL: its reservation cannot be trusted
                cpu[c, LLBIT] = 0
    params[P_CURCPU] = c
    m.exitrec[X_REASON] = EXIT_BUDGET
    return EXIT_BUDGET


def run(m: Machine, budget: int) -> int:
    """Run the machine for up to `budget` ticks; returns the EXIT_* reason (see state.py)."""
    if budget <= 0:
        raise ValueError(f"budget must be positive, got {budget}")
    return int(run_nb(m, budget))


__all__ = ["run", "run_nb"]
