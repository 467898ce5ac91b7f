"""The trace (`flashvm exec --trace[=insn,exc,syscall]`): a line per executed
instruction, per exception taken and per system call, for debugging guests.

    tracer = Tracer({"insn", "exc"}, sys.stderr, symbols=image.symbols)
    fm.run(run_fn=tracer.run)          # or LinuxProcess.run(run_fn=tracer.run)
    tracer.flush()                     # when the run is over

`Tracer.run` is a drop-in for the run kernel `flashvm.kernels.run.run(m, budget)`:
it drives the machine one instruction at a time through the interpreter
(flashvm/machine/stepper.py), reading the PC and the instruction before each
step and the exception counters and CP0 after it, and simulates exactly what
the kernel would (same instructions, cycles, output, statistics).  With no
trace, whoever runs the machine keeps the kernel's own run function
(`run_fn(None)`), so the normal loop does not pay anything.  In process mode a
trace of only `exc` and `syscall` needs no stepping at all: every exception
already exits to the host.

The line format is documented in docs/trace.md.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Protocol, TextIO

from flashvm.isa.disasm import disasm
from flashvm.kernels.interp import STOP_EXIT, exec_cpu_nb, exec_cpu_timing_nb
from flashvm.kernels.mmu import TC_MASK, mmu_index, tlb_match_nb
from flashvm.kernels.run import run as run_kernel
from flashvm.kernels.state import (
    ACC_FETCH, CP0_BadVAddr, CP0_Cause, CP0_EntryHi, CP0_EPC, CP0_Status, EXC_ADEL, EXC_ADES, EXC_INT, EXC_MOD,
    EXC_NAMES, EXC_SYS, EXC_TLBL, EXC_TLBS, EXIT_EXCEPTION, MMU_FLAT, P_EXC_TO_HOST, P_MMU, P_NTLB, P_RAM_SIZE,
    P_ROM_HOST, P_ROM_PA, P_ROM_SIZE, PC, S_EXC_BASE, St_ERL, TLB_LO0, TLB_LO1, TLB_PAGEMASK,
    VCPU, X_A0, X_A1, X_A2, X_CPU, X_REASON, Machine,
)
from flashvm.machine.stepper import run_stepped

KINDS = ("insn", "exc", "syscall")
RunFn = Callable[[Machine, int], int]
BADVADDR_CAUSES = (EXC_MOD, EXC_TLBL, EXC_TLBS, EXC_ADEL, EXC_ADES)
SYMBOL_REACH = 1 << 16     # past this offset from a symbol, a pc is shown without one
FLUSH_LINES = 4096


class Symbols(Protocol):
    """What the trace needs of a symbol table (flashvm.elf.SymbolTable is one)."""
    def lookup(self, addr: int) -> tuple[str, int] | None: ...


def parse_kinds(spec: str | None) -> set[str]:
    """The kinds named by `--trace[=KINDS]`: "insn,exc" -> {"insn", "exc"}; None, "" or "all": every kind."""
    if not spec or spec == "all":
        return set(KINDS)
    kinds = {k.strip() for k in spec.split(",") if k.strip()}
    unknown = kinds - set(KINDS)
    if unknown:
        raise ValueError(f"unknown trace kind {', '.join(sorted(unknown))}: choose from {', '.join(KINDS)}")
    return kinds


def run_fn(tracer: Tracer | None) -> RunFn:
    """The run function to hand a machine: the kernel's own unless something is traced."""
    return tracer.run if tracer is not None and tracer.kinds else run_kernel


