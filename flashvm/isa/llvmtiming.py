"""Translated regions for timing mode: the native regions of flashvm/isa/llvmgen.py plus the L1 hit tests.

The interpreter's timing variant tests way 0 (the MRU way) of the L1 inline
and calls `cache.access_nb` for anything else; a way-0 hit changes no state.
A timing region does the same tests on the same tag arrays and, on a miss,
leaves *before* the instruction: the interpreter then runs it, miss path and
stall cycles included.  So a region never stalls, its cycles are its
instructions, and the loop's entry rule (all of it fits before the CPU's
stop) keeps every timer deadline and round end outside it, as in functional
mode.

* Loads and stores: the leaf code comes from `gen.Emitter.leaf` generated with
  both `macros.JIT` and `macros.TIMING` set, which puts the L1D test
  (`macros._jit_cache_check`) right after the soft-TLB hit, before anything is
  written.
* Fetches: the interpreter tests the L1I when the PC enters a new line
  (`fline`, the line of the last fetch, reset to -1 when its inner loop
  restarts).  A region keeps `fline` in a local: it comes in through the
  context (the loop has already done the fetch test of the first
  instruction, so it matches unless the region was entered by a chain), is
  tested before each instruction, and goes back out on leaving.
* A region that left before an instruction (a miss, a soft-TLB miss, an
  exception) says so in CTX_LEFT: the loop then looks for a region again right
  after the interpreter has run that instruction, not only at the next jump
  target.

A region is compiled for one cache geometry and one offset of its first word
in the page (its `Layout`, part of its disk-cache name with VERSION,
flashvm/kernels/jitnative.py): the L1 index arithmetic folds to constants, and
since the region's words are consecutive, which of them start a new I-cache
line is known.  Only those test the L1I (and the first, whose line the region
cannot know when chained); the others are in the line the previous one tested.
The stop test is one compare of the instruction's number with the allowance
left after the stalls so far (a local the miss paths lower).

The rare ways out (L1 misses, leaving before an instruction, the stop test)
carry branch weights (`rarely`), so the code generator keeps the spills and
reloads around a miss's call in the miss's blocks.
"""
from __future__ import annotations

import ast
import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Callable, NamedTuple

from flashvm.isa import irtext as ir

from flashvm.isa import jitgen, llvmgen, macros
from flashvm.isa.leaftemplates import parse_leaf
from flashvm.isa.llvmgen import I64, M32, _c
from flashvm.kernels import state
from flashvm.kernels.mmu import TC_MASK

VERSION = "timing-6"
# call-context slots beyond the functional ones (the timing tier's context is CTX_SLOTS long)
CTX_L1I = 32        # address of this CPU's L1I tag row
CTX_L1D = 33        # address of this CPU's L1D tag row
CTX_I1M = 34        # L1I sets - 1
CTX_I1W = 35        # L1I ways
CTX_D1M = 36        # L1D sets - 1
CTX_D1W = 37        # L1D ways
CTX_LSH = 38        # log2 of the line size
CTX_LMASK = 39      # the interpreter's fetch-line mask: (M32 << lsh) & M32 | 3
CTX_FLINE = 40      # in and out: the interpreter's fline (line of the last fetch test)
CTX_LEFT = 41       # out: 1 if the region left before an instruction
CTX_STALL = 42      # out: stall cycles of the misses served in the region (the loop zeroes it)
# 44-62: the cache model's arrays (flashvm/kernels/jitaccess.py)
CTX_VPAGE = 64      # out: the virtual page of the last region that ran (the loop's fpage)
CTX_PPAGE = 65      # out: its physical page (the loop's fbase)
CTX_FTAG = 66       # the fetch soft TLB (the loop's ftag and fadd): chaining to other pages
CTX_FADD = 67
CTX_SLOTS = 72
ACCESS = "flashvm_cache_access"     # i64 (ctx, line, kind): jitaccess.access_c, the miss path
GEOMETRY = ("lsh", "i1m", "i1w", "d1m", "d1w")     # a Layout's first fields, the context's CTX_LSH.. order
# branch weights of the rare ways out: L1 misses, soft-TLB misses, the stop test (module_ir defines the node)
RARE = "!0"      # the module's only metadata node
RARE_NODE = f'{RARE} = !{{!"branch_weights", i32 1, i32 4000}}'


