"""FPU register slots without upper words in native regions (llvmgen.NARROW_F): a region whose FPU
slots hold no upper 32 bits on entry (FR = 0 code never sets them) writes a double's halves without
keeping old upper words and reads back the double it wrote whole; the same region compiled the old
way (split and joined every time) gives the same registers, FCSR and exits, and a region meeting an
upper word (left by FR = 1 code) is not entered."""
from __future__ import annotations

import random
import re
import struct

import numpy as np
import pytest

from flashvm.isa import llvmgen
from regionctx import FpuRegionMachine, compile_variant

JR_RA, NOP = 0x03E00008, 0
S, D = 16, 17


def cop1(fmt: int, funct: int, fd: int, fs: int, ft: int) -> int:
    return (0x11 << 26) | (fmt << 21) | (ft << 16) | (fs << 11) | (fd << 6) | funct


def mtc1(rt: int, fs: int) -> int:
    return (0x11 << 26) | (4 << 21) | (rt << 16) | (fs << 11)


def mthc1(rt: int, fs: int) -> int:
    return (0x11 << 26) | (7 << 21) | (rt << 16) | (fs << 11)


# doubles written whole and read back, a single written into half of a pair that is then read as
# a double, moves from integer registers into either half, and a compare
WORDS = [
    cop1(D, 0, 0, 4, 6),        # add.d  f0, f4, f6
    cop1(D, 2, 2, 0, 4),        # mul.d  f2, f0, f4
    cop1(S, 0, 5, 2, 6),        # add.s  f5, f2, f6   (the odd half of pair f4)
    cop1(D, 1, 8, 4, 0),        # sub.d  f8, f4, f0   (pair f4 joined again)
    mtc1(2, 9),                 # mtc1   v0, f9       (the odd half of pair f8)
    cop1(D, 0, 10, 8, 2),       # add.d  f10, f8, f2
    mthc1(3, 2),                # mthc1  v1, f2       (FR = 0: f3)
    cop1(D, 3, 12, 2, 10),      # div.d  f12, f2, f10
    cop1(D, 50, 0, 12, 0),      # c.eq.d f12, f0
    JR_RA, NOP,
]


def _d(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def test_narrow_slots_give_the_old_code_s_results(monkeypatch: pytest.MonkeyPatch) -> None:
    assert llvmgen.scan(WORDS) == len(WORDS)
    m = FpuRegionMachine()
    narrow = compile_variant(m, WORDS, "NARROW_F", True, monkeypatch)
    wide = compile_variant(m, WORDS, "NARROW_F", False, monkeypatch)
    rng = random.Random(7)
    whole = 0
    for i in range(300):
        f = np.zeros(32, np.int64)
        for k in range(0, 16, 2):
            v = _d(rng.uniform(-8.0, 8.0) * 2.0 ** rng.randint(-20, 20)) if rng.random() < 0.8 else rng.getrandbits(64)
            f[k], f[k + 1] = v & 0xFFFFFFFF, v >> 32
        r2, r3 = rng.getrandbits(32), rng.choice((rng.getrandbits(32), 0x3FF00000, 0x40000000))
        got, want = m.run(narrow, f, r2=r2, r3=r3), m.run(wide, f, r2=r2, r3=r3)
        assert got == want, (i, got, want)
        whole += got[0] == len(WORDS)
    assert whole > 200      # most inputs run the whole region (others leave at an FPU exit, both alike)


def test_a_slot_with_an_upper_word_is_not_entered(monkeypatch: pytest.MonkeyPatch) -> None:
    """FR = 1 code can leave an upper word in a slot: the narrow region returns 0 and changes nothing,
    the interpreter runs the code (which keeps that word); the old code kept it too."""
    m = FpuRegionMachine()
    narrow = compile_variant(m, WORDS, "NARROW_F", True, monkeypatch)
    wide = compile_variant(m, WORDS, "NARROW_F", False, monkeypatch)
    f = np.zeros(32, np.int64)
    for k in range(0, 16, 2):
        f[k], f[k + 1] = _d(1.5 + k) & 0xFFFFFFFF, _d(1.5 + k) >> 32
    f[9] |= 0x1234 << 32                     # the upper word of f9, which mtc1 does not write
    n, regs, fcsr, pcs = m.run(narrow, f, r2=5, r3=0x3FF00000)
    assert n == 0 and regs == tuple(f) and fcsr == 0 and pcs[0] == 0x400000
    n, regs, _, _ = m.run(wide, f, r2=5, r3=0x3FF00000)
    assert n == len(WORDS) and regs[9] == (0x1234 << 32) | 5
    f[9] &= 0xFFFFFFFF
    assert m.run(narrow, f, r2=5, r3=0x3FF00000) == m.run(wide, f, r2=5, r3=0x3FF00000)


def test_a_double_written_whole_is_read_back_without_joining_its_halves() -> None:
    """add.d f0 then mul.d reading f0: only the pairs loaded on entry are joined (shl by 32)."""
    words = [cop1(D, 0, 0, 4, 6), cop1(D, 2, 2, 0, 0), JR_RA, NOP]
    joins = re.findall(r"= shl i64 %v\d+, 32$", llvmgen.module_ir([words], "t"), flags=re.M)
    assert len(joins) == 2      # f4/f5 and f6/f7, not f0/f1 (the old code: 4)
