"""MIPS32r2 FPU (COP1) arithmetic as Numba kernels, bit-exact with QEMU.

(qemu-mipsel 7.2 in everything; Unicorn 2.1.4 in everything but the bit
patterns of NaN results -- see item 2 below.)

Conventions (see state.py)
--------------------------
* Every value is an int64 bit pattern: single = 32-bit pattern in the low bits
  (0 <= v < 2**32); double = the 64-bit pattern as a *signed* int64; word (w)
  = 32-bit unsigned pattern; long (l) = the 64-bit pattern as int64.
* Every operation takes its operands plus ``fcsr`` (the whole FCR31) and
  returns ``(result_bits, cause)``; cause uses the FCSR Cause field order
  I=1 U=2 O=4 Z=8 V=16 E=32.  Rounding mode = fcsr & 3 (RN, RZ, RP, RM);
  FCSR.FS = bit 24.
* The caller applies the cause to the FCSR with ``fcsr_update`` (QEMU's
  ``update_fcr31``): Cause := cause (always, even 0); if cause & Enables the
  op traps (FPE; destination not written, Flags unchanged), else Flags |= cause.

Model: Unicorn's ``UC_CPU_MIPS32_24KF`` (QEMU "24Kf"): FIR = ``FIR_24KF`` =
0x00739300 (F64, L, W, D, S, ProcessorID 0x93, no PS/3D/2008), FCR31 reset 0,
FCR31 writable mask 0xFF83FFFF (ABS2008/NAN2008 read as 0: legacy NaNs).
Status.FR is writable on this model (FIR.F64=1), and QEMU only accepts the
``.l`` formats (cvt.l / cvt.*.l / round.l ...) with Status.FR=1; the kernels
themselves do not depend on FR (register-file mapping is the interpreter's).

Algorithms.  Every kernel first tries a host fast path: it computes
r = RN_binary64(exact) on the host FPU together with the sign of the error
(exact - r) from an error-free transformation (TwoSum for +/-, an FMA
residual for *, / and sqrt; products of singles are exact in binary64);
directed rounding modes then move r by at most one ulp (the pattern +-1).
The fast path is only taken when the result is a normal number at least one
binade above the underflow threshold and below the top binade, so neither
tininess, FS nor overflow can matter there; for binary32 the binary64
intermediate is innocuous for +,-,*,/,sqrt (53 >= 2*24+2).  Everything else
(NaN/Inf operands, tiny or huge results, zero results in directed modes,
int64 -> float beyond 2**53) goes to an exact integer soft-float that mirrors
QEMU's FloatParts (binary point at bit 61, sticky-bit jamming).
The host must not run with FTZ/DAZ set (the default for CPython/Numba).

Compilation.  Public kernels are ``forceinline=True`` (LLVM alwaysinline:
the few-instruction fast path lands inline in the interpreter), the slow
paths are ordinary out-of-line functions shared by all kernels
(``forceinline=False`` set explicitly, as Numba would otherwise inherit the
caller's flag).  All use ``error_model="numpy"`` so no Python exception can
be raised.  Selector constants are np.int64 so that Numba does not compile a
Literal-typed specialisation per constant.

Where QEMU (qemu 7.2 and Unicorn alike unless noted) differs from the MIPS manuals
------------------------------------------------------------------------
1. ABS.fmt / NEG.fmt (legacy, FCSR.ABS2008=0): QEMU only clears/flips the
   sign bit.  No Invalid for sNaN operands, and the FCSR is NOT written at
   all (Cause keeps its old value).  The kernels return cause 0; the
   interpreter must not call fcsr_update for abs/neg (nor for mov).  The
   manual says legacy abs/neg are arithmetic and signal Invalid on sNaN.
2. NaN results (pre-R6 legacy encoding, qNaN = fraction MSB clear).  The two
   oracles differ here and flashvm follows qemu-mipsel 7.2:
   * qemu-mipsel 7.2 (the whole-program oracle; target/mips sets softfloat's
     default_nan_mode for legacy NaNs): EVERY NaN result is the default NaN
     of the result format, 0x7FBFFFFF / 0x7FF7FFFFFFFFFFFF (sign 0) -- for
     sNaN and qNaN operands alike, for invalid operations, in sqrt / recip /
     rsqrt, in the madd family and in cvt.s.d / cvt.d.s (no payload is ever
     carried, so a qNaN with zero top 23 fraction bits converts to
     0x7FBFFFFF too).  V is raised only for sNaN operands (and invalid
     operations); a qNaN operand raises nothing.
   * Unicorn 2.1.4 (QEMU 5.0 base) instead propagates: with a sNaN operand
     the default NaN + V, otherwise the first NaN operand in the order fs, ft
     (madd: product first, then fr) unchanged (sign and payload); cvt.d.s
     shifts the payload left by 29, cvt.s.d keeps the top 23 fraction bits
     and gives +-Infinity when they are all zero.  Causes/flags agree with
     qemu 7.2 in every case; only the NaN bit patterns differ
     (tests/test_fpu_unicorn.py canonicalises Unicorn's NaNs accordingly;
     tests/test_fpu_qemu.py pins each op class to qemu-mipsel 7.2).
   ABS/NEG/MOV stay bit operations in both (payload and sign bits kept).
   The fast paths never see NaNs (a NaN result always takes the soft path),
   so this costs nothing on finite operands.
3. (Unicorn-only NaN quirks of CVT.S.D / CVT.D.S: see item 2; not followed.)
4. FCSR.FS=1: inputs are never flushed; a result whose *unrounded* exponent
   is below the normal range becomes +-0 with NO flags at all (not U, not I),
   even if rounding would have produced the smallest normal.  The manual
   flushes with U|I raised.  FS has no effect on compares or conversions to
   integer.
5. Underflow: tininess is detected after rounding, and U is raised only
   together with I (exact denormal results raise nothing) whether or not the
   U exception is enabled.  The manual asks for U on tininess alone when the
   Underflow trap is enabled.
6. Unimplemented Operation (E) is never raised: denormals are handled.
7. Float->integer conversions (cvt/round/trunc/ceil/floor .w/.l): for NaN,
   +-Inf and out-of-range values the result is 0x7FFFFFFF /
   0x7FFFFFFFFFFFFFFF for both signs, and the cause is V *only* (the
   Inexact of the rounding is dropped).  In-range conversions raise I when
   inexact.  -2**31 / -2**63 are in range.
8. RECIP.fmt / RSQRT.fmt are not approximations: recip = round(1/x) and
   rsqrt = round(1/round(sqrt(x))) (two roundings in the current mode,
   flags OR'ed).
9. MADD/MSUB/NMADD/NMSUB are unfused: RN(RN(fs*ft) +- fr) with the flags of
   both steps OR'ed; NMADD/NMSUB negate the final result unconditionally,
   NaNs too: a NaN result of nmadd/nmsub is 0xFFBFFFFF / 0xFFF7FFFFFFFFFFFF
   (checked against qemu-mipsel 7.2).
10. c.cond.fmt: conds 0-7 signal V only for sNaN, conds 8-15 for any NaN;
    the FCSR Cause is written like any arithmetic op, and on a trap QEMU
    leaves the condition code unchanged.
"""
from __future__ import annotations

