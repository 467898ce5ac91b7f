"""Timing regions against hand-made state: a region left by `jr` enters the translated region at the
target in another page directly when the fetch soft TLB holds that page (as the loop's fetch would
find it), and says which page it ended in, so the loop's fetch page stays right."""
from __future__ import annotations

import ctypes

import numpy as np

from flashvm.isa import llvmgen, llvmtiming
from flashvm.kernels import jitnative, jittiming
from flashvm.kernels.mmu import TC_MASK
from flashvm.kernels.state import NSLOTS

ADDIU_V0_1 = 0x24420001        # addiu v0, v0, 1
ADDIU_V0_2 = 0x24420002        # addiu v0, v0, 2
JR_RA = 0x03E00008             # jr ra
NOP = 0
TSIZE = 1024
LAY = llvmtiming.DEFAULT       # 128-byte lines, 128 sets of 2 ways
Fn = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)


class Machine:
    """The arrays a timing region reads and writes, and its call context."""

    def __init__(self) -> None:
        self.r = np.zeros(32, np.int64)
        self.st = np.zeros(NSLOTS, np.int64)
        self.f = np.zeros(32, np.int64)
        self.ram32 = np.zeros(1 << 18, np.uint32)
        self.tag = np.full(TC_MASK + 1, -1, np.int64)      # load/store soft TLB (unused: no loads)
        self.add = np.zeros(TC_MASK + 1, np.int64)
        self.ftag = np.full(TC_MASK + 1, -1, np.int64)     # fetch soft TLB
        self.fadd = np.zeros(TC_MASK + 1, np.int64)
        self.l1i = np.zeros((LAY.i1m + 1) * LAY.i1w, np.int64)
        self.l1d = np.zeros((LAY.d1m + 1) * LAY.d1w, np.int64)
        self.jt = np.zeros((4, TSIZE), np.int64)
        self.jt[0] = -1
        self.ctx = np.zeros(llvmtiming.CTX_SLOTS, np.int64)
        self.ctx[:8] = [a.ctypes.data for a in (self.r, self.st, self.f, self.ram32, self.tag, self.add,
                                                self.tag, self.add)]
        self.ctx[11], self.ctx[12], self.ctx[13] = 1, 0, self.ram32.nbytes
        self.ctx[llvmgen.CTX_TABLE] = self.jt.ctypes.data
        self.ctx[llvmgen.CTX_TSIZE] = TSIZE
        self.ctx[32], self.ctx[33] = self.l1i.ctypes.data, self.l1d.ctypes.data
        self.ctx[llvmtiming.CTX_FTAG], self.ctx[llvmtiming.CTX_FADD] = self.ftag.ctypes.data, self.fadd.ctypes.data

    def load(self, pa: int, words: list[int]) -> int:
        """Put code at a physical address (its lines in way 0 of the L1I), translate it, put it in the table."""
        self.ram32[pa >> 2:(pa >> 2) + len(words)] = words
        for ln in range(pa >> LAY.lsh, ((pa + 4 * len(words) - 1) >> LAY.lsh) + 1):
            self.l1i[(ln & LAY.i1m) * LAY.i1w] = ln << 2
        jittiming._access_symbol()
        (addr,), _, _ = jitnative.compile_batch([words], None, timing=True, layout=LAY._replace(off=pa & 0xFFF))
        h = (pa >> 2) & (TSIZE - 1)
        self.jt[0, h], self.jt[1, h], self.jt[3, h] = pa, addr, 1
        return addr

    def enter(self, addr: int, pa: int, pc: int) -> int:
        self.ctx[8:11] = (pc, pc + 4, 0)
        self.ctx[llvmgen.CTX_BUDGET] = 1000
        self.ctx[15] = pa
        self.ctx[llvmtiming.CTX_FLINE] = pc & (((0xFFFFFFFF << LAY.lsh) & 0xFFFFFFFF) | 3)
        return Fn(addr)(self.ctx.ctypes.data)


def test_jr_chains_to_a_region_in_another_page():
    m = Machine()
    a = m.load(0x1000, [ADDIU_V0_1, JR_RA, NOP])            # at virtual 0x400000
    m.load(0x5000, [ADDIU_V0_2, ADDIU_V0_2])                # at virtual 0x402000
    m.r[31] = 0x402000
    # the target's page is not in the fetch soft TLB: A leaves at the jr's target
    assert m.enter(a, 0x1000, 0x400000) == 3
    assert m.ctx[8] == 0x402000 and m.r[2] == 1
    assert (m.ctx[llvmtiming.CTX_VPAGE], m.ctx[llvmtiming.CTX_PPAGE]) == (0x400000, 0x1000)
    # it is: A enters B directly, and the page the loop fetches from next is B's
    m.ftag[0x402 & TC_MASK], m.fadd[0x402 & TC_MASK] = 0x402, 0x5000 - 0x402000
    m.r[2] = 0
    assert m.enter(a, 0x1000, 0x400000) == 3 + 2
    assert m.ctx[8] == 0x402008 and m.r[2] == 1 + 2 + 2
    assert (m.ctx[llvmtiming.CTX_VPAGE], m.ctx[llvmtiming.CTX_PPAGE]) == (0x402000, 0x5000)
