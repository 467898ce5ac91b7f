"""Translated regions as LLVM IR, straight from the ISA table (the JIT tier's native backend).

The same regions as flashvm/isa/jitgen.py (whose `leaf` gives each instruction's
code: the interpreter's own leaf for its table entry, fields folded to
constants), but a small compiler here turns that Python into LLVM IR rather than
handing it to Numba: every value is an int64, as in the interpreter, so the
arithmetic is the interpreter's bit for bit, and a region compiles in milliseconds.

A region is a function `i64 region(i64 ctx)` with the call-context layout of
flashvm/kernels/jit.py.  Guest registers and CPU slots a region uses live in
local variables (host registers): loaded once on entry; in a straight region a
write also goes to the state array at once (WRITE_THROUGH: cheaper than keeping
every changed register live to the exit), a region that loops writes back what
it changed on leaving.  Every exit stores pc, npc and bpc into the context and
returns the number of instructions retired (-1: the code words changed).

The IR is written as text by flashvm/isa/irtext.py, constants folded on the way.
A region with a branch back to one of its own words (a loop's top; llvmfast.py)
goes round inside the function while the context's allowance (slot 14) lasts.
An FPU helper's fast path is written inline (flashvm/isa/llvmfpu.py), its call
left for the cases it does not cover.  Anything outside the subset this
compiler knows raises `Unsupported`, and that instruction ends the region.
"""
from __future__ import annotations

import ast
import functools
import hashlib
import re
from pathlib import Path
from typing import Callable

from flashvm.isa import gen, irtext as ir, jitgen
from flashvm.isa.leaftemplates import template
from flashvm.isa.llvmchain import CTX_ACC, CTX_BUDGET, CTX_TABLE, CTX_TSIZE, Chaining
from flashvm.isa.llvmfast import FastPaths, back_edges, loops
from flashvm.isa.llvmfcsr import LazyFcsr, is_fcsr
from flashvm.isa.llvmfpu import FPU_ARGS, fpu_symbol
from flashvm.isa.llvmfregs import FpuRegs
from flashvm.isa.llvmstop import StopChecks
from flashvm.kernels import mmu, state

VERSION = "llvm-15"   # llvm-14: the FCSR in pieces (LAZY_FCSR); llvm-15: O2 for straight regions (jitnative)
I64 = ir.IntType(64)
I32 = ir.IntType(32)
I16 = ir.IntType(16)
I8 = ir.IntType(8)
I1 = ir.IntType(1)
M32 = 0xFFFFFFFF
_CONSTS = {k: v for k, v in {**vars(state), "TC_MASK": mmu.TC_MASK, "M32": M32}.items()
           if isinstance(v, int) and k.isupper()}
_RAM = {"ram8": (I8, 0), "ram16": (I16, 1), "ram32": (I32, 2)}
_TLB = {"ltag": 4, "ladd": 5, "stag": 6, "sadd": 7}
_CACHED = {"r": 0, "st": 1, "f": 2}      # arrays whose elements live in locals (constant indices)
CTX_SLOTS = 32
WRITE_THROUGH = True    # straight regions: registers written to the state arrays as they change
INLINE_FPU = True       # FPU helpers' fast paths inline (flashvm/isa/llvmfpu.py), else every one a call
# FR = 0 code keeps the upper 32 bits of the FPU slots it writes (bits.wr_s/wr_d, mtc1, mthc1, lwc1): if a region's
# slots hold none on entry (checked: else it is not entered) they hold none in it, so a double is split without
# the old upper words, and a read of a double the region wrote whole takes that value (no join of the halves).
NARROW_F = True
LAZY_FCSR = True        # the FCSR as base, cause and flags, put together at exits (flashvm/isa/llvmfcsr.py)
_HELPERS = frozenset(gen.FPU_HELPERS)


class Unsupported(Exception):
    """Code outside the subset this compiler translates."""


_CONST64: dict[int, ir.Value] = {}


def _c(v: int) -> ir.Value:
    got = _CONST64.get(v)
    if got is None:
        got = _CONST64[v] = ir.Constant(I64, v)
    return got


