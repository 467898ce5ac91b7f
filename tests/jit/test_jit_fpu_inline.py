"""The FPU fast paths written inline in native regions (flashvm/isa/llvmfpu.py) against the
interpreter's helpers: every FPU operation class, translated once with its fast path inline and
once calling the helper for everything (as before), run on the same random and edge inputs (NaN,
signalling NaN, infinities, denormals, +-0, overflow, exact and inexact results) under every
rounding mode, with exceptions enabled and with FS: the registers, the FCSR (cause, flags,
condition codes), the exits and the counts must be the same."""
from __future__ import annotations

import random
import struct

import numpy as np
import pytest

from flashvm.isa import llvmgen
from regionctx import FpuRegionMachine, compile_variant

JR_RA, NOP = 0x03E00008, 0
S, D, W, L = 16, 17, 20, 21
FD, FS, FT, FR = 0, 2, 4, 6


def cop1(fmt: int, funct: int, fd: int = FD, fs: int = FS, ft: int = FT) -> int:
    return (0x11 << 26) | (fmt << 21) | (ft << 16) | (fs << 11) | (fd << 6) | funct


def cop1x(op: int, fmt3: int) -> int:
    return (0x13 << 26) | (FR << 21) | (FT << 16) | (FS << 11) | (FD << 6) | (op << 3) | fmt3


# (name, word, format of its operands)
OPS: list[tuple[str, int, int]] = []
for _fmt, _n in ((S, "s"), (D, "d")):
    for _f, _op in enumerate(("add", "sub", "mul", "div", "sqrt", "abs", "mov", "neg", "round.l", "trunc.l",
                              "ceil.l", "floor.l", "round.w", "trunc.w", "ceil.w", "floor.w")):
        OPS.append((f"{_op}.{_n}", cop1(_fmt, _f, ft=FT if _f < 4 else 0), _fmt))
    OPS += [(f"recip.{_n}", cop1(_fmt, 21, ft=0), _fmt), (f"rsqrt.{_n}", cop1(_fmt, 22, ft=0), _fmt),
            (f"cvt.w.{_n}", cop1(_fmt, 36, ft=0), _fmt), (f"cvt.l.{_n}", cop1(_fmt, 37, ft=0), _fmt)]
    OPS += [(f"c.{_k}.{_n}", cop1(_fmt, 48 + _k, fd=(_k % 8) << 2), _fmt) for _k in range(16)]
    OPS += [(f"{_m}.{_n}", cop1x(4 + _i, _fmt - S), _fmt) for _i, _m in enumerate(("madd", "msub", "nmadd", "nmsub"))]
OPS += [(name, cop1(fmt, funct, ft=0), fmt) for name, fmt, funct in (
    ("cvt.d.s", S, 33), ("cvt.s.d", D, 32), ("cvt.s.w", W, 32), ("cvt.d.w", W, 33), ("cvt.s.l", L, 32),
    ("cvt.d.l", L, 33))]


def _d(x: float) -> int:
    return struct.unpack("<Q", struct.pack("<d", x))[0]


def _s(x: float) -> int:
    return struct.unpack("<I", struct.pack("<f", x))[0]


_EDGE_D = [0, 1 << 63, _d(1.0), _d(-1.0), _d(0.1), _d(3.0), _d(0.5), 0x7FF0000000000000, 0xFFF0000000000000,
           0x7FF7FFFFFFFFFFFF, 0x7FF0000000000001, 0x7FF8000000000000, 0xFFF8000000000001, 1, 0x000FFFFFFFFFFFFF,
           0x0010000000000000, 0x8010000000000000, 0x7FEFFFFFFFFFFFFF, 0xFFEFFFFFFFFFFFFF, _d(2.0 ** -1000),
           _d(2.0 ** -960), _d(2.0 ** -958), _d(1e300), _d(-1e300), _d(2.0 ** 1023), _d(2147483647.0),
           _d(-2147483648.0), _d(2147483646.5), _d(-2147483647.5), _d(2.5), _d(-2.5), _d(1.5), _d(-0.5),
           _d(2.0 ** 51 - 0.5), _d(-(2.0 ** 51)), _d(2.0 ** 63), _d(1e-310), _d(float(1 << 60) + 4096)]
_EDGE_S = [0, 0x80000000, _s(1.0), _s(-1.0), _s(0.1), _s(3.0), 0x7F800000, 0xFF800000, 0x7FBFFFFF, 0x7F800001,
           0x7FC00000, 0xFFC00001, 1, 0x007FFFFF, 0x00800000, 0x00800001, 0x01000000, 0x80800000, 0x7F7FFFFF,
           0xFF7FFFFF, 0x7F000000, _s(2.0 ** -125), _s(2.0 ** 126), _s(2147483520.0), _s(-2147483648.0), _s(2.5),
           _s(-2.5), _s(0.5), _s(1e-40), _s(16777217.0)]
