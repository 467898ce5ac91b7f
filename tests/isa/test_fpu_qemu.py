"""NaN results of flashvm.kernels.fpu pinned to qemu-mipsel 7.2, op by op.

flashvm follows qemu-mipsel 7.2 (the whole-program oracle) rather than
Unicorn 2.1.4 (QEMU 5.0) where the two differ: qemu 7.2 runs legacy-NaN MIPS
in softfloat's default_nan_mode, so EVERY NaN result is the default NaN
(0x7FBFFFFF / 0x7FF7FFFFFFFFFFFF), for qNaN operands too and across cvt.s.d /
cvt.d.s, while Unicorn propagates qNaN operands (see fpu.py's docstring).

``tests/guest/fpu/fpu_nan.c`` executes each COP1/COP1X instruction class
(add/sub/mul/div, sqrt, abs/neg/mov, recip/rsqrt, madd/msub/nmadd/nmsub,
cvt.s.d/cvt.d.s; .s and .d) through inline asm on NaN payloads, sNaNs,
infinities, zeros and a few finite values, under varying rounding mode, FS
and stale Cause/Flags bits, and prints the result and the FCSR after.  Every
line is recomputed with the kernels (result + ``fcsr_update``; abs/neg/mov do
not touch the FCSR) and must match bit for bit.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from flashvm.kernels import fpu  # noqa: E402

QEMU = "/usr/bin/qemu-mipsel"
SRC = ROOT / "tests" / "guest" / "fpu" / "fpu_nan.c"

pytestmark = [
    pytest.mark.skipif(not os.access(QEMU, os.X_OK),
                       reason=f"{QEMU} is missing (apt-get install qemu-user): "
                              "no qemu 7.2 oracle to pin the NaN rules to"),
    pytest.mark.skipif(__import__("importlib").util.find_spec("ziglang") is None,
                       reason="the ziglang package is not installed (pip install ziglang)"),
]

NOFCSR = {"abs", "neg", "mov"}


def _to_s64(v):
    return v - (1 << 64) if v >> 63 else v


def _kernel_arg(tok):
    """Hex token -> kernel convention (8 digits: 32-bit pattern; 16: signed int64)."""
    v = int(tok, 16)
    return _to_s64(v) if len(tok) == 16 else v


@pytest.fixture(scope="module")
def qemu_lines():
    from flashvm.toolchain import build_user
    exe = build_user([SRC])
    out = subprocess.run([QEMU, str(exe)], capture_output=True, text=True, timeout=120, check=True).stdout
    lines = out.splitlines()
    assert len(lines) > 9000
    return lines


def _kernel(name, fcsr, args):
    op = name.rsplit("_", 1)[0] if not name.startswith("cvt") else name
    if op == "mov":
        return args[0], fcsr
    res, cause = getattr(fpu, name)(*args, fcsr)
    if op in NOFCSR:
        assert cause == 0
        return res, fcsr
    new, trap = fpu.fcsr_update(fcsr, cause)
    assert not trap
    return res, new


CLASSES = ["add", "sub", "mul", "div", "sqrt", "abs", "neg", "mov", "recip", "rsqrt",
           "madd", "msub", "nmadd", "nmsub", "cvt_s_d", "cvt_d_s"]


@pytest.mark.parametrize("cls", CLASSES)
def test_nan_rules_match_qemu72(qemu_lines, cls):
    n = 0
    bad = []
    for line in qemu_lines:
        lhs, rhs = line.split(" -> ")
        name, fcsr_tok, *ops = lhs.split()
        if not (name == cls or name.rsplit("_", 1)[0] == cls):
            continue
        res_tok, fcsr_out_tok = rhs.split()
        res, fcsr_out = _kernel(name, int(fcsr_tok, 16), [_kernel_arg(t) for t in ops])
        n += 1
        if (res & ((1 << 64) - 1), fcsr_out) != (int(res_tok, 16), int(fcsr_out_tok, 16)):
            bad.append(f"{line}   | kernel {res & ((1 << 64) - 1):0{len(res_tok)}x} {fcsr_out:08x}")
    assert n > 0
    assert not bad, f"{len(bad)}/{n} differ from qemu-mipsel 7.2:\n" + "\n".join(bad[:20])


def test_default_nan_examples():
    """The rule in a few words (independent of qemu): no payload, no operand sign."""
    dn_s, dn_d = fpu.DEFAULT_NAN_S, fpu.DEFAULT_NAN_D
    assert fpu.add_s(0xFF812345, 0x3F800000, 0) == (dn_s, 0)
    assert fpu.mul_d(_to_s64(0xFFF0000000000001), 0x3FF0000000000000, 0) == (dn_d, 0)
    assert fpu.add_d(0x7FF8000000000000, 0, 0) == (dn_d, fpu.C_V)          # sNaN
    assert fpu.sqrt_s(0x7F800001, 0) == (dn_s, 0)
    assert fpu.cvt_d_s(dn_s, 0) == (dn_d, 0)
    assert fpu.cvt_s_d(0x7FF0000000000001, 0) == (dn_s, 0)               # not +Inf
    assert fpu.cvt_s_d(dn_d, 0) == (dn_s, 0)
    assert fpu.nmadd_s(0x7F812345, 0, 0, 0) == (dn_s | 0x80000000, 0)    # final negation kept
    assert fpu.neg_s(0x7F812345, 0) == (0xFF812345, 0)                   # bit operation