import math

import numpy as np

from llvmlite import ir
from numba import njit, types
from numba.extending import intrinsic

# --------------------------------------------------------------- constants
C_I = 1    # Inexact
C_U = 2    # Underflow
C_O = 4    # Overflow
C_Z = 8    # Divide by zero
C_V = 16   # Invalid
C_E = 32   # Unimplemented (never produced; see docstring)

FCSR_RM_MASK = 3
FCSR_FLAGS_SHIFT = 2
FCSR_ENABLES_SHIFT = 7
FCSR_CAUSE_SHIFT = 12
FCSR_CAUSE_MASK = 0x3F << 12
FCSR_FCC0 = 1 << 23
FCSR_FS = 1 << 24
FCSR_RW_MASK = 0xFF83FFFF      # QEMU 24Kf CP1_fcr31_rw_bitmask
FCSR_RESET = 0

FIR_24KF = 0x00739300          # QEMU 24Kf CP1_fcr0 = F64|L|W|D|S|(0x93<<8)

DEFAULT_NAN_S = 0x7FBFFFFF
DEFAULT_NAN_D = 0x7FF7FFFFFFFFFFFF

# (np.int64, not int: a global int passed to a jitted function is typed as a
# Literal and would make Numba compile one specialisation per constant)
RM_RN = np.int64(0)
RM_RZ = np.int64(1)
RM_RP = np.int64(2)
RM_RM = np.int64(3)

# c.cond.fmt condition codes
COND_F, COND_UN, COND_EQ, COND_UEQ, COND_OLT, COND_ULT, COND_OLE, COND_ULE = range(8)
COND_SF, COND_NGLE, COND_SEQ, COND_NGL, COND_LT, COND_NGE, COND_LE, COND_NGT = range(8, 16)

_SIGN64 = -9223372036854775808       # 1 << 63 as int64
_MAG64 = 0x7FFFFFFFFFFFFFFF
_INT64_MIN = -9223372036854775808

# internal soft-float classes / formats / ops
_ZERO = np.int64(0)
_NORM = np.int64(1)
_INF = np.int64(2)
_QNAN = np.int64(3)
_SNAN = np.int64(4)
_F32 = np.int64(0)
_F64 = np.int64(1)
_OP_ADD = np.int64(0)
_OP_SUB = np.int64(1)
_OP_MUL = np.int64(2)
_OP_DIV = np.int64(3)
_W = np.int64(0)               # _to_int: 32-bit result
_L = np.int64(1)               # _to_int: 64-bit result
_I0 = np.int64(0)
_I1 = np.int64(1)
_ONE_S = np.int64(0x3F800000)
_ONE_D_BITS = np.int64(0x3FF0000000000000)
_BIT61 = 1 << 61
_BIT61_I = np.int64(1 << 61)
_E63 = np.int64(63)
_E62 = np.int64(62)
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


# ------------------------------------------------------------ FCSR helpers
@njit(cache=True, error_model="numpy", forceinline=True)
def fcsr_write(old, value):
    """ctc1 $31: the new FCR31 (QEMU masks with the model's rw bitmask).

    The caller must then check ``fcsr_write_traps(new)`` (QEMU raises FPE when
    (Enables | E) & Cause after a ctc1)."""
    value = value & 0xFFFFFFFF
    return (value & FCSR_RW_MASK) | (old & 0xFFFFFFFF & ~FCSR_RW_MASK)


