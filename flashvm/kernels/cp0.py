"""CP0: system control registers, exceptions, ERET, RDHWR and the FPU control registers.

Register reset values and writable masks describe the CPU model (a MIPS32r2
core in the spirit of the 24Kf, with a configurable number of TLB entries).
Kernels here are called from the interpreter on the slow path only.
"""
from flashvm.kernels.dispatch import njit

from flashvm.kernels.entrylo import LO_WRITABLE
from flashvm.kernels.fpu_fcsr import FCSR_RW_MASK, FIR_24KF
from flashvm.kernels.mmu import tc_flush_nb
from flashvm.kernels.state import (
    BRANCH_PC, COUNT_AT_BASE, COUNT_BASE, CP0_BadVAddr, CP0_Cause, CP0_Compare, CP0_Config,
    CP0_Context, CP0_Count, CP0_EntryHi, CP0_EntryLo0, CP0_EntryLo1, CP0_EPC, CP0_ErrorEPC,
    CP0_HWREna, CP0_Index, CP0_LLAddr, CP0_PageMask, CP0_PRId, CP0_Random, CP0_Status, CP0_Wired,
    Ca_BD, Ca_IP, Ca_IV, Ca_TI, CYCLES, INSNS, EXC_ADEL, EXC_ADES, EXC_INT, EXC_MOD, EXC_REFILL_FLAG,
    EXC_TLBL, EXC_TLBS, EXIT_EXCEPTION, FCSR, FIR, LLADDR, LLBIT, NPC, P_EXC_TO_HOST, P_NTLB, PC,
    S_EXC_BASE, S_INTERRUPT, S_SYSCALL, S_TLB_REFILL, EXC_SYS, SEL_EBase, SEL_UserLocal, St_BEV,
    St_ERL, St_EXL, St_IE, TIMER_DUE, WAITING, X_A0, X_A1, X_A2, X_A3, X_CPU, X_REASON, Machine,
)

M32 = 0xFFFFFFFF

# ---------------------------------------------------------------- the CPU model
PRID = 0x00019300            # MIPS Technologies, 24K core
CONFIG0 = 0x80000000 | (1 << 10) | (1 << 7) | 3      # M, AR=release 2, MT=TLB, K0=cacheable
CONFIG2 = 0x80000000                                 # M: Config3 follows
CONFIG3 = 1 << 13                                    # ULRI: UserLocal is implemented
FIR_VALUE = FIR_24KF         # F64 L W D S, processor id 0x93 (no 3D, PS, 2008 NaN)
FCSR_WRITABLE = FCSR_RW_MASK  # FCC7..1, FS, FCC0, cause, enables, flags, RM
STATUS_WRITABLE = ((1 << 29) | (1 << 28) | (1 << 27) | (1 << 26) | (1 << 25) | (1 << 22)
                   | (1 << 20) | (1 << 19) | 0xFF00 | 0x1F)
CAUSE_WRITABLE = (1 << 27) | Ca_IV | (1 << 22) | 0x300
COUNT_SHIFT = 1              # Count advances once every 2 cycles


def config1(ntlb: int) -> int:
    """Config1: TLB size and 32 KB 4-way L1 caches with 32-byte lines, FPU present."""
    geom = (2 << 22) | (4 << 19) | (3 << 16) | (2 << 13) | (4 << 10) | (3 << 7)
    return 0x80000000 | ((ntlb - 1) << 25) | geom | 1


