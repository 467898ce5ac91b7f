"""FPU kernels, part 5: c.cond.fmt compares; see fpu.py for the model (item 10)."""
from __future__ import annotations

from flashvm.kernels.dispatch import njit

from flashvm.kernels.fpu_core import C_V, _MAG64

# c.cond.fmt condition codes
COND_F, COND_UN, COND_EQ, COND_UEQ, COND_OLT, COND_ULT, COND_OLE, COND_ULE = range(8)
COND_SF, COND_NGLE, COND_SEQ, COND_NGL, COND_LT, COND_NGE, COND_LE, COND_NGT = range(8, 16)


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