@njit(cache=True, error_model="numpy", forceinline=True)
def fcsr_write_traps(fcsr):
    """True if a ctc1 that produced ``fcsr`` raises FPE (QEMU helper_ctc1)."""
    return ((((fcsr >> 7) & 0x1F) | 0x20) & ((fcsr >> 12) & 0x3F)) != 0


@njit(cache=True, error_model="numpy", forceinline=True)
def fcsr_update(fcsr, cause):
    """Apply an op's cause like QEMU update_fcr31 -> (new_fcsr, trap).

    Cause is always replaced; on trap (cause & Enables) the Flags are left
    alone and the interpreter must raise FPE without writing the result."""
    fcsr = (fcsr & ~FCSR_CAUSE_MASK) | ((cause & 0x3F) << 12)
    if cause & ((fcsr >> 7) & 0x1F):
        return fcsr, True
    return fcsr | ((cause & 0x1F) << 2), False


@njit(cache=True, error_model="numpy", forceinline=True)
def fcsr_set_cc(fcsr, cc, value):
    """Set/clear condition code cc (0..7): FCC0 is bit 23, FCCn bit 24+n."""
    bit = (1 << 23) if cc == 0 else (1 << (24 + cc))
    if value:
        return fcsr | bit
    return fcsr & ~bit


@njit(cache=True, error_model="numpy", forceinline=True)
def fcsr_get_cc(fcsr, cc):
    bit = 23 if cc == 0 else 24 + cc
    return (fcsr >> bit) & 1


@njit(cache=True, error_model="numpy", forceinline=True)
def cfc1(fcsr, fir, fs):
    """cfc1 rt, fs for a pre-R6 FPU without UFR/FRE: the 32-bit value read."""
    if fs == 0:
        return fir
    if fs == 25:
        return ((fcsr >> 24) & 0xFE) | ((fcsr >> 23) & 1)
    if fs == 26:
        return fcsr & 0x0003F07C
    if fs == 28:
        return (fcsr & 0x00000F83) | ((fcsr >> 22) & 4)
    if fs == 31:
        return fcsr
    return 0


@njit(cache=True, error_model="numpy", forceinline=True)
def ctc1(fcsr, fs, value):
    """ctc1 rt, fs (pre-R6, no UFR/FRE) -> (new_fcsr, traps).

    Mirrors QEMU helper_ctc1: writes that QEMU ignores return the old value
    and no trap check."""
    value = value & 0xFFFFFFFF
    if fs == 25:
        if value & 0xFFFFFF00:
            return fcsr, False
        new = (fcsr & 0x017FFFFF) | ((value & 0xFE) << 24) | ((value & 1) << 23)
    elif fs == 26:
        if value & 0x007C0000:
            return fcsr, False
        new = (fcsr & 0xFFFC0F83) | (value & 0x0003F07C)
    elif fs == 28:
        if value & 0x007C0000:
            return fcsr, False
        new = (fcsr & 0xFEFFF07C) | (value & 0x00000F83) | ((value & 4) << 22)
    elif fs == 31:
        new = fcsr_write(fcsr, value)
    else:
        return fcsr, False
    return new, fcsr_write_traps(new)


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
def _mul128(a, b):
    """a*b for 0 <= a, b < 2**62 as (hi, lo) with product = hi*2**62 + lo."""
    m31 = (1 << 31) - 1
    a1 = a >> 31
    a0 = a & m31
    b1 = b >> 31
    b0 = b & m31
    mid = a1 * b0 + a0 * b1
    lo = a0 * b0 + ((mid & m31) << 31)
    hi = a1 * b1 + (mid >> 31) + (lo >> 62)
    return hi, lo & (_BIT62 - 1)


