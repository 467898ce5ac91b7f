"""Chaining for translated regions (a mixin of flashvm/isa/llvmgen.py's `_Region`): a region
leaves by entering the next translated region directly, a tail call through the region table,
where the dispatch loop would enter it anyway.  The target's physical address is this region's
page for a PC in the same virtual page, else the fetch soft TLB's answer (the loop's ftag and fadd,
context slots CTX_FTAG and CTX_FADD): taken branches to another page, calls (jal, jalr) and
returns (jr) enter the next region without going back to the loop.  Timing regions
(llvmtiming.py) do the same with slots of their own."""
from __future__ import annotations

from flashvm.isa import irtext as ir
from flashvm.kernels.mmu import TC_MASK

I64 = ir.IntType(64)
M32 = 0xFFFFFFFF
CTX_BUDGET = 14     # in: instructions the region may retire in all (looping and chaining)
CTX_ACC = 16        # chained entry: instructions the chain retired before this region
CTX_TABLE = 17      # the region table (flashvm/kernels/jit.py: rows pa, function, number, length)
CTX_TSIZE = 18      # its number of slots (a power of two)
CTX_FTAG = 19       # the loop's fetch soft TLB for the current mode: tags (address)
CTX_FADD = 20       # and addends (address)


def _c(v: int) -> ir.Value:
    return ir.Constant(I64, v)


class Chaining:
    """Tail calls into the next region (see the module doc)."""

    # provided by _Region (flashvm/isa/llvmgen.py)
    b: ir.IRBuilder
    fn: ir.Function
    ctxp: ir.Value

    def ctx(self, slot: int, b: ir.IRBuilder | None = None) -> ir.Value:
        raise NotImplementedError

    def ptr(self, slot: int, ty: ir.Type) -> ir.Value:
        raise NotImplementedError

    def chain(self, pc0: ir.Value, pc: ir.Value, npc: ir.Value, n: ir.Value, total: ir.Value) -> None:
        """Leave by entering the translated region at pc directly (a tail call), when the loop would:
        pc aligned and outside a delay slot, its physical address known without a TLB walk (this
        region's virtual page, or a hit in the fetch soft TLB, which a region cannot change: on a
        miss the loop goes on and fills it), translated, and all of it fits the allowance."""
        b = self.b
        left = b.sub(self.ctx(CTX_BUDGET), n)
        ok = b.and_(b.icmp_signed(">", n, _c(0)), b.icmp_unsigned("==", npc, b.and_(b.add(pc, _c(4)), _c(M32))))
        ok = b.and_(ok, b.icmp_unsigned("==", b.and_(pc, _c(3)), _c(0)))
        look = self.fn.append_basic_block("chain_look")
        done = self.fn.append_basic_block("chain_no")
        b.cbranch(ok, look, done)
        b.position_at_end(look)
        vpn = b.lshr(pc, _c(12))
        same = b.icmp_unsigned("==", vpn, b.lshr(pc0, _c(12)))
        here = b.or_(b.and_(self.ctx(15), _c(~0xFFF)), b.and_(pc, _c(0xFFF)))
        s = b.and_(vpn, _c(TC_MASK))
        tc_hit = b.icmp_signed("==", b.load(b.gep(self.ptr(CTX_FTAG, I64), [s])), vpn)
        other = b.add(pc, b.load(b.gep(self.ptr(CTX_FADD, I64), [s])))
        self.tail_enter(b.select(same, here, other), left, total, done, also=b.or_(same, tc_hit))

    def tail_enter(self, pa: ir.Value, left: ir.Value, total: ir.Value, done: ir.Block,
                   also: ir.Value | None = None) -> None:
        """Enter the region the table holds for physical address pa by a tail call when all of it
        fits the allowance `left` (and `also` holds); else return `total` from block `done`."""
        b = self.b
        size = self.ctx(CTX_TSIZE)
        h = b.and_(b.ashr(pa, _c(2)), b.sub(size, _c(1)))
        table = b.inttoptr(self.ctx(CTX_TABLE), I64.as_pointer())
        tpa = b.load(b.gep(table, [h]))
        tlen = b.load(b.gep(table, [b.add(h, b.mul(size, _c(3)))]))
        hit = b.and_(b.icmp_signed("==", tpa, pa), b.icmp_signed("<=", tlen, left))
        if also is not None:
            hit = b.and_(hit, also)
        go = self.fn.append_basic_block("chain_go")
        b.cbranch(hit, go, done)
        b.position_at_end(go)
        for slot, v in ((CTX_BUDGET, left), (15, pa), (CTX_ACC, total)):
            b.store(v, b.gep(self.ctxp, [_c(slot)]))
        fnp = b.inttoptr(b.load(b.gep(table, [b.add(h, size)])), self.fn.type)
        ret = b.call(fnp, [b.or_(b.ptrtoint(self.ctxp, I64), _c(1))], tail="musttail")
        b.ret(ret)
        b.position_at_end(done)
        b.ret(total)


__all__ = ["CTX_ACC", "CTX_BUDGET", "CTX_FADD", "CTX_FTAG", "CTX_TABLE", "CTX_TSIZE", "Chaining"]
