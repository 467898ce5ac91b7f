"""FPU kernels, part 3: arithmetic (add/sub/mul/div, sqrt, abs/neg,
recip/rsqrt, the unfused multiply-add family); see fpu.py for the model.

Each public kernel is a host fast path inlined into the interpreter; the
exact soft-float slow paths (_arith, _sqrt_slow) are out of line.
"""
from __future__ import annotations

import math

import numpy as np
from flashvm.kernels.dispatch import njit

from flashvm.kernels.fpu_core import (
    C_V, C_Z, RM_RM, RM_RN, _BIT61, _BIT62, _DNAN_FRAC, _F32, _F64, _I1, _INF, _MAG64, _NORM, _QNAN,
    _SIGN64, _SNAN, _ZERO, _bits, _clz, _f64, _fin_d, _fin_s, _fma, _jam, _pack, _pack_fl, _pick_nan,
    _s2d, _two_sum_err, _unpack,
)

# soft-float operation selectors
_OP_ADD = np.int64(0)
_OP_SUB = np.int64(1)
_OP_MUL = np.int64(2)
_OP_DIV = np.int64(3)
# 1.0 as bit patterns (recip, rsqrt)
_ONE_S = np.int64(0x3F800000)
_ONE_D_BITS = np.int64(0x3FF0000000000000)


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