@njit(cache=True, error_model="numpy", forceinline=False)
def _arith(op, a, b, fcsr, fmt):
    """add/sub/mul/div of two bit patterns of format fmt -> (bits, cause)."""
    rm = fcsr & 3
    fs = (fcsr >> 24) & 1
    ac, as_, ae, af = _unpack(a, fmt)
    bc, bs, be, bf = _unpack(b, fmt)
    fl = 0
    if ac >= _QNAN or bc >= _QNAN:
        c, s, f, fl = _pick_nan(ac, bc)
        e = 0
    elif op <= _OP_SUB:
        bsx = bs ^ op
        if as_ != bsx:
            if ac == _NORM and bc == _NORM:
                if ae > be or (ae == be and af >= bf):
                    f = af - _jam(bf, ae - be)
                    e = ae
                    s = as_
                else:
                    f = bf - _jam(af, be - ae)
                    e = be
                    s = bsx
                if f == 0:
                    c = _ZERO
                    s = 1 if rm == RM_RM else 0
                else:
                    n = _clz(f) - 2
                    f <<= n
                    e -= n
                    c = _NORM
            elif ac == _INF:
                if bc == _INF:
                    c, s, e, f, fl = _QNAN, 0, 0, _DNAN_FRAC, C_V
                else:
                    c, s, e, f = ac, as_, ae, af
            elif ac == _ZERO and bc == _ZERO:
                c, s, e, f = _ZERO, (1 if rm == RM_RM else 0), 0, 0
            elif ac == _ZERO or bc == _INF:
                c, s, e, f = bc, bsx, be, bf
            else:
                c, s, e, f = ac, as_, ae, af
        else:
            if ac == _NORM and bc == _NORM:
                if ae > be:
                    f = af + _jam(bf, ae - be)
                    e = ae
                else:
                    f = bf + _jam(af, be - ae)
                    e = be
                if f & _BIT62:
                    f = _jam(f, _I1)
                    e += 1
                c = _NORM
                s = as_
            elif ac == _INF or bc == _ZERO:
                c, s, e, f = ac, as_, ae, af
            else:
                c, s, e, f = bc, bsx, be, bf
    elif op == _OP_MUL:
        s = as_ ^ bs
        e = 0
        f = 0
        if ac == _NORM and bc == _NORM:
            hi, lo = _mul128(af, bf)
            f = (hi << 1) | (lo >> 61)
            e = ae + be
            if f & _BIT62:
                e += 1
                f = (f >> 1) | (1 if (f & 1) or (lo & (_BIT61 - 1)) else 0)
            elif lo & (_BIT61 - 1):
                f |= 1
            c = _NORM
        elif (ac == _INF and bc == _ZERO) or (ac == _ZERO and bc == _INF):
            c, s, f, fl = _QNAN, 0, _DNAN_FRAC, C_V
        elif ac == _INF or bc == _INF:
            c = _INF
        else:
            c = _ZERO
    else:
        s = as_ ^ bs
        e = 0
        f = 0
        if ac == _NORM and bc == _NORM:
            e = ae - be
            if af < bf:
                af <<= 1
                e -= 1
            r = af - bf
            q = 1
            nb = 61 if fmt == _F64 else 30
            for _ in range(nb):
                r <<= 1
                q <<= 1
                if r >= bf:
                    r -= bf
                    q |= 1
            q <<= 61 - nb
            if r:
                q |= 1
            f = q
            c = _NORM
        elif ac == bc and (ac == _INF or ac == _ZERO):
            c, s, f, fl = _QNAN, 0, _DNAN_FRAC, C_V
        elif ac == _INF:
            c = _INF
        elif ac == _ZERO:
            c = _ZERO
        elif bc == _ZERO:
            c = _INF
            fl = C_Z
        else:
            c = _ZERO
    bits, fl2 = _pack(c, s, e, f, fmt, rm, fs)
    return bits, fl | fl2


@njit(cache=True, error_model="numpy", forceinline=False)
def _sqrt_slow(a, fcsr, fmt):
    rm = fcsr & 3
    fs = (fcsr >> 24) & 1
    c, s, e, f = _unpack(a, fmt)
    fl = 0
    if c == _SNAN:
        c, s, f, fl = _QNAN, 0, _DNAN_FRAC, C_V
    elif c == _QNAN:
        s, f = 0, _DNAN_FRAC             # default NaN, no flags (qemu 7.2)
    elif c == _ZERO:
        pass
    elif s:
        c, s, f, fl = _QNAN, 0, _DNAN_FRAC, C_V
    elif c == _NORM:
        t = e - 61
        m = f
        if t & 1:
            m <<= 1
            t -= 1
        # digit-by-digit square root of M = m * 2**54
        rr = 0
        q = 0
        for j in range(31, -28, -1):
            d = (m >> (2 * j)) & 3 if j >= 0 else 0
            rr = (rr << 2) | d
            tt = (q << 2) | 1
            if rr >= tt:
                rr -= tt
                q = (q << 1) | 1
            else:
                q <<= 1
        n = _clz(q) - 2
        f = q << n
        if rr:
            f |= 1
        e = (t >> 1) + 34 - n
    return _pack_fl(c, s, e, f, fmt, rm, fs, fl)


@njit(cache=True, error_model="numpy", forceinline=False)
def _pack_fl(c, s, e, f, fmt, rm, fs, fl):
    bits, fl2 = _pack(c, s, e, f, fmt, rm, fs)
    return bits, fl | fl2


@njit(cache=True, error_model="numpy", forceinline=False)
def _cvt_ff_slow(a, fcsr, src, dst):
    """float -> float conversion (QEMU float_to_float + round).

    Any NaN becomes the default NaN of dst (V for a sNaN): no payload is
    carried across formats (qemu 7.2)."""
    c, s, e, f = _unpack(a, src)
    fl = 0
    if c == _SNAN:
        c, s, f, fl = _QNAN, 0, _DNAN_FRAC, C_V
    elif c == _QNAN:
        s, f = 0, _DNAN_FRAC
    return _pack_fl(c, s, e, f, dst, fcsr & 3, (fcsr >> 24) & 1, fl)


@njit(cache=True, error_model="numpy", forceinline=False)
def _cvt_if_slow(v, fcsr, dst):
    """int64 -> float of format dst (QEMU int_to_float + round)."""
    if v == 0:
        return 0, 0
    if v == _INT64_MIN:
        return _pack(_NORM, _I1, _E63, _BIT61_I, dst, _I0, _I0)
    s = 0
    if v < 0:
        s = 1
        v = -v
    n = _clz(v) - 2
    if n >= 0:
        return _pack(_NORM, s, 61 - n, v << n, dst, fcsr & 3, (fcsr >> 24) & 1)
    return _pack(_NORM, s, _E62, _jam(v, _I1), dst, fcsr & 3, (fcsr >> 24) & 1)


