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
VCPU = 22         # Disco: 1 + the virtual CPU this CPU runs (0: none, the CPU is bare)
TRAP_AT = 23      # CYCLES when the CPU last raised an exception (before the monitor charged for it)
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
# multiprocessor scheduling: rounds of simulated time (see run.py)
P_ROUND_START = 11   # global time at which the current round began
P_ROUND_END = 12     # every CPU runs until its CYCLES reach this, in CPU order
P_IDLE_ROUND = 13    # 1 while no CPU has executed anything in the current round
# timing mode (params are 0 in functional mode; see cache.py)
P_TIMING = 14        # 1: caches, directory, latencies, MAGIC counters
P_LSHIFT = 15        # log2 of the cache line size (L1 and L2 share it)
P_L1I_SETS = 16      # number of sets (a power of two) ...
P_L1I_WAYS = 17      # ... and ways of each cache
P_L1D_SETS = 18
P_L1D_WAYS = 19
P_L2_SETS = 20
P_L2_WAYS = 21
P_LAT_L2 = 22        # cycles: L1 miss served by the L2
P_LAT_LOCAL = 23     # L2 miss served by the memory of the requester's node
P_LAT_REMOTE = 24    # L2 miss served by a remote home (2 hops)
P_LAT_DIRTY = 25     # L2 miss served by a cache on a third node (3 hops)
P_LAT_INVAL = 26     # directory occupancy per invalidation sent, added to the requester's latency
P_NNODES = 27
P_HOME_SHIFT = 28    # home node of physical address pa: (pa >> P_HOME_SHIFT) % P_NNODES
P_HOT_THRESHOLD = 29 # misses from one node to one page that make it hot (0: off)
P_HOTQ_N = 30        # hot-page events waiting in hotq for the host
P_NLINES = 31        # lines of RAM tracked by the directory
P_DIR_ERRORS = 32    # protocol transitions the table marks ERROR (must stay 0)
# Disco's cost model (cycles charged to the CPU that runs the monitor; see disco.py)
P_MON_TRAP = 33      # entering and leaving the monitor
P_MON_EMUL = 34      # emulating one privileged instruction
P_MON_TLB = 35       # a second-level TLB lookup and a real TLB write
P_MON_REFLECT = 36   # reflecting an exception to the guest's vector
P_MON_DATA = 37      # offset in each node of the monitor's per-VCPU data (timing mode touches it)
P_HOT_REMOTE = 38    # 1: only misses from a node other than the page's home make it hot (Disco's NUMA policy)
P_MON_REFILL = 39    # Disco's refill fast path: a real TLB refill served from the L2TLB, entry to exit
P_HOTQ_PEND = 40     # hot-page events in hotq not yet shown to the run loop (P_HOTQ_N stays 0 until a batch)
P_HOTQ_BATCH = 41    # events that make a batch: the run loop exits for them (<= 1: every event)
P_HOTQ_DROPS = 42    # hot-page events lost because hotq was full (HOTQ_LEN events already waiting)
# the device registers guest kernels touch most, served in the kernels (devfast.py)
P_IO_CYCLES = 43     # a device-register access's stall (the machine's io latency)
P_NS_PER_CYCLE = 44  # float64 bits: nanoseconds per cycle, as the timer device counts them
P_SMP_PA = 45        # physical base of the SMP block (the machine's and each VM's); 0: all in Python
P_TIMER_PA = 46      # physical base of the timer (nanoseconds, two words); 0: in Python
NPARAMS = 47

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
EXIT_HOT_PAGE = 6    # MAGIC saw a hot page: events in hotq[:params[P_HOTQ_N]]
EXIT_DISCO = 7       # Disco needs Python: a0 = DX_* kind, a1..a3 per kind (flashvm/kernels/disco.py)
EXIT_NAMES = ["budget", "exception", "mmio_load", "mmio_store", "wait", "halt", "hot_page", "disco"]
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
S_EXIT_BASE = 40      # + EXIT_* : exits to Python, by reason (8 entries)
S_CYC_BASE = 48       # + MMU_KERNEL/SUPER/USER: cycles spent in each mode (stalls included)
S_STALL_BASE = 51     # + mode: stall cycles (timing mode), a part of the above
S_L1I_MISS = 54
S_L1D_MISS = 55
S_L2_MISS = 56        # L2 misses (reads and writes; upgrades are counted apart)
S_MISS_LOCAL = 57     # L2 misses served by the requester's own node (memory or a cache there)
S_MISS_REMOTE = 58    # served by the memory of a remote home
S_MISS_DIRTY = 59     # served by an exclusive copy in a cache on another node (dirty remote)
S_UPGRADES = 60       # shared -> exclusive upgrades sent to the directory
S_INVALS = 61         # invalidations received (lines taken away by another CPU's write)
S_WRITEBACKS = 62     # dirty lines written back on eviction
S_L2_HITS = 63        # L1 misses served by the L2
NSTATS = 64

