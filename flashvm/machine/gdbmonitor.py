"""The gdb stub's `monitor` commands (qRcmd): text about the machine that gdb's
registers and memory do not show.

    monitor help           this list
    monitor tlb [CPU]      the TLB entries of CPU (default: gdb's current thread) that are valid
    monitor cpus           each CPU: pc, mode, running/waiting/halted, instructions, cycles
    monitor machine        the machine: CPUs, simulated time, instructions, run mode
"""
from __future__ import annotations

from flashvm.kernels.state import (
    CP0_EntryHi, CP0_Status, CYCLES, HALTED, INSNS, P_MMU, P_NTLB, P_TIMING, PC, MMU_FLAT, TLB_ENTRYHI, TLB_LO0,
    TLB_LO1, TLB_PAGEMASK, VCPU, WAITING, Machine,
)

HELP = """monitor commands:
  tlb [CPU]   valid TLB entries of CPU (default: the current thread's)
  cpus        each CPU's pc, mode, state, instructions and cycles
  machine     CPUs, simulated time, instructions, run mode
"""
MODES = ("kernel", "supervisor", "user")


def _lo(lo: int) -> str:
    """An EntryLo as "pfn=00123 c3 DVG" (flags absent show as '-')."""
    flags = "".join(ch if lo & bit else "-" for ch, bit in (("D", 4), ("V", 2), ("G", 1)))
    return f"pfn={(lo >> 6) & 0xFFFFFF:05x} c{(lo >> 3) & 7} {flags}"


def tlb_text(m: Machine, c: int) -> str:
    """CPU c's TLB: one line per entry with a valid half."""
    if m.params[P_MMU] == MMU_FLAT:
        return "process mode: no TLB (the host maps pages through a flat page table)\n"
    lines = [f"CPU {c} TLB (EntryHi asid={int(m.cp0[c, CP0_EntryHi, 0]) & 0xFF:#04x}):"]
    for i in range(int(m.params[P_NTLB])):
        t = m.tlb[c, i]
        lo0, lo1 = int(t[TLB_LO0]), int(t[TLB_LO1])
        if not (lo0 | lo1) & 2:
            continue
        hi = int(t[TLB_ENTRYHI])
        size = ((int(t[TLB_PAGEMASK]) | 0x1FFF) + 1) >> 1
        lines.append(f"  {i:2d}: vpn2={hi & ~0x1FFF & 0xFFFFFFFF:08x} asid={hi & 0xFF:02x} "
                     f"page={size // 1024}K lo0[{_lo(lo0)}] lo1[{_lo(lo1)}]")
    if len(lines) == 1:
        lines.append("  (no valid entry)")
    return "\n".join(lines) + "\n"


def _mode(status: int) -> str:
    return MODES[0] if status & 6 else MODES[min((status >> 3) & 3, 2)]


def cpus_text(m: Machine) -> str:
    """Each CPU's state, a line each."""
    lines = []
    for c in range(m.cpu.shape[0]):
        st = m.cpu[c]
        state = "halted" if st[HALTED] else "waiting" if st[WAITING] else "running"
        vcpu = f" vcpu={int(st[VCPU]) - 1}" if st[VCPU] else ""
        lines.append(f"CPU {c} (thread {c + 1}): pc={int(st[PC]) & 0xFFFFFFFF:08x} "
                     f"{_mode(int(m.cp0[c, CP0_Status, 0]))} {state}{vcpu} "
                     f"insns={int(st[INSNS]):,} cycles={int(st[CYCLES]):,}")
    return "\n".join(lines) + "\n"


def machine_text(m: Machine, clock_mhz: float) -> str:
    """The whole machine in a few lines."""
    cycles = int(m.cpu[:, CYCLES].max())
    return (f"{m.cpu.shape[0]} CPUs, {'timing' if m.params[P_TIMING] else 'functional'} mode, "
            f"{clock_mhz:g} MHz\nsimulated time {cycles / (clock_mhz * 1e6):.6f} s ({cycles:,} cycles)\n"
            f"instructions {int(m.cpu[:, INSNS].sum()):,}\n")


def monitor(m: Machine, command: str, current: int, clock_mhz: float) -> str:
    """The text `monitor COMMAND` prints; `current` is gdb's current CPU."""
    words = command.split()
    if not words or words[0] == "help":
        return HELP
    if words[0] == "tlb":
        c = current
        if len(words) > 1:
            try:
                c = int(words[1], 0)
            except ValueError:
                return f"tlb {words[1]}: give a CPU number\n"
        if not 0 <= c < m.cpu.shape[0]:
            return f"no CPU {c} (the machine has {m.cpu.shape[0]})\n"
        return tlb_text(m, c)
    if words[0] == "cpus":
        return cpus_text(m)
    if words[0] == "machine":
        return machine_text(m, clock_mhz) + cpus_text(m)
    return f"unknown monitor command {words[0]!r}\n" + HELP


__all__ = ["monitor", "tlb_text", "cpus_text", "machine_text"]