def fetch_word(m: Machine, c: int, va: int) -> int | None:
    """The instruction word at `va` as CPU c would fetch it now, or None if it cannot;
    reads the soft TLB, the page table or the TLB without changing any of them."""
    cp0 = m.cp0[c]
    status = int(cp0[CP0_Status, 0])
    vpn = va >> 12
    s = vpn & TC_MASK
    mi = int(mmu_index(status))
    if m.tc_tag[c, mi, ACC_FETCH, s] == vpn:
        host = va + int(m.tc_add[c, mi, ACC_FETCH, s])
    else:
        p = m.params
        if p[P_MMU] == MMU_FLAT:
            e = int(m.ptab[vpn]) if vpn < len(m.ptab) else 0
            if e == 0:
                return None
            pa = (e & ~0xFFF) | (va & 0xFFF)
        elif 0x80000000 <= va < 0xC0000000:          # kseg0, kseg1
            pa = va & 0x1FFFFFFF
        elif va < 0x80000000 and status & St_ERL:    # kuseg unmapped while ERL=1
            pa = va
        else:
            i = int(tlb_match_nb(m.tlb[c], int(p[P_NTLB]), va, int(cp0[CP0_EntryHi, 0]) & 0xFF))
            if i < 0:
                return None
            t = m.tlb[c, i]
            pm = int(t[TLB_PAGEMASK]) | 0x1FFF
            lo = int(t[TLB_LO1] if va & ((pm + 1) >> 1) else t[TLB_LO0])
            if lo & 2 == 0:
                return None
            pa = (((lo >> 6) & 0xFFFFFF) << 12) & ~(pm >> 1) | (va & (pm >> 1))
        rom = pa - int(p[P_ROM_PA])
        if pa < p[P_RAM_SIZE]:
            host = pa
        elif 0 <= rom < p[P_ROM_SIZE]:
            host = int(p[P_ROM_HOST]) + rom
        else:
            return None
    return int(m.ram32[host >> 2])


