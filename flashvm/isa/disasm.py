"""Disassembler driven by the ISA table (`flashvm disasm`)."""
from __future__ import annotations

from flashvm.isa.fields import get
from flashvm.isa.table import lookup

GPR_NAMES = ["zero", "at", "v0", "v1", "a0", "a1", "a2", "a3",
             "t0", "t1", "t2", "t3", "t4", "t5", "t6", "t7",
             "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7",
             "t8", "t9", "k0", "k1", "gp", "sp", "fp", "ra"]


def _operand(tok: str, word: int, pc: int) -> str:
    if tok in ("rs", "rt", "rd"):
        return "$" + GPR_NAMES[get(word, tok)]
    if tok in ("fs", "ft", "fd", "fr"):
        return f"$f{get(word, tok)}"
    if tok == "simm":
        return str(get(word, "simm"))
    if tok == "uimm":
        return hex(get(word, "uimm"))
    if tok in ("sa", "sel", "cc8", "cc18"):
        return str(get(word, tok))
    if tok == "code":
        return hex(get(word, "code"))
    if tok == "btarget":
        return hex((pc + 4 + (get(word, "simm") << 2)) & 0xFFFFFFFF)
    if tok == "jtarget":
        return hex(((pc + 4) & 0xF0000000) | (get(word, "target") << 2))
    if tok in ("c0rd", "hwr", "fcr"):
        return f"${get(word, 'rd')}"
    if tok == "ext_size":
        return str(get(word, "rd") + 1)
    if tok == "ins_size":
        return str(get(word, "rd") - get(word, "sa") + 1)
    return tok


def disasm(word: int, pc: int = 0) -> str:
    """One instruction as text, e.g. 'addiu $sp, $sp, -32'; '.word 0x...' if reserved."""
    e = lookup(word)
    if e is None:
        return f".word {word:#010x}"
    if word == 0:
        return "nop"
    out, tok = [], ""
    for ch in e.fmt + " ":
        if ch.isalnum() or ch == "_":
            tok += ch
        else:
            if tok:
                out.append(_operand(tok, word, pc))
                tok = ""
            if ch != " " or (out and out[-1] == ","):
                out.append(ch)
    return (e.name + " " + "".join(out)).strip()


def listing(image, symbol: str | None = None, count: int = 64) -> list[str]:
    """An ELF image's code as lines "address  word  symbol+offset  instruction": the
    function `symbol` (KeyError if the image has none) or `count` words from the entry.
    `image` is a flashvm.elf.ElfImage (its segments and symbols)."""
    if symbol:
        sym = image.symbols.get(symbol)
        if sym is None:
            raise KeyError(symbol)
        start, n = sym.addr, max(sym.size // 4, 1)
    else:
        start, n = image.entry, count
    words = {}
    for seg in image.segments:
        for off in range(0, seg.filesz - 3, 4):
            words[seg.vaddr + off] = int.from_bytes(seg.data[off:off + 4], "little")
    lines = []
    for a in range(start, start + 4 * n, 4):
        if a not in words:
            break
        lines.append(f"{a:08x}  {words[a]:08x}  {image.symbols.symbolize(a):28s} {disasm(words[a], a)}")
    return lines
