"""A CPU's registers in the order and sizes gdb's MIPS target uses when the stub
sends no target description (gdb's mips-tdep.c, as QEMU's MIPS stub serves them):
each register 4 bytes, little-endian (mips:isa32r2, o32):

    0-31  r0..r31      32 sr (CP0 Status)  33 lo  34 hi  35 bad (BadVAddr)
    36 cause  37 pc    38-69 f0..f31 (the low 32 bits: FR=0 halves of doubles)
    70 fsr (FCSR)  71 fir   72 fp (frame register, always 0)   73-88 unused (0)
    89 prid

The `g` packet carries registers 0-72; gdb reads the rest one by one (`p`).
Under Disco the CP0 registers shown are the guest's (its VCPU's virtual CP0),
as the guest kernel reads them.
"""
from __future__ import annotations

import struct

from flashvm.kernels.state import (
    CP0_BadVAddr, CP0_Cause, CP0_PRId, CP0_Status, FCSR, FIR, HI, LO, NPC, PC, VCPU, Machine,
)

G_REGS = 73           # registers in a `g` packet
NUM_REGS = 90         # gdb's generic MIPS register count
SR, LO_REG, HI_REG, BAD, CAUSE, PC_REG = range(32, 38)
F0, FSR, FIR_REG, PRID = 38, 70, 71, 89
MASK = 0xFFFFFFFF


def _cp0(m: Machine, c: int):
    """The CP0 the guest sees: its VCPU's under Disco, else the CPU's own."""
    vcpu = int(m.cpu[c, VCPU])
    return m.vcp0[vcpu - 1] if vcpu else m.cp0[c]


def get_register(m: Machine, c: int, n: int) -> int:
    """Register n (gdb's numbering above) of CPU c, as an unsigned 32-bit value."""
    st = m.cpu[c]
    if n < 32:
        v = int(m.gpr[c, n])
    elif n == SR:
        v = int(_cp0(m, c)[CP0_Status, 0])
    elif n == LO_REG:
        v = int(st[LO])
    elif n == HI_REG:
        v = int(st[HI])
    elif n == BAD:
        v = int(_cp0(m, c)[CP0_BadVAddr, 0])
    elif n == CAUSE:
        v = int(_cp0(m, c)[CP0_Cause, 0])
    elif n == PC_REG:
        v = int(st[PC])
    elif F0 <= n < F0 + 32:
        v = int(m.fpr[c, n - F0])
    elif n == FSR:
        v = int(st[FCSR])
    elif n == FIR_REG:
        v = int(st[FIR])
    elif n == PRID:
        v = int(m.cp0[c, CP0_PRId, 0])
    else:
        v = 0
    return v & MASK


def _signed(v: int) -> int:
    v &= MASK
    return v - (1 << 32) if v & 0x80000000 else v


def set_register(m: Machine, c: int, n: int, v: int) -> bool:
    """Set register n of CPU c (False: gdb may not write it).  Writing pc also
    moves the next pc after it (the CPU leaves any delay slot)."""
    st = m.cpu[c]
    if 0 < n < 32:
        m.gpr[c, n] = _signed(v)
    elif n == 0:
        pass                                    # r0 stays 0
    elif n == LO_REG:
        st[LO] = _signed(v)
    elif n == HI_REG:
        st[HI] = _signed(v)
    elif n == PC_REG:
        st[PC] = v & MASK
        st[NPC] = (v + 4) & MASK
    elif F0 <= n < F0 + 32:
        old = int(m.fpr[c, n - F0])
        m.fpr[c, n - F0] = (old & ~MASK) | (v & MASK)
    elif n == FSR:
        st[FCSR] = v & MASK
    elif n in (SR, BAD, CAUSE):
        _cp0(m, c)[{SR: CP0_Status, BAD: CP0_BadVAddr, CAUSE: CP0_Cause}[n], 0] = v & MASK
    else:
        return n < NUM_REGS                    # fir, prid and the unused ones: ignored
    return True


def encode(v: int) -> bytes:
    """One register as the hex of its 4 little-endian bytes."""
    return struct.pack("<I", v & MASK).hex().encode()


def read_g(m: Machine, c: int) -> bytes:
    """The `g` packet's reply: registers 0..G_REGS-1 of CPU c."""
    return b"".join(encode(get_register(m, c, n)) for n in range(G_REGS))


def write_g(m: Machine, c: int, hexdata: bytes) -> None:
    """Apply a `G` packet: as many registers as it holds, from register 0; only
    those that change are written (the same pc keeps a delay slot)."""
    raw = bytes.fromhex(hexdata.decode())
    for n in range(min(len(raw) // 4, NUM_REGS)):
        v = struct.unpack_from("<I", raw, 4 * n)[0]
        if v != get_register(m, c, n):
            set_register(m, c, n, v)


__all__ = ["G_REGS", "NUM_REGS", "encode", "get_register", "read_g", "set_register", "write_g"]
