"""Faster code for translated regions: what flashvm/isa/llvmgen.py's region compiler knows
beyond the leaves' own Python (a mixin of its `_Region`).

* **Symbolic PCs.**  `pc`, `npc`, `npc2` and `bpc` are kept as SSA values while
  they are assigned outside any `if` (their locals are written too, for the
  paths that join).  Every PC in a region is the entry PC plus a constant
  (irtext.lin), and a branch's `if cond: npc2 = target` becomes a select, so
  "does the region go on at the next word?" folds to the branch condition or
  to a constant, and a loop's "back at the top?" to the condition of its last
  branch.  Before, each was an add, a mask and a compare against the entry PC
  at run time.
* **Loops.**  A conditional branch back to an earlier word of the region (not
  after a branch) makes that word a loop top (`back_edges`): after the
  branch's delay slot, the region goes round to it while the rest of the
  region from there fits the allowance, instead of leaving and being entered
  again (each entry compares the code words, loads the registers and probes
  the region table).  Before, only a region whose last branch led back to its
  first word looped; most loops are followed by more code in the region.
* **The soft-TLB page cache.**  The soft TLB does not change while a region
  runs (no TLB write, mode or ASID change is translated, and guest stores do
  not reach it), so after a load (or store) has found its page, the region
  keeps the page number and its addend in locals, and the next access of that
  kind to the same page adds the addend without reading the TLB arrays.  In a
  region that loops both stay in host registers round the loop.  The cache
  starts empty at every entry (chained regions too).
"""
from __future__ import annotations

import ast
from typing import Callable

from flashvm.isa import irtext as ir, jitgen

I64 = ir.IntType(64)
M32 = 0xFFFFFFFF
TRACKED = ("pc", "npc", "npc2", "bpc")      # locals kept as SSA values where known
_TLB_PAIRS = {"ltag": "ladd", "stag": "sadd"}
_PURE = (ast.Name, ast.Constant, ast.BinOp, ast.operator, ast.Load)