class _Region(StopChecks, FastPaths, Chaining, LazyFcsr, FpuRegs):
    """Compiles one region's instructions into one function."""

    def __init__(self, module: ir.Module, name: str, words: list[int]) -> None:
        self.words = words
        fn = ir.Function(module, ir.FunctionType(I64, [I64]), name=name)
        self.fn = fn
        self.entry = fn.append_basic_block("entry")     # allocas and loads of the state used
        self.pre = ir.IRBuilder(self.entry)
        # bit 0 of the argument: entered by another region's exit (chained), which left the
        # instructions retired so far in the context's CTX_ACC slot
        self.chained = self.pre.trunc(fn.args[0], I1, name="chained")
        self.ctxp = self.pre.inttoptr(self.pre.and_(fn.args[0], _c(-8)), I64.as_pointer(), name="ctxp")
        self.b = ir.IRBuilder(fn.append_basic_block("check"))
        self.base: dict[int, ir.Value] = {}
        self.vars: dict[str, ir.AllocaInstr] = {}
        self.regs: dict[tuple[str, int], ir.AllocaInstr] = {}
        self.dirty: set[tuple[str, int]] = set()
        self.exit_block = fn.append_basic_block("exit")
        self.uses_mode = False
        self.write_through = WRITE_THROUGH
        self.fields: dict[str, int] = {}     # the instruction's field values (its template's names)
        self.wrote_r0 = False                # the instruction assigned r[0] (zeroed again after it)
        # pc, npc, npc2, bpc as SSA values while they are assigned outside any `if` (their locals
        # are written too), so that their symbolic offsets from the entry PC fold (irtext.lin)
        self.shadow: dict[str, ir.Value] = {}
        self.depth = 0                       # nesting of the `if` being built
        self.rpa: ir.Value | None = None
        self.f0: list[ir.Value] = []         # FPU register slots as loaded on entry (NARROW_F: checked there)
        self.narrow = NARROW_F
        self.fpair: dict[int, ir.Value] = {}  # even register -> the double last written whole to its pair
        self.lazy_fcsr = LAZY_FCSR

    # ---- the context, locals and cached state
    def ctx(self, slot: int, b: ir.IRBuilder | None = None) -> ir.Value:
        b = b or self.b
        return b.load(b.gep(self.ctxp, [_c(slot)]))

    def ptr(self, slot: int, ty: ir.Type) -> ir.Value:
        """The array whose address is context slot `slot`, loaded once in the entry block."""
        key = (slot, str(ty))
        got = self.base.get(key)   # type: ignore[call-overload]
        if got is None:
            eb = self.pre
            got = eb.inttoptr(self.ctx(slot, eb), ty.as_pointer())
            self.base[key] = got   # type: ignore[index]
        return got

    def var(self, name: str) -> ir.AllocaInstr:
        a = self.vars.get(name)
        if a is None:
            eb = self.pre
            a = eb.alloca(I64, name=name)
            eb.store(_c(0), a)
            self.vars[name] = a
        return a

    def reg(self, arr: str, k: int) -> ir.AllocaInstr:
        """Guest register r[k] / CPU slot st[k], in a local loaded on entry."""
        a = self.regs.get((arr, k))
        if a is None:
            eb = self.pre
            a = eb.alloca(I64, name=f"{arr}{k}")
            base = self.ptr(_CACHED[arr], I64)
            v = eb.load(eb.gep(base, [_c(k)]))
            eb.store(v, a)
            self.regs[(arr, k)] = a
            if arr == "f":
                self.f0.append(v)
        return a

    # ---- expressions (int64, or i1 for conditions)
    def static(self, node: ast.expr) -> int | None:
        """The value of an expression known when translating (constants, CU1 = 1, FR = 0), else None:
        the dead side of an `if` on it is not even built."""
        if isinstance(node, ast.Name) and node.id in ("cu1", "fr64"):
            self.uses_mode = True
            return int(node.id == "cu1")
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            v = self.static(node.operand)
            return None if v is None else int(not v)
        if isinstance(node, ast.BoolOp):
            vals = [self.static(v) for v in node.values]
            if isinstance(node.op, ast.And):
                return 0 if 0 in vals else (1 if None not in vals else None)
            return 1 if any(v for v in vals if v) else (0 if None not in vals else None)
        if isinstance(node, ast.BinOp) and type(node.op) in (ast.BitAnd, ast.BitOr, ast.BitXor):
            x, y = self.static(node.left), self.static(node.right)
            if x is None or y is None:
                return None
            return x & y if isinstance(node.op, ast.BitAnd) else (x | y if isinstance(node.op, ast.BitOr) else x ^ y)
        try:
            return self.const_of(node)
        except Unsupported:
            return None

    def val(self, node: ast.expr) -> ir.Value:
        v = self.expr(node)
        return self.b.zext(v, I64) if v.type == I1 else v

    def cond(self, node: ast.expr) -> ir.Value:
        v = self.expr(node)
        return v if v.type == I1 else self.b.icmp_signed("!=", v, _c(0))

    def const_of(self, node: ast.expr) -> int:
        if isinstance(node, ast.Constant) and isinstance(node.value, int):
            return node.value
        if isinstance(node, ast.Name):
            if node.id in self.fields:
                return self.fields[node.id]
            if node.id in _CONSTS:
                return _CONSTS[node.id]
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -self.const_of(node.operand)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return self.const_of(node.left) | self.const_of(node.right)
        raise Unsupported("not a constant")     # the common answer of static(): no node to format

    def index(self, node: ast.Subscript) -> tuple[str, ir.Value]:
        """(array name, element pointer) of a subscript; r and st are cached locals."""
        if not isinstance(node.value, ast.Name):
            raise Unsupported(ast.dump(node))
        arr = node.value.id
        if arr in _CACHED:
            return arr, self.reg(arr, self.const_of(node.slice))
        if arr in _RAM:
            ty, _ = _RAM[arr]
            return arr, self.b.gep(self.ptr(3, ty), [self.val(node.slice)])
        if arr in _TLB:
            return arr, self.b.gep(self.ptr(_TLB[arr], I64), [self.val(node.slice)])
        raise Unsupported(arr)

    def expr(self, node: ast.expr) -> ir.Value:
        b = self.b
        if isinstance(node, ast.Constant):
            if isinstance(node.value, bool) or not isinstance(node.value, int):
                raise Unsupported(repr(node.value))
            return _c(node.value)
        if isinstance(node, ast.Name):
            if node.id in self.fields:
                return _c(self.fields[node.id])
            if node.id in _CONSTS:
                return _c(_CONSTS[node.id])
            if node.id == "rpa":      # the region's physical address: loaded once, on entry
                if self.rpa is None:
                    self.rpa = self.ctx(15, self.pre)
                return self.rpa
            if node.id in ("cu1", "fr64"):
                self.uses_mode = True     # compiled for CU1 = 1, FR = 0: checked once on entry
                return ir.Constant(I1, int(node.id == "cu1"))
            if node.id in self.vars:
                return self.get(node.id)
            raise Unsupported(node.id)
        if isinstance(node, ast.Subscript):
            if self.lazy_fcsr and is_fcsr(node):
                return self.fcsr_now()
            arr, p = self.index(node)
            v = b.load(p)
            return b.zext(v, I64) if arr in _RAM else v
        if isinstance(node, ast.BinOp):
            x, y = self.val(node.left), self.val(node.right)
            ops = {ast.Add: b.add, ast.Sub: b.sub, ast.Mult: b.mul, ast.BitAnd: b.and_, ast.BitOr: b.or_,
                   ast.BitXor: b.xor, ast.LShift: b.shl, ast.RShift: b.ashr}
            op = ops.get(type(node.op))
            if op is None:
                raise Unsupported(ast.dump(node.op))
            return op(x, y)
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                return b.not_(self.cond(node.operand))
            if isinstance(node.op, ast.Invert):
                return b.not_(self.val(node.operand))
            if isinstance(node.op, ast.USub):
                return b.neg(self.val(node.operand))
            raise Unsupported(ast.dump(node.op))
        if isinstance(node, ast.Compare):
            if len(node.ops) != 1:
                raise Unsupported("chained comparison")
            names = {ast.Eq: "==", ast.NotEq: "!=", ast.Lt: "<", ast.LtE: "<=", ast.Gt: ">", ast.GtE: ">="}
            return b.icmp_signed(names[type(node.ops[0])], self.val(node.left), self.val(node.comparators[0]))
        if isinstance(node, ast.BoolOp):
            vals = [self.cond(v) for v in node.values]      # operands are pure: no short circuit needed
            out = vals[0]
            for v in vals[1:]:
                out = b.and_(out, v) if isinstance(node.op, ast.And) else b.or_(out, v)
            return out
        if isinstance(node, ast.IfExp):
            known = self.static(node.test)
            if known is not None:
                return self.val(node.body if known else node.orelse)
            return b.select(self.cond(node.test), self.val(node.body), self.val(node.orelse))
        if isinstance(node, ast.Call) and isinstance(node.func, (ast.Name, ast.Attribute)):
            return self.call(node)
        raise Unsupported(ast.dump(node))

    def call(self, node: ast.Call) -> ir.Value:
        b = self.b
        fname = node.func.id if isinstance(node.func, ast.Name) else ast.unparse(node.func)
        lazy = fname in ("fcc", "set_fcc") and self.lazy_fcsr and is_fcsr(node.args[0])
        args = [] if fname in ("rd_s", "rd_d") else [_c(0) if lazy and k == 0 else self.val(a)
                                                      for k, a in enumerate(node.args)]
        if fname == "np.int64" and len(args) == 1:
            return args[0]
        if fname == "s32":
            return b.sext(b.trunc(args[0], I32), I64)
        if fname == "rd_s":
            v = b.load(self.freg(node.args[0], node.args[1]))     # (NARROW_F: no upper word to clear)
            return v if self.narrow else b.and_(v, _c(M32))
        if fname == "rd_d":
            fr = self.static(node.args[1])
            lo = b.load(self.freg(node.args[0], node.args[2]))
            whole = self.fpair.get(self.const_of(node.args[2])) if self.narrow and fr == 0 else None
            if whole is not None:
                return whole
            hi = b.load(self.freg(node.args[0], node.args[2], 1))
            pair = b.or_(lo if self.narrow else b.and_(lo, _c(M32)), b.shl(hi, _c(32)))
            return (lo if fr else pair) if fr is not None else b.select(self.cond(node.args[1]), lo, pair)
        if lazy:
            args[0] = self.fcsr_base()      # (the condition codes are in the base: llvmfcsr.py)
        if fname == "fcc":
            return b.and_(b.ashr(args[0], _c(self._ccbit(node.args[1]))), _c(1))
        if fname == "set_fcc":
            bit = _c(1 << self._ccbit(node.args[1]))
            return b.select(b.icmp_signed("!=", args[2], _c(0)), b.or_(args[0], bit), b.and_(args[0], b.not_(bit)))
        if fname == "clz32":
            ctlz = self.fn.module.globals.get("llvm.ctlz.i32")
            if ctlz is None:     # declared by hand: llvmlite's declaration lacks the is_zero_poison flag
                ctlz = ir.Function(self.fn.module, ir.FunctionType(I32, [I32, I1]), name="llvm.ctlz.i32")
            return b.zext(b.call(ctlz, [b.trunc(args[0], I32), ir.Constant(I1, 0)]), I64)
        raise Unsupported(fname)

    # ---- statements
    def set_reg(self, arr: str, k: int, v: ir.Value) -> None:
        """Write a cached register: its local, and (WRITE_THROUGH) the state array at once."""
        b = self.b
        b.store(v, self.reg(arr, k))
        self.dirty.add((arr, k))
        if arr == "f":
            self.fpair.pop(k & ~1, None)
        if self.write_through:
            b.store(v, b.gep(self.ptr(_CACHED[arr], I64), [_c(k)]))

    def store(self, target: ast.expr, v: ir.Value) -> None:
        b = self.b
        if isinstance(target, ast.Name):
            self.put(target.id, v)
            return
        if isinstance(target, ast.Subscript):
            if isinstance(target.value, ast.Name) and target.value.id in _CACHED:
                arr = target.value.id
                k = self.const_of(target.slice)
                self.wrote_r0 |= arr == "r" and k == 0
                self.set_reg(arr, k, v)
                return
            arr, p = self.index(target)
            if arr in _RAM:
                b.store(b.trunc(v, _RAM[arr][0]), p)
            else:
                raise Unsupported(arr)
            return
        raise Unsupported(ast.dump(target))

    def divide(self, targets: list[ast.expr], node: ast.Call, signed: bool) -> None:
        """div32 / divu32 (flashvm/kernels/bits.py): a zero divisor (or INT_MIN / -1) divides by 1."""
        b = self.b
        x, y = self.val(node.args[0]), self.val(node.args[1])
        one = b.icmp_signed("==", y, _c(0))
        if signed:
            one = b.or_(one, b.and_(b.icmp_signed("==", x, _c(-0x80000000)), b.icmp_signed("==", y, _c(-1))))
        y = b.select(one, _c(1), y)
        q = b.sdiv(x, y) if signed else b.udiv(x, y)
        self.store(targets[0], q)
        self.store(targets[1], b.sub(x, b.mul(q, y)))

    def stmts(self, body: list[ast.stmt], leave: Callable[[], ir.Block]) -> None:
        skip = 0
        for k, s in enumerate(body):
            if self.b.block.is_terminated:
                return
            if skip:
                skip -= 1
            elif k + 1 < len(body) and self.tlb_cached(s, body[k + 1], leave):
                skip = 1        # the soft-TLB test and the addend's use: through the page cache
            elif self.lazy_fcsr and INLINE_FPU and isinstance(s, ast.Assign) and (n := self.fpu_op(body, k, leave, _HELPERS)):
                skip = n - 1    # an FPU operation and its commit (llvmfcsr.py)
            else:
                self.stmt(s, leave)

    def stmt(self, s: ast.stmt, leave: Callable[[], ir.Block]) -> None:
        b = self.b
        if isinstance(s, ast.Pass):
            return
        if isinstance(s, ast.Break):
            b.branch(leave())
            return
        if isinstance(s, ast.Assign) and len(s.targets) == 1:
            t = s.targets[0]
            if isinstance(t, ast.Tuple):
                call = s.value
                if (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                        and call.func.id in ("div32", "divu32") and len(t.elts) == 2):
                    self.divide(list(t.elts), call, call.func.id == "div32")
                    return
                if (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                        and call.func.id in gen.FPU_HELPERS and len(t.elts) == 2):
                    self.fpu_call(list(t.elts), call, call.func.id)
                    return
                raise Unsupported(ast.dump(s))
            if self.lazy_fcsr and is_fcsr(t):
                self.fcsr_assign(s.value)
                return
            self.store(t, self.val(s.value))
            return
        if isinstance(s, ast.Expr) and isinstance(s.value, ast.Call):
            self.write_f(s.value)
            return
        if isinstance(s, ast.If):
            known = self.static(s.test)
            if known is not None:
                self.stmts(s.body if known else s.orelse, leave)
                return
            c = self.cond(s.test)
            if self.pc_select(s, c):
                return
            self.depth += 1
            then = self.fn.append_basic_block()
            other = self.fn.append_basic_block() if s.orelse else None
            join = self.fn.append_basic_block()
            b.cbranch(c, then, other or join)
            b.position_at_end(then)
            self.stmts(s.body, leave)
            if not b.block.is_terminated:
                b.branch(join)
            if other is not None:
                b.position_at_end(other)
                self.stmts(s.orelse, leave)
                if not b.block.is_terminated:
                    b.branch(join)
            b.position_at_end(join)
            self.depth -= 1
            return
        raise Unsupported(ast.dump(s))

    # ---- hooks for the timing-mode regions (flashvm/isa/llvmtiming.py); here they add nothing
    def leaf_code(self, word: int) -> tuple[str, ...] | None:
        """The Python lines of one instruction: its table entry's leaf, fields by name (template)."""
        return template(jitgen.decode(word))[0]      # type: ignore[arg-type]

    def body(self, word: int, code: tuple[str, ...]) -> list[ast.stmt]:
        """The statements of `code`, leaf_code(word): the entry's template parsed once, the word's
        field values in self.fields (read as constants, as if folded into the text)."""
        _, stmts, fields = template(jitgen.decode(word))     # type: ignore[arg-type]
        self.fields = {name: f(word) for name, f in fields}
        return stmts

    def fetch_check(self, pc: ir.Value, before: Callable[[], ir.Block]) -> None:
        """Code before each instruction: the stop test at checkpoints (llvmstop.py; timing mode: the
        L1I hit test and a stop test per instruction)."""
        self.stop_check(before)

    def on_exit(self) -> None:
        """Code in the exit block, before chaining (timing mode: the fetch line goes back)."""

    # ---- exits and the region
    def leave_block(self, pc: ir.Value, npc: ir.Value, bpc: ir.Value, done: ir.Value, k: int) -> ir.Block:
        """A block that leaves the region with this pc, npc, bpc and count done + k."""
        blk = self.fn.append_basic_block()
        eb = ir.IRBuilder(blk)
        n = eb.add(done, _c(k))
        for name, v in (("x_pc", pc), ("x_npc", npc), ("x_bpc", bpc), ("x_n", n)):
            eb.store(v, self.var(name))
        eb.branch(self.exit_block)
        return blk

    def build(self, loops: bool) -> None:
        b = self.b
        # a region that loops keeps its registers in host registers round the loop (O2 would not
        # move the stores out: they may alias guest memory) and writes them back on leaving
        self.write_through = WRITE_THROUGH and not loops
        for name in ("x_pc", "x_npc", "x_bpc", "x_n", "pc", "npc", "npc2", "bpc", "done"):
            self.var(name)
        ram32 = self.ptr(3, I32)
        p0 = b.ashr(self.ctx(15), _c(2))
        # the code words, compared as one vector: any bit of (words xor expected) set
        vt = ir.VectorType(I32, len(self.words))
        got = b.load(b.bitcast(b.gep(ram32, [p0]), vt.as_pointer()), align=4)
        diff = b.xor(got, ir.Constant(vt, [ir.Constant(I32, w) for w in self.words]))
        red = f"llvm.vector.reduce.or.v{len(self.words)}i32"
        orv = self.fn.module.globals.get(red) or ir.Function(self.fn.module, ir.FunctionType(I32, [vt]), name=red)
        stale = b.icmp_unsigned("!=", b.call(orv, [diff]), ir.Constant(I32, 0))
        bad = self.fn.append_basic_block("stale")
        mode = self.fn.append_basic_block("mode")
        start = self.fn.append_basic_block("start")
        b.cbranch(stale, bad, mode)
        b.position_at_end(bad)
        # rewritten code: -1, or when chained what the chain retired (the loop then meets it unchained)
        acc = b.select(self.chained, self.ctx(CTX_ACC), _c(0))
        b.ret(b.select(self.chained, acc, _c(-1)))
        b.position_at_end(start)
        pc0 = ir.lin(self.ctx(8))     # the entry PC: every PC below is an offset from it
        b.store(pc0, self.vars["pc"])
        b.store(self.ctx(9), self.vars["npc"])
        b.store(self.ctx(10), self.vars["bpc"])
        budget = self.ctx(CTX_BUDGET)
        top = self.fn.append_basic_block("top")
        b.branch(top)
        b.position_at_end(top)
        # at the top (entry, or going round) pc is the first word's and npc the next (the loop
        # and chaining enter only outside a delay slot)
        self.shadow = {"pc": pc0, "npc": b.and_(b.add(pc0, _c(4)), _c(M32))}
        self.fpair = {}
        after_branch = False
        nw = len(self.words)
        backs = back_edges(self.words)      # branch -> the word it may go back to (the loop's top)
        tops = {t: self.fn.append_basic_block(f"top{t}") for t in set(backs.values()) if t}
        tops[0] = top
        for i, w in enumerate(self.words):
            if i and i in tops:     # a loop's top: reached from the word before or by going round
                b.branch(tops[i])
                b.position_at_end(tops[i])
                self.shadow = {"pc": self.pc_at(pc0, i), "npc": self.pc_at(pc0, i + 1)}
                self.fpair = {}     # (a value from before the top is not the one after going round)
            e = jitgen.decode(w)
            code = self.leaf_code(w)
            assert e is not None and code is not None
            done = b.load(self.vars["done"])
            pc_i, npc_i, bpc_i = (self.get(x) for x in ("pc", "npc", "bpc"))
            made: list[ir.Block] = []

            def before() -> ir.Block:    # leaving before this instruction: made at its first use
                if not made:
                    made.append(self.leave_block(pc_i, npc_i, bpc_i, done, i))
                return made[0]
            self.fetch_check(pc_i, before)
            self.put("npc2", b.and_(b.add(npc_i, _c(4)), _c(M32)))
            store = "STORE" in e.sem
            if store:
                b.store(_c(0), self.var("smc"))
            self.fields = {}
            self.wrote_r0 = False
            self.stmts(self.body(w, code), before)
            if b.block.is_terminated:
                raise Unsupported(f"{e.name} always leaves")
            if self.wrote_r0:
                if self.write_through:
                    self.set_reg("r", 0, _c(0))
                else:
                    b.store(_c(0), self.reg("r", 0))
            npc_after = self.get("npc")
            self.put("pc", npc_after)
            self.put("npc", self.get("npc2"))
            j = i + 1
            nxt = self.fn.append_basic_block()

            def leave_after() -> ir.Block:
                return self.leave_block(self.get("pc"), self.get("npc"), self.get("bpc"), done, j)
            if store:
                b.cbranch(b.icmp_signed("!=", b.load(self.vars["smc"]), _c(0)), leave_after(), nxt)
                b.position_at_end(nxt)
                nxt = self.fn.append_basic_block()
            if after_branch and i - 1 in backs:
                t = backs[i - 1]
                self.go_round(pc0, npc_after, t, tops[t], b.add(done, _c(j - t)), budget, nxt)
                nxt = self.fn.append_basic_block()
            if "branch" in e.flags or after_branch:
                here = self.pc_at(pc0, j)
                off = b.icmp_unsigned("!=", npc_after, here)
                if off.const != 0:       # (folded to false: the next PC is the next word's)
                    b.cbranch(off, leave_after(), nxt)
                    b.position_at_end(nxt)
                    nxt = self.fn.append_basic_block()
                # staying: pc is the next word's, and after a delay slot npc the one after it
                self.put("pc", here)
                if "branch" not in e.flags:
                    self.put("npc", self.pc_at(pc0, j + 1))
            b.branch(nxt)
            b.position_at_end(nxt)
            after_branch = "branch" in e.flags
        done = b.add(b.load(self.vars["done"]), _c(nw))
        pc, npc, bpc = (self.get(x) for x in ("pc", "npc", "bpc"))
        b.branch(self.leave_block(pc, npc, bpc, done, 0))
        # the one way out: (without WRITE_THROUGH write back what changed,) report pc, npc, bpc and the count
        b.position_at_end(self.exit_block)
        for (arr, k), a in sorted(self.regs.items()):
            if (arr, k) in self.dirty and not self.write_through:
                b.store(b.load(a), b.gep(self.ptr(_CACHED[arr], I64), [_c(k)]))
        if self.lazy_fcsr:
            self.fcsr_writeback(b, self.ptr(_CACHED["st"], I64))
        pc, npc = b.load(self.vars["x_pc"]), b.load(self.vars["x_npc"])
        for slot, v in ((8, pc), (9, npc), (10, b.load(self.vars["x_bpc"]))):
            b.store(v, b.gep(self.ctxp, [_c(slot)]))
        n = b.load(self.vars["x_n"])
        total = b.add(b.select(self.chained, self.ctx(CTX_ACC), _c(0)), n)
        self.on_exit()
        self.chain(pc0, pc, npc, n, total)
        # compiled for CU1 = 1 and FR = 0 if it reads them: in another mode it is not entered
        # (0 retired, or when chained what the chain retired; the interpreter goes on from here)
        b.position_at_end(mode)
        wide = self.narrow and bool(self.f0)
        if self.uses_mode or wide:
            other = (b.or_(b.icmp_signed("==", self.ctx(11), _c(0)), b.icmp_signed("!=", self.ctx(12), _c(0)))
                     if self.uses_mode else ir.Constant(I1, 0))
            if wide:        # an FPU slot with an upper word (left by FR = 1 code): not entered either
                other = b.or_(other, b.icmp_unsigned(">", functools.reduce(b.or_, self.f0), _c(M32)))
            skip = self.fn.append_basic_block("other_mode")
            b.cbranch(other, skip, start)
            b.position_at_end(skip)
            b.ret(b.select(self.chained, self.ctx(CTX_ACC), _c(0)))
        else:
            b.branch(start)
        self.pre.branch(self.fn.basic_blocks[1])


