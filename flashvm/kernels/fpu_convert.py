"""FPU kernels, part 4: conversions between formats and to/from integers
(cvt, round, trunc, ceil, floor); see fpu.py for the model.
"""
from __future__ import annotations

import math

import numpy as np
from flashvm.kernels.dispatch import njit

from flashvm.kernels.fpu_core import (
    C_I, C_V, RM_RM, RM_RN, RM_RP, RM_RZ, _BIT61, _DNAN_FRAC, _F32, _F64, _I0, _I1, _INF, _MAG64, _NORM,
    _QNAN, _SNAN, _ZERO, _bits, _clz, _f64, _fin_d, _fin_s, _jam, _pack, _pack_fl, _s2d, _unpack,
)

# result widths of _to_int / _cvt_fi, and the constant operands of INT64_MIN -> float
_INT64_MIN = -9223372036854775808
_W = np.int64(0)               # _to_int: 32-bit result
_L = np.int64(1)               # _to_int: 64-bit result
_BIT61_I = np.int64(1 << 61)
_E63 = np.int64(63)
_E62 = np.int64(62)


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
