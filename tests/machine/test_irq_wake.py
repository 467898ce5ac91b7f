"""A device raising an unmasked line ends a WAITing CPU's wait at once (before,
the run kernel saw an idle machine and jumped to the CPU's next timer tick)."""
from __future__ import annotations

from flashvm.kernels import state as S
from flashvm.machine.config import machine_config
from flashvm.machine.flash import FlashMachine


def _waiting_machine(im_bits: int) -> FlashMachine:
    fm = FlashMachine(machine_config("flash1"), mode="functional")
    fm.m.cpu[0, S.WAITING] = 1
    fm.m.cp0[0, S.CP0_Status, 0] = im_bits | 1
    return fm


def test_unmasked_line_wakes_a_waiting_cpu():
    fm = _waiting_machine(1 << 12)                 # IM4: hardware line 2
    fm.set_irq(object(), 0, 2, True)
    assert fm.m.cpu[0, S.WAITING] == 0
    assert fm.m.cp0[0, S.CP0_Cause, 0] & (1 << 12)


def test_masked_line_leaves_the_cpu_waiting():
    fm = _waiting_machine(1 << 15)                 # only the timer unmasked
    src = object()
    fm.set_irq(src, 0, 2, True)
    assert fm.m.cpu[0, S.WAITING] == 1
    fm.set_irq(src, 0, 2, False)
    assert fm.m.cp0[0, S.CP0_Cause, 0] & (1 << 12) == 0
    assert fm.m.cpu[0, S.WAITING] == 1