@njit(cache=True, error_model="numpy", forceinline=False)
def _cvt_fi(a, fmt, rm, is64):
    """float -> int32 (is64=0, result as uint32 pattern) or int64 -> (bits, cause).

    QEMU round_to_int_and_pack + the MIPS legacy overflow value."""
    c, s, e, f = _unpack(a, fmt)
    maxv = _MAG64 if is64 else 0x7FFFFFFF
    if c >= _INF:
        return maxv, C_V
    if c == _ZERO:
        return 0, 0
    inexact = False
    if e >= 61:
        if e >= 63:
            if is64 and e == 63 and s == 1 and f == _BIT61:
                return _INT64_MIN, 0
            return maxv, C_V
        mag = f << (e - 61)
    elif e < 0:
        inexact = True
        mag = 0
        if rm == RM_RN:
            if e == -1 and f > _BIT61:
                mag = 1
        elif rm == RM_RP:
            if s == 0:
                mag = 1
        elif rm == RM_RM:
            if s:
                mag = 1
    else:
        sh = 61 - e
        mag = f >> sh
        rem = f & ((1 << sh) - 1)
        if rem:
            inexact = True
            if rm == RM_RN:
                half = 1 << (sh - 1)
                if rem > half or (rem == half and (mag & 1)):
                    mag += 1
            elif rm == RM_RP:
                if s == 0:
                    mag += 1
            elif rm == RM_RM:
                if s:
                    mag += 1
    cause = C_I if inexact else 0
    if is64:
        return (-mag if s else mag), cause
    if s:
        if mag > 0x80000000:
            return maxv, C_V
        return (-mag) & 0xFFFFFFFF, cause
    if mag > 0x7FFFFFFF:
        return maxv, C_V
    return mag, cause


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


# ------------------------------------------------------ binary arithmetic
@njit(cache=True, error_model="numpy", forceinline=True)
def add_d(a, b, fcsr):
    rm = fcsr & 3
    x = _f64(a)
    y = _f64(b)
    r = x + y
    rb = _bits(r)
    ef = (rb >> 52) & 0x7FF
    if (ef >= 2 and ef <= 0x7FD) or (rm == RM_RN and ((ef != 0 and ef != 0x7FF) or r == 0.0)):
        return _fin_d(rb, _two_sum_err(x, y, r), rm)
    return _arith(_OP_ADD, a, b, fcsr, _F64)


@njit(cache=True, error_model="numpy", forceinline=True)
def sub_d(a, b, fcsr):
    rm = fcsr & 3
    x = _f64(a)
    y = -_f64(b)
    r = x + y
    rb = _bits(r)
    ef = (rb >> 52) & 0x7FF
    if (ef >= 2 and ef <= 0x7FD) or (rm == RM_RN and ((ef != 0 and ef != 0x7FF) or r == 0.0)):
        return _fin_d(rb, _two_sum_err(x, y, r), rm)
    return _arith(_OP_SUB, a, b, fcsr, _F64)


@njit(cache=True, error_model="numpy", forceinline=True)
def mul_d(a, b, fcsr):
    rm = fcsr & 3
    x = _f64(a)
    y = _f64(b)
    r = x * y
    rb = _bits(r)
    ef = (rb >> 52) & 0x7FF
    # |r| >= 2**-959: a nonzero residual x*y - r is >= 2**-1065, so FMA returns it exactly
    if (ef >= 64 and ef <= 0x7FD) or (ef == 0x7FE and rm == RM_RN):
        return _fin_d(rb, _fma(x, y, -r), rm)
    if r == 0.0 and (x == 0.0 or y == 0.0):
        return rb, 0
    return _arith(_OP_MUL, a, b, fcsr, _F64)


@njit(cache=True, error_model="numpy", forceinline=True)
def div_d(a, b, fcsr):
    rm = fcsr & 3
    x = _f64(a)
    y = _f64(b)
    r = x / y
    rb = _bits(r)
    ef = (rb >> 52) & 0x7FF
    # |x| >= 2**-959 keeps the remainder x - r*y (a multiple of ~2**-106|x|) representable
    if ((ef >= 2 and ef <= 0x7FD) or (ef == 0x7FE and rm == RM_RN)) and ((a >> 52) & 0x7FF) >= 64:
        rem = _fma(-r, y, x)
        return _fin_d(rb, rem if y > 0.0 else -rem, rm)
    if r == 0.0 and x == 0.0:
        return rb, 0
    return _arith(_OP_DIV, a, b, fcsr, _F64)


@njit(cache=True, error_model="numpy", forceinline=True)
def add_s(a, b, fcsr):
    rm = fcsr & 3
    x = _s2d(a)
    y = _s2d(b)
    r = x + y
    sb, c, ok = _fin_s(r, _two_sum_err(x, y, r), rm)
    if ok:
        return sb, c
    if r == 0.0 and rm == RM_RN:
        return sb, 0
    return _arith(_OP_ADD, a, b, fcsr, _F32)


@njit(cache=True, error_model="numpy", forceinline=True)
def sub_s(a, b, fcsr):
    rm = fcsr & 3
    x = _s2d(a)
    y = -_s2d(b)
    r = x + y
    sb, c, ok = _fin_s(r, _two_sum_err(x, y, r), rm)
    if ok:
        return sb, c
    if r == 0.0 and rm == RM_RN:
        return sb, 0
    return _arith(_OP_SUB, a, b, fcsr, _F32)