class FastPaths:
    """Symbolic PCs and the soft-TLB page cache (see the module doc)."""

    # provided by _Region (flashvm/isa/llvmgen.py)
    b: ir.IRBuilder
    pre: ir.IRBuilder
    fn: ir.Function
    vars: dict[str, ir.Value]
    shadow: dict[str, ir.Value]
    depth: int

    words: list[int]

    def var(self, name: str) -> ir.Value:
        raise NotImplementedError

    def val(self, node: ast.expr) -> ir.Value:
        raise NotImplementedError

    def index(self, node: ast.Subscript) -> tuple[str, ir.Value]:
        raise NotImplementedError

    # ---- symbolic PCs
    def get(self, name: str) -> ir.Value:
        """The value of a local: its SSA value if known here, else loaded."""
        got = self.shadow.get(name)
        return got if got is not None else self.b.load(self.var(name))

    def put(self, name: str, v: ir.Value) -> None:
        self.b.store(v, self.var(name))
        if name in TRACKED and self.depth == 0:
            self.shadow[name] = v
        else:
            self.shadow.pop(name, None)

    def pc_select(self, s: ast.If, c: ir.Value) -> bool:
        """A branch's `if cond: npc2 = target ...` (only pc, npc, npc2, bpc assigned, from pure
        expressions not reading what the same side assigns) as selects: built if so."""
        sides = (s.body, s.orelse)
        for side in sides:
            names = set()
            for t in side:
                if not (isinstance(t, ast.Assign) and len(t.targets) == 1 and isinstance(t.targets[0], ast.Name)
                        and t.targets[0].id in TRACKED):
                    return False
                names.add(t.targets[0].id)
            for t in side:
                for x in ast.walk(t.value):      # type: ignore[attr-defined]
                    if not isinstance(x, _PURE) or (isinstance(x, ast.Name) and x.id in names):
                        return False
        vals = [{t.targets[0].id: self.val(t.value) for t in side} for side in sides]   # type: ignore[attr-defined]
        for name in sorted(set(vals[0]) | set(vals[1])):
            yes, no = vals[0].get(name), vals[1].get(name)
            if yes is None or no is None:
                cur = self.get(name)
                yes, no = yes or cur, no or cur
            self.put(name, self.b.select(c, yes, no))
        return True

    # ---- loops
    def pc_at(self, pc0: ir.Value, k: int) -> ir.Value:
        """The PC of the region's word k (an offset from the entry PC)."""
        return self.b.and_(self.b.add(pc0, ir.Constant(I64, 4 * k)), ir.Constant(I64, M32))

    def go_round(self, pc0: ir.Value, npc_after: ir.Value, t: int, top: ir.Block, again: ir.Value,
                 budget: ir.Value, stay: ir.Block) -> None:
        """After a back edge's delay slot: back at word t (pc its PC, npc the next: outside a delay
        slot) and the rest of the region from there fits the allowance (`again`, the count to
        carry, plus the region's length): go round to `top`; else on to `stay` (positioned there)."""
        b = self.b
        top_pc, top_npc = self.pc_at(pc0, t), self.pc_at(pc0, t + 1)
        on = b.and_(b.icmp_unsigned("==", npc_after, top_pc), b.icmp_unsigned("==", self.get("npc"), top_npc))
        fits = b.icmp_signed("<=", b.add(again, ir.Constant(I64, len(self.words))), budget)
        round_ = self.fn.append_basic_block("again")
        b.cbranch(b.and_(on, fits), round_, stay)
        b.position_at_end(round_)
        b.store(again, self.var("done"))
        b.store(top_pc, self.var("pc"))
        b.store(top_npc, self.var("npc"))
        b.branch(top)
        b.position_at_end(stay)

    # ---- the soft-TLB page cache
    def tlb_cached(self, test: ast.stmt, use: ast.stmt, leave: Callable[[], ir.Block]) -> bool:
        """`if ltag[s] != vpn: break` then `pa = va + ladd[s]` (or stag / sadd): built through the
        page cache if the statements are of that form."""
        if not (isinstance(test, ast.If) and not test.orelse and len(test.body) == 1
                and isinstance(test.body[0], ast.Break) and isinstance(test.test, ast.Compare)
                and len(test.test.ops) == 1 and isinstance(test.test.ops[0], ast.NotEq)):
            return False
        tag = test.test.left
        if not (isinstance(tag, ast.Subscript) and isinstance(tag.value, ast.Name) and tag.value.id in _TLB_PAIRS
                and isinstance(tag.slice, ast.Name)):
            return False
        addn = _TLB_PAIRS[tag.value.id]
        if not (isinstance(use, ast.Assign) and len(use.targets) == 1 and isinstance(use.targets[0], ast.Name)
                and isinstance(use.value, ast.BinOp) and isinstance(use.value.op, ast.Add)
                and isinstance(use.value.right, ast.Subscript) and isinstance(use.value.right.value, ast.Name)
                and use.value.right.value.id == addn and isinstance(use.value.right.slice, ast.Name)
                and use.value.right.slice.id == tag.slice.id):
            return False
        b = self.b
        fn = self.fn
        cvpn, cadd = self._tlb_locals(addn)
        vpn = self.val(test.test.comparators[0])
        hit = b.icmp_signed("==", vpn, b.load(cvpn))
        look, fill, join = fn.append_basic_block("tlb_look"), fn.append_basic_block("tlb_fill"), fn.append_basic_block("tlb_hit")
        b.cbranch(hit, join, look)
        b.position_at_end(look)
        _, tp = self.index(tag)
        b.cbranch(b.icmp_signed("!=", b.load(tp), vpn), leave(), fill)
        b.position_at_end(fill)
        _, ap = self.index(use.value.right)
        b.store(vpn, cvpn)
        b.store(b.load(ap), cadd)
        b.branch(join)
        b.position_at_end(join)
        self.put(use.targets[0].id, b.add(self.val(use.value.left), b.load(cadd)))
        return True

    def _tlb_locals(self, kind: str) -> tuple[ir.Value, ir.Value]:
        """The cached page number (-1: none) and addend of one kind of access, made on first use."""
        name = f"_tc_{kind}"
        fresh = name not in self.vars
        cvpn, cadd = self.var(name), self.var(name + "_add")
        if fresh:
            self.pre.store(ir.Constant(I64, -1), cvpn)
        return cvpn, cadd


def _branch(word: int) -> bool:
    e = jitgen.decode(word)
    return e is not None and "branch" in e.flags


def back_edges(words: list[int]) -> dict[int, int]:
    """Branches (with their delay slot in the region) that can lead back to an earlier word of
    the region, or their own, not a delay slot: {branch's index: target's index}."""
    out = {}
    for i, w in enumerate(words[:-1]):
        e = jitgen.decode(w)
        if e is None or "branch" not in e.flags or e.name in ("j", "jal", "jr", "jalr"):
            continue       # (j, jal: the target depends on the page's address; jr, jalr: a register)
        t = i + 1 + (((w & 0xFFFF) ^ 0x8000) - 0x8000)
        if 0 <= t <= i and not (t and _branch(words[t - 1])):
            out[i] = t
    return out


def loops(words: list[int]) -> bool:
    """Can the region go back to one of its own words (and so loop inside its function)?"""
    return bool(back_edges(words))


__all__ = ["FastPaths", "TRACKED", "back_edges", "loops"]
