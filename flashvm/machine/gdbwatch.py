"""What a watchpoint needs to know of an instruction before it runs: the data
address, size and direction of its memory access (MIPS32 loads and stores, the
FPU's included), from the instruction word and the registers."""
from __future__ import annotations

from collections.abc import Sequence

# primary opcode -> (size in bytes, is a store); lwl/lwr/swl/swr touch the aligned word
LOADS_STORES = {
    0x20: (1, False), 0x21: (2, False), 0x22: (4, False), 0x23: (4, False), 0x24: (1, False),
    0x25: (2, False), 0x26: (4, False), 0x30: (4, False), 0x31: (4, False), 0x35: (8, False),
    0x28: (1, True), 0x29: (2, True), 0x2A: (4, True), 0x2B: (4, True), 0x2E: (4, True),
    0x38: (4, True), 0x39: (4, True), 0x3D: (8, True),
}
UNALIGNED = (0x22, 0x26, 0x2A, 0x2E)
COP1X = 0x13
# COP1X indexed forms (funct): lwxc1, ldxc1, luxc1, swxc1, sdxc1, suxc1
COP1X_ACCESS = {0x00: (4, False), 0x01: (8, False), 0x05: (8, False),
                0x08: (4, True), 0x09: (8, True), 0x0D: (8, True)}


def access_of(word: int, gpr: Sequence[int]) -> tuple[int, int, bool] | None:
    """(address, size, is_store) of the access instruction `word` makes with registers `gpr`, or None."""
    op = word >> 26
    base = int(gpr[(word >> 21) & 31])
    if op in LOADS_STORES:
        size, store = LOADS_STORES[op]
        off = word & 0xFFFF
        addr = (base + (off - 0x10000 if off & 0x8000 else off)) & 0xFFFFFFFF
        if op in UNALIGNED:
            addr &= ~3
        return addr, size, store
    if op == COP1X and (word & 0x3F) in COP1X_ACCESS:
        size, store = COP1X_ACCESS[word & 0x3F]
        addr = (base + int(gpr[(word >> 16) & 31])) & 0xFFFFFFFF
        if word & 0x3F in (0x05, 0x0D):
            addr &= ~7
        return addr, size, store
    return None


def overlaps(addr: int, size: int, waddr: int, wlen: int) -> bool:
    """Does [addr, addr+size) meet [waddr, waddr+wlen)?"""
    return addr < waddr + wlen and waddr < addr + size


__all__ = ["access_of", "overlaps"]
