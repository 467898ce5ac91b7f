"""The device registers guest kernels touch most, served in the kernels instead of Python.

An 8-CPU guest OS building with make sends an interprocessor interrupt and
acknowledges it, and reads the 64-bit timer as two words, about 1,000 times
per million instructions; each was an exit to Python's devices (15-30 us).
These kernels do exactly what those devices do (flashvm/machine/flash.py
`Smp`, flashvm/machine/devices.py `Timer`, and `FlashMachine.charge_io` for
the access's stall), so a run is the same to the bit whichever serves them
(tests/machine/test_device_fast.py, tests/disco/test_disco_device_fast.py).
Anything else, or an IPI to no CPU, still goes to Python.

The blocks' places come from the machine (P_SMP_PA, P_TIMER_PA; 0: Python
serves everything), set where the devices are built: the machine's own and,
under Disco, every VM's are at the same addresses (flashvm/kernels/disco.py
serves the VMs' in the monitor's trap path, with the VM's VCPUs for CPUs).
"""
import numpy as np
from flashvm.kernels.dispatch import njit

from flashvm.kernels.bits import M32
from flashvm.kernels.fpu_core import _f64
from flashvm.kernels.mmu import mmu_index
from flashvm.kernels.state import (
    CP0_Cause, CP0_Status, CYCLES, MMIO_PENDING, MMIO_VALUE, P_IO_CYCLES, P_NCPU, P_NS_PER_CYCLE, P_SMP_PA,
    P_TIMER_PA, S_CYC_BASE, S_STALL_BASE, WAITING,
)

# the registers served (offsets in the SMP block and the timer; flash.Smp, devices.Timer)
SMP_IPI_SEND = 0x8
SMP_IPI_ACK = 0xC
TIMER_LO = 0x0
TIMER_HI = 0x4
IRQ_IPI = 1              # the IPI's hardware line (Cause.IP2 + line)


@njit(cache=True, _nrt=False)
def charge_io_nb(m, c):
    """A device-register access stalls CPU c for the machine's io latency."""
    io = m.params[P_IO_CYCLES]
    mode = mmu_index(m.cp0[c, CP0_Status, 0])
    m.cpu[c, CYCLES] += io
    m.stats[c, S_CYC_BASE + mode] += io
    m.stats[c, S_STALL_BASE + mode] += io


@njit(cache=True, _nrt=False)
def timer_word_nb(m, c, pa):
    """The timer word at `pa` (-1: not a timer word the kernels serve), read by CPU c after its
    io stall: the simulated nanoseconds at CPU c's clock, low or high half."""
    tmr = m.params[P_TIMER_PA]
    if tmr == 0 or (pa != tmr + TIMER_LO and pa != tmr + TIMER_HI):
        return -1
    charge_io_nb(m, c)
    ns = np.int64(np.float64(m.cpu[c, CYCLES]) * _f64(m.params[P_NS_PER_CYCLE]))
    return (ns if pa == tmr + TIMER_LO else ns >> 32) & M32


@njit(cache=True, _nrt=False)
def smp_register(m, pa):
    """SMP_IPI_SEND or SMP_IPI_ACK when `pa` is one of them, else -1."""
    smp = m.params[P_SMP_PA]
    if smp != 0 and (pa == smp + SMP_IPI_SEND or pa == smp + SMP_IPI_ACK):
        return pa - smp
    return -1


@njit(cache=True, _nrt=False)
def mmio_fast_nb(m, c, pa, size, value, store):
    """A bare machine's device access by CPU c, served here when it is one of the registers above
    (a word).  True: done (a load's value is left pending for the instruction's replay, as the
    host leaves it); False: the host serves it."""
    if size != 4:
        return False
    if store:
        reg = smp_register(m, pa)
        if reg < 0:
            return False
        target = c if reg == SMP_IPI_ACK else value
        if target >= m.params[P_NCPU]:
            return False                              # the device counts the guest's error
        charge_io_nb(m, c)
        bit = 1 << (10 + IRQ_IPI)
        if reg == SMP_IPI_ACK:
            m.cp0[c, CP0_Cause, 0] &= ~bit
        else:
            m.cp0[target, CP0_Cause, 0] |= bit
            if m.cpu[target, WAITING] and m.cp0[target, CP0_Status, 0] & bit:
                m.cpu[target, WAITING] = 0            # the line ends the CPU's WAIT now
        return True
    word = timer_word_nb(m, c, pa)
    if word < 0:
        return False
    m.cpu[c, MMIO_VALUE] = word
    m.cpu[c, MMIO_PENDING] = 1
    return True
