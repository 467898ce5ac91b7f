"""The CPU's exception entry, as the interpreter calls it.

A CPU takes its exceptions in hardware (cp0.take_exception_nb) unless it runs
a Disco virtual CPU (cpu[c, VCPU] != 0): then the monitor's trap path takes
them (disco.disco_trap_nb).  That test is the one hook of the VMM in the CPU.
It lives here rather than in cp0.py because the monitor's kernels are built
on cp0's register model (exception entry, mtc0, written values), so cp0
importing disco would be an import cycle.
"""
from flashvm.kernels.dispatch import njit

from flashvm.kernels.cp0 import take_exception_nb
from flashvm.kernels.disco import disco_trap_nb
from flashvm.kernels.state import CYCLES, TRAP_AT, VCPU


@njit(cache=True, _nrt=False)
def exception_nb(m, c, code, pc, npc, bpc, badva, ce):
    """Exception `code` raised on CPU c by the instruction at `pc`.  Returns 1 when
    the host must act (exit record filled), 0 when the CPU goes on.  The cycle it was raised at
    is kept (TRAP_AT): the monitor's charge for a trap may carry the CPU into a later round, and
    an exit to the host belongs to the round the trap began in (flashvm/kernels/jitrun.py)."""
    m.cpu[c, TRAP_AT] = m.cpu[c, CYCLES]
    if m.cpu[c, VCPU] != 0:
        return disco_trap_nb(m, c, code, pc, npc, bpc, badva, ce)
    return take_exception_nb(m, c, code, pc, bpc, badva, ce)
