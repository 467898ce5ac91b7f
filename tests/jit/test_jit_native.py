"""Native (LLVM IR) regions on their own, against hand-made state: a region runs, leaves at a
soft-TLB miss, refuses rewritten code, loops while its allowance lasts, chains to the next
translated region, and runs FPU instructions through the helpers' wrappers."""
from __future__ import annotations

import numpy as np

from flashvm.isa import llvmgen
from flashvm.kernels import jitnative
from flashvm.kernels.state import FCSR
from regionctx import RegionContext

ADDIU_V0_5 = 0x24020005        # addiu v0, zero, 5
ADDU_V1 = 0x00421821           # addu v1, v0, v0
SW_V1 = 0xAC830000             # sw v1, 0(a0)
LW_A1 = 0x8C850000             # lw a1, 0(a0)
B_2 = 0x10000002               # b +2
ADDIU_V0_1 = 0x24420001        # addiu v0, v0, 1
ADDIU_V0_2 = 0x24420002        # addiu v0, v0, 2
BNE_BACK = 0x1444FFFE          # bne v0, a0, -2
JR_RA = 0x03E00008             # jr ra
NOP = 0
ADD_D = 0x46262000             # add.d $f0, $f4, $f6
TSIZE = 1024


class Machine(RegionContext):
    """A region context whose virtual page 8 maps to physical page 8."""

    def __init__(self) -> None:
        super().__init__(1 << 20, TSIZE)
        self.tag[8] = 8

    def load(self, pa: int, words: list[int]) -> tuple[int, int]:
        """Put code at a physical address and translate it: (function address, length)."""
        self.ram32[pa >> 2:(pa >> 2) + len(words)] = words
        n = llvmgen.scan(words)
        (addr,), _, _ = jitnative.compile_batch([words[:n]], None)
        return addr, n



def test_a_native_region_runs_exits_and_checks_its_words():
    m = Machine()
    fn, n = m.load(0x1000, [ADDIU_V0_5, ADDU_V1, SW_V1, LW_A1, B_2, ADDIU_V0_1, 0x24420064])
    assert n == 6
    m.r[4] = 0x8000
    assert m.enter(fn, 0x1000, 0x400000) == 6
    assert tuple(m.ctx[8:11]) == (0x40001C, 0x400020, 0x400010)
    assert (m.r[2], m.r[3], m.r[5], m.ram32[0x8000 >> 2]) == (6, 10, 10, 10)
    m.r[:] = 0
    m.r[4] = 0x9000          # the store's page is not in the soft TLB: leave before it
    assert m.enter(fn, 0x1000, 0x400000) == 2
    assert tuple(m.ctx[8:10]) == (0x400008, 0x40000C) and m.r[3] == 10 and m.r[5] == 0
    m.ram32[(0x1000 >> 2) + 1] = 0                  # rewritten code: the region refuses to run
    assert m.enter(fn, 0x1000, 0x400000) == -1


def test_a_looping_region_goes_round_while_its_allowance_lasts():
    m = Machine()
    fn, n = m.load(0x2000, [ADDIU_V0_1, BNE_BACK, NOP])
    assert n == 3
    m.r[4] = 10
    assert m.enter(fn, 0x2000, 0x400000) == 30
    assert m.r[2] == 10 and tuple(m.ctx[8:10]) == (0x40000C, 0x400010)
    m.r[2] = 0
    assert m.enter(fn, 0x2000, 0x400000, allowance=7) == 6       # two passes fit, a third does not
    assert m.r[2] == 2 and tuple(m.ctx[8:10]) == (0x400000, 0x400004)


def test_a_region_chains_to_the_next_translated_one():
    m = Machine()
    a, _ = m.load(0x3000, [ADDIU_V0_1, B_2, NOP])             # b to 0x3010 (0x400010)
    b, nb = m.load(0x3010, [ADDIU_V0_2, JR_RA, NOP])
    m.r[31] = 0x500000
    assert m.enter(a, 0x3000, 0x400000) == 3                  # B not in the table: A returns
    h = (0x3010 >> 2) & (TSIZE - 1)
    m.jt[:, h] = (0x3010, b, 0, nb)
    m.r[2] = 0
    assert m.enter(a, 0x3000, 0x400000) == 6 and m.r[2] == 3
    assert tuple(m.ctx[8:11]) == (0x500000, 0x500004, 0x400014)
    m.r[2] = 0
    assert m.enter(a, 0x3000, 0x400000, allowance=5) == 3      # B does not fit what is left
    m.ram32[0x3010 >> 2] = ADDIU_V0_1                          # B rewritten: the chain stops before it
    m.r[2] = 0
    assert m.enter(a, 0x3000, 0x400000) == 3 and m.r[2] == 1 and m.ctx[8] == 0x400010


def _pair(x: float) -> tuple[int, int]:
    """A double as the two 32-bit halves FR = 0 keeps in an even/odd register pair."""
    v = int(np.float64(x).view(np.int64)) & 0xFFFFFFFFFFFFFFFF
    return v & 0xFFFFFFFF, v >> 32


def test_fpu_instructions_run_through_the_helpers():
    m = Machine()
    fn, n = m.load(0x4000, [ADD_D, JR_RA, NOP])
    assert n == 3
    m.f[4:6] = _pair(1.5)
    m.f[6:8] = _pair(2.25)
    m.st[FCSR] = 0
    assert m.enter(fn, 0x4000, 0x400000) == 3
    assert tuple(m.f[0:2]) == _pair(3.75) and m.st[FCSR] == 0
    m.f[6:8] = _pair(0.1)
    m.enter(fn, 0x4000, 0x400000)
    assert tuple(m.f[0:2]) == _pair(1.6) and m.st[FCSR] == 0x1004   # inexact: cause and flag


def test_fpu_regions_are_not_entered_in_another_mode():
    """Compiled for CU1 = 1 and FR = 0: otherwise nothing runs (0 retired, state untouched)."""
    m = Machine()
    fn, _ = m.load(0x4000, [ADD_D, JR_RA, NOP])
    m.f[4:6] = _pair(1.5)
    m.f[6:8] = _pair(2.25)
    for cu1, fr in ((0, 0), (1, 1)):
        m.ctx[11], m.ctx[12] = cu1, fr
        assert m.enter(fn, 0x4000, 0x400000) == 0
        assert m.f[0] == 0 and m.ctx[8] == 0x400000
    fn2, _ = m.load(0x5000, [ADDIU_V0_5, JR_RA, NOP])       # integer code does not care
    m.r[31] = 0x500000
    assert m.enter(fn2, 0x5000, 0x400000) == 3 and m.r[2] == 5


def test_clz_and_clo_translate():
    m = Machine()
    fn, n = m.load(0x5000, [0x70A21020, 0x70A31821, JR_RA, NOP])      # clz v0, a1; clo v1, a1
    assert n == 4
    m.r[5] = 0x00F00000
    assert m.enter(fn, 0x5000, 0x400000) == 4
    assert (m.r[2], m.r[3]) == (8, 0)
    m.r[5] = 0xFF000000
    m.enter(fn, 0x5000, 0x400000)
    assert (m.r[2], m.r[3]) == (0, 8)
