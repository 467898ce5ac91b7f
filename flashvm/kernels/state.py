"""Layout of the simulated machine's state: plain numpy arrays indexed by cpu id.

Every jitted kernel takes these arrays (bundled in the `Machine` named tuple)
and nothing else: no Python objects reach the hot loop.  Values of 32-bit
registers are kept as int64 holding the *unsigned* 32-bit pattern
(0 <= v < 2**32); kernels mask with 0xFFFFFFFF after arithmetic.  Keeping
everything int64 avoids Numba's uint64/int64 -> float64 promotion trap.

Names follow the MIPS32 manuals (Vol. III for CP0).
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

# ---------------------------------------------------------------- per-CPU slots
# cpu[c, SLOT] : int64 scalars of one CPU.
PC = 0            # address of the next instruction to execute
NPC = 1           # address of the one after it (differs from PC+4 in a delay slot)
HI = 2
LO = 3
BRANCH_PC = 4     # address of the last branch executed; PC == BRANCH_PC+4 means "in its delay slot"
LLBIT = 5         # LL/SC reservation flag
LLADDR = 6        # physical address of the LL reservation
FCSR = 7          # FPU control/status (FCR31)
FIR = 8           # FPU implementation register (FCR0), read-only
WAITING = 9       # 1 while the CPU sits in WAIT with no interrupt pending
HALTED = 10       # 1 once the CPU is stopped for good
CYCLES = 11       # simulated cycles of this CPU (functional mode: one per instruction)
COUNT_BASE = 12   # CYCLES value at which CP0 Count was last written (Count = base value + elapsed/2)
COUNT_AT_BASE = 13
QUANTUM_LEFT = 14 # instructions left in this CPU's current quantum (kept across exits)
INSNS = 15        # retired instructions (also in stats; kept here for the scheduler)
MMIO_PA = 16      # physical address of the MMIO access that caused the last exit
MMIO_PENDING = 17 # 1: the host has served an MMIO load; MMIO_VALUE holds the value for the replay
MMIO_VALUE = 18
TIMER_DUE = 19    # CYCLES value at which Count next equals Compare
IDLE_CYCLES = 20  # cycles spent in WAIT
MMIO_SIZE = 21    # size in bytes of that MMIO access
NSLOTS = 24

# ------------------------------------------------------------------ CP0 registers
# cp0[c, reg, sel]   (MIPS32 Vol. III, table "Coprocessor 0 Registers")
CP0_Index = 0
CP0_Random = 1
CP0_EntryLo0 = 2
CP0_EntryLo1 = 3
CP0_Context = 4      # sel 2: UserLocal
CP0_PageMask = 5
CP0_Wired = 6
CP0_HWREna = 7
CP0_BadVAddr = 8
CP0_Count = 9
CP0_EntryHi = 10
CP0_Compare = 11
CP0_Status = 12
CP0_Cause = 13
CP0_EPC = 14
CP0_PRId = 15        # sel 1: EBase
CP0_Config = 16      # sel 0..3: Config0..Config3
CP0_LLAddr = 17
CP0_ErrorEPC = 30
SEL_UserLocal = 2
SEL_EBase = 1

# Status bits
St_IE = 1 << 0
St_EXL = 1 << 1
St_ERL = 1 << 2
St_KSU_SHIFT = 3
St_KSU = 3 << 3
St_UM = 1 << 4
St_IM_SHIFT = 8
St_IM = 0xFF << 8
St_NMI = 1 << 19
St_SR = 1 << 20
St_TS = 1 << 21
St_BEV = 1 << 22
St_FR = 1 << 26
St_RE = 1 << 25
St_CU0 = 1 << 28
St_CU1 = 1 << 29

# Cause bits
Ca_EXC_SHIFT = 2
Ca_EXC = 0x1F << 2
Ca_IP_SHIFT = 8
Ca_IP = 0xFF << 8
Ca_IP_SW = 0x3 << 8
Ca_IV = 1 << 23
Ca_CE_SHIFT = 28
Ca_TI = 1 << 30
Ca_BD = 1 << 31

# Exception codes (Cause.ExcCode)
EXC_INT = 0
EXC_MOD = 1
EXC_TLBL = 2
EXC_TLBS = 3
EXC_ADEL = 4
EXC_ADES = 5
EXC_IBE = 6
EXC_DBE = 7
EXC_SYS = 8
EXC_BP = 9
EXC_RI = 10
EXC_CPU = 11
EXC_OV = 12
EXC_TR = 13
EXC_FPE = 15
EXC_WATCH = 23
EXC_NAMES = {
    EXC_INT: "Int", EXC_MOD: "Mod", EXC_TLBL: "TLBL", EXC_TLBS: "TLBS",
    EXC_ADEL: "AdEL", EXC_ADES: "AdES", EXC_IBE: "IBE", EXC_DBE: "DBE",
    EXC_SYS: "Sys", EXC_BP: "Bp", EXC_RI: "RI", EXC_CPU: "CpU",
    EXC_OV: "Ov", EXC_TR: "Tr", EXC_FPE: "FPE", EXC_WATCH: "WATCH",
}
# Pseudo code (not architectural) used inside kernels for a TLB refill, which
# is TLBL/TLBS with a different vector offset.
EXC_REFILL_FLAG = 0x100

# ------------------------------------------------------------------ TLB entries
# tlb[c, i, field]
TLB_PAGEMASK = 0
TLB_ENTRYHI = 1   # VPN2 | ASID as written from EntryHi
TLB_LO0 = 2       # EntryLo0 as written (PFN, C, D, V, G)
TLB_LO1 = 3
TLB_NFIELDS = 4

# ---------------------------------------------------- translation cache (soft TLB)
# tc_tag[c, mmu_idx, kind, slot] = virtual page number (va >> 12), or -1
# tc_add[c, mmu_idx, kind, slot] = host RAM offset of the page minus its va
MMU_KERNEL = 0
MMU_SUPER = 1
MMU_USER = 2
ACC_FETCH = 0
ACC_LOAD = 1
ACC_STORE = 2
TC_BITS = 8
TC_SIZE = 1 << TC_BITS

# MMU flavour (params[P_MMU])
MMU_R4K = 0       # architectural R4000-style TLB, MIPS32 segments
MMU_FLAT = 1      # process mode: a flat page table ptab[vpn], served by the host OS emulation
# ptab entry: physical page address | PTE_* bits, or 0 = unmapped
PTE_R = 1
PTE_W = 2
PTE_X = 4

# ------------------------------------------------------------ run parameters
# params[...] : int64 settings read by kernels at run time (never module globals)
P_NCPU = 0
P_QUANTUM = 1        # instructions per CPU per round
P_MMU = 2            # MMU_R4K or MMU_FLAT
P_EXC_TO_HOST = 3    # 1: every exception exits to the host (process mode)
P_RAM_SIZE = 4       # bytes of RAM, at physical address 0
P_NTLB = 5           # TLB entries per CPU
P_NIO = 6            # number of rows used in iomap
P_CURCPU = 7         # the CPU the scheduler runs next (kept across exits)
P_ROM_PA = 8         # physical address of the boot ROM
P_ROM_SIZE = 9       # its size in bytes (0: no ROM)
P_ROM_HOST = 10      # its offset in ram8 (after RAM and the MMIO spare page)
NPARAMS = 12

# iomap[i] = (base, size, device id): physical ranges served by Python devices
IO_BASE = 0
IO_SIZE = 1
IO_DEV = 2

# --------------------------------------------------------------- exit record
# exitrec[...] describes why run() returned to Python.
X_REASON = 0
X_CPU = 1
X_A0 = 2
X_A1 = 3
X_A2 = 4
X_A3 = 5
NEXIT = 8

EXIT_BUDGET = 0      # instruction budget spent
EXIT_EXCEPTION = 1   # process mode: an exception for the host (a0 = ExcCode, a1 = BadVAddr, a2 = EPC)
EXIT_MMIO_LOAD = 2   # a0 = physical address, a1 = size, a2 = destination GPR, a3 = 1 if signed
EXIT_MMIO_STORE = 3  # a0 = physical address, a1 = size, a2 = value
EXIT_WAIT = 4        # every CPU waits and no interrupt is due
EXIT_HALT = 5        # every CPU halted
EXIT_NAMES = ["budget", "exception", "mmio_load", "mmio_store", "wait", "halt"]
NEXITS = len(EXIT_NAMES)

# ---------------------------------------------------------------- statistics
# stats[c, S_*] : int64 event counters, named for the HDF5 output.
S_INSNS = 0
S_TLB_REFILL = 1      # architectural TLB refill exceptions taken
S_TC_MISS = 2         # translation-cache misses (soft TLB refills from the TLB or page table)
S_SYSCALL = 3
S_INTERRUPT = 4
S_IDLE_CYCLES = 5     # cycles spent waiting (WAIT) with nothing to run
S_EXC_BASE = 8        # + ExcCode (32 entries): exceptions taken, by cause
S_EXIT_BASE = 40      # + EXIT_* : exits to Python, by reason
NSTATS = 48


class Machine(NamedTuple):
    """Every array the CPU kernel reads or writes. Created by `new_machine`."""
    cpu: np.ndarray      # int64[ncpu, NSLOTS]
    gpr: np.ndarray      # int64[ncpu, 32]
    fpr: np.ndarray      # int64[ncpu, 32]   64-bit patterns (FR=0: low 32 bits per register)
    cp0: np.ndarray      # int64[ncpu, 32, 8]
    tlb: np.ndarray      # int64[ncpu, ntlb, TLB_NFIELDS]
    tc_tag: np.ndarray   # int64[ncpu, 3, 3, TC_SIZE]
    tc_add: np.ndarray   # int64[ncpu, 3, 3, TC_SIZE]
    ram8: np.ndarray     # uint8[ram]   one buffer, three views
    ram16: np.ndarray    # uint16[ram/2]
    ram32: np.ndarray    # uint32[ram/4]
    ptab: np.ndarray     # int64[1<<20]  process-mode page table (MMU_FLAT), else length 1
    iomap: np.ndarray    # int64[16, 3]
    params: np.ndarray   # int64[NPARAMS]
    stats: np.ndarray    # int64[ncpu, NSTATS]
    exitrec: np.ndarray  # int64[NEXIT]
    scratch: np.ndarray  # int64[4]  bit-cast buffer for the FPU (viewed as float64/float32)


ROM_PA = 0x1FC00000


def new_machine(ncpu: int = 1, ram_bytes: int = 64 << 20, ntlb: int = 64,
                mmu: int = MMU_R4K, exc_to_host: bool = False, quantum: int = 10_000,
                rom_bytes: int = 0) -> Machine:
    """Allocate zeroed state for `ncpu` CPUs, `ram_bytes` of RAM at physical 0
    and `rom_bytes` of boot ROM at physical ROM_PA (0x1FC00000)."""
    if ram_bytes % 4096 or ram_bytes <= 0 or ram_bytes > ROM_PA:
        raise ValueError(f"RAM size {ram_bytes} must be a positive multiple of 4 KiB below {ROM_PA:#x}")
    if rom_bytes % 4096:
        raise ValueError(f"ROM size {rom_bytes} is not a multiple of 4 KiB")
    # layout of the host buffer: [RAM][one spare page: MMIO values pass through it, see mmu.py][ROM]
    ram8 = np.zeros(ram_bytes + 4096 + rom_bytes, dtype=np.uint8)
    params = np.zeros(NPARAMS, dtype=np.int64)
    params[P_NCPU] = ncpu
    params[P_QUANTUM] = quantum
    params[P_MMU] = mmu
    params[P_EXC_TO_HOST] = int(exc_to_host)
    params[P_RAM_SIZE] = ram_bytes
    params[P_NTLB] = ntlb
    params[P_ROM_PA] = ROM_PA
    params[P_ROM_SIZE] = rom_bytes
    params[P_ROM_HOST] = ram_bytes + 4096
    m = Machine(
        cpu=np.zeros((ncpu, NSLOTS), np.int64),
        gpr=np.zeros((ncpu, 32), np.int64),
        fpr=np.zeros((ncpu, 32), np.int64),
        cp0=np.zeros((ncpu, 32, 8), np.int64),
        tlb=np.zeros((ncpu, ntlb, TLB_NFIELDS), np.int64),
        tc_tag=np.full((ncpu, 3, 3, TC_SIZE), -1, np.int64),
        tc_add=np.zeros((ncpu, 3, 3, TC_SIZE), np.int64),
        ram8=ram8, ram16=ram8.view(np.uint16), ram32=ram8.view(np.uint32),
        ptab=np.zeros(1 << 20 if mmu == MMU_FLAT else 1, np.int64),
        iomap=np.zeros((16, 3), np.int64),
        params=params,
        stats=np.zeros((ncpu, NSTATS), np.int64),
        exitrec=np.zeros(NEXIT, np.int64),
        scratch=np.zeros(4, np.int64),
    )
    return m