def rarely(b: ir.IRBuilder, c: ir.Value, yes: ir.Block, no: ir.Block) -> None:
    """`br c, yes, no` with `yes` marked rare: the code generator lays the common way out straight
    and keeps the spills and reloads of a miss's call in the miss's own blocks."""
    b.cbranch(c, yes, no, prof=RARE)


class Layout(NamedTuple):
    """What a timing region is compiled for: the machine's L1 geometry (log2 of the line size, sets - 1
    and ways of the L1I and the L1D) and the offset of its first word in the page."""
    lsh: int
    i1m: int
    i1w: int
    d1m: int
    d1w: int
    off: int


# a machine's default geometry (128-byte lines, 32 KB 2-way L1s), at the start of a page (tests)
DEFAULT = Layout(7, 127, 2, 127, 2, 0)


@lru_cache(maxsize=None)
def leaf(word: int) -> tuple[str, ...] | None:
    """jitgen.leaf with the timing-mode L1D tests in the loads and stores."""
    old = macros.TIMING
    macros.TIMING = True
    try:
        return jitgen.leaf.__wrapped__(word)     # type: ignore[attr-defined]
    finally:
        macros.TIMING = old


@lru_cache(maxsize=None)
def _timing_body(word: int) -> list[ast.stmt]:
    """The parsed timing leaf of a word (parsed once: read only afterwards)."""
    return parse_leaf(leaf(word) or ())


def calls_out(words: list[int]) -> bool:
    """Does a region of these words serve its misses itself (a call to the cache model)?  Not if it
    holds LL: the model may drop the reservation in st, which the region keeps in a local.  Such a
    region also tests before each instruction that it still fits before the CPU's stop, so the loop
    and chaining regions may enter it whenever its first instruction fits."""
    return not any("LLBIT" in getattr(jitgen.decode(w), "sem", "") for w in words)


