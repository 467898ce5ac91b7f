"""Small integer helpers the interpreter inlines (all on int64 holding 32-bit patterns)."""
from flashvm.kernels.dispatch import njit

from flashvm.kernels.fpu_fcsr import fcsr_get_cc, fcsr_set_cc

M32 = 0xFFFFFFFF


@njit(cache=True, _nrt=False)
def s32(x):
    """Sign-extend a 32-bit pattern."""
    return ((x & M32) ^ 0x80000000) - 0x80000000


@njit(cache=True, _nrt=False)
def clz32(x):
    """Count leading zeros of a 32-bit value (32 for zero)."""
    if x == 0:
        return 32
    n = 0
    if x & 0xFFFF0000 == 0:
        n += 16
        x <<= 16
    if x & 0xFF000000 == 0:
        n += 8
        x <<= 8
    if x & 0xF0000000 == 0:
        n += 4
        x <<= 4
    if x & 0xC0000000 == 0:
        n += 2
        x <<= 2
    if x & 0x80000000 == 0:
        n += 1
    return n


@njit(cache=True, _nrt=False)
def div32(a, b):
    """Signed 32-bit division truncating toward zero, as QEMU's MIPS DIV does it:
    a zero divisor, or INT_MIN / -1, divides by 1 instead."""
    if b == 0 or (a == -0x80000000 and b == -1):
        b = 1
    q = abs(a) // abs(b)
    if (a < 0) != (b < 0):
        q = -q
    return q, a - q * b


@njit(cache=True, _nrt=False)
def divu32(a, b):
    """Unsigned 32-bit division; a zero divisor divides by 1 (QEMU's DIVU)."""
    if b == 0:
        b = 1
    q = a // b
    return q, a - q * b


# FCSR condition codes: the FPU module owns the FCSR layout
fcc = fcsr_get_cc
set_fcc = fcsr_set_cc


# FPU register file access.  f[i] holds 64 bits; with Status.FR=0 a double lives
# in the low halves of an even/odd pair, with FR=1 in one register.
@njit(cache=True, _nrt=False)
def rd_s(f, i):
    return f[i] & M32


@njit(cache=True, _nrt=False)
def wr_s(f, i, v):
    f[i] = (f[i] & ~M32) | (v & M32)


@njit(cache=True, _nrt=False)
def rd_d(f, fr64, i):
    if fr64:
        return f[i]
    return (f[i] & M32) | (f[i | 1] << 32)


@njit(cache=True, _nrt=False)
def wr_d(f, fr64, i, v):
    if fr64:
        f[i] = v
    else:
        f[i] = (f[i] & ~M32) | (v & M32)
        f[i | 1] = (f[i | 1] & ~M32) | ((v >> 32) & M32)
