"""Functional regions test the CPU's stop at checkpoints (flashvm/isa/llvmstop.py): entered with an
allowance shorter than the region, one runs up to the last checkpoint whose stretch fits and leaves
before it with the exact count, instead of having to be refused whole by the loop."""
from __future__ import annotations

from flashvm.isa import llvmstop
from tests.jit.test_jit_native import ADDIU_V0_1, BNE_BACK, NOP, Machine

BEQ_V0_A0 = 0x10440004         # beq v0, a0, +4 (not taken while v0 != a0)


def test_checkpoints_bound_each_stretch_and_skip_delay_slots():
    assert llvmstop.checkpoints([ADDIU_V0_1] * 20) == {0: 8, 8: 16, 16: 20}
    # after a branch's delay slot; a loop's top; never on a delay slot (word 8 here)
    assert llvmstop.checkpoints([ADDIU_V0_1, BEQ_V0_A0, NOP, ADDIU_V0_1, ADDIU_V0_1]) == {0: 3, 3: 5}
    assert llvmstop.checkpoints([ADDIU_V0_1] * 7 + [BEQ_V0_A0, NOP, ADDIU_V0_1, ADDIU_V0_1]) == {0: 9, 9: 11}
    assert llvmstop.checkpoints([NOP, ADDIU_V0_1, BNE_BACK, NOP, NOP]) == {0: 1, 1: 4, 4: 5}
    assert llvmstop.first_stretch([ADDIU_V0_1] * 5) == 5


def test_a_straight_region_leaves_before_the_checkpoint_that_does_not_fit():
    m = Machine()
    fn, n = m.load(0x1000, [ADDIU_V0_1] * 12)
    assert n == 12
    assert m.enter(fn, 0x1000, 0x400000, allowance=12) == 12 and m.r[2] == 12
    m.r[2] = 0
    assert m.enter(fn, 0x1000, 0x400000, allowance=11) == 8 and m.r[2] == 8
    assert tuple(m.ctx[8:10]) == (0x400020, 0x400024)
    m.r[2] = 0
    assert m.enter(fn, 0x1000, 0x400000, allowance=7) == 0 and m.r[2] == 0
    assert tuple(m.ctx[8:10]) == (0x400000, 0x400004)


def test_a_region_leaves_after_a_branch_when_the_next_stretch_does_not_fit():
    m = Machine()
    fn, n = m.load(0x2000, [ADDIU_V0_1, BEQ_V0_A0, NOP, ADDIU_V0_1, ADDIU_V0_1, ADDIU_V0_1])
    assert n == 6
    m.r[4] = 100
    assert m.enter(fn, 0x2000, 0x400000, allowance=5) == 3 and m.r[2] == 1
    assert tuple(m.ctx[8:10]) == (0x40000C, 0x400010)
    m.r[2] = 0
    assert m.enter(fn, 0x2000, 0x400000, allowance=6) == 6 and m.r[2] == 4


def test_without_checks_a_region_runs_whole_and_the_policy_picks_them_per_round():
    """Compiled without the tests (a lone CPU, which runs across rounds), a region runs all of its
    words whatever the allowance: the loop enters it only if all of it fits."""
    from flashvm.isa import llvmgen
    from flashvm.kernels import jit, jitnative
    from flashvm.machine.config import machine_config
    from flashvm.machine.flash import FlashMachine

    m = Machine()
    words = [ADDIU_V0_1] * 12
    m.ram32[0x1000 >> 2:(0x1000 >> 2) + 12] = words
    (fn,), _, _ = jitnative.compile_batch([words], None, checks=False)
    assert m.enter(fn, 0x1000, 0x400000, allowance=5) == 12 and m.r[2] == 12
    assert jitnative.key([words]) != jitnative.key([words], checks=False)
    assert "fits" in llvmgen.module_ir([words], "a") and "fits" not in llvmgen.module_ir([words], "b", checks=False)
    assert not jit.per_round(FlashMachine(machine_config("flash1")).m)
    assert jit.per_round(FlashMachine(machine_config("flash8")).m)