def reset_cpu(m: Machine, c: int) -> None:
    """Cold reset of CPU c: kernel mode, BEV=ERL=1, PC at the reset vector.
    Its clock keeps running (simulated time never goes back): Count restarts at 0."""
    cp0 = m.cp0
    cp0[c] = 0
    cycles, insns = int(m.cpu[c, CYCLES]), int(m.cpu[c, INSNS])
    m.cpu[c] = 0
    m.cpu[c, CYCLES] = cycles
    m.cpu[c, INSNS] = insns
    m.cpu[c, COUNT_BASE] = cycles
    m.gpr[c] = 0
    m.fpr[c] = 0
    ntlb = int(m.params[P_NTLB])
    cp0[c, CP0_Status, 0] = St_BEV | St_ERL
    cp0[c, CP0_PRId, 0] = PRID
    cp0[c, CP0_PRId, SEL_EBase] = 0x80000000 | c
    cp0[c, CP0_Config, 0] = CONFIG0
    cp0[c, CP0_Config, 1] = config1(ntlb)
    cp0[c, CP0_Config, 2] = CONFIG2
    cp0[c, CP0_Config, 3] = CONFIG3
    cp0[c, CP0_Random, 0] = ntlb - 1
    cp0[c, CP0_Compare, 0] = 0
    m.cpu[c, PC] = 0xBFC00000
    m.cpu[c, NPC] = 0xBFC00004
    m.cpu[c, BRANCH_PC] = -1
    m.cpu[c, FIR] = FIR_VALUE
    m.cpu[c, TIMER_DUE] = timer_due(cycles, cycles, 0, 0)
    # the TLB starts with distinct, unmatchable entries (kseg0 VPN2s) so no
    # two reset entries can create a multiple match
    for i in range(ntlb):
        m.tlb[c, i] = 0
        m.tlb[c, i, 1] = 0x80000000 + (i << 13)
    m.tc_tag[c] = -1


@njit(cache=True, _nrt=False)
def timer_due(cycles, count_base, count_at_base, compare):
    """Cycle at which Count next equals Compare (counting from `cycles`)."""
    now = count_at_base + ((cycles - count_base) >> COUNT_SHIFT)
    delta = (compare - now) & M32
    if delta == 0:
        delta = 1 << 32
    # Count increments on even cycles relative to count_base
    ticks_now = (cycles - count_base) >> COUNT_SHIFT
    return count_base + ((ticks_now + delta) << COUNT_SHIFT)


@njit(cache=True, _nrt=False)
def count_now(m, c, cyc):
    st = m.cpu[c]
    return (st[COUNT_AT_BASE] + ((cyc - st[COUNT_BASE]) >> COUNT_SHIFT)) & M32


@njit(cache=True, _nrt=False)
def mfc0_nb(m, c, reg, sel, cyc):
    if reg == CP0_Count and sel == 0:
        return count_now(m, c, cyc)
    if reg == CP0_Random and sel == 0:
        return random_index_nb(m, c, cyc)
    if reg == CP0_LLAddr and sel == 0:
        return (m.cpu[c, LLADDR] >> 4) & M32     # PAddr[35:4] of the last LL
    return m.cp0[c, reg, sel]


@njit(cache=True, _nrt=False)
def random_index_nb(m, c, cyc):
    """Random: between Wired and the last entry, a deterministic function of time."""
    n = m.params[P_NTLB]
    wired = m.cp0[c, CP0_Wired, 0]
    if wired >= n:
        return n - 1
    return n - 1 - (cyc % (n - wired))


@njit(cache=True, _nrt=False)
def _index_mask(n):
    k = 1
    while k < n:
        k <<= 1
    return k - 1


@njit(cache=True, _nrt=False)
def cp0_written_value(reg, sel, old, val, ntlb):
    """The value a CP0 register holds after software writes `val` over `old`
    (writable-bits masks, read-only registers).  Count and Compare are plain
    values here; their timer side effects are the caller's."""
    if sel == 0:
        if reg == CP0_Index:
            return (old & 0x80000000) | (val & _index_mask(ntlb))
        if reg == CP0_EntryLo0 or reg == CP0_EntryLo1:
            return val & LO_WRITABLE
        if reg == CP0_Context:
            return (old & 0x007FFFFF) | (val & 0xFF800000)
        if reg == CP0_PageMask:
            return val & 0x1FFFE000
        if reg == CP0_Wired:
            return val & _index_mask(ntlb)
        if reg == CP0_HWREna:
            return val & 0x2000000F
        if reg == CP0_EntryHi:
            return val & 0xFFFFE0FF
        if reg == CP0_Status:
            return (old & ~STATUS_WRITABLE) | (val & STATUS_WRITABLE)
        if reg == CP0_Cause:
            return (old & ~CAUSE_WRITABLE) | (val & CAUSE_WRITABLE)
        if reg == CP0_Config:
            return (old & ~7) | (val & 7)
        if reg == CP0_Random or reg == CP0_BadVAddr or reg == CP0_PRId or reg == CP0_LLAddr:
            return old  # read-only
        return val & M32
    if reg == CP0_PRId and sel == SEL_EBase:
        return (old & ~0x3FFFF000) | (val & 0x3FFFF000)
    if reg == CP0_Config:
        return old  # Config1..3 are read-only
    return val & M32