@njit(cache=True, error_model="numpy", forceinline=True)
def mul_s(a, b, fcsr):
    x = _s2d(a)
    y = _s2d(b)
    r = x * y                        # exact: 24x24 bits, no binary64 under/overflow
    sb, c, ok = _fin_s(r, 0.0, fcsr & 3)
    if ok:
        return sb, c
    if r == 0.0:                     # an operand is zero
        return sb, 0
    return _arith(_OP_MUL, a, b, fcsr, _F32)


@njit(cache=True, error_model="numpy", forceinline=True)
def div_s(a, b, fcsr):
    x = _s2d(a)
    y = _s2d(b)
    r = x / y
    rem = _fma(-r, y, x)
    sb, c, ok = _fin_s(r, rem if y > 0.0 else -rem, fcsr & 3)
    if ok:
        return sb, c
    if r == 0.0 and x == 0.0:
        return sb, 0
    return _arith(_OP_DIV, a, b, fcsr, _F32)


# ------------------------------------------------------------- unary ops
@njit(cache=True, error_model="numpy", forceinline=True)
def sqrt_d(a, fcsr):
    xe = (a >> 52) & 0x7FF
    if a > 0 and xe >= 64 and xe != 0x7FF:
        x = _f64(a)
        r = math.sqrt(x)
        return _fin_d(_bits(r), _fma(-r, r, x), fcsr & 3)
    return _sqrt_slow(a, fcsr, _F64)


@njit(cache=True, error_model="numpy", forceinline=True)
def sqrt_s(a, fcsr):
    if 0 < a < 0x7F800000:           # positive, finite, nonzero (denormals are exact in binary64)
        x = _s2d(a)
        r = math.sqrt(x)
        sb, c, ok = _fin_s(r, _fma(-r, r, x), fcsr & 3)
        if ok:
            return sb, c
    return _sqrt_slow(a, fcsr, _F32)


@njit(cache=True, error_model="numpy", forceinline=True)
def abs_s(a, fcsr):
    """Legacy abs: sign clear, no flags; QEMU leaves the FCSR untouched."""
    return a & 0x7FFFFFFF, np.int64(0)


@njit(cache=True, error_model="numpy", forceinline=True)
def abs_d(a, fcsr):
    """Legacy abs: sign clear, no flags; QEMU leaves the FCSR untouched."""
    return a & _MAG64, np.int64(0)


@njit(cache=True, error_model="numpy", forceinline=True)
def neg_s(a, fcsr):
    """Legacy neg: sign flip, no flags; QEMU leaves the FCSR untouched."""
    return (a ^ 0x80000000) & 0xFFFFFFFF, np.int64(0)


@njit(cache=True, error_model="numpy", forceinline=True)
def neg_d(a, fcsr):
    """Legacy neg: sign flip, no flags; QEMU leaves the FCSR untouched."""
    return a ^ _SIGN64, np.int64(0)


@njit(cache=True, error_model="numpy", forceinline=True)
def recip_s(a, fcsr):
    return div_s(_ONE_S, a, fcsr)


@njit(cache=True, error_model="numpy", forceinline=True)
def recip_d(a, fcsr):
    return div_d(_ONE_D_BITS, a, fcsr)


@njit(cache=True, error_model="numpy", forceinline=True)
def rsqrt_s(a, fcsr):
    r, c1 = sqrt_s(a, fcsr)
    q, c2 = div_s(_ONE_S, r, fcsr)
    return q, c1 | c2


@njit(cache=True, error_model="numpy", forceinline=True)
def rsqrt_d(a, fcsr):
    r, c1 = sqrt_d(a, fcsr)
    q, c2 = div_d(_ONE_D_BITS, r, fcsr)
    return q, c1 | c2


# ------------------------------------------- multiply-add (unfused, r2)
@njit(cache=True, error_model="numpy", forceinline=True)
def madd_s(fr, fs, ft, fcsr):
    """fs*ft + fr, two roundings (QEMU UNFUSED_FMA)."""
    p, c1 = mul_s(fs, ft, fcsr)
    r, c2 = add_s(p, fr, fcsr)
    return r, c1 | c2


@njit(cache=True, error_model="numpy", forceinline=True)
def madd_d(fr, fs, ft, fcsr):
    p, c1 = mul_d(fs, ft, fcsr)
    r, c2 = add_d(p, fr, fcsr)
    return r, c1 | c2


@njit(cache=True, error_model="numpy", forceinline=True)
def msub_s(fr, fs, ft, fcsr):
    """fs*ft - fr."""
    p, c1 = mul_s(fs, ft, fcsr)
    r, c2 = sub_s(p, fr, fcsr)
    return r, c1 | c2


@njit(cache=True, error_model="numpy", forceinline=True)
def msub_d(fr, fs, ft, fcsr):
    p, c1 = mul_d(fs, ft, fcsr)
    r, c2 = sub_d(p, fr, fcsr)
    return r, c1 | c2


