"""FPU registers and helpers in a translated region (a mixin of flashvm/isa/llvmgen.py's `_Region`):
the FPU register slots as the interpreter's wr_s / wr_d write them (FR = 0 pairs, FR = 1 doubles, the
narrow slots of NARROW_F), condition-code bits, and the FPU helpers' calls with their fast paths
inline (flashvm/isa/llvmfpu.py)."""
from __future__ import annotations

import ast

from flashvm.isa import irtext as ir
from flashvm.isa import llvmgen as g       # a cycle: its names are read when a region is built
from flashvm.isa.llvmfpu import FPU_ARGS, fast_path, wrapper_call


class FpuRegs:
    """Needs the region's b, fn, narrow, fpair, depth and its const_of, reg, val, cond, static,
    set_reg, store and var."""

    def _ccbit(self, cc: ast.expr) -> int:
        k = self.const_of(cc)
        return 23 if k == 0 else 24 + k

    def freg(self, farr: ast.expr, idx: ast.expr, odd: int = 0) -> ir.AllocaInstr:
        if not (isinstance(farr, ast.Name) and farr.id == "f"):
            raise g.Unsupported(ast.dump(farr))
        return self.reg("f", self.const_of(idx) | odd)

    def write_f(self, node: ast.Call) -> None:
        """wr_s(f, i, v) / wr_d(f, fr64, i, v) (flashvm/kernels/bits.py)."""
        b = self.b
        name = node.func.id if isinstance(node.func, ast.Name) else ""
        if name == "wr_s":
            a = self.freg(node.args[0], node.args[1])
            v = self.val(node.args[2])
            low = b.and_(v, g._c(g.M32))
            self.set_reg("f", self.const_of(node.args[1]), low if self.narrow else b.or_(b.and_(b.load(a), g._c(~g.M32)), low))
            return
        if name == "wr_d":
            v = self.val(node.args[3])
            lo, hi = self.freg(node.args[0], node.args[2]), self.freg(node.args[0], node.args[2], 1)
            k = self.const_of(node.args[2])
            if self.static(node.args[1]):       # FR = 1: the whole value in the even register
                self.set_reg("f", k, v)
                return
            if self.narrow and self.static(node.args[1]) == 0:     # FR = 0, no upper words (NARROW_F)
                self.set_reg("f", k, b.and_(v, g._c(g.M32)))
                self.set_reg("f", k | 1, b.lshr(v, g._c(32)))
                self.fpair.update({k: v} if self.depth == 0 else {})   # (inside an `if` v would not dominate)
                return
            fr = self.cond(node.args[1])
            old_lo, old_hi = b.load(lo), b.load(hi)
            self.set_reg("f", k, b.select(fr, v, b.or_(b.and_(old_lo, g._c(~g.M32)), b.and_(v, g._c(g.M32)))))
            self.set_reg("f", k | 1, b.select(fr, old_hi, b.or_(b.and_(old_hi, g._c(~g.M32)),
                                                                 b.and_(b.ashr(v, g._c(32)), g._c(g.M32)))))
            return
        raise g.Unsupported(name)

    def fpu_call(self, targets: list[ast.expr], node: ast.Call, name: str) -> None:
        """(result, cause) = an FPU helper: its fast path inline (flashvm/isa/llvmfpu.py), and where
        that does not hold a call of its C-callable wrapper (flashvm/kernels/jitfpu.py)."""
        b, mod = self.b, self.fn.module
        args = [self.val(a) for a in node.args]
        if len(args) > FPU_ARGS:
            raise g.Unsupported(name)
        fast = fast_path(b, mod, name, args) if g.INLINE_FPU else None
        if fast is not None:
            ok, v, c = fast
            self.store(targets[0], v)
            self.store(targets[1], c)
            if ok is None:
                return
            slow, join = self.fn.append_basic_block("fpu_slow"), self.fn.append_basic_block()
            b.cbranch(ok, join, slow)
            b.position_at_end(slow)
        cause = self.var("_fpu_cause")
        self.store(targets[0], wrapper_call(b, mod, name, args, cause))
        self.store(targets[1], b.load(cause))
        if fast is not None:
            b.branch(join)
            b.position_at_end(join)


__all__ = ["FpuRegs"]