@njit(cache=True, _nrt=False)
def mtc0_nb(m, c, reg, sel, val, cyc):
    """Write a CP0 register with its writable-bits mask and side effects."""
    cp0 = m.cp0
    st = m.cpu[c]
    old = cp0[c, reg, sel]
    new = cp0_written_value(reg, sel, old, val, m.params[P_NTLB])
    if sel == 0 and reg == CP0_Count:
        st[COUNT_BASE] = cyc
        st[COUNT_AT_BASE] = val
        st[TIMER_DUE] = timer_due(cyc, cyc, val, cp0[c, CP0_Compare, 0])
        return
    cp0[c, reg, sel] = new
    if sel != 0:
        return
    if reg == CP0_EntryHi and (old ^ new) & 0xFF:
        tc_flush_nb(m, c)
    elif reg == CP0_Compare:
        cp0[c, CP0_Cause, 0] &= ~(Ca_TI | (1 << 15))
        st[TIMER_DUE] = timer_due(cyc, st[COUNT_BASE], st[COUNT_AT_BASE], new)
    elif reg == CP0_Status and (old ^ new) & St_ERL:
        tc_flush_nb(m, c)


@njit(cache=True, _nrt=False)
def enter_exception_nb(regs, code, pc, bpc, badva, ce):
    """What a MIPS32 CPU does to its CP0 registers `regs` ([32, 8]: a real
    CPU's, or a VCPU's virtual ones) when it takes exception `code` (ExcCode,
    maybe | EXC_REFILL_FLAG) raised by the instruction at `pc`: BadVAddr,
    EntryHi, Context, EPC and Cause.BD (unless EXL), Cause.ExcCode/CE,
    Status.EXL.  Returns the vector address."""
    exc = code & 0x1F
    refill = (code & EXC_REFILL_FLAG) != 0
    bd = bpc >= 0 and pc == ((bpc + 4) & M32)
    if exc == EXC_ADEL or exc == EXC_ADES or exc == EXC_TLBL or exc == EXC_TLBS or exc == EXC_MOD:
        regs[CP0_BadVAddr, 0] = badva
    if exc == EXC_TLBL or exc == EXC_TLBS or exc == EXC_MOD:
        hi = regs[CP0_EntryHi, 0]
        regs[CP0_EntryHi, 0] = (hi & 0xFF) | (badva & 0xFFFFE000)
        regs[CP0_Context, 0] = (regs[CP0_Context, 0] & ~0x7FFFF0) | ((badva >> 9) & 0x7FFFF0)
    status = regs[CP0_Status, 0]
    cause = regs[CP0_Cause, 0]
    if status & St_EXL == 0:
        regs[CP0_EPC, 0] = bpc if bd else pc
        cause = (cause | Ca_BD) if bd else (cause & ~Ca_BD)
        if refill:
            off = 0x000
        elif exc == EXC_INT and cause & Ca_IV:
            off = 0x200
        else:
            off = 0x180
    else:
        off = 0x180
    regs[CP0_Cause, 0] = (cause & ~(0x7C | (3 << 28))) | (exc << 2) | ((ce & 3) << 28)
    regs[CP0_Status, 0] = status | St_EXL
    if status & St_BEV:
        return 0xBFC00200 + off
    return (regs[CP0_PRId, SEL_EBase] & 0xFFFFF000) + off


@njit(cache=True, _nrt=False)
def take_exception_nb(m, c, code, pc, bpc, badva, ce):
    """Enter exception `code` (ExcCode, maybe | EXC_REFILL_FLAG) raised by the
    instruction at `pc`.  Returns 1 when the exception goes to the host
    (process mode: exit record filled), 0 when the CPU now runs its handler."""
    cp0 = m.cp0
    st = m.cpu[c]
    exc = code & 0x1F
    refill = (code & EXC_REFILL_FLAG) != 0
    m.stats[c, S_EXC_BASE + exc] += 1
    if refill:
        m.stats[c, S_TLB_REFILL] += 1
    if exc == EXC_SYS:
        m.stats[c, S_SYSCALL] += 1
    if exc == EXC_INT:
        m.stats[c, S_INTERRUPT] += 1
    bd = bpc >= 0 and pc == ((bpc + 4) & M32)
    epc = bpc if bd else pc
    if m.params[P_EXC_TO_HOST]:
        st[PC] = pc
        st[NPC] = (pc + 4) & M32
        x = m.exitrec
        x[X_REASON] = EXIT_EXCEPTION
        x[X_CPU] = c
        x[X_A0] = exc
        x[X_A1] = badva
        x[X_A2] = epc
        x[X_A3] = 1 if bd else 0
        return 1
    target = enter_exception_nb(cp0[c], code, pc, bpc, badva, ce)
    st[PC] = target
    st[NPC] = (target + 4) & M32
    st[BRANCH_PC] = -1
    st[WAITING] = 0
    return 0


