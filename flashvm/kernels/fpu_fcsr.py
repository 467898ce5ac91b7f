"""FPU kernels, part 2: the FPU control registers (FCSR/FCR31, FIR, cfc1/ctc1).

Model: QEMU's 24Kf (see fpu.py).  No soft-float here: these are bit
manipulations the interpreter and CP0 use directly.
"""
from __future__ import annotations

from flashvm.kernels.dispatch import njit

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
