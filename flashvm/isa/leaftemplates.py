"""A table entry's leaf as the JIT's LLVM compiler reads it: generated and parsed once per entry.

flashvm/isa/llvmgen.py (and llvmtiming.py) translate a word from its table entry's leaf, the
interpreter's own code for that entry generated with `macros.JIT` set; the word's fields are
read as constants.  Generating and parsing the leaf for every word cost ~0.2 ms each, so the
leaf is made here once per entry, its field extractions split off as functions of the word.
"""
from __future__ import annotations

import ast
import re
from typing import Callable

from flashvm.isa import gen, macros
from flashvm.isa.fields import DERIVED, FIELDS, extract_expr
from flashvm.isa.table import Insn

# leaf lines the compiler skips: exception bookkeeping that only the interpreter's slow paths read
_SKIP = ("exc = ", "badva = ", "ce = ")

_TEMPLATES: dict[tuple[str, int, int], tuple[tuple[str, ...], list[ast.stmt],
                                              list[tuple[str, Callable[[int], int]]]]] = {}


def template(e: Insn) -> tuple[tuple[str, ...], list[ast.stmt], list[tuple[str, Callable[[int], int]]]]:
    """A table entry's leaf (as jitgen.leaf makes it, fields not folded): its lines, its statements
    parsed once (read only afterwards), and (name, value of the field in a word) for each field it
    extracts.  Generating and parsing the leaf of every word cost ~0.2 ms each."""
    key = (e.name, e.match, e.mask)
    got = _TEMPLATES.get(key)
    if got is None:
        old = macros.JIT, macros.TIMING
        macros.JIT, macros.TIMING = True, False
        try:
            lines = gen.Emitter().leaf(e, e.mask, "", "main")
        finally:
            macros.JIT, macros.TIMING = old
        body: list[str] = []
        fields: list[tuple[str, Callable[[int], int]]] = []
        for line in lines:
            if line.startswith("#"):
                continue
            mt = re.fullmatch(r"(\w+)_(\d+) = (.*)", line)
            if mt and (mt.group(1) in FIELDS or mt.group(1) in DERIVED) and mt.group(3) == extract_expr(mt.group(1)):
                fields.append((f"{mt.group(1)}_{mt.group(2)}", eval(f"lambda insn: int({mt.group(3)})", {})))
                continue
            body.append(line)
        got = _TEMPLATES[key] = (tuple(body), parse_leaf(tuple(body)), fields)
    return got


def parse_leaf(code: tuple[str, ...]) -> list[ast.stmt]:
    """A leaf's Python lines as statements, the lines this compiler skips left out."""
    return ast.parse("\n".join(x for x in code if not x.strip().startswith(_SKIP))).body


__all__ = ["parse_leaf", "template"]
