"""Translated regions on their own: what a region covers, and one compiled region run
against hand-made state (executes, leaves at a soft-TLB miss, refuses rewritten code)."""
from __future__ import annotations

import ctypes

import numpy as np

from flashvm.isa import jitgen
from flashvm.kernels import jit
from flashvm.kernels.mmu import TC_MASK
from flashvm.kernels.state import NSLOTS

ADDIU_V0_5 = 0x24020005        # addiu v0, zero, 5
ADDU_V1 = 0x00421821           # addu v1, v0, v0
SW_V1 = 0xAC830000             # sw v1, 0(a0)
LW_A1 = 0x8C850000             # lw a1, 0(a0)
B_2 = 0x10000002               # b +2
ADDIU_V0_1 = 0x24420001        # addiu v0, v0, 1 (the delay slot)
MTC0 = 0x40826000              # mtc0 v0, Status
WORDS = [ADDIU_V0_5, ADDU_V1, SW_V1, LW_A1, B_2, ADDIU_V0_1, 0x24420064]


def test_region_ends_after_an_unconditional_branch_and_its_delay_slot():
    assert jitgen.scan(WORDS) == 6


def test_region_stops_before_what_it_cannot_translate():
    assert jitgen.leaf(MTC0) is None
    assert jitgen.scan([ADDIU_V0_5, MTC0, ADDU_V1]) == 1
    # a branch whose delay slot cannot be translated stays with the interpreter too
    assert jitgen.scan([ADDIU_V0_5, B_2, MTC0]) == 1


def test_a_compiled_region_runs_exits_and_checks_its_words(monkeypatch, tmp_path):
    monkeypatch.setenv("FLASHVM_JIT_CACHE", str(tmp_path))
    fn = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)(jit._compile(jitgen.module_source([WORDS[:6]]))[0])
    r = np.zeros(32, np.int64)
    st = np.zeros(NSLOTS, np.int64)
    f = np.zeros(32, np.int64)
    ram = np.zeros(1 << 20, np.uint8)
    ram32 = ram.view(np.uint32)
    ram32[0x1000 >> 2:(0x1000 >> 2) + 7] = WORDS
    tag = np.full(TC_MASK + 1, -1, np.int64)
    add = np.zeros(TC_MASK + 1, np.int64)
    tag[8] = 8                                  # virtual page 8 -> physical page 8
    ctx = np.zeros(16, np.int64)
    ctx[:8] = [a.ctypes.data for a in (r, st, f, ram, tag, add, tag, add)]
    ctx[13] = 1 << 20
    ctx[15] = 0x1000

    def enter(a0: int) -> int:
        r[4] = a0
        ctx[8:11] = (0x400000, 0x400004, 0)
        return fn(ctx.ctypes.data)

    assert enter(0x8000) == 6
    assert (ctx[8], ctx[9], ctx[10]) == (0x40001C, 0x400020, 0x400010)
    assert (r[2], r[3], r[5], ram32[0x8000 >> 2]) == (6, 10, 10, 10)
    # the store's page is not in the soft TLB: leave before it, state as the interpreter left it
    r[:] = 0
    assert enter(0x9000) == 2 and (ctx[8], ctx[9]) == (0x400008, 0x40000C) and r[3] == 10
    ram32[(0x1000 >> 2) + 1] = 0                 # rewritten code: the region refuses to run
    assert enter(0x8000) == -1
