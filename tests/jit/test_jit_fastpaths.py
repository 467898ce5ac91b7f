"""The region compiler's fast paths (flashvm/isa/llvmfast.py): PCs folded as offsets from the
entry PC (a branch's "next word?" test is its condition, a loop's "back at the top?" too), and
the soft-TLB page cache (an access to the page the last one of its kind found adds the cached
addend; a new page is looked up, a missing one still leaves before the instruction)."""
from __future__ import annotations

import re

from flashvm.isa import irtext as ir
from flashvm.isa import llvmgen
from tests.jit.test_jit_native import Machine, ADDIU_V0_1, BNE_BACK, NOP

I64 = ir.IntType(64)
M32 = 0xFFFFFFFF
LW_A1 = 0x8C850000             # lw a1, 0(a0)
ADDU_V0_A1 = 0x00451021        # addu v0, v0, a1
ADDIU_A0_4 = 0x24840004        # addiu a0, a0, 4
BNE_A0_A2 = 0x1486FFFC         # bne a0, a2, -4 (back to the lw)


def _pcs(b: ir.IRBuilder, base: ir.Value, off: int) -> ir.Value:
    return b.and_(b.add(base, ir.Constant(I64, off)), ir.Constant(I64, M32))


def test_offsets_of_one_base_compare_without_code():
    m = ir.Module("t")
    fn = ir.Function(m, ir.FunctionType(I64, [I64, I64]), name="f")
    b = ir.IRBuilder(fn.append_basic_block())
    pc0 = ir.lin(fn.args[0])
    here, there = _pcs(b, pc0, 8), _pcs(b, _pcs(b, pc0, 4), 4)
    assert b.icmp_unsigned("==", here, there).const == 1        # pc0+8 and (pc0+4)+4, masked
    assert b.icmp_unsigned("!=", here, _pcs(b, pc0, 12)).const == 1
    assert b.icmp_unsigned("==", pc0, _pcs(b, pc0, 1 << 32)).const == 1   # congruent mod 2**32
    assert b.and_(here, ir.Constant(I64, M32)) is here           # already 32 bits: no mask
    c = b.icmp_signed("==", fn.args[1], ir.Constant(I64, 0))
    sel = b.select(c, _pcs(b, pc0, -16), here)
    assert b.icmp_unsigned("!=", sel, here) is c                 # taken: not the next word
    assert b.icmp_unsigned("==", sel, here).ref != c.ref         # not c: one xor
    unknown = b.add(fn.args[1], ir.Constant(I64, 4))
    assert b.icmp_unsigned("==", sel, unknown).const is None     # another base: a compare


def _derived_from_entry_pc(text: str) -> set[str]:
    """Values computed (add, and, select) from the entry PC (the load of context slot 8)."""
    slot8 = set(re.findall(r"(%v\d+) = getelementptr i64, ptr %v\d+, i64 8$", text, re.M))
    got = {m.group(1) for m in re.finditer(r"(%v\d+) = load i64, ptr (%v\d+)$", text, re.M) if m.group(2) in slot8}
    for line in text.splitlines():
        m = re.match(r"\s*(%v\d+) = (add|and|select) .*", line)
        if m and any(v in got for v in re.findall(r"%v\d+", line.split("=", 1)[1])):
            got.add(m.group(1))
    return got


def test_branches_and_the_loop_test_compare_no_pc():
    text = llvmgen.module_ir([[ADDIU_V0_1, BNE_BACK, NOP], [LW_A1, ADDU_V0_A1, ADDIU_A0_4, BNE_A0_A2, NOP]], "t")
    pcs = _derived_from_entry_pc(text)
    assert pcs
    for line in text.splitlines():
        if "icmp" in line:
            assert not pcs & set(re.findall(r"%v\d+", line)), line


def _sum_loop(m: Machine) -> int:
    fn, n = m.load(0x3000, [LW_A1, ADDU_V0_A1, ADDIU_A0_4, BNE_A0_A2, NOP])
    assert n == 5
    m.tag[9], m.add[9] = 9, 0x20000 - 0x9000             # virtual page 9 -> physical 0x20000
    m.ram32[0x8FF8 >> 2:(0x8FF8 >> 2) + 2] = (1, 2)
    m.ram32[0x20000 >> 2:(0x20000 >> 2) + 2] = (100, 200)
    m.ram32[0x9000 >> 2:(0x9000 >> 2) + 2] = (1000, 2000)   # what page 8's addend would read
    m.ram32[(0x20000 + 0xFF8) >> 2:(0x20000 + 0x1000) >> 2] = (10, 20)
    return fn


def test_the_page_cache_follows_the_page():
    m = Machine()
    fn = _sum_loop(m)
    m.r[4], m.r[6] = 0x8FF8, 0x9008                      # four words over two pages
    assert m.enter(fn, 0x3000, 0x400000) == 20
    assert m.r[2] == 303 and m.r[4] == 0x9008


def test_a_missing_page_leaves_before_the_load():
    m = Machine()
    fn = _sum_loop(m)
    m.r[4], m.r[6] = 0x9FF8, 0xA008                      # page 10 is not in the soft TLB
    assert m.enter(fn, 0x3000, 0x400000) == 10
    assert m.r[2] == 30 and m.r[4] == 0xA000 and tuple(m.ctx[8:10]) == (0x400000, 0x400004)


def test_a_loop_in_mid_region_goes_round_inside_it():
    """The loop's top is the region's second word and code follows the loop: the back edge stays
    in the function while the rest of the region from the top fits the allowance."""
    m = Machine()
    words = [0x24020000, ADDIU_V0_1, BNE_BACK, NOP, 0x00421821, 0x03E00008, NOP]   # v0 = 0; do v0++ while v0 != a0
    assert llvmgen.back_edges(words) == {2: 1}
    fn, n = m.load(0x5000, words)
    assert n == 7
    m.r[4], m.r[31] = 10, 0x500000
    assert m.enter(fn, 0x5000, 0x400000) == 1 + 10 * 3 + 3
    assert (m.r[2], m.r[3]) == (10, 20) and tuple(m.ctx[8:11]) == (0x500000, 0x500004, 0x400014)
    m.r[2:4] = 0
    assert m.enter(fn, 0x5000, 0x400000, allowance=12) == 7     # a second pass from the top would not fit
    assert m.r[2] == 2 and m.r[3] == 0 and tuple(m.ctx[8:10]) == (0x400004, 0x400008)