# node_stats[node, N_*] : what each node's memory and directory served
N_LOCAL = 0           # L2 misses of CPUs on this node to memory homed here
N_REMOTE = 1          # L2 misses of CPUs on other nodes to memory homed here
N_DIR_OPS = 2         # directory transactions handled (misses, upgrades, evictions)
N_INVALS = 3          # invalidations sent
N_WRITEBACKS = 4      # writebacks received
N_FORWARDS = 5        # requests forwarded to an owning cache
NNODE_STATS = 8

# hotq[i] = (page, node, count): hot-page events for the host
HOTQ_LEN = 64

# ------------------------------------------------------------------ Disco
# vstate[v, VS_*] : per virtual CPU
VS_VM = 0            # the VM it belongs to
VS_INDEX = 1         # its number inside the VM (EBase.CPUNum the guest sees)
VS_TIMER_MASKED = 2  # 1: a virtual timer interrupt is posted; the real timer line is masked until Compare is written
VS_HALTED = 3        # 1: stopped (its VM halted or failed)
VS_HAL = 4           # machine page of its HAL special page (0: a plain guest, no HAL)
VS_INVAL = 5         # bit i: the guest's TLB entry i was last written invalid (all of them: a flush)
NVSTATE = 8
# l2tlb[v, i, L2_*] : Disco's second-level software TLB (4 KB page pairs, machine addresses)
L2_TAG = 0           # VPN2 << 9 | 0x100 (global) or ASID; -1 empty
L2_LO0 = 1
L2_LO1 = 2
L2TLB_BITS = 12      # 4096 entries per VCPU, direct-mapped, indexed by VPN2 and ASID (flashvm/kernels/disco.py)
# dstats[v, DS_*] : what the monitor did for each virtual CPU
DS_TRAPS = 0         # entries into the monitor
DS_EMULATED = 1      # privileged instructions emulated
DS_MFC0 = 2
DS_MTC0 = 3
DS_TLBWRITE = 4      # tlbwi / tlbwr
DS_TLBP = 5
DS_ERET = 6
DS_WAIT = 7
DS_L2TLB_HIT = 8     # real TLB misses served from the L2TLB
DS_VTLB_HIT = 9      # served from the guest's (virtual) TLB
DS_REFLECTED = 10    # exceptions passed to the guest's vectors
DS_VINT = 11         # virtual interrupts delivered
DS_HOST = 12         # exits to Python
DS_MON_CYCLES = 13   # cycles charged to the monitor
DS_TLB_FLUSH = 14    # L2TLB flushes (guest invalidations)
DS_BUSERR = 15       # guest mappings of non-existent guest-physical memory
DS_MCALL = 16        # HAL monitor calls
DS_ZERO_PAGES = 17   # pages the monitor zeroed for the guest (HAL call)
DS_FREE_PAGES = 18   # pages the guest said are free (HAL call)
DS_TRAPS_SAVED = 19  # privileged instructions emulated in the trap of the one before (no trap of their own)
DS_DEVICE_FAST = 20  # the guest kernel's device accesses served without Python (IPIs, the timer)
NDSTATS = 21
DS_NAMES = ["traps", "emulated", "mfc0", "mtc0", "tlb_writes", "tlbp", "eret", "wait", "l2tlb_hits",
            "vtlb_hits", "reflected", "virtual_interrupts", "host_exits", "monitor_cycles",
            "l2tlb_flushes", "bus_errors", "monitor_calls", "pages_zeroed", "pages_freed", "traps_saved", "device_accesses"]


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
    # FLASH timing model (length-1 placeholders in functional mode); see cache.py
    cpu_node: np.ndarray    # int64[ncpu]   node of each CPU
    l1i: np.ndarray         # int64[ncpu, sets*ways]  line << 2 | MESI state, -1 = empty; way 0 = MRU
    l1d: np.ndarray         # int64[ncpu, sets*ways]
    l2: np.ndarray          # int64[ncpu, sets*ways]
    dir_sharers: np.ndarray # int64[nlines]  bit set of CPUs holding the line shared
    dir_owner: np.ndarray   # int8[nlines]   CPU holding it exclusive (E or M), or -1
    magic: np.ndarray       # int32[npages, nnodes]  MAGIC: cache misses to each page from each node
    node_stats: np.ndarray  # int64[nnodes, NNODE_STATS]
    hotq: np.ndarray        # int64[HOTQ_LEN, 3]
    # Disco (length-1 placeholders without VMs); see disco.py
    vcp0: np.ndarray        # int64[nvcpu, 32, 8]  each VCPU's virtual CP0
    vtlb: np.ndarray        # int64[nvcpu, ntlb, 4] the guest's TLB as it wrote it (guest-physical)
    vstate: np.ndarray      # int64[nvcpu, NVSTATE]
    l2tlb: np.ndarray       # int64[nvcpu, 1 << L2TLB_BITS, 3]
    l2link: np.ndarray      # int64[nvcpu, 3, 2 << L2TLB_BITS]  machine page -> L2TLB halves (l2index.py)
    pmap: np.ndarray        # int64[nvm, guest pages]  guest-physical page -> machine page, -1 none
    dstats: np.ndarray      # int64[nvcpu, NDSTATS]
    wprot: np.ndarray       # int8[ram pages]  owner tag of a write-protected machine page, 0 = none (Disco)
    replica: np.ndarray     # int32[ram pages, nnodes]  a protected page's local copy on each node, -1 = none


