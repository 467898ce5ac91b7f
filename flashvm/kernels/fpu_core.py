"""FPU kernels, part 1: the shared soft-float core (see fpu.py for the model).

Cause bits and rounding modes, the internal soft-float value classes, the
LLVM bit-cast / FMA / clz intrinsics, unpack/pack with QEMU's rounding
(round_canonical), the NaN choice, and the helpers that finish a host fast
path in a directed rounding mode.  Names with a leading underscore are shared
by the fpu_* modules only.
"""
from __future__ import annotations

import numpy as np

from llvmlite import ir
from numba import types
from numba.extending import intrinsic

from flashvm.kernels.dispatch import njit

# --------------------------------------------------------------- constants
C_I = 1    # Inexact
C_U = 2    # Underflow
C_O = 4    # Overflow
C_Z = 8    # Divide by zero
C_V = 16   # Invalid
C_E = 32   # Unimplemented (never produced; see fpu.py, item 6)

DEFAULT_NAN_S = 0x7FBFFFFF
DEFAULT_NAN_D = 0x7FF7FFFFFFFFFFFF

# (np.int64, not int: a global int passed to a jitted function is typed as a
# Literal and would make Numba compile one specialisation per constant)
RM_RN = np.int64(0)
RM_RZ = np.int64(1)
RM_RP = np.int64(2)
RM_RM = np.int64(3)

_SIGN64 = -9223372036854775808       # 1 << 63 as int64
_MAG64 = 0x7FFFFFFFFFFFFFFF

# internal soft-float classes / formats
_ZERO = np.int64(0)
_NORM = np.int64(1)
_INF = np.int64(2)
_QNAN = np.int64(3)
_SNAN = np.int64(4)
_F32 = np.int64(0)
_F64 = np.int64(1)
_I0 = np.int64(0)
_I1 = np.int64(1)
_BIT61 = 1 << 61
_BIT62 = 1 << 62
_DNAN_FRAC = (1 << 60) - 1          # default NaN fraction, binary point at 61


# -------------------------------------------------------- LLVM intrinsics
@intrinsic
def _f64(typingctx, x):
    """int64 bit pattern -> float64 (free bit cast)."""
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.DoubleType())
    return sig, codegen


@intrinsic
def _bits(typingctx, x):
    """float64 -> int64 bit pattern (free bit cast)."""
    sig = types.int64(types.float64)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.IntType(64))
    return sig, codegen


@intrinsic
def _s2d(typingctx, x):
    """Low 32 bits = binary32 pattern -> exact float64 (host fpext; not for NaNs)."""
    sig = types.float64(types.int64)

    def codegen(context, builder, signature, args):
        v = builder.trunc(args[0], ir.IntType(32))
        f = builder.bitcast(v, ir.FloatType())
        return builder.fpext(f, ir.DoubleType())
    return sig, codegen


@intrinsic
def _d2s(typingctx, x):
    """float64 -> binary32 pattern rounded to nearest-even (host fptrunc)."""
    sig = types.int64(types.float64)

    def codegen(context, builder, signature, args):
        f = builder.fptrunc(args[0], ir.FloatType())
        v = builder.bitcast(f, ir.IntType(32))
        return builder.zext(v, ir.IntType(64))
    return sig, codegen


@intrinsic
def _fma(typingctx, a, b, c):
    """Fused a*b+c with one rounding (llvm.fma: hardware FMA or libm fma)."""
    sig = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, signature, args):
        d = ir.DoubleType()
        fn = builder.module.declare_intrinsic('llvm.fma', [d], ir.FunctionType(d, [d, d, d]))
        return builder.call(fn, args)
    return sig, codegen


@intrinsic
def _clz(typingctx, x):
    """Count leading zeros of an int64 (64 for 0)."""
    sig = types.int64(types.int64)

    def codegen(context, builder, signature, args):
        i64 = ir.IntType(64)
        fn = builder.module.declare_intrinsic('llvm.ctlz', [i64],
                                              ir.FunctionType(i64, [i64, ir.IntType(1)]))
        return builder.call(fn, [args[0], ir.Constant(ir.IntType(1), 0)])
    return sig, codegen



# ------------------------------------------------------- soft-float core
# A value is (cls, sign, exp, frac): for _NORM, value = frac * 2**(exp-61)
# with 2**61 <= frac < 2**62 (bit 62 is the carry bit, bit 0 may be a sticky
# bit); NaNs keep their raw fraction shifted to the same alignment.

@njit(cache=True, error_model="numpy", forceinline=False)
def _jam(x, n):
    """x >> n, OR-ing every shifted-out bit into bit 0 (n >= 0)."""
    if n <= 0:
        return x
    if n >= 63:
        return 1 if x != 0 else 0
    r = x >> n
    if x & ((1 << n) - 1):
        r |= 1
    return r


@njit(cache=True, error_model="numpy", forceinline=False)
def _unpack(bits, fmt):
    if fmt == _F64:
        fb = 52
        bias = 1023
        emax = 2047
        s = 1 if bits < 0 else 0
    else:
        fb = 23
        bias = 127
        emax = 255
        s = (bits >> 31) & 1
    e = (bits >> fb) & emax
    f = bits & ((1 << fb) - 1)
    sh = 61 - fb
    if e == emax:
        if f == 0:
            return _INF, s, 0, 0
        if (f >> (fb - 1)) & 1:
            return _SNAN, s, 0, f << sh
        return _QNAN, s, 0, f << sh
    if e == 0:
        if f == 0:
            return _ZERO, s, 0, 0
        n = _clz(f) - 2
        return _NORM, s, 62 - bias - fb - n, f << n
    return _NORM, s, e - bias, (f | (1 << fb)) << sh


