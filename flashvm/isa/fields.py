"""Instruction fields of MIPS32 (MIPS32 Vol. II, "Instruction Formats").

Each field is (shift, width).  The ISA table builds match/mask pairs from
field values, the generator emits the extraction expression of every field a
semantic snippet names, and the disassembler reads operands with `get`.
"""
from __future__ import annotations

FIELDS: dict[str, tuple[int, int]] = {
    "op": (26, 6),
    "rs": (21, 5),
    "rt": (16, 5),
    "rd": (11, 5),
    "sa": (6, 5),
    "funct": (0, 6),
    # COP1 views of the same bits
    "fmt": (21, 5),
    "ft": (16, 5),
    "fs": (11, 5),
    "fd": (6, 5),
    "fr": (21, 5),     # COP1X: the addend register
    "cc8": (8, 3),     # c.cond.fmt destination condition code
    "cc18": (18, 3),   # bc1*/mov[ft] source condition code
    "tf": (16, 2),     # nd/tf bits of bc1 and movf/movt
    "sel": (0, 3),     # CP0 register select
    "co": (25, 1),     # COP0 "CO" bit
    "b21": (21, 1),
    "b6": (6, 1),
    "b5": (5, 1),
    "b76": (6, 2),     # c.cond.fmt: must be zero (bit 6 would be MIPS-3D CABS)
    "code": (6, 20),
    "uimm": (0, 16),
    "target": (0, 26),
    "cond": (0, 4),
}

# Fields whose value the generator computes with a special expression.
DERIVED: dict[str, str] = {
    "simm": "((insn & 0xFFFF) ^ 0x8000) - 0x8000",
}


def extract_expr(name: str) -> str:
    """Python expression (over `insn`) giving the value of field `name`."""
    if name in DERIVED:
        return DERIVED[name]
    shift, width = FIELDS[name]
    mask = (1 << width) - 1
    return f"(insn >> {shift}) & {mask:#x}" if shift else f"insn & {mask:#x}"


def get(insn: int, name: str) -> int:
    """Value of field `name` in the instruction word `insn` (for Python-side tools)."""
    if name == "simm":
        return ((insn & 0xFFFF) ^ 0x8000) - 0x8000
    shift, width = FIELDS[name]
    return (insn >> shift) & ((1 << width) - 1)


def match_mask(**values: int) -> tuple[int, int]:
    """(match, mask) for fields fixed to the given values; other bits are free."""
    match = mask = 0
    for name, value in values.items():
        shift, width = FIELDS[name]
        fmask = ((1 << width) - 1) << shift
        if value < 0 or value >= (1 << width):
            raise ValueError(f"field {name}={value} does not fit {width} bits")
        if mask & fmask and (match & fmask) != ((value << shift) & fmask):
            raise ValueError(f"field {name} conflicts with an earlier field")
        match |= value << shift
        mask |= fmask
    return match, mask


def assemble(base: int, **values: int) -> int:
    """Set fields of an instruction word (tests and the boot stub use it)."""
    word = base
    for name, value in values.items():
        shift, width = FIELDS.get(name, (0, 16) if name == "simm" else (None, None))
        if shift is None:
            raise KeyError(name)
        fmask = ((1 << width) - 1) << shift
        word = (word & ~fmask) | ((value << shift) & fmask)
    return word & 0xFFFFFFFF
