"""Functional regions chain across pages: a region left by `jal` to another page, or by `jr` back
to its caller's page, enters the translated region there directly when the fetch soft TLB holds
that page (as the loop's fetch would find it); on a miss, or a slot holding another page, it
returns to the loop at that PC."""
from __future__ import annotations

from flashvm.isa import llvmgen
from flashvm.kernels import jitnative
from flashvm.kernels.mmu import TC_MASK
from regionctx import RegionContext

ADDIU_V0_1 = 0x24420001        # addiu v0, v0, 1
ADDIU_V0_2 = 0x24420002        # addiu v0, v0, 2
ADDIU_V0_4 = 0x24420004        # addiu v0, v0, 4
JAL_402000 = 0x0C100800        # jal 0x402000
JR_RA = 0x03E00008             # jr ra
NOP = 0
TSIZE = 1024


class Machine(RegionContext):
    """A region context with its own fetch soft TLB (the loop's, for the current mode)."""

    def __init__(self) -> None:
        super().__init__(1 << 18, TSIZE, own_fetch_tlb=True)

    def load(self, pa: int, words: list[int]) -> int:
        """Put code at a physical address, translate it and put it in the region table."""
        self.ram32[pa >> 2:(pa >> 2) + len(words)] = words
        assert llvmgen.scan(words) == len(words)
        (addr,), _, _ = jitnative.compile_batch([words], None)
        h = (pa >> 2) & (TSIZE - 1)
        self.jt[0, h], self.jt[1, h], self.jt[3, h] = pa, addr, len(words)
        return addr

    def map(self, vpn: int, pa: int) -> None:
        """The fetch soft TLB's entry for virtual page vpn: physical page pa."""
        self.ftag[vpn & TC_MASK], self.fadd[vpn & TC_MASK] = vpn, pa - (vpn << 12)

    def enter(self, addr: int, pa: int, pc: int, allowance: int = 1000) -> int:
        self.r[2] = 0
        return super().enter(addr, pa, pc, allowance)


def test_calls_and_returns_chain_through_the_fetch_soft_tlb():
    m = Machine()
    a = m.load(0x1000, [ADDIU_V0_1, JAL_402000, NOP])       # caller at virtual 0x400000
    m.load(0x100C, [ADDIU_V0_4, ADDIU_V0_4])                # the code after the call
    m.load(0x5000, [ADDIU_V0_2, JR_RA, NOP])                # callee at virtual 0x402000
    # the callee's page is not in the fetch soft TLB: the caller leaves at the jal's target
    assert m.enter(a, 0x1000, 0x400000) == 3
    assert tuple(m.ctx[8:10]) == (0x402000, 0x402004) and m.r[2] == 1 and m.r[31] == 0x40000C
    # it is: the call enters the callee; its return leaves (the caller's page is not there)
    m.map(0x402, 0x5000)
    assert m.enter(a, 0x1000, 0x400000) == 6
    assert tuple(m.ctx[8:10]) == (0x40000C, 0x400010) and m.r[2] == 3
    # both pages there: call, return and the code after it run as one chain
    m.map(0x400, 0x1000)
    assert m.enter(a, 0x1000, 0x400000) == 8
    assert tuple(m.ctx[8:10]) == (0x400014, 0x400018) and m.r[2] == 11
    # ... while all of each region fits what is left: the code after the call does not
    assert m.enter(a, 0x1000, 0x400000, allowance=7) == 6 and m.ctx[8] == 0x40000C


def test_a_soft_tlb_slot_holding_another_page_does_not_chain():
    m = Machine()
    a = m.load(0x1000, [ADDIU_V0_1, JAL_402000, NOP])
    m.load(0x5000, [ADDIU_V0_2, JR_RA, NOP])
    m.map(0x402 + TC_MASK + 1, 0x5000)                      # the callee's slot, another virtual page
    assert m.enter(a, 0x1000, 0x400000) == 3 and m.ctx[8] == 0x402000 and m.r[2] == 1
    m.map(0x402, 0x6000)                                    # its page, at a frame with no region
    assert m.enter(a, 0x1000, 0x400000) == 3 and m.ctx[8] == 0x402000
