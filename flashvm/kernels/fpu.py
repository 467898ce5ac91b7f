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
     (tests/isa/test_fpu_unicorn.py canonicalises Unicorn's NaNs accordingly;
     tests/isa/test_fpu_qemu.py pins each op class to qemu-mipsel 7.2).
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

Layout.  This module is the public face: it re-exports the kernels and
constants from the modules that implement them, one concern each:
fpu_core (constants, intrinsics, unpack/pack/rounding, NaN choice, fast-path
finishing), fpu_fcsr (FCSR/FIR, cfc1/ctc1), fpu_arith (add .. sqrt, abs/neg,
recip/rsqrt, madd family), fpu_convert (cvt/round/trunc/ceil/floor) and
fpu_compare (c.cond.fmt).
"""
from __future__ import annotations

from flashvm.kernels.fpu_arith import (
    add_s, add_d, sub_s, sub_d, mul_s, mul_d, div_s, div_d, sqrt_s, sqrt_d, abs_s, abs_d, neg_s, neg_d,
    madd_s, madd_d, msub_s, msub_d, nmadd_s, nmadd_d, nmsub_s, nmsub_d, recip_s, recip_d, rsqrt_s, rsqrt_d,
)
from flashvm.kernels.fpu_compare import (
    COND_F, COND_UN, COND_EQ, COND_UEQ, COND_OLT, COND_ULT, COND_OLE, COND_ULE, COND_SF, COND_NGLE, COND_SEQ,
    COND_NGL, COND_LT, COND_NGE, COND_LE, COND_NGT, cmp_s, cmp_d,
)
from flashvm.kernels.fpu_convert import (
    cvt_s_d, cvt_d_s, cvt_s_w, cvt_d_w, cvt_s_l, cvt_d_l, cvt_w_s, cvt_w_d, cvt_l_s, cvt_l_d, round_w_s,
    round_w_d, trunc_w_s, trunc_w_d, ceil_w_s, ceil_w_d, floor_w_s, floor_w_d, round_l_s, round_l_d,
    trunc_l_s, trunc_l_d, ceil_l_s, ceil_l_d, floor_l_s, floor_l_d,
)
from flashvm.kernels.fpu_core import (
    C_I, C_U, C_O, C_Z, C_V, C_E, DEFAULT_NAN_S, DEFAULT_NAN_D, RM_RN, RM_RZ, RM_RP, RM_RM,
)
from flashvm.kernels.fpu_fcsr import (
    FCSR_RM_MASK, FCSR_FLAGS_SHIFT, FCSR_ENABLES_SHIFT, FCSR_CAUSE_SHIFT, FCSR_CAUSE_MASK, FCSR_FCC0,
    FCSR_FS, FCSR_RW_MASK, FCSR_RESET, FIR_24KF, fcsr_write, fcsr_write_traps, fcsr_update, fcsr_set_cc,
    fcsr_get_cc, cfc1, ctc1,
)

__all__ = [
    "C_I", "C_U", "C_O", "C_Z", "C_V", "C_E", "DEFAULT_NAN_S", "DEFAULT_NAN_D", "RM_RN", "RM_RZ", "RM_RP",
    "RM_RM", "FCSR_RM_MASK", "FCSR_FLAGS_SHIFT", "FCSR_ENABLES_SHIFT", "FCSR_CAUSE_SHIFT", "FCSR_CAUSE_MASK",
    "FCSR_FCC0", "FCSR_FS", "FCSR_RW_MASK", "FCSR_RESET", "FIR_24KF", "fcsr_write", "fcsr_write_traps",
    "fcsr_update", "fcsr_set_cc", "fcsr_get_cc", "cfc1", "ctc1", "add_s", "add_d", "sub_s", "sub_d", "mul_s",
    "mul_d", "div_s", "div_d", "sqrt_s", "sqrt_d", "abs_s", "abs_d", "neg_s", "neg_d", "madd_s", "madd_d",
    "msub_s", "msub_d", "nmadd_s", "nmadd_d", "nmsub_s", "nmsub_d", "recip_s", "recip_d", "rsqrt_s",
    "rsqrt_d", "cvt_s_d", "cvt_d_s", "cvt_s_w", "cvt_d_w", "cvt_s_l", "cvt_d_l", "cvt_w_s", "cvt_w_d",
    "cvt_l_s", "cvt_l_d", "round_w_s", "round_w_d", "trunc_w_s", "trunc_w_d", "ceil_w_s", "ceil_w_d",
    "floor_w_s", "floor_w_d", "round_l_s", "round_l_d", "trunc_l_s", "trunc_l_d", "ceil_l_s", "ceil_l_d",
    "floor_l_s", "floor_l_d", "COND_F", "COND_UN", "COND_EQ", "COND_UEQ", "COND_OLT", "COND_ULT", "COND_OLE",
    "COND_ULE", "COND_SF", "COND_NGLE", "COND_SEQ", "COND_NGL", "COND_LT", "COND_NGE", "COND_LE", "COND_NGT",
    "cmp_s", "cmp_d", "ARITH_FUNCS",
]

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