@njit(cache=True, _nrt=False)
def irq_pending(status, cause):
    """An interrupt would be taken now: enabled, not in an exception, and unmasked."""
    return (status & St_IE) != 0 and (status & (St_EXL | St_ERL)) == 0 and (status & cause & Ca_IP) != 0


@njit(cache=True, _nrt=False)
def eret_nb(m, c):
    """ERET: return to ErrorEPC (ERL=1) or EPC, clearing the LL bit.  Returns the new PC."""
    cp0 = m.cp0
    status = cp0[c, CP0_Status, 0]
    if status & St_ERL:
        cp0[c, CP0_Status, 0] = status & ~St_ERL
        tc_flush_nb(m, c)
        target = cp0[c, CP0_ErrorEPC, 0]
    else:
        cp0[c, CP0_Status, 0] = status & ~St_EXL
        target = cp0[c, CP0_EPC, 0]
    m.cpu[c, LLBIT] = 0
    return target


@njit(cache=True, _nrt=False)
def rdhwr_nb(m, c, reg, kmode, cyc):
    """RDHWR: the hardware register `reg`, or -1 when not accessible (RI)."""
    if not kmode and (m.cp0[c, CP0_HWREna, 0] >> reg) & 1 == 0:
        return -1
    if reg == 0:
        return m.cp0[c, CP0_PRId, SEL_EBase] & 0x3FF
    if reg == 1:
        return 32
    if reg == 2:
        return count_now(m, c, cyc)
    if reg == 3:
        return 1 << COUNT_SHIFT
    if reg == 29:
        return m.cp0[c, CP0_Context, SEL_UserLocal]
    return -1


@njit(cache=True, _nrt=False)
def cfc1_nb(m, c, reg):
    """CFC1: FPU control register `reg`, or -1 for an unimplemented one (RI)."""
    fcsr = m.cpu[c, FCSR]
    if reg == 0:
        return m.cpu[c, FIR]
    if reg == 31:
        return fcsr
    if reg == 25:   # FCCR
        return ((fcsr >> 24) & 0xFE) | ((fcsr >> 23) & 1)
    if reg == 26:   # FEXR
        return fcsr & 0x0003F07C
    if reg == 28:   # FENR
        return (fcsr & 0xF83) | ((fcsr >> 22) & 4)
    return -1


@njit(cache=True, _nrt=False)
def ctc1_nb(m, c, reg, val):
    """CTC1: write an FPU control register.  Returns -1 (RI) for a bad register,
    1 when the new FCSR has an enabled cause (FP exception), else 0."""
    fcsr = m.cpu[c, FCSR]
    if reg == 31:
        fcsr = (fcsr & ~FCSR_WRITABLE) | (val & FCSR_WRITABLE)
    elif reg == 25:
        if val & 0xFFFFFF00:
            return 0
        fcsr = (fcsr & 0x017FFFFF) | ((val & 0xFE) << 24) | ((val & 1) << 23)
    elif reg == 26:
        if val & 0xFFFC0F83:
            return 0
        fcsr = (fcsr & 0xFFFC0F83) | (val & 0x0003F07C)
    elif reg == 28:
        if val & 0xFFFFF078:
            return 0
        fcsr = (fcsr & 0xFEFFF07C) | (val & 0xF83) | ((val & 4) << 22)
    else:
        return -1
    m.cpu[c, FCSR] = fcsr
    cause = (fcsr >> 12) & 0x3F
    enables = ((fcsr >> 7) & 0x1F) | 0x20
    return 1 if cause & enables else 0