@njit(cache=True, error_model="numpy", forceinline=True)
def nmadd_s(fr, fs, ft, fcsr):
    """-(fs*ft + fr); the sign of NaN results is flipped too."""
    p, c1 = mul_s(fs, ft, fcsr)
    r, c2 = add_s(p, fr, fcsr)
    return r ^ 0x80000000, c1 | c2


@njit(cache=True, error_model="numpy", forceinline=True)
def nmadd_d(fr, fs, ft, fcsr):
    p, c1 = mul_d(fs, ft, fcsr)
    r, c2 = add_d(p, fr, fcsr)
    return r ^ _SIGN64, c1 | c2


@njit(cache=True, error_model="numpy", forceinline=True)
def nmsub_s(fr, fs, ft, fcsr):
    """-(fs*ft - fr); the sign of NaN results is flipped too."""
    p, c1 = mul_s(fs, ft, fcsr)
    r, c2 = sub_s(p, fr, fcsr)
    return r ^ 0x80000000, c1 | c2


@njit(cache=True, error_model="numpy", forceinline=True)
def nmsub_d(fr, fs, ft, fcsr):
    p, c1 = mul_d(fs, ft, fcsr)
    r, c2 = sub_d(p, fr, fcsr)
    return r ^ _SIGN64, c1 | c2


# ------------------------------------------------ float <-> float / int
@njit(cache=True, error_model="numpy", forceinline=True)
def cvt_d_s(a, fcsr):
    e = (a >> 23) & 0xFF
    if e != 0 and e != 0xFF:
        return (((a & 0x80000000) << 32) | ((e + 896) << 52) | ((a & 0x7FFFFF) << 29)), np.int64(0)
    if (a & 0x7FFFFFFF) == 0:
        return (a & 0x80000000) << 32, np.int64(0)
    return _cvt_ff_slow(a, fcsr, _F32, _F64)


@njit(cache=True, error_model="numpy", forceinline=True)
def cvt_s_d(a, fcsr):
    sb, c, ok = _fin_s(_f64(a), 0.0, fcsr & 3)
    if ok:
        return sb, c
    return _cvt_ff_slow(a, fcsr, _F64, _F32)


@njit(cache=True, error_model="numpy", forceinline=True)
def cvt_s_w(a, fcsr):
    v = ((a & 0xFFFFFFFF) ^ 0x80000000) - 0x80000000
    if v == 0:
        return np.int64(0), np.int64(0)
    sb, c, ok = _fin_s(float(v), 0.0, fcsr & 3)    # float(v) is exact
    return sb, c


@njit(cache=True, error_model="numpy", forceinline=True)
def cvt_d_w(a, fcsr):
    v = ((a & 0xFFFFFFFF) ^ 0x80000000) - 0x80000000
    return _bits(float(v)), np.int64(0)   # always exact


@njit(cache=True, error_model="numpy", forceinline=True)
def cvt_s_l(a, fcsr):
    if a != 0 and -9007199254740992 < a < 9007199254740992:
        sb, c, ok = _fin_s(float(a), 0.0, fcsr & 3)  # float(a) is exact
        return sb, c
    return _cvt_if_slow(a, fcsr, _F32)


@njit(cache=True, error_model="numpy", forceinline=True)
def cvt_d_l(a, fcsr):
    if -9007199254740992 < a < 9007199254740992:
        return _bits(float(a)), np.int64(0)      # exact in every mode
    if -9223372036854774784 <= a <= 9223372036854774784:
        x = float(a)                             # RN; |x| <= 2**63 - 2**10
        return _fin_d(_bits(x), float(a - int(x)), fcsr & 3)
    return _cvt_if_slow(a, fcsr, _F64)


@njit(cache=True, error_model="numpy", forceinline=True)
def _to_int(a, fmt, rm, is64):
    """float -> int32/int64 with rounding mode rm; host fast path when the
    result is surely in range, else the exact integer path."""
    if fmt == _F64:
        x = _f64(a)
    else:
        x = _s2d(a)
    if -2147483647.0 < x < 2147483647.0 or (is64 and -2251799813685248.0 < x < 2251799813685248.0):
        if rm == RM_RN:
            t = int((x + 6755399441055744.0) - 6755399441055744.0)   # 1.5*2**52: ties-to-even
        elif rm == RM_RZ:
            t = int(x)
        elif rm == RM_RP:
            t = math.ceil(x)
        else:
            t = math.floor(x)
        c = C_I if float(t) != x else 0
        if is64:
            return t, c
        return t & 0xFFFFFFFF, c
    return _cvt_fi(a, fmt, rm, is64)


@njit(cache=True, error_model="numpy", forceinline=True)
def cvt_w_s(a, fcsr):
    return _to_int(a, _F32, fcsr & 3, _W)


@njit(cache=True, error_model="numpy", forceinline=True)
def cvt_w_d(a, fcsr):
    return _to_int(a, _F64, fcsr & 3, _W)


@njit(cache=True, error_model="numpy", forceinline=True)
def cvt_l_s(a, fcsr):
    return _to_int(a, _F32, fcsr & 3, _L)


@njit(cache=True, error_model="numpy", forceinline=True)
def cvt_l_d(a, fcsr):
    return _to_int(a, _F64, fcsr & 3, _L)


@njit(cache=True, error_model="numpy", forceinline=True)
def round_w_s(a, fcsr):
    return _to_int(a, _F32, RM_RN, _W)