def supported(word: int) -> bool:
    """Can this compiler translate the instruction word?  (Decided per table entry: the
    names an entry's code uses do not depend on its fields.)"""
    e = jitgen.decode(word)
    if e is None:
        return False
    got = ENTRY_OK.get(e.name)
    if got is None:
        got = ENTRY_OK[e.name] = jitgen.leaf(word) is not None and _probe(e.name, word)
    return got


# table entry -> translatable (jitgen.leaf and this compiler): filled as words are met, and
# saved beside the translation cache by flashvm/kernels/jit.py, so a warm start builds no probe
ENTRY_OK: dict[str, bool] = {}


def _probe(name: str, word: int) -> bool:
    words = [word, 0] if "branch" in (jitgen.decode(word) or jitgen.decode(0)).flags else [word]   # type: ignore[union-attr]
    try:
        _Region(ir.Module(name="probe"), "probe", words).build(False)
        return True
    except Unsupported:
        return False


def entry_table_key() -> str:
    """Names the ENTRY_OK table of this translator: its version and the sources it derives from."""
    h = hashlib.sha256(f"{jitgen.VERSION}/{VERSION}".encode())
    here = Path(__file__).resolve().parent
    for name in ("table.py", "gen.py", "macros.py", "fields.py", "jitgen.py", "llvmgen.py", "llvmfast.py", "llvmchain.py",
                 "llvmstop.py", "irtext.py", "leaftemplates.py", "llvmfpu.py", "llvmfcsr.py", "llvmfregs.py"):
        h.update((here / name).read_bytes())
    return h.hexdigest()[:16]


