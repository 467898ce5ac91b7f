"""The MIPS32 EntryLo word (CP0 EntryLo0/1 and the TLB's two halves):

    bits 29..6  PFN   page frame number (physical address >> 12)
    bits  5..3  C     cache coherency attribute (3: cacheable)
    bit      2  D     dirty: writes allowed
    bit      1  V     valid
    bit      0  G     global: ignore the ASID (a TLB entry is global when both halves have G)

The helpers are `register_jitable`: plain Python functions (they work on ints
and numpy arrays alike) that Numba compiles into the kernel calling them, so
naming a bit costs nothing in jitted code.
"""
from numba.extending import register_jitable

LO_G = 1
LO_V = 2
LO_D = 4
LO_CACHED = 3 << 3            # C = 3: cacheable, noncoherent
LO_FLAGS = 0x3F               # C, D, V, G
LO_PFN_SHIFT = 6
LO_PFN_MASK = 0xFFFFFF
LO_WRITABLE = 0x3FFFFFFF      # what software can write to EntryLo0/1: PFN and flags


@register_jitable
def lo_pfn(lo):
    """The page frame number of EntryLo `lo`."""
    return (lo >> LO_PFN_SHIFT) & LO_PFN_MASK


@register_jitable
def lo_flags(lo):
    """The C, D, V and G bits of EntryLo `lo`."""
    return lo & LO_FLAGS


@register_jitable
def lo_valid(lo):
    return (lo & LO_V) != 0


@register_jitable
def lo_dirty(lo):
    return (lo & LO_D) != 0


@register_jitable
def make_lo(pfn, flags):
    """An EntryLo mapping page frame `pfn` with `flags` (LO_* bits)."""
    return (pfn << LO_PFN_SHIFT) | flags
