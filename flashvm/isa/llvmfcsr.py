"""The FCSR in translated regions, kept in pieces (a mixin of flashvm/isa/llvmgen.py's `_Region`).

Every FPU operation of a leaf ends in the interpreter's commit (macros.FPU_COMMIT):

    _fc = (st[FCSR] & ~0x3F000) | (cause << 12)
    if cause & (((_fc >> 7) & 0x1F) | 0x20):      # an enabled exception (or E): leave before it
        st[FCSR] = _fc
        exc = EXC_FPE
        break
    st[FCSR] = _fc | ((cause & 0x1F) << 2)         # the cause field, and the sticky flags

Written as it stands, each operation made a chain of shifts, masks and a compare on the whole
FCSR word, a branch, and (in a straight region) a store of the word.  Here the region keeps the
FCSR as three locals: `base` (the word as on entry, with the condition codes the compares set),
`cause` (the last operation's cause field) and `acc` (the flags raised since entry, OR-ed), and
puts the word together, (base & ~0x3F000) | cause << 12 | acc << 2, only where it is read whole:
at the region's exits (written back to the CPU's slot) and in the calls of the helpers' slow
paths.  The condition codes (bc1t, movf, c.cond) read and write `base` alone (bits 23 and 25-31,
apart from the cause and flag fields).

The rounding mode and the enable bits do not change inside a region (only CTC1 writes them, and
it is not translated), so one test on entry, `env` = (FCSR & 0xF83) == 0 (round to nearest, no
exception enabled), stands for the fast paths' per-operation rounding-mode test; an inline fast
path (flashvm/isa/llvmfpu.py) holds only under it.  Its cause is then 0 or Inexact, never
enabled: the exception test is made only after a call of the helper (any cause, any mode) and
for an operation without a slow path whose cause may be nonzero (a compare's Invalid).  The
result is the interpreter's word at every exit, bit for bit.
"""
from __future__ import annotations

import ast
from typing import Callable

from flashvm.isa import irtext as ir
from flashvm.isa.llvmfpu import FPU_ARGS, fast_path, wrapper_call
from flashvm.kernels.state import FCSR

I64 = ir.IntType(64)
CAUSE_FIELD = 0x3F000
ENV_BITS = 0xF83        # rounding mode (bits 0-1) and the enables (bits 7-11)


def _k(v: int) -> ir.Value:
    return ir.Constant(I64, v)


def is_fcsr(node: ast.expr) -> bool:
    """Is the expression `st[FCSR]`?"""
    return (isinstance(node, ast.Subscript) and isinstance(node.value, ast.Name) and node.value.id == "st"
            and isinstance(node.slice, ast.Name) and node.slice.id == "FCSR")


# (leaf statements, id of the list, index) -> is an FPU operation and its commit there (the leaves'
# statements are parsed once per table entry and kept: flashvm/isa/leaftemplates.py)
_COMMITS: dict[tuple[int, int], tuple[list[ast.stmt], bool]] = {}


def _name_of(node: ast.expr) -> str | None:
    return node.id if isinstance(node, ast.Name) else None