ROM_PA = 0x1FC00000


class CacheShape(NamedTuple):
    """Geometry of one cache: `sets` (a power of two) x `ways` lines."""
    sets: int
    ways: int


def new_machine(ncpu: int = 1, ram_bytes: int = 64 << 20, ntlb: int = 64,
                mmu: int = MMU_R4K, exc_to_host: bool = False, quantum: int = 10_000,
                rom_bytes: int = 0, *, nnodes: int = 1, home_shift: int = 0,
                cpu_node: list[int] | None = None, timing: bool = False,
                line_bytes: int = 128, l1i: CacheShape = CacheShape(128, 2),
                l1d: CacheShape = CacheShape(128, 2), l2: CacheShape = CacheShape(4096, 2),
                nvcpu: int = 0, nvm: int = 0, vm_pages: int = 0) -> Machine:
    """Allocate zeroed state for `ncpu` CPUs, `ram_bytes` of RAM at physical 0
    and `rom_bytes` of boot ROM at physical ROM_PA (0x1FC00000).

    With `timing`, also the cache tag arrays (shapes l1i/l1d/l2, lines of
    `line_bytes`), the directory (one entry per line of RAM) and the MAGIC
    page counters; the latencies are set by the caller (flashvm.machine.config).
    Physical address pa lives on node (pa >> home_shift) % nnodes.  `nvcpu`,
    `nvm`, `vm_pages`: room for Disco's virtual CPUs and the VMs' pmaps."""
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
    params[P_NNODES] = nnodes
    params[P_HOME_SHIFT] = home_shift if home_shift else max(ram_bytes.bit_length(), 12)
    if cpu_node is None:
        cpu_node = [c * nnodes // ncpu for c in range(ncpu)]
    if len(cpu_node) != ncpu or not all(0 <= n < nnodes for n in cpu_node):
        raise ValueError(f"cpu_node must give a node in 0..{nnodes - 1} for each of {ncpu} CPUs")
    if timing:
        if ncpu > 64:
            raise ValueError("the directory's sharer bit set holds at most 64 CPUs")
        if line_bytes & (line_bytes - 1) or not 16 <= line_bytes <= 4096:
            raise ValueError(f"cache line size {line_bytes} must be a power of two in 16..4096")
        for name, shape in (("L1I", l1i), ("L1D", l1d), ("L2", l2)):
            if shape.sets & (shape.sets - 1) or shape.sets < 1 or shape.ways < 1:
                raise ValueError(f"{name}: {shape.sets} sets x {shape.ways} ways: sets must be a power of two")
        params[P_TIMING] = 1
        params[P_LSHIFT] = line_bytes.bit_length() - 1
        params[P_L1I_SETS], params[P_L1I_WAYS] = l1i
        params[P_L1D_SETS], params[P_L1D_WAYS] = l1d
        params[P_L2_SETS], params[P_L2_WAYS] = l2
        nlines = ram_bytes // line_bytes
        npages = ram_bytes >> 12
    else:
        l1i = l1d = l2 = CacheShape(1, 1)
        nlines = npages = 1
    params[P_NLINES] = nlines
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
        cpu_node=np.array(cpu_node, np.int64),
        l1i=np.full((ncpu, l1i.sets * l1i.ways), -1, np.int64),
        l1d=np.full((ncpu, l1d.sets * l1d.ways), -1, np.int64),
        l2=np.full((ncpu, l2.sets * l2.ways), -1, np.int64),
        dir_sharers=np.zeros(nlines, np.int64),
        dir_owner=np.full(nlines, -1, np.int8),
        magic=np.zeros((npages, nnodes), np.int32),
        node_stats=np.zeros((nnodes, NNODE_STATS), np.int64),
        hotq=np.zeros((HOTQ_LEN, 3), np.int64),
        vcp0=np.zeros((max(nvcpu, 1), 32, 8), np.int64),
        vtlb=np.zeros((max(nvcpu, 1), ntlb, TLB_NFIELDS), np.int64),
        vstate=np.zeros((max(nvcpu, 1), NVSTATE), np.int64),
        l2tlb=np.full((max(nvcpu, 1), (1 << L2TLB_BITS) if nvcpu else 1, 3), -1, np.int64),
        l2link=np.full((max(nvcpu, 1), 3, (2 << L2TLB_BITS) if nvcpu else 1), -1, np.int64),
        pmap=np.full((max(nvm, 1), max(vm_pages, 1)), -1, np.int64),
        dstats=np.zeros((max(nvcpu, 1), NDSTATS), np.int64),
        wprot=np.zeros(ram_bytes >> 12 if nvm else 1, np.int8),
        replica=np.full((ram_bytes >> 12, nnodes) if nvm else (1, 1), -1, np.int32),
    )
    return m
