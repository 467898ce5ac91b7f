"""Run the same MIPS32 code in flashvm's interpreter and in Unicorn, and compare.

A test builds a `Prog` (instruction words at kseg0 addresses, initial register
and memory state), calls `Harness.both(prog)` and gets two `Outcome`s back:
the trace of executed PCs, the exception that stopped the run (if any), and
the architectural state afterwards.  `assert_same` compares them and prints a
readable difference.

Both machines run in kernel mode with Status.CU0=CU1=1, ERL=EXL=BEV=0 and
have `MEM_BYTES` of RAM at physical 0 (beyond it: a bus error).  Code and data
live in its first `COMPARE_BYTES`, compared after every run, and are reached
through kseg0 (0x80000000 + physical) or kseg1, which both map without a TLB;
kuseg and kseg2/3 go through the (empty) TLB: a refill exception.

flashvm side: one machine (its creation is cheap; the interpreter's first
call compiles with Numba and is cached on disk), reset before every program
and stepped one instruction at a time so that its trace is exact.  Every
exception is handed to the host (P_EXC_TO_HOST), so the run stops on the
faulting instruction with nothing of it committed.

Unicorn side: a fresh `Uc` per program (about a millisecond), so that no
translation-block cache or half-finished delay-slot state leaks from one
program to the next.  A code hook records the trace and stops at the end
address; an interrupt hook turns QEMU's exception number into the MIPS
ExcCode and stops.  BadVAddr is read back with a `mfc0` run afterwards.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np
import unicorn
from unicorn import mips_const as M

from flashvm.isa.fields import assemble
from flashvm.isa.table import BY_NAME
from flashvm.kernels.cp0 import reset_cpu
from flashvm.kernels.run import run
from flashvm.kernels.state import (
    BRANCH_PC, CP0_Status, EXC_ADEL, EXC_ADES, EXC_BP, EXC_CPU, EXC_FPE, EXC_OV, EXC_RI,
    EXC_SYS, EXC_TR, EXIT_BUDGET, EXIT_EXCEPTION, FCSR, HI, LO, NPC, P_EXC_TO_HOST, PC, St_CU0,
    St_CU1, St_FR, X_A0, X_A1, X_A2, X_A3, new_machine,
)

M32 = 0xFFFFFFFF
M64 = (1 << 64) - 1
KSEG0 = 0x80000000
MEM_BYTES = 1 << 20          # physical RAM of both machines
CODE_PA = 0x1000             # default code address (physical)
DATA_PA = 0x8000             # middle of the data window used by load/store tests
COMPARE_BYTES = 0x20000      # the part of RAM programs use, compared after every run
SCRATCH_PA = MEM_BYTES - 0x1000   # Unicorn: the mfc0 snippet that reads BadVAddr
MAX_STEPS = 256
BADVA_EXCS = (EXC_ADEL, EXC_ADES, 1, 2, 3)     # exceptions that set BadVAddr: AdEL/AdES, Mod, TLBL/TLBS

# QEMU's exception numbers (target/mips: EXCP_*) -> MIPS ExcCode
QEMU_EXCP = {
    12: EXC_ADEL, 13: EXC_ADES, 17: EXC_SYS, 18: EXC_BP, 19: EXC_CPU, 20: EXC_RI,
    21: EXC_OV, 22: EXC_TR, 23: EXC_FPE, 26: 2, 27: 3, 28: 7,
}
QEMU_BUS_ERROR = 28          # EXCP_DBE: what an access to unmapped physical memory stands for


def enc(name: str, **fields: int) -> int:
    """Instruction word of table entry `name` with the given fields."""
    return assemble(BY_NAME[name].match, **fields)


NOP = 0


def s32(x: int) -> int:
    x &= M32
    return x - (1 << 32) if x >> 31 else x


@dataclass
class Prog:
    """Code, initial state and where the run ends."""
    code: dict[int, list[int]]              # virtual (kseg0) address -> words
    start: int = KSEG0 + CODE_PA
    end: int | None = None                  # stop when PC reaches it (default: just past the first block)
    gpr: dict[int, int] = field(default_factory=dict)
    hi: int = 0
    lo: int = 0
    fpr: dict[int, int] = field(default_factory=dict)   # 64-bit patterns
    fcsr: int = 0
    fr: bool = False                        # Status.FR
    cu1: bool = True                        # Status.CU1
    mem: dict[int, bytes] = field(default_factory=dict)  # physical address -> bytes
    max_steps: int = MAX_STEPS

    def status(self) -> int:
        return St_CU0 | (St_CU1 if self.cu1 else 0) | (St_FR if self.fr else 0)

    def stop_at(self) -> int:
        if self.end is not None:
            return self.end
        a = min(self.code)
        return a + 4 * len(self.code[a])


@dataclass
class Outcome:
    trace: list[int]
    exc: int | None          # MIPS ExcCode of the exception that stopped the run
    badva: int | None        # BadVAddr after an address error
    gpr: list[int]
    hi: int
    lo: int
    fpr: list[int]
    fcsr: int
    mem: bytes
    extra: dict = field(default_factory=dict)   # backend-specific details (EPC, BD, ...)

    def fp32(self, i: int) -> int:
        return self.fpr[i] & M32

    def fp64(self, i: int, fr: bool) -> int:
        if fr:
            return self.fpr[i]
        return (self.fpr[i] & M32) | ((self.fpr[i | 1] & M32) << 32)


def default_gpr(i: int) -> int:
    """A recognisable filler value for registers a test does not set."""
    return 0 if i == 0 else (0x5A000000 | (i << 16) | (i * 0x0101)) & M32


# ---------------------------------------------------------------- flashvm side
class Sim:
    """flashvm's interpreter on a single 1-CPU machine, reset per program."""

    def __init__(self):
        self.m = new_machine(1, MEM_BYTES)

    def load(self, p: Prog) -> None:
        m = self.m
        reset_cpu(m, 0)
        m.cp0[0, CP0_Status, 0] = p.status()
        m.params[P_EXC_TO_HOST] = 1
        m.ram8[:MEM_BYTES] = 0
        for va, words in p.code.items():
            pa = va - KSEG0
            m.ram32[pa // 4: pa // 4 + len(words)] = np.array(words, dtype=np.uint32)
        for pa, data in p.mem.items():
            m.ram8[pa:pa + len(data)] = np.frombuffer(bytes(data), dtype=np.uint8)
        for i in range(1, 32):
            m.gpr[0, i] = p.gpr.get(i, default_gpr(i)) & M32
        for i in range(32):
            m.fpr[0, i] = np.int64(np.uint64(p.fpr.get(i, 0) & M64))
        m.cpu[0, HI] = p.hi & M32
        m.cpu[0, LO] = p.lo & M32
        m.cpu[0, FCSR] = p.fcsr & M32
        m.cpu[0, PC] = p.start
        m.cpu[0, NPC] = (p.start + 4) & M32
        m.cpu[0, BRANCH_PC] = -1

    def outcome(self, trace, exc, badva, extra) -> Outcome:
        m = self.m
        return Outcome(
            trace=trace, exc=exc, badva=badva,
            gpr=[int(v) & M32 for v in m.gpr[0]],
            hi=int(m.cpu[0, HI]) & M32, lo=int(m.cpu[0, LO]) & M32,
            fpr=[int(v) & M64 for v in m.fpr[0]],
            fcsr=int(m.cpu[0, FCSR]) & M32,
            mem=m.ram8[:COMPARE_BYTES].tobytes(),
            extra=extra,
        )

    def _exit(self):
        x = self.m.exitrec
        exc = int(x[X_A0])
        badva = int(x[X_A1]) if exc in BADVA_EXCS else None
        return exc, badva, {"epc": int(x[X_A2]), "bd": int(x[X_A3]), "pc": int(self.m.cpu[0, PC])}

    def run(self, p: Prog, batch: bool = True) -> Outcome:
        """Step one instruction at a time (exact trace); then, with `batch`,
        run the program again in a single `run` call -- the interpreter's
        inner loop rather than its resume path -- and require the same result."""
        m = self.m
        self.load(p)
        end = p.stop_at()
        trace: list[int] = []
        exc = badva = None
        extra = {}
        while len(trace) < p.max_steps:
            pc = int(m.cpu[0, PC])
            if pc == end:
                break
            trace.append(pc)
            reason = run(m, 1)
            if reason == EXIT_EXCEPTION:
                exc, badva, extra = self._exit()
                break
            assert reason == EXIT_BUDGET, f"unexpected exit {reason}"
        stepped = self.outcome(trace, exc, badva, extra)
        step_pc, step_npc = int(m.cpu[0, PC]), int(m.cpu[0, NPC])
        if batch and trace:
            self.load(p)
            reason = run(m, len(trace))
            if exc is None:
                assert reason == EXIT_BUDGET, f"batch run: unexpected exit {reason}"
                bexc, bbadva, bextra = None, None, {}
                assert (int(m.cpu[0, PC]), int(m.cpu[0, NPC])) == (step_pc, step_npc), \
                    "batch run: PC/NPC differ from the stepped run"
            else:
                assert reason == EXIT_EXCEPTION, f"batch run: exit {reason}, stepped run had exception {exc}"
                bexc, bbadva, bextra = self._exit()
            batched = self.outcome(trace, bexc, bbadva, bextra)
            if batched != stepped:
                assert_same(stepped, batched, what="flashvm stepped vs one run() call")
                raise AssertionError(f"flashvm stepped vs one run() call: {stepped.extra} != {batched.extra}")
        return stepped


# ---------------------------------------------------------------- Unicorn side
class Uni:
    """Unicorn (QEMU's MIPS target), CPU model 24Kf, one fresh instance per program."""

    def run(self, p: Prog) -> Outcome:
        uc = unicorn.Uc(unicorn.UC_ARCH_MIPS, unicorn.UC_MODE_MIPS32 | unicorn.UC_MODE_LITTLE_ENDIAN)
        uc.ctl_set_cpu_model(M.UC_CPU_MIPS32_24KF)
        uc.mem_map(0, MEM_BYTES)
        for va, words in p.code.items():
            uc.mem_write(va - KSEG0, struct.pack(f"<{len(words)}I", *[w & M32 for w in words]))
        for pa, data in p.mem.items():
            uc.mem_write(pa, bytes(data))
        uc.reg_write(M.UC_MIPS_REG_CP0_STATUS, p.status())
        for i in range(1, 32):
            uc.reg_write(M.UC_MIPS_REG_0 + i, p.gpr.get(i, default_gpr(i)) & M32)
        for i in range(32):
            uc.reg_write(M.UC_MIPS_REG_F0 + i, p.fpr.get(i, 0) & M64)
        uc.reg_write(M.UC_MIPS_REG_HI, p.hi & M32)
        uc.reg_write(M.UC_MIPS_REG_LO, p.lo & M32)
        uc.reg_write(M.UC_MIPS_REG_FCSR, p.fcsr & M32)
        end = p.stop_at()
        trace: list[int] = []
        state = {"excp": None}

        def on_code(uc_, addr, size, _):
            if state["excp"] is not None or addr == end or len(trace) >= p.max_steps:
                uc_.emu_stop()
                return
            trace.append(addr)

        def on_intr(uc_, intno, _):
            state["excp"] = intno
            uc_.emu_stop()

        def on_unmapped(uc_, access, addr, size, value, _):
            # physical memory beyond RAM: flashvm raises a bus error
            state["excp"] = QEMU_BUS_ERROR
            return False

        h1 = uc.hook_add(unicorn.UC_HOOK_CODE, on_code)
        h2 = uc.hook_add(unicorn.UC_HOOK_INTR, on_intr)
        uc.hook_add(unicorn.UC_HOOK_MEM_READ_UNMAPPED | unicorn.UC_HOOK_MEM_WRITE_UNMAPPED, on_unmapped)
        err = None
        try:
            uc.emu_start(p.start, end)
        except unicorn.UcError as e:   # unaligned accesses also report an error
            err = e
        excp = state["excp"]
        if err is not None and excp is None:
            raise AssertionError(f"unicorn stopped with {err} and no exception")
        exc = None if excp is None else QEMU_EXCP.get(excp, 1000 + excp)
        gpr = [uc.reg_read(M.UC_MIPS_REG_0 + i) & M32 for i in range(32)]
        out = Outcome(
            trace=trace, exc=exc, badva=None, gpr=gpr,
            hi=uc.reg_read(M.UC_MIPS_REG_HI) & M32, lo=uc.reg_read(M.UC_MIPS_REG_LO) & M32,
            fpr=[uc.reg_read(M.UC_MIPS_REG_F0 + i) & M64 for i in range(32)],
            fcsr=uc.reg_read(M.UC_MIPS_REG_FCSR) & M32,
            mem=bytes(uc.mem_read(0, COMPARE_BYTES)),
            extra={"qemu_excp": excp},
        )
        if exc in BADVA_EXCS:
            uc.hook_del(h1)
            uc.hook_del(h2)
            # mfc0 $k0, BadVAddr ; then stop
            uc.mem_write(SCRATCH_PA, struct.pack("<2I", enc("mfc0", rt=26, rd=8), NOP))
            uc.emu_start(KSEG0 + SCRATCH_PA, KSEG0 + SCRATCH_PA + 4)
            out.badva = uc.reg_read(M.UC_MIPS_REG_K0) & M32
        return out


# ---------------------------------------------------------------- both + compare
class Harness:
    def __init__(self):
        self.sim = Sim()
        self.uni = Uni()

    def both(self, p: Prog) -> tuple[Outcome, Outcome]:
        return self.sim.run(p), self.uni.run(p)

    def check(self, p: Prog, *, fpr: str = "all", what: str = "", fix_uc=None) -> Outcome:
        """Run on both, assert equal; returns flashvm's outcome.  `fix_uc(outcome)`
        may first rewrite Unicorn's outcome where it knowingly differs."""
        a, b = self.both(p)
        if fix_uc is not None:
            fix_uc(b)
        try:
            assert_same(a, b, fpr=fpr, fr=p.fr, what=what, likely_pcs=likely_pcs(p))
        except AssertionError as e:
            raise AssertionError(f"{e}\n{listing(p)}") from None
        return a


def listing(p: Prog) -> str:
    """The program as text, for failure messages."""
    from flashvm.isa.disasm import disasm
    lines = [f"program (start {p.start:#x}, end {p.stop_at():#x}, FR={int(p.fr)}, fcsr {p.fcsr:#x}):"]
    for va, words in sorted(p.code.items()):
        for i, w in enumerate(words):
            a = va + 4 * i
            lines.append(f"    {a:#010x}: {w:08x}  {disasm(w, a)}")
    regs = ", ".join(f"${i}={v & M32:#x}" for i, v in sorted(p.gpr.items()) if i)
    lines.append(f"  set: {regs} hi={p.hi:#x} lo={p.lo:#x}")
    if p.fpr:
        lines.append("  fpr: " + ", ".join(f"$f{i}={v:#x}" for i, v in sorted(p.fpr.items())))
    return "\n".join(lines)


def likely_pcs(p: Prog) -> set[int]:
    """Addresses of the branch-likely instructions of a program."""
    from flashvm.isa.table import lookup
    out = set()
    for va, words in p.code.items():
        for i, w in enumerate(words):
            e = lookup(w)
            if e is not None and "likely" in e.flags:
                out.add(va + 4 * i)
    return out


def unicorn_trace_as_flashvm(sim: list[int], uc: list[int], likely: set[int]) -> list[int]:
    """Unicorn's code hook also fires for the delay slot of a branch-likely that
    is not taken, although QEMU then skips (annuls) it.  Drop such entries
    where flashvm went from the branch straight to branch + 8; the registers
    compared afterwards show whether the slot really had no effect."""
    out: list[int] = []
    for j, pc in enumerate(uc):
        br = uc[j - 1] if j else None
        if (br in likely and pc == br + 4 and sim[len(out):len(out) + 1] in ([br + 8], [])
                and uc[j + 1:j + 2] in ([br + 8], [])):
            continue
        out.append(pc)
    return out


def _hex(v):
    return "None" if v is None else f"{v:#x}"


def assert_same(sim: Outcome, uc: Outcome, *, fpr: str = "all", fr: bool = False, what: str = "",
                likely_pcs: set[int] = frozenset()) -> None:
    """Compare everything architectural.  fpr: "all" (64-bit patterns),
    "low" (only the low 32 bits of each FPR: FR=0 singles leave the upper half
    undefined), or "none"."""
    diffs = []
    uc_trace = unicorn_trace_as_flashvm(sim.trace, uc.trace, likely_pcs) if likely_pcs else uc.trace
    if sim.trace != uc_trace:
        diffs.append(f"trace: flashvm {[hex(x) for x in sim.trace]} unicorn {[hex(x) for x in uc.trace]}")
    if sim.exc != uc.exc:
        diffs.append(f"exception: flashvm {sim.exc} unicorn {uc.exc} (qemu {uc.extra.get('qemu_excp')})")
    elif sim.exc in BADVA_EXCS and sim.badva != uc.badva:
        diffs.append(f"BadVAddr: flashvm {_hex(sim.badva)} unicorn {_hex(uc.badva)}")
    for i in range(32):
        if sim.gpr[i] != uc.gpr[i]:
            diffs.append(f"${i}: flashvm {sim.gpr[i]:#010x} unicorn {uc.gpr[i]:#010x}")
    if (sim.hi, sim.lo) != (uc.hi, uc.lo):
        diffs.append(f"hi/lo: flashvm {sim.hi:#x}/{sim.lo:#x} unicorn {uc.hi:#x}/{uc.lo:#x}")
    if fpr != "none":
        mask = M32 if fpr == "low" else M64
        for i in range(32):
            if (sim.fpr[i] ^ uc.fpr[i]) & mask:
                diffs.append(f"$f{i}: flashvm {sim.fpr[i]:#018x} unicorn {uc.fpr[i]:#018x}")
        if sim.fcsr != uc.fcsr:
            diffs.append(f"fcsr: flashvm {sim.fcsr:#010x} unicorn {uc.fcsr:#010x}")
    if sim.mem != uc.mem:
        a = np.frombuffer(sim.mem, np.uint8)
        b = np.frombuffer(uc.mem, np.uint8)
        idx = np.nonzero(a != b)[0]
        lo = int(idx[0]) & ~3
        diffs.append(f"memory differs at {len(idx)} bytes from pa {lo:#x}: flashvm "
                     f"{bytes(a[lo:lo + 8]).hex()} unicorn {bytes(b[lo:lo + 8]).hex()}")
    if diffs:
        raise AssertionError((what + ": " if what else "") + "flashvm != unicorn\n  " + "\n  ".join(diffs))