class LazyFcsr:
    """The FCSR as base, cause and flags (see the module doc)."""

    # provided by _Region (flashvm/isa/llvmgen.py)
    b: ir.IRBuilder
    pre: ir.IRBuilder
    fn: ir.Function
    vars: dict[str, ir.Value]

    fcsr_env: ir.Value | None = None      # i1 on entry: round to nearest, nothing enabled
    fcsr_written = False                  # some instruction changes the FCSR (written back at the exits)

    def var(self, name: str) -> ir.Value:
        raise NotImplementedError

    def reg(self, arr: str, k: int) -> ir.Value:
        raise NotImplementedError

    def val(self, node: ast.expr) -> ir.Value:
        raise NotImplementedError

    def store(self, target: ast.expr, v: ir.Value) -> None:
        raise NotImplementedError

    def _fcsr_locals(self) -> tuple[ir.Value, ir.Value, ir.Value]:
        """The base (the CPU slot's local, loaded on entry), cause and flags locals, made on first use."""
        base = self.reg("st", FCSR)
        if self.fcsr_env is None:
            p = self.pre
            w0 = p.load(base)
            p.store(p.and_(p.lshr(w0, _k(12)), _k(0x3F)), self.var("_fcause"))
            self.var("_facc")
            self.fcsr_env = p.icmp_unsigned("==", p.and_(w0, _k(ENV_BITS)), _k(0))
        return base, self.vars["_fcause"], self.vars["_facc"]

    def fcsr_base(self) -> ir.Value:
        return self.b.load(self._fcsr_locals()[0])

    def fcsr_now(self, b: ir.IRBuilder | None = None) -> ir.Value:
        """The FCSR word as the interpreter would hold it here."""
        b = b or self.b
        base, cause, acc = self._fcsr_locals()
        word = b.or_(b.and_(b.load(base), _k(~CAUSE_FIELD)), b.shl(b.load(cause), _k(12)))
        return b.or_(word, b.shl(b.load(acc), _k(2)))

    def fcsr_assign(self, value: ast.expr) -> None:
        """`st[FCSR] = value`: a compare's `set_fcc(st[FCSR], cc, t)` changes the base alone; any
        other value is the whole word."""
        b = self.b
        base, cause, acc = self._fcsr_locals()
        self.fcsr_written = True
        if (isinstance(value, ast.Call) and _name_of(value.func) == "set_fcc" and len(value.args) == 3
                and is_fcsr(value.args[0])):
            b.store(self.val(value), base)          # (call() reads st[FCSR] there as the base)
            return
        w = self.val(value)
        b.store(w, base)
        b.store(b.and_(b.lshr(w, _k(12)), _k(0x3F)), cause)
        b.store(_k(0), acc)

    def fcsr_writeback(self, b: ir.IRBuilder, st_base: ir.Value) -> None:
        """At the exit: the word into the CPU's slot (if an instruction may have changed it)."""
        if self.fcsr_written:
            b.store(self.fcsr_now(b), b.gep(st_base, [_k(FCSR)]))

    # ---- an FPU operation and its commit
    def fpu_op(self, body: list[ast.stmt], k: int, leave: Callable[[], ir.Block], helpers: frozenset[str]) -> int:
        """`(res, cause) = helper(..., st[FCSR])` followed by the commit: built here, and the number of
        statements it took (0: not of that form)."""
        if k + 3 >= len(body):
            return 0
        s, fc, test, last = body[k:k + 4]
        if not (isinstance(s, ast.Assign) and len(s.targets) == 1 and isinstance(s.targets[0], ast.Tuple)
                and len(s.targets[0].elts) == 2 and isinstance(s.value, ast.Call)
                and _name_of(s.value.func) in helpers and s.value.args and is_fcsr(s.value.args[-1])
                and len(s.value.args) <= FPU_ARGS):
            return 0
        res, cause_t = s.targets[0].elts
        key = (id(body), k)
        got = _COMMITS.get(key)
        if got is None:
            c, f = _name_of(cause_t), _name_of(fc.targets[0]) if isinstance(fc, ast.Assign) else None
            want = (f"{f} = st[FCSR] & ~258048 | {c} << 12", f"if {c} & ({f} >> 7 & 31 | 32):\n    st[FCSR] = {f}\n    break",
                    f"st[FCSR] = {f} | ({c} & 31) << 2")
            got = _COMMITS[key] = (body, bool(c and f) and tuple(ast.unparse(x) for x in (fc, test, last)) == want)
        if not got[1]:
            return 0
        self._fpu_build(_name_of(s.value.func) or "", s.value.args[:-1], res, leave)
        return 4

    def _fpu_build(self, name: str, operands: list[ast.expr], res: ast.expr, leave: Callable[[], ir.Block]) -> None:
        b = self.b
        mod = self.fn.module
        base, cause_v, acc = self._fcsr_locals()
        self.fcsr_written = True
        args = [self.val(a) for a in operands]
        env = self.fcsr_env
        assert env is not None
        fast = fast_path(b, mod, name, args + [_k(0)], rn=env)

        def trap(c: ir.Value, go: ir.Block) -> None:
            """Leave before the instruction if cause c raises an exception (enabled, or E), with the
            cause field set as the interpreter's commit leaves it (it sets it again when it runs it)."""
            enabled = b.or_(b.and_(b.lshr(b.load(base), _k(7)), _k(0x1F)), _k(0x20))
            out = self.fn.append_basic_block("fpu_trap")
            b.cbranch(b.icmp_unsigned("!=", b.and_(c, enabled), _k(0)), out, go)
            b.position_at_end(out)
            b.store(c, cause_v)
            b.branch(leave())
            b.position_at_end(go)

        def commit(c: ir.Value) -> None:
            b.store(c, cause_v)
            if c.const != 0:
                b.store(b.or_(b.load(acc), b.and_(c, _k(0x1F))), acc)

        if fast is not None:
            ok, v, c = fast
            if ok is None:
                if c.const != 0:        # (a compare: Invalid, with no slow path)
                    trap(c, self.fn.append_basic_block("fpu_ok"))
                self.store(res, v)
                commit(c)
                return
            ok = b.and_(ok, env)        # (the fast path's cause is then 0 or Inexact, not enabled)
            quick, slow, join = (self.fn.append_basic_block(x) for x in ("fpu_fast", "fpu_slow", "fpu_join"))
            b.cbranch(ok, quick, slow)
            b.position_at_end(quick)
            self.store(res, v)
            commit(c)
            b.branch(join)
            b.position_at_end(slow)
        cause = self.var("_fpu_cause")
        r = wrapper_call(b, mod, name, args + [self.fcsr_now()], cause)
        c = b.load(cause)
        trap(c, self.fn.append_basic_block("fpu_ok"))
        self.store(res, r)
        commit(c)
        if fast is not None:
            b.branch(join)
            b.position_at_end(join)


__all__ = ["LazyFcsr", "is_fcsr"]
