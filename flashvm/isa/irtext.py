"""A minimal LLVM IR writer: the part of llvmlite.ir's builder API the region compilers use.

flashvm/isa/llvmgen.py (and llvmtiming.py) build a region instruction by
instruction through an `IRBuilder`.  llvmlite's own builder makes a Python
object graph per instruction (operands, names made unique, types compared) and
only then formats it, which cost ~0.5 ms per guest instruction, as much as
LLVM's optimisation of the result.  This writer formats each instruction into
its block's text at once: a value is its type and its textual reference, a
block a list of lines, and `str(module)` joins them.  Same names, same
signatures as llvmlite.ir for what is used (pointers are opaque `ptr`, but
remember what they point to so that `load` and `getelementptr` can name it).
"""
from __future__ import annotations

from typing import Sequence

__all__ = ["lin", "AllocaInstr", "Block", "Constant", "Function", "FunctionType", "IRBuilder", "IntType", "Module",
           "PointerType", "Type", "Value", "VectorType"]


class Type:
    """An IR type, compared by its text."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __str__(self) -> str:
        return self.text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Type) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def as_pointer(self) -> PointerType:
        return PointerType(self)


class PointerType(Type):
    """An opaque `ptr` that remembers its pointee (for load, store and getelementptr)."""

    __slots__ = ("pointee",)

    def __init__(self, pointee: Type) -> None:
        super().__init__("ptr")
        self.pointee = pointee


_INTS: dict[int, Type] = {}


def IntType(bits: int) -> Type:     # noqa: N802 -- llvmlite.ir's name
    got = _INTS.get(bits)
    if got is None:
        got = _INTS[bits] = Type(f"i{bits}")
    return got


def VectorType(elem: Type, n: int) -> Type:     # noqa: N802
    return Type(f"<{n} x {elem}>")


class FunctionType(Type):
    __slots__ = ("ret", "args")

    def __init__(self, ret: Type, args: Sequence[Type]) -> None:
        super().__init__(f"{ret} ({', '.join(map(str, args))})")
        self.ret = ret
        self.args = list(args)


class Value:
    """An SSA value or constant: its type and how it is written as an operand."""

    __slots__ = ("type", "ref", "const", "sym")

    def __init__(self, ty: Type, ref: str, const: int | None = None) -> None:
        self.type = ty
        self.ref = ref
        self.const = const      # an integer constant's value, as unsigned (folded when building)
        self.sym: Sym | None = None     # what is known of it relative to another value (below)

    def __str__(self) -> str:
        return f"{self.type} {self.ref}"


AllocaInstr = Value


def Constant(ty: Type, v: int | bool | Sequence[Value]) -> Value:     # noqa: N802
    if not isinstance(v, int):
        return Value(ty, "<" + ", ".join(f"{x.type} {x.ref}" for x in v) + ">")
    if ty.text == "i1":
        return Value(ty, "true" if v else "false", int(bool(v)))
    bits = int(ty.text[1:])
    x = int(v) & ((1 << bits) - 1)          # written signed, as llvmlite does
    return Value(ty, str(x - (1 << bits) if x >> (bits - 1) else x), x)


def _signed(x: int, bits: int) -> int:
    return x - (1 << bits) if x >> (bits - 1) else x


# Folding constants as the IR is written (exactly LLVM's integer semantics) leaves less for
# LLVM to do: the regions are compiled with a short pass list, without instcombine.
_FOLD = {
    "add": lambda x, y, n: x + y, "sub": lambda x, y, n: x - y, "mul": lambda x, y, n: x * y,
    "and": lambda x, y, n: x & y, "or": lambda x, y, n: x | y, "xor": lambda x, y, n: x ^ y,
    "shl": lambda x, y, n: x << y if y < n else None, "lshr": lambda x, y, n: x >> y if y < n else None,
    "ashr": lambda x, y, n: _signed(x, n) >> y if y < n else None,
}
_CMP = {
    "eq": lambda x, y, n: x == y, "ne": lambda x, y, n: x != y,
    "ult": lambda x, y, n: x < y, "ule": lambda x, y, n: x <= y,
    "ugt": lambda x, y, n: x > y, "uge": lambda x, y, n: x >= y,
    "slt": lambda x, y, n: _signed(x, n) < _signed(y, n), "sle": lambda x, y, n: _signed(x, n) <= _signed(y, n),
    "sgt": lambda x, y, n: _signed(x, n) > _signed(y, n), "sge": lambda x, y, n: _signed(x, n) >= _signed(y, n),
}
# Symbolic offsets (the region compilers' guest PCs): a value's `sym` says it is some base value
# (the PC a region is entered at, a 32-bit value) plus a constant, ("lin", base, off, masked):
# masked, the value is (base + off) mod 2**32; not masked, only congruent to it mod 2**32.
# ("sel", cond, a, b) is `select cond, a, b` of two such values.  Two masked values of one base
# are equal exactly when their offsets are congruent, whatever the base: so a branch's
# "is the next PC the next word?" folds to its condition, or to a constant.
Sym = tuple


def lin(v: Value, off: int = 0) -> Value:
    """Mark v, a value in [0, 2**32), as the base of symbolic offsets (returns v)."""
    v.sym = ("lin", v.ref, off % (1 << 32), True)
    return v


def _sym_add(s: Sym, c: int) -> Sym:
    if s[0] == "lin":
        return ("lin", s[1], (s[2] + c) % (1 << 32), False)
    return ("sel", s[1], _sym_add(s[2], c), _sym_add(s[3], c))


def _sym_mask(s: Sym) -> Sym:
    if s[0] == "lin":
        return ("lin", s[1], s[2], True)
    return ("sel", s[1], _sym_mask(s[2]), _sym_mask(s[3]))


def _masked(s: Sym) -> bool:
    return s[3] if s[0] == "lin" else _masked(s[2]) and _masked(s[3])


def _sym_eq(s: Sym, t: Sym) -> bool | tuple[Value, bool] | None:
    """Is s == t: True, False, (cond, True) for cond, (cond, False) for not cond, None: unknown."""
    if s[0] == "lin" and t[0] == "lin":
        return s[2] == t[2] if s[1] == t[1] and s[3] and t[3] else None
    if s[0] != "sel":
        s, t = t, s
    ra, rb = _sym_eq(s[2], t), _sym_eq(s[3], t)
    if isinstance(ra, bool) and isinstance(rb, bool):
        return ra if ra == rb else (s[1], ra)
    return None


_RIGHT_UNIT = {"add": 0, "sub": 0, "or": 0, "xor": 0, "shl": 0, "lshr": 0, "ashr": 0, "mul": 1}


class Block:
    """A basic block: its label and lines."""

    __slots__ = ("label", "lines", "is_terminated")

    def __init__(self, label: str) -> None:
        self.label = label
        self.lines: list[str] = []
        self.is_terminated = False


class Module:
    def __init__(self, name: str = "") -> None:
        self.name = name
        self.triple = ""
        self.globals: dict[str, Function] = {}
        self._order: list[Function] = []

    def __str__(self) -> str:
        out = [f'; ModuleID = "{self.name}"']
        if self.triple:
            out.append(f'target triple = "{self.triple}"')
        for fn in self._order:
            out.append(fn.text())
        return "\n".join(out) + "\n"


class Function(Value):
    """A function of a module: a declaration until a block is appended."""

    __slots__ = ("module", "name", "ftype", "blocks", "args")

    def __init__(self, module: Module, ftype: FunctionType, name: str) -> None:
        super().__init__(PointerType(ftype), f'@"{name}"')
        self.module = module
        self.name = name
        self.ftype = ftype
        self.blocks: list[Block] = []
        self.args = [Value(t, f"%a{k}") for k, t in enumerate(ftype.args)]
        module.globals[name] = self
        module._order.append(self)

    @property
    def basic_blocks(self) -> list[Block]:
        return self.blocks

    @property
    def is_declaration(self) -> bool:
        return not self.blocks

    def append_basic_block(self, name: str = "") -> Block:
        # the name stays in the label (b<n>.<name>): the IR reads as llvmlite's did, for tests and debugging
        blk = Block(f"b{len(self.blocks)}.{name}" if name.isidentifier() else f"b{len(self.blocks)}")
        self.blocks.append(blk)
        return blk

    def text(self) -> str:
        t = self.ftype
        if not self.blocks:
            return f'declare {t.ret} @"{self.name}"({", ".join(map(str, t.args))})'
        head = f'define {t.ret} @"{self.name}"({", ".join(str(a) for a in self.args)}) {{'
        body = [f"{blk.label}:\n  " + "\n  ".join(blk.lines) for blk in self.blocks]
        return head + "\n" + "\n".join(body) + "\n}"


M32 = 0xFFFFFFFF
_counter = [0]
_ICMP_S = {"==": "eq", "!=": "ne", "<": "slt", "<=": "sle", ">": "sgt", ">=": "sge"}
_ICMP_U = {"==": "eq", "!=": "ne", "<": "ult", "<=": "ule", ">": "ugt", ">=": "uge"}
_I1 = IntType(1)


class IRBuilder:
    """Appends instructions to the end of a block (position_at_end moves it)."""

    __slots__ = ("block",)

    def __init__(self, block: Block) -> None:
        self.block = block

    def position_at_end(self, block: Block) -> None:
        self.block = block

    def _emit(self, ty: Type, text: str) -> Value:
        # one counter for the process: names need only be unique within a function
        _counter[0] += 1
        name = f"%v{_counter[0]}"
        self.block.lines.append(f"{name} = {text}")
        return Value(ty, name)

    # ---- memory
    def alloca(self, ty: Type, name: str = "") -> Value:
        return self._emit(PointerType(ty), f"alloca {ty}")

    def load(self, ptr: Value, name: str = "", align: int | None = None) -> Value:
        ty = ptr.type.pointee     # type: ignore[attr-defined]
        tail = f", align {align}" if align else ""
        return self._emit(ty, f"load {ty}, ptr {ptr.ref}{tail}")

    def store(self, v: Value, ptr: Value) -> None:
        self.block.lines.append(f"store {v.type} {v.ref}, ptr {ptr.ref}")

    def gep(self, ptr: Value, idx: Sequence[Value], name: str = "") -> Value:
        ty = ptr.type.pointee     # type: ignore[attr-defined]
        ops = "".join(f", {i.type} {i.ref}" for i in idx)
        return self._emit(ptr.type, f"getelementptr {ty}, ptr {ptr.ref}{ops}")

    # ---- arithmetic
    def _bin(self, op: str, x: Value, y: Value) -> Value:
        cx, cy = x.const, y.const
        if op == "add" and cx is not None and y.sym is not None:
            x, y, cx, cy = y, x, cy, cx
        if x.sym is not None and cy is not None and cx is None:
            if op == "add" and cy:
                out = self._emit(x.type, f"add {x.type} {x.ref}, {y.ref}")
                out.sym = _sym_add(x.sym, cy)
                return out
            if op == "and" and cy == M32:
                if _masked(x.sym):
                    return x
                out = self._emit(x.type, f"and {x.type} {x.ref}, {y.ref}")
                out.sym = _sym_mask(x.sym)
                return out
        if cy is not None:
            if cx is not None and op in _FOLD:
                n = int(x.type.text[1:])
                v = _FOLD[op](cx, cy, n)
                if v is not None:
                    return Constant(x.type, v)
            if _RIGHT_UNIT.get(op) == cy:
                return x
            if op == "and" and cy == (1 << int(x.type.text[1:])) - 1:
                return x
        elif cx == 0 and op in ("add", "or", "xor"):
            return y
        return self._emit(x.type, f"{op} {x.type} {x.ref}, {y.ref}")

    def add(self, x: Value, y: Value, name: str = "") -> Value:
        return self._bin("add", x, y)

    def sub(self, x: Value, y: Value, name: str = "") -> Value:
        return self._bin("sub", x, y)

    def mul(self, x: Value, y: Value, name: str = "") -> Value:
        return self._bin("mul", x, y)

    def sdiv(self, x: Value, y: Value, name: str = "") -> Value:
        return self._bin("sdiv", x, y)

    def udiv(self, x: Value, y: Value, name: str = "") -> Value:
        return self._bin("udiv", x, y)

    def and_(self, x: Value, y: Value, name: str = "") -> Value:
        return self._bin("and", x, y)

    def or_(self, x: Value, y: Value, name: str = "") -> Value:
        return self._bin("or", x, y)

    def xor(self, x: Value, y: Value, name: str = "") -> Value:
        return self._bin("xor", x, y)

    def shl(self, x: Value, y: Value, name: str = "") -> Value:
        return self._bin("shl", x, y)

    def ashr(self, x: Value, y: Value, name: str = "") -> Value:
        return self._bin("ashr", x, y)

    def lshr(self, x: Value, y: Value, name: str = "") -> Value:
        return self._bin("lshr", x, y)

    def not_(self, x: Value, name: str = "") -> Value:
        return self._bin("xor", x, Constant(x.type, -1))

    def neg(self, x: Value, name: str = "") -> Value:
        return self._bin("sub", Constant(x.type, 0), x)

    def _cmp(self, pred: str, x: Value, y: Value) -> Value:
        t = x.type.text
        if x.const is not None and y.const is not None:
            return Constant(_I1, _CMP[pred](x.const, y.const, int(t[1:])))
        if pred in ("eq", "ne") and x.sym is not None and y.sym is not None:
            got = _sym_eq(x.sym, y.sym)
            if isinstance(got, bool):
                return Constant(_I1, got == (pred == "eq"))
            if got is not None:
                c, pos = got
                return c if pos == (pred == "eq") else self.not_(c)
        ty = _I1 if not t.startswith("<") else Type(t.split(" x ")[0] + " x i1>")
        return self._emit(ty, f"icmp {pred} {t} {x.ref}, {y.ref}")

    def icmp_signed(self, op: str, x: Value, y: Value, name: str = "") -> Value:
        return self._cmp(_ICMP_S[op], x, y)

    def icmp_unsigned(self, op: str, x: Value, y: Value, name: str = "") -> Value:
        return self._cmp(_ICMP_U[op], x, y)

    def select(self, c: Value, x: Value, y: Value, name: str = "") -> Value:
        if c.const is not None:
            return x if c.const else y
        if x.ref == y.ref:
            return x
        out = self._emit(x.type, f"select i1 {c.ref}, {x.type} {x.ref}, {y.type} {y.ref}")
        if x.sym is not None and y.sym is not None:
            out.sym = ("sel", c, x.sym, y.sym)
        return out

    # ---- casts
    def _cast(self, op: str, v: Value, ty: Type) -> Value:
        if v.const is not None and op in ("zext", "sext", "trunc"):
            return Constant(ty, _signed(v.const, int(v.type.text[1:])) if op == "sext" else v.const)
        return self._emit(ty, f"{op} {v.type} {v.ref} to {ty}")

    def zext(self, v: Value, ty: Type, name: str = "") -> Value:
        return self._cast("zext", v, ty)

    def sext(self, v: Value, ty: Type, name: str = "") -> Value:
        return self._cast("sext", v, ty)

    def trunc(self, v: Value, ty: Type, name: str = "") -> Value:
        return self._cast("trunc", v, ty)

    def inttoptr(self, v: Value, ty: Type, name: str = "") -> Value:
        return self._cast("inttoptr", v, ty)

    def ptrtoint(self, v: Value, ty: Type, name: str = "") -> Value:
        return self._cast("ptrtoint", v, ty)

    def bitcast(self, v: Value, ty: Type, name: str = "") -> Value:
        if isinstance(ty, PointerType) and isinstance(v.type, PointerType):
            return Value(ty, v.ref)        # opaque pointers: only the pointee we remember changes
        return self._cast("bitcast", v, ty)

    # ---- calls and control flow
    def call(self, fn: Value, args: Sequence[Value], name: str = "", tail: str | None = None) -> Value:
        ft = fn.type.pointee      # type: ignore[attr-defined]
        ops = ", ".join(f"{a.type} {a.ref}" for a in args)
        pre = f"{tail} " if tail else ""
        return self._emit(ft.ret, f"{pre}call {ft.ret} {fn.ref}({ops})")

    def branch(self, target: Block) -> None:
        self._term(f"br label %{target.label}")

    def cbranch(self, c: Value, yes: Block, no: Block, prof: str | None = None) -> None:
        """`prof`: a branch-weights metadata node (e.g. "!0") the module defines."""
        tail = f", !prof {prof}" if prof else ""
        self._term(f"br i1 {c.ref}, label %{yes.label}, label %{no.label}{tail}")

    def ret(self, v: Value) -> None:
        self._term(f"ret {v.type} {v.ref}")

    def _term(self, text: str) -> None:
        blk = self.block
        blk.lines.append(text)
        blk.is_terminated = True

