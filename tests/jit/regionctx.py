"""A hand-made call context for one translated functional region (flashvm/isa/llvmgen.py): the
arrays the region reads and writes, and the context slots the loop would fill, without a machine.
Used by the tests that compile regions directly (native code, FPU fast paths, chaining)."""
from __future__ import annotations

import ctypes

import numpy as np

from flashvm.isa import llvmgen
from flashvm.isa.llvmchain import CTX_FADD, CTX_FTAG
from flashvm.kernels.mmu import TC_MASK
from flashvm.kernels.state import NSLOTS

Fn = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)


class RegionContext:
    """Registers, CP0/FPU state, RAM, the soft TLBs and the region table, wired into `ctx`.
    `own_fetch_tlb`: a fetch soft TLB of its own (else fetches share the load/store one)."""

    def __init__(self, ram_bytes: int, table_size: int, own_fetch_tlb: bool = False) -> None:
        self.r = np.zeros(32, np.int64)
        self.st = np.zeros(NSLOTS, np.int64)
        self.f = np.zeros(32, np.int64)
        self.ram = np.zeros(ram_bytes, np.uint8)
        self.ram32 = self.ram.view(np.uint32)
        self.tag = np.full(TC_MASK + 1, -1, np.int64)          # load/store soft TLB
        self.add = np.zeros(TC_MASK + 1, np.int64)
        self.ftag, self.fadd = ((np.full(TC_MASK + 1, -1, np.int64), np.zeros(TC_MASK + 1, np.int64))
                                if own_fetch_tlb else (self.tag, self.add))
        self.tsize = table_size
        self.jt = np.zeros((4, table_size), np.int64)          # rows: pa, function, number, length
        self.jt[0] = -1
        self.ctx = np.zeros(llvmgen.CTX_SLOTS, np.int64)
        self.ctx[:8] = [a.ctypes.data for a in (self.r, self.st, self.f, self.ram, self.tag, self.add,
                                                self.tag, self.add)]
        self.ctx[11] = 1                                       # Coprocessor 1 usable
        self.ctx[12] = 0                                       # Status.FR (regions are compiled for FR = 0)
        self.ctx[13] = ram_bytes
        self.ctx[llvmgen.CTX_TABLE] = self.jt.ctypes.data
        self.ctx[llvmgen.CTX_TSIZE] = table_size
        self.ctx[CTX_FTAG], self.ctx[CTX_FADD] = self.ftag.ctypes.data, self.fadd.ctypes.data

    def enter(self, addr: int, pa: int, pc: int, allowance: int = 1000) -> int:
        """Call the region at `addr` for entry PC `pc` at physical address `pa`: what it returns."""
        self.ctx[8:11] = (pc, pc + 4, 0)
        self.ctx[llvmgen.CTX_BUDGET] = allowance
        self.ctx[15] = pa
        return Fn(addr)(self.ctx.ctypes.data)
