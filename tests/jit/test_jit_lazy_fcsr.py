"""The FCSR kept in pieces in native regions (llvmgen.LAZY_FCSR, flashvm/isa/llvmfcsr.py): base,
last cause and flags raised, put together at the exits and for the helpers' slow paths, and the
per-operation rounding-mode and exception tests folded into one test on entry.  A run of FPU
operations on inexact, overflowing, invalid, dividing-by-zero, NaN, infinite and denormal operands,
under every rounding mode, with exceptions enabled or not, flags and cause set or not on entry,
gives the registers, FCSR (cause, flags, condition codes), count and exit PCs of the same region
compiled the old way (the FCSR word updated after every operation, as the interpreter's commit
does; the whole-program comparisons with the interpreter are in test_jit_equivalence.py)."""
from __future__ import annotations

import random
import re
import struct

import numpy as np
import pytest

from flashvm.isa import llvmgen
from flashvm.kernels import jitnative
from regionctx import FpuRegionMachine, compile_variant

JR_RA, NOP = 0x03E00008, 0
S, D = 16, 17


def cop1(fmt: int, funct: int, fd: int, fs: int, ft: int) -> int:
    return (0x11 << 26) | (fmt << 21) | (ft << 16) | (fs << 11) | (fd << 6) | funct


def madd_d(fd: int, fr: int, fs: int, ft: int) -> int:
    return (0x13 << 26) | (fr << 21) | (ft << 16) | (fs << 11) | (fd << 6) | 0x21


def bc1t(off: int) -> int:
    return (0x11 << 26) | (8 << 21) | (1 << 16) | (off & 0xFFFF)


WORDS = [
    cop1(D, 0, 0, 4, 6),        # add.d   f0, f4, f6
    cop1(D, 2, 2, 0, 4),        # mul.d   f2, f0, f4
    cop1(D, 3, 8, 2, 6),        # div.d   f8, f2, f6
    cop1(D, 60, 0, 8, 0),       # c.lt.d  f8, f0      (Invalid on a NaN, the condition code)
    bc1t(2),                    # bc1t    +2          (reads the condition code)
    cop1(D, 4, 10, 8, 0),       # sqrt.d  f10, f8     (delay slot)
    cop1(D, 1, 12, 10, 2),      # sub.d   f12, f10, f2
    madd_d(14, 12, 2, 4),       # madd.d  f14, f12, f2, f4
    cop1(D, 13, 16, 14, 0),     # trunc.w.d f16, f14
    cop1(S, 0, 18, 16, 6),      # add.s   f18, f16, f6
    cop1(D, 50, 0, 14, 12),     # c.eq.d  f14, f12
    JR_RA, NOP,
]

# FCSR on entry: rounding modes, enables (I, U, O, Z, V), flags and cause fields, condition codes
_ENV = (0, 0, 0, 1, 2, 3, 0x80, 0x100, 0x200, 0x400, 0x800, 0xF80)
_POOL = (0.1, 3.0, -2.5, 1.0 / 3.0, 1e308, -1e308, 1e-310, 0.0, -0.0, 1.5, 7.0, -1.0, 2.0 ** 40,
         float("inf"), float("nan"))


def _d(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def test_fcsr_in_pieces_gives_the_eager_code_s_results(monkeypatch: pytest.MonkeyPatch) -> None:
    assert llvmgen.scan(WORDS) == len(WORDS)
    m = FpuRegionMachine()
    lazy = compile_variant(m, WORDS, "LAZY_FCSR", True, monkeypatch)
    eager = compile_variant(m, WORDS, "LAZY_FCSR", False, monkeypatch)
    rng = random.Random(11)
    seen = {"whole": 0, "trap": 0, "inexact": 0, "flags": set()}
    for i in range(1500):
        f = np.zeros(32, np.int64)
        for k in range(0, 16, 2):
            x = rng.choice(_POOL) if rng.random() < 0.3 else rng.uniform(-8.0, 8.0) * 2.0 ** rng.randint(-30, 30)
            v = _d(x)
            f[k], f[k + 1] = v & 0xFFFFFFFF, v >> 32
        fcsr = (rng.choice(_ENV) | (rng.getrandbits(5) << 2 if rng.random() < 0.5 else 0)
                | (rng.getrandbits(6) << 12 if rng.random() < 0.3 else 0) | (rng.getrandbits(1) << 23))
        got, want = m.run(lazy, f, fcsr), m.run(eager, f, fcsr)
        assert got == want, (i, hex(fcsr), got, want)
        seen["whole"] += got[0] == len(WORDS)
        seen["trap"] += got[0] < len(WORDS) - 2
        seen["inexact"] += bool(got[2] & 0x1000)
        seen["flags"].add((got[2] >> 2) & 0x1F)     # type: ignore[attr-defined]
    assert seen["whole"] > 300 and seen["trap"] > 100 and seen["inexact"] > 100
    assert {1, 4, 16} <= {x & y for x in seen["flags"] for y in (1, 4, 16)}    # type: ignore[attr-defined]


def test_one_environment_test_on_entry_and_one_fcsr_store(monkeypatch: pytest.MonkeyPatch) -> None:
    """Five add.d: the rounding mode and enables are tested once (mask 0xF83), not per operation,
    and the FCSR word is put together in the exit (and the slow paths' calls), not after each."""
    monkeypatch.setattr(llvmgen, "LAZY_FCSR", True)
    words = [cop1(D, 0, 2 * k, 4, 6) for k in range(5)] + [JR_RA, NOP]
    text = llvmgen.module_ir([words], "t")
    assert len(re.findall(r"and i64 %v\d+, 3971$", text, flags=re.M)) == 1
    rm_lazy = len(re.findall(r"and i64 %v\d+, 3$", text, flags=re.M))     # (one elsewhere: the PC's alignment)
    monkeypatch.setattr(llvmgen, "LAZY_FCSR", False)
    eager = llvmgen.module_ir([words], "t")
    assert len(re.findall(r"and i64 %v\d+, 3$", eager, flags=re.M)) == rm_lazy + 5     # one per operation
    assert not re.findall(r"and i64 %v\d+, 3971$", eager, flags=re.M)


def test_straight_functional_regions_get_the_whole_pipeline(monkeypatch: pytest.MonkeyPatch) -> None:
    """Translator llvm-15 (jitnative.FULL_O2): a straight functional region (no loop) is optimised
    with the O2 pipeline, as a region that loops is; a timing region keeps the short pass list."""
    from flashvm.isa import llvmtiming
    from flashvm.kernels import jittiming
    # a timing region calls the cache model's miss path by name: known to the linker before it is
    # loaded, or the process's one engine is left with an unresolved symbol that aborts the next load
    jittiming._access_symbol()
    seen: list[bool] = []
    real = jitnative._optimise
    monkeypatch.setattr(jitnative, "_optimise", lambda mod, tm, full: (seen.append(full), real(mod, tm, full)))
    assert not llvmgen.loops(WORDS)
    jitnative.compile_batch([WORDS], None)
    jitnative.compile_batch([WORDS[:3]], None, timing=True, layout=llvmtiming.DEFAULT)
    assert seen == [True, False]