class TimingRegion(llvmgen._Region):
    """One region with the L1 hit tests (see the module doc)."""

    def __init__(self, module: ir.Module, name: str, words: list[int], layout: Layout = DEFAULT) -> None:
        super().__init__(module, name, words)
        self.layout = layout
        self.geom: dict[int, ir.Value] = {}
        fline = self.var("t_fline")
        self.pre.store(self.g(CTX_FLINE), fline)
        self.var("t_left")
        # the allowance: instructions this pass may still run, less the stall cycles so far
        self.pre.store(self.g(llvmgen.CTX_BUDGET), self.var("t_room"))
        self.callout = calls_out(words)
        self.here = True          # this instruction may call out (see leaf_code)
        self.index_i = 0

    def g(self, slot: int) -> ir.Value:
        """A context slot that does not change while the region runs, loaded once on entry."""
        got = self.geom.get(slot)
        if got is None:
            got = self.ctx(slot, self.pre)
            self.geom[slot] = got
        return got

    def leaf_code(self, word: int) -> tuple[str, ...] | None:
        code = leaf(word)
        # a call-out commits the access: only if no exit can follow it in the same instruction
        self.here = self.callout
        if code is not None:
            seen = [k for k, x in enumerate(code) if "d1[" in x]
            if seen and any(x.strip() == "break" for x in code[seen[0] + 2:]):
                self.here = False
        return code

    def body(self, word: int, code: tuple[str, ...]) -> list[ast.stmt]:
        return _timing_body(word)

    def access(self, ln: ir.Value, kind: int) -> None:
        """Serve a miss in the cache model and count its stall cycles."""
        b = self.b
        mod = self.fn.module
        fn = mod.globals.get(ACCESS)
        if fn is None:
            fn = ir.Function(mod, ir.FunctionType(I64, [I64, I64, I64]), name=ACCESS)
        lat = b.call(fn, [b.ptrtoint(self.ctxp, I64), ln, _c(kind)])
        room = self.vars["t_room"]
        b.store(b.sub(b.load(room), lat), room)

    def expr(self, node: ast.expr) -> ir.Value:
        if isinstance(node, ast.Name) and node.id in GEOMETRY:
            return _c(getattr(self.layout, node.id))
        return super().expr(node)

    def index(self, node: ast.Subscript) -> tuple[str, ir.Value]:
        if isinstance(node.value, ast.Name) and node.value.id == "d1":
            return "d1", self.b.gep(self.ptr(CTX_L1D, I64), [self.val(node.slice)])
        return super().index(node)

    def stmt(self, s: ast.stmt, leave: Callable[[], ir.Block]) -> None:
        if (self.here and isinstance(s, ast.If) and "d1[" in ast.unparse(s.test) and not s.orelse
                and len(s.body) == 1 and isinstance(s.body[0], ast.Break)):
            # the L1D test: a miss calls the cache model instead of leaving
            names = [x.id for x in ast.walk(s.test) if isinstance(x, ast.Name) and x.id.startswith("_ln")]
            kind = state.ACC_STORE if "| 3" in ast.unparse(s.test) else state.ACC_LOAD
            b = self.b
            miss = self.fn.append_basic_block("d_miss")
            join = self.fn.append_basic_block("d_done")
            rarely(b, self.cond(s.test), miss, join)
            b.position_at_end(miss)
            self.access(self.expr(ast.Name(id=names[0], ctx=ast.Load())), kind)
            b.branch(join)
            b.position_at_end(join)
            return
        if (isinstance(s, ast.If) and not s.orelse and len(s.body) == 1 and isinstance(s.body[0], ast.Break)
                and self.static(s.test) is None):
            # a way out before the instruction (a soft-TLB miss, an address error): rare
            b = self.b
            out = self.fn.append_basic_block("leave_early")
            join = self.fn.append_basic_block()
            rarely(b, self.cond(s.test), out, join)
            b.position_at_end(out)
            self.stmt(s.body[0], leave)
            b.position_at_end(join)
            return
        if isinstance(s, ast.Break):
            self.b.store(_c(1), self.vars["t_left"])
        super().stmt(s, leave)

    def fetch_check(self, pc: ir.Value, before: Callable[[], ir.Block]) -> None:
        """The interpreter's loop test (stall cycles count against the CPU's stop) and its
        fetch test: on entering a new line, way 0 of the L1I must hold it."""
        b = self.b
        i = self.insn_index()
        if self.callout:
            # the interpreter runs the next instruction only while n < stop, and stalls move stop:
            # leave before it when the stalls so far have eaten the allowance
            over = b.icmp_signed(">=", b.add(b.load(self.vars["done"]), _c(i)), b.load(self.vars["t_room"]))
            go = self.fn.append_basic_block("in_time")
            rarely(b, over, before(), go)
            b.position_at_end(go)
        self.index_i += 1
        lay = self.layout
        if i > 0 and (lay.off + 4 * i) & ((1 << lay.lsh) - 1):
            return                  # in the line the instruction before it tested
        fline = self.vars["t_fline"]
        lmask = _c(((M32 << lay.lsh) & M32) | 3)
        test = self.fn.append_basic_block("fetch_test")
        miss = self.fn.append_basic_block("fetch_miss")
        hit = self.fn.append_basic_block("fetch_hit")
        cont = self.fn.append_basic_block("fetched")
        if i == 0:
            # the first instruction: the loop tested its line, but a chained entry or another pass of
            # a loop comes from another line
            new = b.icmp_unsigned("!=", b.and_(b.xor(pc, b.load(fline)), lmask), _c(0))
            b.cbranch(new, test, cont)      # not rare: every pass of a loop over several lines
        else:
            b.branch(test)          # the first word of a line: the one before it was in the line before
        b.position_at_end(test)
        pa = b.add(self.g(15), _c(4 * i))       # the words are consecutive in one page
        ln = b.ashr(pa, _c(lay.lsh))
        slot = b.mul(b.and_(ln, _c(lay.i1m)), _c(lay.i1w))
        tag = b.load(b.gep(self.ptr(CTX_L1I, I64), [slot]))
        rarely(b, b.icmp_signed("!=", b.ashr(tag, _c(2)), ln), miss, hit)
        b.position_at_end(miss)
        if self.callout:
            self.access(ln, state.ACC_FETCH)
            b.branch(hit)
        else:
            b.store(_c(1), self.vars["t_left"])
            b.branch(before())
        b.position_at_end(hit)
        b.store(b.and_(pc, lmask), fline)
        b.branch(cont)
        b.position_at_end(cont)

    def insn_index(self) -> int:
        """The number of the instruction being built (fetch_check comes once per instruction)."""
        return self.index_i

    def chain(self, pc0: ir.Value, pc: ir.Value, npc: ir.Value, n: ir.Value, total: ir.Value) -> None:
        """llvmgen's chaining, to other pages too: the target's physical address comes from the fetch
        soft TLB, as in the loop's fetch (a hit has no side effect; on a miss the loop goes on), so
        taken branches to another page and jr/jalr enter the next region directly."""
        b = self.b
        left = b.sub(self.ctx(llvmgen.CTX_BUDGET), n)
        ok = b.and_(b.icmp_signed(">", n, _c(0)), b.icmp_unsigned("==", npc, b.and_(b.add(pc, _c(4)), _c(M32))))
        ok = b.and_(ok, b.icmp_unsigned("==", b.and_(pc, _c(3)), _c(0)))
        look = self.fn.append_basic_block("chain_look")
        done = self.fn.append_basic_block("chain_no")
        b.cbranch(ok, look, done)
        b.position_at_end(look)
        vpn = b.lshr(pc, _c(12))
        s = b.and_(vpn, _c(TC_MASK))
        same = b.icmp_unsigned("==", vpn, b.lshr(pc0, _c(12)))
        tc_hit = b.icmp_signed("==", b.load(b.gep(self.ptr(CTX_FTAG, I64), [s])), vpn)
        other = b.add(pc, b.load(b.gep(self.ptr(CTX_FADD, I64), [s])))
        pa = b.select(same, b.or_(b.and_(self.g(15), _c(~0xFFF)), b.and_(pc, _c(0xFFF))), other)
        self.tail_enter(pa, left, total, done, also=b.or_(same, tc_hit))

    def on_exit(self) -> None:
        b = self.b
        # this region's page, virtual and physical: after a chain to another page the loop's are stale
        for slot, v in ((CTX_VPAGE, b.and_(self.g(8), _c(0xFFFFF000))), (CTX_PPAGE, b.and_(self.g(15), _c(~0xFFF)))):
            b.store(v, b.gep(self.ctxp, [_c(slot)]))
        for slot, name in ((CTX_FLINE, "t_fline"), (CTX_LEFT, "t_left")):
            b.store(b.load(self.vars[name]), b.gep(self.ctxp, [_c(slot)]))
        # stalls go to the loop, and out of what a chained region may still run
        room = b.load(self.vars["t_room"])
        stall = b.sub(self.g(llvmgen.CTX_BUDGET), room)
        for slot, v in ((CTX_STALL, b.add(self.ctx(CTX_STALL), stall)), (llvmgen.CTX_BUDGET, room)):
            b.store(v, b.gep(self.ctxp, [_c(slot)]))