_EDGE_W = [0, 1, 0xFFFFFFFF, 0x7FFFFFFF, 0x80000000, 16777217, 0x01000001, 12345678, 0xFEDCBA98]
_EDGE_L = [0, 1, (1 << 64) - 1, (1 << 53) + 1, 1 << 63, (1 << 63) - 1, 1 << 62, 123456789012345]
_FCSRS = [0, 0, 0, 1, 2, 3, 1 << 24, 1 << 24, (1 << 24) | 3, 0x300, 0x80, 0xF80, 0x7C, 0x1F000 | 0x7C, 1 << 23, 0xFE800000]


_SCALES = {D: (-1074, -1040, -1022, -1000, -990, -960, -537, -512, -496, -480, 480, 512, 1000, 1023),
           S: (-149, -140, -126, -120, -75, -63, -60, 60, 63, 120, 127)}


def _value(rng: random.Random, fmt: int, scale: int | None) -> int:
    """An operand: an edge value, any pattern, a typical number or (scale) one near 2**scale."""
    edge = {S: _EDGE_S, D: _EDGE_D, W: _EDGE_W, L: _EDGE_L}[fmt]
    if fmt in (W, L):
        return rng.choice(edge) if rng.random() < 0.35 else rng.getrandbits(32 if fmt == W else 64)
    if scale is not None:       # near the ends of the range, and where products and quotients reach them
        x = rng.uniform(1.0, 1.9) * 2.0 ** min(scale + rng.randint(-3, 2), 1023 if fmt == D else 127)
        x *= rng.choice((1, -1))
        return _s(x) if fmt == S else _d(x)
    k = rng.random()
    if k < 0.4:
        return rng.choice(edge)
    if k < 0.6:
        return rng.getrandbits(32 if fmt == S else 64)          # any pattern
    x = rng.uniform(-8.0, 8.0) * 2.0 ** rng.randint(-30, 30)     # typical values
    if rng.random() < 0.15:
        x = float(round(x))                                      # exact results of some ops
    return _s(x) if fmt == S else _d(x)


def _set(f: np.ndarray, k: int, fmt: int, v: int) -> None:
    if fmt in (D, L):
        f[k], f[k + 1] = v & 0xFFFFFFFF, v >> 32
    else:
        f[k] = v


@pytest.mark.parametrize("name,word,fmt", OPS, ids=[o[0] for o in OPS])
def test_inline_fast_path_matches_the_helper(name: str, word: int, fmt: int, monkeypatch: pytest.MonkeyPatch) -> None:
    words = [word, JR_RA, NOP]
    assert llvmgen.scan(words) == 3, name
    m = FpuRegionMachine()
    fast = compile_variant(m, words, "INLINE_FPU", True, monkeypatch)
    slow = compile_variant(m, words, "INLINE_FPU", False, monkeypatch)
    rng = random.Random(name)
    for i in range(400):
        f = np.zeros(32, np.int64)
        scale = rng.choice(_SCALES[fmt]) if fmt in _SCALES and rng.random() < 0.4 else None
        for k in (FS, FT, FR):
            _set(f, k, fmt, _value(rng, fmt, scale if rng.random() < 0.8 else None))
        f[FD], f[FD + 1] = rng.getrandbits(32), rng.getrandbits(32)     # what the result replaces
        fcsr = rng.choice(_FCSRS) | (rng.getrandbits(1) << 23)
        got, want = m.run(fast, f, fcsr), m.run(slow, f, fcsr)
        assert got == want, (name, i, [hex(int(x)) for x in f[:8]], hex(fcsr), got, want)


def test_the_common_operations_have_no_call_on_their_fast_path() -> None:
    """The IR holds the host operation, and the helper's call only in a block of its own (or not at
    all: abs, neg, compares, int32 -> double)."""
    for word, op in ((cop1(D, 0), "fadd double"), (cop1(D, 2), "fmul double"), (cop1(S, 3), "fdiv double"),
                     (cop1(D, 4, ft=0), "llvm.sqrt.f64"), (cop1(D, 13, ft=0), "fptosi double")):
        text = llvmgen.module_ir([[word, JR_RA, NOP]], "t")
        assert op in text and "fpu_slow" in text
    for word in (cop1(D, 5, ft=0), cop1(S, 7, ft=0), cop1(D, 50, fd=0), cop1(W, 33, ft=0), cop1(S, 60, fd=4)):
        assert "flashvm_fpu_" not in llvmgen.module_ir([[word, JR_RA, NOP]], "t")