@njit(cache=True, error_model="numpy", forceinline=True)
def round_w_d(a, fcsr):
    return _to_int(a, _F64, RM_RN, _W)


@njit(cache=True, error_model="numpy", forceinline=True)
def round_l_s(a, fcsr):
    return _to_int(a, _F32, RM_RN, _L)


@njit(cache=True, error_model="numpy", forceinline=True)
def round_l_d(a, fcsr):
    return _to_int(a, _F64, RM_RN, _L)


@njit(cache=True, error_model="numpy", forceinline=True)
def trunc_w_s(a, fcsr):
    return _to_int(a, _F32, RM_RZ, _W)


@njit(cache=True, error_model="numpy", forceinline=True)
def trunc_w_d(a, fcsr):
    return _to_int(a, _F64, RM_RZ, _W)


@njit(cache=True, error_model="numpy", forceinline=True)
def trunc_l_s(a, fcsr):
    return _to_int(a, _F32, RM_RZ, _L)


@njit(cache=True, error_model="numpy", forceinline=True)
def trunc_l_d(a, fcsr):
    return _to_int(a, _F64, RM_RZ, _L)


@njit(cache=True, error_model="numpy", forceinline=True)
def ceil_w_s(a, fcsr):
    return _to_int(a, _F32, RM_RP, _W)


@njit(cache=True, error_model="numpy", forceinline=True)
def ceil_w_d(a, fcsr):
    return _to_int(a, _F64, RM_RP, _W)


@njit(cache=True, error_model="numpy", forceinline=True)
def ceil_l_s(a, fcsr):
    return _to_int(a, _F32, RM_RP, _L)


@njit(cache=True, error_model="numpy", forceinline=True)
def ceil_l_d(a, fcsr):
    return _to_int(a, _F64, RM_RP, _L)


@njit(cache=True, error_model="numpy", forceinline=True)
def floor_w_s(a, fcsr):
    return _to_int(a, _F32, RM_RM, _W)


@njit(cache=True, error_model="numpy", forceinline=True)
def floor_w_d(a, fcsr):
    return _to_int(a, _F64, RM_RM, _W)


@njit(cache=True, error_model="numpy", forceinline=True)
def floor_l_s(a, fcsr):
    return _to_int(a, _F32, RM_RM, _L)


@njit(cache=True, error_model="numpy", forceinline=True)
def floor_l_d(a, fcsr):
    return _to_int(a, _F64, RM_RM, _L)


# --------------------------------------------------------------- compares
@njit(cache=True, error_model="numpy", forceinline=True)
def cmp_s(a, b, cond, fcsr):
    """c.cond.s -> (1/0, cause).  cond bits: 1 unordered, 2 equal, 4 less,
    8 signal Invalid on qNaN too."""
    ma = a & 0x7FFFFFFF
    mb = b & 0x7FFFFFFF
    if ma > 0x7F800000 or mb > 0x7F800000:
        cause = 0
        if (cond & 8) or (ma > 0x7F800000 and (a & 0x400000)) or \
                (mb > 0x7F800000 and (b & 0x400000)):
            cause = C_V
        return cond & 1, cause
    ka = -ma if a & 0x80000000 else ma
    kb = -mb if b & 0x80000000 else mb
    if ka == kb:
        return (cond >> 1) & 1, 0
    if ka < kb:
        return (cond >> 2) & 1, 0
    return 0, 0


@njit(cache=True, error_model="numpy", forceinline=True)
def cmp_d(a, b, cond, fcsr):
    """c.cond.d -> (1/0, cause); see cmp_s."""
    ma = a & _MAG64
    mb = b & _MAG64
    if ma > 0x7FF0000000000000 or mb > 0x7FF0000000000000:
        cause = 0
        if (cond & 8) or (ma > 0x7FF0000000000000 and (a & (1 << 51))) or \
                (mb > 0x7FF0000000000000 and (b & (1 << 51))):
            cause = C_V
        return cond & 1, cause
    ka = -ma if a < 0 else ma
    kb = -mb if b < 0 else mb
    if ka == kb:
        return (cond >> 1) & 1, 0
    if ka < kb:
        return (cond >> 2) & 1, 0
    return 0, 0


# Public kernel names (for the self-check test and the interpreter's use).
ARITH_FUNCS = (
    "add_s", "add_d", "sub_s", "sub_d", "mul_s", "mul_d", "div_s", "div_d",
    "sqrt_s", "sqrt_d", "abs_s", "abs_d", "neg_s", "neg_d",
    "madd_s", "madd_d", "msub_s", "msub_d", "nmadd_s", "nmadd_d", "nmsub_s", "nmsub_d",
    "recip_s", "recip_d", "rsqrt_s", "rsqrt_d",
    "cvt_s_d", "cvt_d_s", "cvt_s_w", "cvt_d_w", "cvt_s_l", "cvt_d_l",
    "cvt_w_s", "cvt_w_d", "cvt_l_s", "cvt_l_d",
    "round_w_s", "round_w_d", "trunc_w_s", "trunc_w_d", "ceil_w_s", "ceil_w_d",
    "floor_w_s", "floor_w_d", "round_l_s", "round_l_d", "trunc_l_s", "trunc_l_d",
    "ceil_l_s", "ceil_l_d", "floor_l_s", "floor_l_d",
    "cmp_s", "cmp_d",
)