# table entry -> a timing region can hold it: filled as words are met, and saved beside the
# translation cache by flashvm/kernels/jittiming.py, so a warm start builds no probe and no
# timing leaf per word (decided per entry: an entry's code does not depend on its fields)
ENTRY_OK: dict[str, bool] = {}


def supported(word: int) -> bool:
    """Can a timing region hold this instruction word?  (Decided per table entry.)"""
    e = jitgen.decode(word)
    if e is None:
        return False
    got = ENTRY_OK.get(e.name)
    if got is None:
        got = ENTRY_OK[e.name] = leaf(word) is not None and _probe(word, "branch" in e.flags)
    return got


def _probe(word: int, branch: bool) -> bool:
    try:
        TimingRegion(ir.Module(name="probe"), "probe", [word, 0] if branch else [word]).build(False)
        return True
    except llvmgen.Unsupported:
        return False


@lru_cache(maxsize=None)
def entry_table_key() -> str:
    """Names the ENTRY_OK table: llvmgen's key, this translator's version and source."""
    h = hashlib.sha256(f"{llvmgen.entry_table_key()}/{VERSION}".encode())
    h.update(Path(__file__).read_bytes())
    return h.hexdigest()[:16]


def scan(words: list[int]) -> int:
    """How many of `words` one timing region covers (jitgen.scan with `supported`, which
    implies jitgen.translated: the timing leaf is the functional one plus the L1D test)."""
    return jitgen.scan(words, supported)


def module_ir(regions: list[list[int]], prefix: str, layout: tuple[int, ...] = DEFAULT) -> str:
    """LLVM IR of a module of timing regions, functions `{prefix}_{k}`, all compiled for `layout`
    (a Layout's fields: the translation cache passes it as a plain tuple)."""
    module = ir.Module(name=prefix)
    module.triple = ""
    lay = Layout(*layout)
    for k, words in enumerate(regions):
        TimingRegion(module, llvmgen.region_name(prefix, k), words, lay).build(llvmgen.loops(words))
    return str(module) + RARE_NODE + "\n"


__all__ = ["CTX_FLINE", "CTX_LEFT", "CTX_SLOTS", "DEFAULT", "ENTRY_OK", "GEOMETRY", "VERSION", "Layout", "TimingRegion",
           "calls_out", "entry_table_key", "leaf", "module_ir", "scan", "supported"]
