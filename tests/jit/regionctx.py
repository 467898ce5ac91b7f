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


class FpuRegionMachine(RegionContext):
    """A context for comparing two variants of one straight FPU region: each run starts from the FPU
    registers, FCSR and GPRs 2 and 3 given, and returns (retired, FPU registers, FCSR, pc/npc/bpc out)."""

    def __init__(self) -> None:
        super().__init__(1 << 16, 64)

    def run(self, fn: int, f: np.ndarray, fcsr: int = 0, r2: int = 0, r3: int = 0) -> tuple:
        from flashvm.kernels.state import FCSR
        self.f[:] = f
        self.st[:] = 0
        self.st[FCSR] = fcsr
        self.r[2], self.r[3] = r2, r3
        n = self.enter(fn, 0x1000, 0x400000, 100)
        return n, tuple(self.f), int(self.st[FCSR]), tuple(self.ctx[8:11])


def compile_variant(m: RegionContext, words: list[int], switch: str, on: bool, monkeypatch) -> int:
    """Compile `words` at physical 0x1000 of `m` with llvmgen's `switch` (a module flag such as
    NARROW_F) set to `on`, under a version of its own (so the two variants are two translations);
    the region's address."""
    from flashvm.kernels import jitnative
    monkeypatch.setattr(llvmgen, switch, on)
    monkeypatch.setattr(llvmgen, "VERSION", f"{llvmgen.VERSION}-{switch}-{int(on)}")
    m.ram.view(np.uint32)[0x1000 >> 2:(0x1000 >> 2) + len(words)] = words
    (addr,), _, _ = jitnative.compile_batch([words], None)
    return addr