class Tracer:
    """Writes trace lines of the chosen `kinds` (a subset of KINDS) to `out`.

    `symbols`: symbol table(s) for "name+offset" (the first that knows a pc wins);
    `syscall_names`: o32 number -> name (the process layer's table).
    """

    def __init__(self, kinds: Iterable[str], out: TextIO, *,
                 symbols: Symbols | Sequence[Symbols] | None = None,
                 syscall_names: Mapping[int, str] | None = None):
        self.kinds = set(kinds)
        unknown = self.kinds - set(KINDS)
        if unknown:
            raise ValueError(f"unknown trace kind {', '.join(sorted(unknown))}: choose from {', '.join(KINDS)}")
        self.out = out
        if symbols is None:
            symbols = ()
        self.symbols: tuple[Symbols, ...] = (symbols,) if hasattr(symbols, "lookup") else tuple(symbols)
        self.syscall_names = dict(syscall_names or {})
        self._insn = "insn" in self.kinds
        self._exc = "exc" in self.kinds
        self._sys = "syscall" in self.kinds
        self._lines: list[str] = []
        self._insn_text: dict[tuple[int, int | None], str] = {}
        self._pending: tuple[int, str] | None = None    # a host-served syscall waiting for its result

    # ------------------------------------------------------------ the run function
    def run(self, m: Machine, budget: int) -> int:
        """`flashvm.kernels.run.run(m, budget)`, tracing as it goes."""
        if self._pending is not None:
            self._syscall_result(m, self._pending)
        host = m.params[P_EXC_TO_HOST] != 0
        try:
            if host and not self._insn:
                why = run_kernel(m, budget)
            else:
                why = run_stepped(m, budget, self._step)
            if host and why == EXIT_EXCEPTION:
                self._host_exception(m)
        finally:
            self._write()
        return why

    def flush(self) -> None:
        """Write what is still held (a system call the run did not come back from) and flush `out`."""
        if self._pending is not None:
            self._lines.append(self._pending[1])
            self._pending = None
        self._write()
        self.out.flush()

    # ------------------------------------------------------------ one step
    def _step(self, m: Machine, c: int, timing: bool) -> tuple[int, int]:
        st = m.cpu[c]
        stats = m.stats[c]
        pc = int(st[PC])
        nexc = int(stats[S_EXC_BASE:S_EXC_BASE + 32].sum())
        nint = int(stats[S_EXC_BASE + EXC_INT])
        word = fetch_word(m, c, pc) if self._insn else None     # before: the step may remap it
        status, n = (exec_cpu_timing_nb if timing else exec_cpu_nb)(m, c, 1)
        status, n = int(status), int(n)
        taken = int(stats[S_EXC_BASE:S_EXC_BASE + 32].sum()) - nexc
        if taken == 0:
            if n and self._insn:
                self._insn_line(c, pc, word)
            return status, n
        if status == STOP_EXIT and m.exitrec[X_REASON] == EXIT_EXCEPTION:
            if self._insn:                    # it faulted to the host: run() reports the exception
                self._insn_line(c, pc, word)
            return status, n
        # the exception state the guest sees: under Disco, its VCPU's CP0 (the monitor keeps the real one)
        vcpu = int(st[VCPU])
        cp0 = m.vcp0[vcpu - 1] if vcpu else m.cp0[c]
        if int(stats[S_EXC_BASE + EXC_INT]) > nint:
            # taken before anything ran; then the handler's first instruction, unless it costs the step
            vector = int(st[PC]) - 4 * n
            self._exc_line(c, EXC_INT, int(cp0[CP0_EPC, 0]), 0, f"{vector:08x}")
            if n and self._insn:
                self._insn_line(c, vector, fetch_word(m, c, vector))
            taken -= 1
        elif self._insn:
            self._insn_line(c, pc, word)          # the instruction that raised the exception
        if taken:
            code = (int(cp0[CP0_Cause, 0]) >> 2) & 31
            self._exc_line(c, code, int(cp0[CP0_EPC, 0]), int(cp0[CP0_BadVAddr, 0]), f"{int(st[PC]):08x}")
            if code == EXC_SYS and self._sys:
                self._lines.append(self._syscall_text(m, c))
        return status, n

    def _host_exception(self, m: Machine) -> None:
        """An exception the interpreter handed to the host (process mode)."""
        x = m.exitrec
        c, code = int(x[X_CPU]), int(x[X_A0])
        self._exc_line(c, code, int(x[X_A2]), int(x[X_A1]), "host")
        if code == EXC_SYS and self._sys:
            self._pending = (c, self._syscall_text(m, c))

    def _syscall_result(self, m: Machine, pending: tuple[int, str]) -> None:
        """The host has served the `pending` system call: its result is in v0, a3 says error."""
        c, text = pending
        self._pending = None
        v0, err = int(m.gpr[c, 2]), int(m.gpr[c, 7])
        r = -v0 if err else v0
        self._lines.append(f"{text} = {r if -0x10000 < r < 0x10000 else hex(r)}")

    # ------------------------------------------------------------ lines
    def _symbol(self, addr: int) -> str:
        for t in self.symbols:
            hit = t.lookup(addr)
            if hit is not None and hit[1] < SYMBOL_REACH:
                name, off = hit
                return f" <{name}+0x{off:x}>" if off else f" <{name}>"
        return ""

    def _insn_line(self, c: int, pc: int, word: int | None) -> None:
        key = (pc, word)
        text = self._insn_text.get(key)
        if text is None:           # guest code loops: each (pc, word) is disassembled once
            raw, asm = ("????????", "?") if word is None else (f"{word:08x}", disasm(word, pc))
            text = self._insn_text[key] = f"pc={pc:08x} word={raw}{self._symbol(pc)} {asm}"
        self._lines.append(f"insn cpu={c} {text}")
        if len(self._lines) >= FLUSH_LINES:
            self._write()

    def _exc_line(self, c: int, code: int, epc: int, badva: int, vector: str) -> None:
        if not self._exc:
            return
        name = EXC_NAMES.get(code, str(code))
        bad = f" badva={badva & 0xFFFFFFFF:08x}" if code in BADVADDR_CAUSES else ""
        self._lines.append(f"exc cpu={c} {name} epc={epc & 0xFFFFFFFF:08x}{bad} vector={vector}"
                           f"{self._symbol(epc)}")

    def _syscall_text(self, m: Machine, c: int) -> str:
        g = m.gpr[c]
        num = int(g[2])
        name = self.syscall_names.get(num, f"syscall_{num}")
        args = ", ".join(f"{int(a):#x}" for a in g[4:8])
        return f"syscall cpu={c} {num} {name}({args})"

    def _write(self) -> None:
        if self._lines:
            self.out.write("\n".join(self._lines) + "\n")
            self._lines.clear()


__all__ = ["KINDS", "Symbols", "Tracer", "fetch_word", "parse_kinds", "run_fn"]