@njit(cache=True, error_model="numpy", forceinline=False)
def _pack(c, s, e, f, fmt, rm, fs):
    """Round and pack a (cls, sign, exp, frac) value -> (bits, cause).

    Mirrors QEMU round_canonical(): tininess after rounding, U only with I,
    FS flushes on the unrounded exponent without raising anything."""
    if fmt == _F64:
        fb = 52
        bias = 1023
        emax = 2047
        sbit = _SIGN64 if s else 0
    else:
        fb = 23
        bias = 127
        emax = 255
        sbit = s << 31
    sh = 61 - fb
    if c == _ZERO:
        return sbit, 0
    if c == _INF:
        return sbit | (emax << fb), 0
    if c != _NORM:
        return sbit | (emax << fb) | (f >> sh), 0
    fmask = (1 << fb) - 1
    rmask = (1 << sh) - 1
    half = 1 << (sh - 1)
    remask = (1 << (sh + 1)) - 1
    ovn = False
    if rm == RM_RN:
        inc = half if (f & remask) != half else 0
    elif rm == RM_RZ:
        inc = 0
        ovn = True
    elif rm == RM_RP:
        inc = 0 if s else rmask
        ovn = s != 0
    else:
        inc = rmask if s else 0
        ovn = s == 0
    flags = 0
    be = e + bias
    if be > 0:
        if f & rmask:
            flags = C_I
            f += inc
            if f & _BIT62:
                f >>= 1
                be += 1
        f >>= sh
        if be >= emax:
            if ovn:
                return sbit | ((emax - 1) << fb) | fmask, C_O | C_I
            return sbit | (emax << fb), C_O | C_I
        return sbit | (be << fb) | (f & fmask), flags
    if fs:
        return sbit, 0
    tiny = be < 0 or ((f + inc) & _BIT62) == 0
    f = _jam(f, 1 - be)
    if f & rmask:
        if rm == RM_RN:
            inc = half if (f & remask) != half else 0
        flags = C_I
        f += inc
    be = 1 if f & _BIT61 else 0
    f >>= sh
    if tiny and flags:
        flags |= C_U
    return sbit | (be << fb) | (f & fmask), flags


@njit(cache=True, error_model="numpy", forceinline=False)
def _pick_nan(ac, bc):
    """NaN result of a two-operand op with a NaN operand -> (cls, sign, frac,
    cause): always the default NaN (qemu 7.2 runs legacy-NaN MIPS in
    default_nan_mode; operand payloads are never propagated), with V only if
    an operand is a sNaN."""
    if ac == _SNAN or bc == _SNAN:
        return _QNAN, 0, _DNAN_FRAC, C_V
    return _QNAN, 0, _DNAN_FRAC, 0



@njit(cache=True, error_model="numpy", forceinline=False)
def _pack_fl(c, s, e, f, fmt, rm, fs, fl):
    bits, fl2 = _pack(c, s, e, f, fmt, rm, fs)
    return bits, fl | fl2



# ------------------------------------------------------ fast-path helpers
# The fast paths compute r = RN_binary64(exact) on the host plus a float `e`
# whose sign is the sign of (exact - r) (0 when r is exact), obtained with an
# error-free transformation.  Directed modes then move the round-to-nearest
# result by at most one ulp.  They are only taken when the result is a
# normal number at least one binade away from the underflow threshold and
# below the largest binade, so tininess, FS and overflow cannot matter.

@njit(cache=True, error_model="numpy", forceinline=True)
def _adj(bits, up, neg, rm):
    """Directed rounding from the round-to-nearest result `bits` (a finite
    nonzero normal): `up` = exact value above it, `neg` = result negative.
    +-1 on the pattern moves the magnitude by one ulp for either sign."""
    if rm == RM_RZ:
        if up == neg:
            return bits - 1
    elif rm == RM_RP:
        if up:
            return bits - 1 if neg else bits + 1
    elif rm == RM_RM:
        if not up:
            return bits + 1 if neg else bits - 1
    return bits


@njit(cache=True, error_model="numpy", forceinline=True)
def _fin_d(rb, e, rm):
    """Double result from its RN pattern rb and the error sign e."""
    if e == 0.0:
        return rb, 0
    if rm != RM_RN:
        rb = _adj(rb, e > 0.0, rb < 0, rm)
    return rb, C_I


@njit(cache=True, error_model="numpy", forceinline=True)
def _fin_s(r, e, rm):
    """Single result from r = RN_binary64(exact) and e = sign of (exact - r).

    -> (bits, cause, ok); ok is False when the result is outside the safe
    normal range.  In RN the binary32 rounding of r is final: every caller is
    an op for which double rounding through binary64 is innocuous (or r is
    exact)."""
    sb = _d2s(r)
    ef = (sb >> 23) & 0xFF
    if (ef >= 2 and ef <= 253) or (ef == 254 and rm == RM_RN):
        sd = _s2d(sb)
        d = r - sd if sd != r else e
        if d == 0.0:
            return sb, 0, True
        if rm != RM_RN:
            sb = _adj(sb, d > 0.0, sb >= 0x80000000, rm)
        return sb, C_I, True
    return sb, 0, False


@njit(cache=True, error_model="numpy", forceinline=True)
def _two_sum_err(x, y, r):
    bv = r - x
    return (x - (r - bv)) + (y - bv)