def region_name(prefix: str, k: int) -> str:
    return f"{prefix}_{k}"


def module_ir(regions: list[list[int]], prefix: str, checks: bool = True) -> str:
    """LLVM IR of a module holding the regions, functions `{prefix}_{k}` (`checks`: with the stop
    tests at checkpoints, llvmstop.py; without, a region must be entered only if all of it fits)."""
    module = ir.Module(name=prefix)
    module.triple = ""
    for k, words in enumerate(regions):
        region = _Region(module, region_name(prefix, k), words)
        region.stop_checks = checks
        region.build(loops(words))
    # the FPU wrappers write nothing but their cause: registers and context stay in host registers
    return re.sub(r'^(declare i64 @"flashvm_fpu_\w+"\(.*\))$', r"\1 nounwind willreturn memory(argmem: readwrite)",
                  str(module), flags=re.M)


def scan(words: list[int]) -> int:
    """jitgen.scan, limited to the instructions this compiler translates."""
    return jitgen.scan(words, supported)


__all__ = ["CTX_ACC", "CTX_BUDGET", "CTX_SLOTS", "CTX_TABLE", "CTX_TSIZE", "FPU_ARGS", "fpu_symbol", "ENTRY_OK",
           "VERSION", "Unsupported", "back_edges", "entry_table_key", "loops", "module_ir", "region_name", "scan",
           "supported"]
