"""Disco's monitor inside the JIT loop: the trap path of a CPU that runs a
virtual CPU.

A CPU runs a VCPU when cpu[c, VCPU] = 1 + v.  The guest's registers are in
the CPU's own arrays (direct execution); its privileged state is virtual:
vcp0[v] (Status, Cause, EPC, EntryHi, ... as the guest wrote them) and
vtlb[v] (its TLB, guest-physical).  The real CP0 and TLB belong to the
monitor: real Status puts the CPU in supervisor mode while the guest is in
its kernel mode (virtual KSU = kernel, or EXL/ERL set) and in user mode
otherwise, with IE = 1 and only the timer line enabled; real EntryHi carries
the guest's ASID (the real TLB is flushed when VCPUs switch, as in the
paper); real TLB entries are the guest's entries translated through the VM's
pmap (guest-physical page -> machine page), 4 KB page pairs.

Every exception of such a CPU comes here (`disco_trap_nb`, called by the
CPU's exception entry in flashvm/kernels/trap.py) instead of the real vectors:

* a privileged instruction of the guest kernel (Coprocessor Unusable in
  supervisor mode) is emulated against vcp0/vtlb: mfc0/mtc0, di/ei,
  tlbr/tlbwi/tlbwr/tlbp, eret, wait, cache;
* a real TLB miss is served from the second-level software TLB (l2tlb) or
  the guest's own TLB when they hold a translation; otherwise it is
  reflected to the guest (refill or invalid, as its TLB would raise it);
  the L2TLB keeps what the guest's tlbwr evicts and forgets what the guest
  takes back (_guest_tlb_write);
* the real timer interrupt becomes the guest's virtual timer interrupt
  (virtual Count/Compare mirror the real ones);
* a guest-kernel access to kseg0/kseg1 (devices, unmapped memory) exits to
  Python (EXIT_DISCO, DX_KSEG), which emulates it;
* anything else (syscalls, breaks, address errors, FPU, ...) is reflected:
  the virtual EPC/Cause/Status/BadVAddr/Context/EntryHi are set as the
  hardware would, and the guest continues at its vector.  The vectors of a
  relinked kernel are entered through the supervisor-segment alias of EBase
  (0xC0000000 + its physical address: the KSEG0 relocation of the paper).

Monitor time is charged, not free: each trap costs P_MON_TRAP cycles plus
P_MON_EMUL per emulated instruction, P_MON_TLB per TLB refill served from the
guest's TLB or guest TLB write made machine, P_MON_REFLECT per reflected
exception; a refill the L2TLB serves costs P_MON_REFILL, the whole fast path.
In timing mode the handler's references to the VCPU's monitor data (a line at
P_MON_DATA + 256 * v) and to the L2TLB entries it reads and writes go through
the memory system of the CPU that runs it.  It all counts as kernel-mode
(monitor) time (docs/disco.md: the cost model).
"""
import numpy as np
from flashvm.kernels.dispatch import njit

from flashvm.kernels.cache import access_nb
from flashvm.kernels.cp0 import count_now, cp0_written_value, enter_exception_nb, irq_pending, mtc0_nb
from flashvm.kernels.entrylo import LO_G, lo_dirty, lo_pfn, lo_valid
from flashvm.kernels.l2tlb import (
    KSSEG, _vtlb_lookup, drop_pair_nb,
    l2tlb_flush_nb,
)
from flashvm.kernels.devfast import IRQ_IPI, SMP_IPI_ACK, SMP_IPI_SEND, charge_io_nb, smp_register, timer_word_nb
from flashvm.kernels.mmu import xlate_nb
from flashvm.kernels.moncore import (
    BUS_ERROR, FILLED, HAL_EBASE, HAL_MC_DISK, HAL_MC_FREE, HAL_MC_ZERO, HAL_MCALL, M32, NO_ENTRY, _charge, _prefill,
    fill_nb,
)
from flashvm.kernels.pagecopy import zero_page_nb
from flashvm.kernels.state import (
    ACC_FETCH, ACC_LOAD, BRANCH_PC, CP0_BadVAddr, CP0_Cause, CP0_Context, CP0_Count, CP0_EntryHi,
    CP0_Compare, CP0_EntryLo0, CP0_EntryLo1, CP0_EPC, CP0_ErrorEPC, CP0_HWREna, CP0_Index, CP0_PageMask, CP0_PRId,
    CP0_Random, CP0_Status, CP0_Wired, CYCLES, Ca_IP, Ca_TI, DS_EMULATED, DS_ERET,
    DS_HOST, DS_L2TLB_HIT, DS_MFC0, DS_MTC0, DS_REFLECTED, DS_TLBP,
    DS_TLBWRITE, DS_TRAPS, DS_VINT, DS_WAIT, EXC_ADEL, EXC_ADES, EXC_CPU, EXC_DBE, EXC_IBE,
    EXC_INT, EXC_MOD, EXC_REFILL_FLAG, EXC_RI, EXC_TLBL, EXC_TLBS, EXIT_DISCO, LLBIT, MMU_SUPER, NPC, P_LSHIFT,
    P_MON_EMUL, P_MON_REFLECT, P_MON_TLB,
    P_MON_REFILL, P_MON_TRAP, P_NTLB, P_TIMING, PC, S_EXC_BASE, SEL_EBase, SEL_UserLocal, St_CU1,
    St_ERL, St_EXL, St_FR, St_IE, St_KSU, TLB_ENTRYHI, TLB_LO0, TLB_LO1, TLB_PAGEMASK, VCPU, VS_TIMER_MASKED,
    VS_HAL, VS_INVAL, VS_VM, WAITING, X_A0, X_A1, X_A2, X_A3, X_CPU, X_REASON, DS_MCALL, DS_ZERO_PAGES, DS_FREE_PAGES,
    DS_TRAPS_SAVED, DS_DEVICE_FAST, VS_INDEX,
)
OP_LW = 0x23
OP_SW = 0x2B

IM_TIMER = 1 << 15
EHB = 0x000000C0         # sll $0, $0, 3: the hazard barrier between mtc0 and tlbw*/eret
MAX_RUN = 8              # privileged instructions emulated in one trap, at most (see _emulate_run)
# DX_*: why the monitor needs Python (exitrec a0)
DX_KSEG = 1          # a1 = faulting address, a2 = instruction word, a3 = 1 for a store
DX_HALT = 2          # the guest executed something the monitor stops it for (a1 = reason)
DX_MCALL = 3         # a HAL monitor call for Python: a1 = call (offset), a2 = the value stored
DX_WPROT = 4         # a write to a write-protected machine page: a1 = guest page, a2 = WP_*, a3 = address
# how a write-protected page was to be written (exitrec a2 of DX_WPROT)
WP_STORE = 0         # a guest store (Mod on a page mapped without D): it is re-executed after Python
WP_ZERO = 1          # the HAL zero-page monitor call: Python zeroes the page after its owner is told

# entry status of the interpreter after a monitor call
RESUME = 0
TO_HOST = 1


# ------------------------------------------------------------ bookkeeping
@njit(cache=True, _nrt=False)
def guest_kernel_mode(vstatus):
    return (vstatus & (St_EXL | St_ERL)) != 0 or (vstatus & St_KSU) == 0


@njit(cache=True, _nrt=False)
def sync_real_status_nb(m, c, v):
    """Real Status of CPU c for the guest's virtual Status (see the module doc)."""
    vs = m.vcp0[v, CP0_Status, 0]
    mode = (1 << 3) if guest_kernel_mode(vs) else (2 << 3)
    im = 0 if m.vstate[v, VS_TIMER_MASKED] else IM_TIMER
    m.cp0[c, CP0_Status, 0] = St_IE | mode | im | (vs & (St_CU1 | St_FR))


# ------------------------------------------------------------ the HAL special page
@njit(cache=True, _nrt=False)
def hal_push_nb(m, v):
    """Write the guest-visible privileged registers into VCPU v's special page."""
    mp = m.vstate[v, VS_HAL]
    if mp == 0:
        return
    w = (mp << 12) >> 2
    vc = m.vcp0
    for reg in (CP0_Status, CP0_Cause, CP0_EPC, CP0_BadVAddr, CP0_Context, CP0_EntryHi, CP0_EntryLo0,
                CP0_EntryLo1):
        m.ram32[w + reg] = vc[v, reg, 0] & M32
    m.ram32[w + (HAL_EBASE >> 2)] = vc[v, CP0_PRId, SEL_EBase] & M32


@njit(cache=True, _nrt=False)
def hal_pull_nb(m, c, v):
    """Take what the guest stored in its special page (registers without side effects)."""
    mp = m.vstate[v, VS_HAL]
    if mp == 0:
        return
    w = (mp << 12) >> 2
    vc = m.vcp0
    n = m.params[P_NTLB]
    for reg in (CP0_EPC, CP0_EntryLo0, CP0_EntryLo1):
        vc[v, reg, 0] = cp0_written_value(reg, 0, vc[v, reg, 0], np.int64(m.ram32[w + reg]), n)
    new = cp0_written_value(CP0_Status, 0, vc[v, CP0_Status, 0], np.int64(m.ram32[w + CP0_Status]), n)
    if new != vc[v, CP0_Status, 0]:
        vc[v, CP0_Status, 0] = new
        if c >= 0:
            sync_real_status_nb(m, c, v)


@njit(cache=True, _nrt=False)
def _monitor_call(m, c, v, off, pc):
    """A HAL monitor call: a store of a guest-physical page address to the monitor-call page."""
    m.dstats[v, DS_MCALL] += 1
    insn = _fetch_insn(m, c, pc)
    if insn < 0:
        return RESUME
    gpa = m.gpr[c, (insn >> 16) & 31] & 0xFFFFF000          # the stored register
    vm = m.vstate[v, VS_VM]
    g = gpa >> 12
    if g >= m.pmap.shape[1] or m.pmap[vm, g] < 0:
        return RESUME
    if off == HAL_MC_ZERO:
        mp = m.pmap[vm, g]
        if m.wprot[mp] != 0:                      # its owner must hear of the write first (Python)
            return _to_host(m, c, v, DX_WPROT, g, WP_ZERO, gpa)
        m.dstats[v, DS_ZERO_PAGES] += 1
        _charge(m, c, v, zero_page_nb(m, c, mp), 0)   # through the caches, as the guest's own loop
    elif off == HAL_MC_FREE:
        m.dstats[v, DS_FREE_PAGES] += 1
    return RESUME


# ------------------------------------------------------------ reflection
@njit(cache=True, _nrt=False)
def reflect_nb(m, c, v, code, pc, bpc, badva, ce):
    """Deliver exception `code` (ExcCode | EXC_REFILL_FLAG) to the guest, as its CPU would take it."""
    st = m.cpu[c]
    exc = code & 0x1F
    vector = enter_exception_nb(m.vcp0[v], code, pc, bpc, badva, ce)
    # the relinked kernel's vectors, through the supervisor-segment alias of their physical address
    target = KSSEG | (vector & 0x1FFFFFFF)
    st[PC] = target
    st[NPC] = (target + 4) & M32
    st[BRANCH_PC] = -1
    st[WAITING] = 0
    m.dstats[v, DS_REFLECTED] += 1
    m.stats[c, S_EXC_BASE + exc] += 1
    sync_real_status_nb(m, c, v)
    _charge(m, c, v, m.params[P_MON_REFLECT], 1)


@njit(cache=True, _nrt=False)
def deliver_pending_nb(m, c, v):
    """If the guest can take a virtual interrupt now, deliver it (at the resume point).  Returns 1 if it did."""
    vs = m.vcp0[v, CP0_Status, 0]
    vcause = m.vcp0[v, CP0_Cause, 0]
    if not irq_pending(vs, vcause):
        return 0
    st = m.cpu[c]
    m.dstats[v, DS_VINT] += 1
    reflect_nb(m, c, v, EXC_INT, st[PC], st[BRANCH_PC], 0, 0)
    return 1


@njit(cache=True, _nrt=False)
def post_interrupt_nb(m, c, v, line, level):
    """A virtual device drives hardware line `line` (0..5) of VCPU v (running on CPU c, or c < 0)."""
    bit = 1 << (10 + line)
    if level:
        m.vcp0[v, CP0_Cause, 0] |= bit
    else:
        m.vcp0[v, CP0_Cause, 0] &= ~bit
    if c >= 0 and level:
        hal_pull_nb(m, c, v)
        vs = m.vcp0[v, CP0_Status, 0]
        if vs & m.vcp0[v, CP0_Cause, 0] & Ca_IP:
            m.cpu[c, WAITING] = 0           # a posted interrupt ends the guest's WAIT
        deliver_pending_nb(m, c, v)
    hal_push_nb(m, v)


# ------------------------------------------------------------ emulation
@njit(cache=True, _nrt=False)
def vmfc0_nb(m, c, v, reg, sel, cyc):
    if reg == CP0_Count and sel == 0:
        return count_now(m, c, cyc)
    if reg == CP0_Random and sel == 0:
        n = m.params[P_NTLB]
        wired = m.vcp0[v, CP0_Wired, 0]
        return n - 1 if wired >= n else n - 1 - (cyc % (n - wired))
    if reg == CP0_Cause and sel == 0:
        return m.vcp0[v, CP0_Cause, 0] & M32
    return m.vcp0[v, reg, sel] & M32


@njit(cache=True, _nrt=False)
def vmtc0_nb(m, c, v, reg, sel, val, cyc):
    vc = m.vcp0
    old = vc[v, reg, sel]
    new = cp0_written_value(reg, sel, old, val, m.params[P_NTLB])
    if sel == 0 and reg == CP0_Count:
        mtc0_nb(m, c, CP0_Count, 0, val, cyc)          # virtual Count is the real one
        return
    vc[v, reg, sel] = new
    if sel == 0:
        if reg == CP0_EntryHi:
            mtc0_nb(m, c, CP0_EntryHi, 0, new, cyc)     # the guest's ASID tags the real TLB
        elif reg == CP0_Compare:
            mtc0_nb(m, c, reg, 0, new, cyc)
            vc[v, CP0_Cause, 0] &= ~(Ca_TI | IM_TIMER)
            m.vstate[v, VS_TIMER_MASKED] = 0
            sync_real_status_nb(m, c, v)
        elif reg == CP0_Status:
            sync_real_status_nb(m, c, v)
        elif reg == CP0_HWREna:
            m.cp0[c, CP0_HWREna, 0] = new                # user rdhwr reads the real one
    elif reg == CP0_Context and sel == SEL_UserLocal:
        m.cp0[c, CP0_Context, SEL_UserLocal] = new


@njit(cache=True, _nrt=False)
def _guest_tlb_write(m, c, v, index, random):
    """tlbwi / tlbwr: the guest's TLB entry `index` changes.

    The L2TLB makes the guest's TLB look larger than it is (paper §4.2.2): an entry that tlbwr
    evicts stays cached (the guest cannot tell it from an entry still in its TLB).  What the
    guest takes back is forgotten: the entry a tlbwi overwrites (an update or an invalidation),
    any cached pair the new entry maps, a pair a tlbp does not find (the guest is about to change
    it, _guest_tlbp), and everything when the guest has written every non-wired entry invalid (a
    TLB flush: its ASIDs may be reused from then on)."""
    vc = m.vcp0
    t = m.vtlb
    pm = vc[v, CP0_PageMask, 0]
    hi = vc[v, CP0_EntryHi, 0] & (~(pm | 0x1FFF) & M32 | 0xFF)
    lo0 = vc[v, CP0_EntryLo0, 0]
    lo1 = vc[v, CP0_EntryLo1, 0]
    old_hi = t[v, index, TLB_ENTRYHI]
    old_pm = t[v, index, TLB_PAGEMASK]
    old_valid = lo_valid(t[v, index, TLB_LO0] | t[v, index, TLB_LO1])
    t[v, index, TLB_PAGEMASK] = pm
    t[v, index, TLB_ENTRYHI] = hi
    t[v, index, TLB_LO0] = lo0
    t[v, index, TLB_LO1] = lo1
    m.dstats[v, DS_TLBWRITE] += 1
    if (old_valid and old_pm != 0) or pm != 0:
        l2tlb_flush_nb(m, c, v)                  # a large page: rare (the firmware wires them)
        return
    if old_valid and not random:
        drop_pair_nb(m, c, v, (old_hi & M32) >> 13, old_hi & 0xFF)
    bit = np.int64(1) << index
    if lo_valid(lo0 | lo1):
        m.vstate[v, VS_INVAL] &= ~bit
        _prefill(m, c, v, hi, lo0, lo1)
        return
    drop_pair_nb(m, c, v, (hi & M32) >> 13, hi & 0xFF)
    inval = m.vstate[v, VS_INVAL] | bit
    n = m.params[P_NTLB]
    wired = min(vc[v, CP0_Wired, 0], n)
    full = np.int64(0)
    for i in range(wired, n):
        full |= np.int64(1) << i
    if inval & full == full:
        l2tlb_flush_nb(m, c, v)
        inval = 0
    m.vstate[v, VS_INVAL] = inval


@njit(cache=True, _nrt=False)
def _guest_tlbp(m, c, v):
    vc = m.vcp0
    hi = vc[v, CP0_EntryHi, 0]
    i = _vtlb_lookup(m, v, hi & 0xFFFFE000, hi & 0xFF)
    if i < 0:
        vc[v, CP0_Index, 0] |= 0x80000000
        # not in its TLB: the guest is about to change the pair, so no cached copy may outlive it
        drop_pair_nb(m, c, v, (hi & M32) >> 13, hi & 0xFF)
    else:
        vc[v, CP0_Index, 0] = i
    m.dstats[v, DS_TLBP] += 1


@njit(cache=True, _nrt=False)
def _guest_tlbr(m, v):
    vc = m.vcp0
    i = vc[v, CP0_Index, 0] & 0x7FFFFFFF
    if i >= m.params[P_NTLB]:
        return
    t = m.vtlb
    g = t[v, i, TLB_LO0] & t[v, i, TLB_LO1] & LO_G
    vc[v, CP0_PageMask, 0] = t[v, i, TLB_PAGEMASK]
    vc[v, CP0_EntryHi, 0] = t[v, i, TLB_ENTRYHI]
    vc[v, CP0_EntryLo0, 0] = (t[v, i, TLB_LO0] & ~LO_G) | g
    vc[v, CP0_EntryLo1, 0] = (t[v, i, TLB_LO1] & ~LO_G) | g


@njit(cache=True, _nrt=False)
def emulate_nb(m, c, v, insn, pc, npc, bpc):
    """Emulate the guest kernel's privileged instruction `insn` at pc.  Returns RESUME or TO_HOST."""
    st = m.cpu[c]
    r = m.gpr[c]
    cyc = st[CYCLES]
    op = insn >> 26
    rs = (insn >> 21) & 31
    rt = (insn >> 16) & 31
    rd = (insn >> 11) & 31
    ds = m.dstats
    ds[v, DS_EMULATED] += 1
    _charge(m, c, v, m.params[P_MON_EMUL], 0)
    nxt = npc
    if op == 0x2F:                                   # cache: nothing to do, caches hold no data
        pass
    elif op == 0x10 and rs == 0 and (insn & 0x7F8) == 0:    # mfc0
        if rt:
            r[rt] = vmfc0_nb(m, c, v, rd, insn & 7, cyc)
        ds[v, DS_MFC0] += 1
    elif op == 0x10 and rs == 4 and (insn & 0x7F8) == 0:    # mtc0
        vmtc0_nb(m, c, v, rd, insn & 7, r[rt], cyc)
        ds[v, DS_MTC0] += 1
    elif op == 0x10 and rs == 0xB and (insn & 0xFFDF) == 0x6000 and rd == 12:   # di / ei
        vs = m.vcp0[v, CP0_Status, 0]
        if rt:
            r[rt] = vs & M32
        m.vcp0[v, CP0_Status, 0] = (vs | St_IE) if insn & 0x20 else (vs & ~St_IE)
        sync_real_status_nb(m, c, v)
    elif op == 0x10 and rs >= 0x10:
        funct = insn & 0x3F
        if funct == 0x01:
            _guest_tlbr(m, v)
        elif funct == 0x02:
            idx = m.vcp0[v, CP0_Index, 0] & 0x7FFFFFFF
            if idx < m.params[P_NTLB]:
                _guest_tlb_write(m, c, v, idx, False)
        elif funct == 0x06:
            _guest_tlb_write(m, c, v, vmfc0_nb(m, c, v, CP0_Random, 0, cyc), True)
        elif funct == 0x08:
            _guest_tlbp(m, c, v)
        elif funct == 0x18:                          # eret
            vc = m.vcp0
            vs = vc[v, CP0_Status, 0]
            if vs & St_ERL:
                vc[v, CP0_Status, 0] = vs & ~St_ERL
                nxt = vc[v, CP0_ErrorEPC, 0]
            else:
                vc[v, CP0_Status, 0] = vs & ~St_EXL
                nxt = vc[v, CP0_EPC, 0]
            st[LLBIT] = 0
            ds[v, DS_ERET] += 1
            st[PC] = nxt & M32
            st[NPC] = (nxt + 4) & M32
            st[BRANCH_PC] = -1
            sync_real_status_nb(m, c, v)
            deliver_pending_nb(m, c, v)
            return RESUME
        elif funct == 0x20:                          # wait: the real CPU waits for the guest
            ds[v, DS_WAIT] += 1
            st[PC] = npc
            st[NPC] = (npc + 4) & M32
            st[BRANCH_PC] = -1
            # WAIT ends at any pending interrupt its IM lets through, even with IE off (as on MIPS):
            # one posted before the wait would otherwise never wake it
            if not deliver_pending_nb(m, c, v) \
                    and (m.vcp0[v, CP0_Status, 0] & m.vcp0[v, CP0_Cause, 0] & Ca_IP) == 0:
                st[WAITING] = 1
            return RESUME
        else:
            reflect_nb(m, c, v, EXC_RI, pc, bpc, 0, 0)
            return RESUME
    else:
        reflect_nb(m, c, v, EXC_CPU, pc, bpc, 0, 0)
        return RESUME
    st[PC] = nxt & M32
    st[NPC] = (nxt + 4) & M32
    st[BRANCH_PC] = -1
    deliver_pending_nb(m, c, v)
    return RESUME


# ------------------------------------------------------------ the trap path
@njit(cache=True, _nrt=False)
def _fetch_insn(m, c, pc):
    pa = xlate_nb(m, c, MMU_SUPER, pc, ACC_FETCH)
    if pa < 0:
        return -1
    return np.int64(m.ram32[pa >> 2])


@njit(cache=True, _nrt=False)
def _to_host(m, c, v, kind, a1, a2, a3):
    x = m.exitrec
    x[X_REASON] = EXIT_DISCO
    x[X_CPU] = c
    x[X_A0] = kind
    x[X_A1] = a1
    x[X_A2] = a2
    x[X_A3] = a3
    m.dstats[v, DS_HOST] += 1
    return TO_HOST


@njit(cache=True, _nrt=False)
def _device_fast(m, c, v, va, insn):
    """The guest kernel's commonest device accesses (devfast.py), done here exactly as the VM's
    Python devices do them after a DX_KSEG exit (vdevices.py: VSmp's IPI send and acknowledge to
    the VM's VCPUs, the timer's two words; the access's io stall, the next instruction).  False:
    Python serves it (anything else, an IPI to no VCPU of the VM)."""
    if insn < 0 or va & 3:
        return False
    op = insn >> 26
    rt = (insn >> 16) & 31
    pa = va & 0x1FFFFFFF
    if op == OP_SW:
        reg = smp_register(m, pa)
        if reg < 0:
            return False
        t = v
        if reg == SMP_IPI_SEND:
            k = m.gpr[c, rt] & M32
            t = v - m.vstate[v, VS_INDEX] + k          # a VM's VCPUs are numbered in a row
            if t >= m.vstate.shape[0] or m.vstate[t, VS_VM] != m.vstate[v, VS_VM] or m.vstate[t, VS_INDEX] != k:
                return False
        charge_io_nb(m, c)
        if reg == SMP_IPI_ACK:
            post_interrupt_nb(m, c, v, IRQ_IPI, False)
        else:
            post_interrupt_nb(m, _cpu_running(m, t), t, IRQ_IPI, True)
    elif op == OP_LW:
        word = timer_word_nb(m, c, pa)
        if word < 0:
            return False
        if rt:
            m.gpr[c, rt] = word
    else:
        return False
    npc = m.cpu[c, NPC]
    m.cpu[c, PC] = npc
    m.cpu[c, NPC] = (npc + 4) & M32
    m.cpu[c, BRANCH_PC] = -1
    m.dstats[v, DS_DEVICE_FAST] += 1
    return True


@njit(cache=True, _nrt=False)
def _cpu_running(m, v):
    """The CPU that runs VCPU v, or -1 (the monitor's `_cpu_running`)."""
    for c in range(m.cpu.shape[0]):
        if m.cpu[c, VCPU] - 1 == v:
            return c
    return -1


@njit(cache=True, _nrt=False)
def disco_trap_nb(m, c, code, pc, npc, bpc, badva, ce):
    """An exception on CPU c, which runs a VCPU (see the module doc).  Returns 1 when
    Python must act (exit record filled), 0 when the CPU goes on."""
    v = m.cpu[c, VCPU] - 1
    hal_pull_nb(m, c, v)
    r = _trap(m, c, v, code, pc, npc, bpc, badva, ce)
    hal_push_nb(m, v)
    return r


@njit(cache=True, _nrt=False)
def _trap(m, c, v, code, pc, npc, bpc, badva, ce):
    st = m.cpu[c]
    exc = code & 0x1F
    ds = m.dstats
    ds[v, DS_TRAPS] += 1
    # a TLB refill comes in at the refill vector: when the L2TLB serves it, the monitor's whole
    # work is the fast path (P_MON_REFILL), charged below; every other trap pays the general entry
    refill = (code & EXC_REFILL_FLAG) != 0 and (exc == EXC_TLBL or exc == EXC_TLBS)
    if not refill:
        _charge(m, c, v, m.params[P_MON_TRAP], 1)
    guest_kernel = (m.cp0[c, CP0_Status, 0] & St_KSU) == (1 << 3)
    # resume point unless a handler moves it: the faulting instruction again
    st[PC] = pc
    st[NPC] = npc
    st[BRANCH_PC] = bpc
    if exc == EXC_INT:
        if m.cp0[c, CP0_Cause, 0] & IM_TIMER:
            m.vcp0[v, CP0_Cause, 0] |= Ca_TI | IM_TIMER
            m.vstate[v, VS_TIMER_MASKED] = 1             # until the guest writes Compare
            sync_real_status_nb(m, c, v)
        deliver_pending_nb(m, c, v)
        return RESUME
    if exc == EXC_CPU and ce == 0 and guest_kernel:
        insn = _fetch_insn(m, c, pc)
        if insn < 0:
            reflect_nb(m, c, v, EXC_IBE, pc, bpc, pc, 0)
            return RESUME
        r = emulate_nb(m, c, v, insn, pc, npc, bpc)
        if r == RESUME and bpc == -1 and st[PC] == npc and st[BRANCH_PC] == -1 and not _is_eret(insn):
            _emulate_run(m, c, v)
        return r
    if (exc == EXC_TLBL or exc == EXC_TLBS) and badva >> 12 == HAL_MCALL >> 12 and m.vstate[v, VS_HAL] != 0:
        st[PC] = npc
        st[NPC] = (npc + 4) & M32
        st[BRANCH_PC] = -1
        if refill:
            _charge(m, c, v, m.params[P_MON_TRAP], 1)
        off = badva & 0xFFF
        if off >= HAL_MC_DISK:                    # device requests: the virtual devices are Python's
            insn = _fetch_insn(m, c, pc)
            m.dstats[v, DS_MCALL] += 1
            return _to_host(m, c, v, DX_MCALL, off, m.gpr[c, (insn >> 16) & 31] if insn >= 0 else 0, 0)
        return _monitor_call(m, c, v, off, pc)
    if exc == EXC_TLBL or exc == EXC_TLBS:
        store = exc == EXC_TLBS
        hits = ds[v, DS_L2TLB_HIT]
        res = fill_nb(m, c, v, badva, store)          # it references the L2TLB entries it reads
        if refill and ds[v, DS_L2TLB_HIT] != hits:
            _charge(m, c, v, m.params[P_MON_REFILL], 1)
        else:
            _charge(m, c, v, m.params[P_MON_TLB] + (m.params[P_MON_TRAP] if refill else 0), 1 if refill else 0)
        if res == FILLED:
            return RESUME
        if res == BUS_ERROR:
            reflect_nb(m, c, v, EXC_IBE if badva == pc else EXC_DBE, pc, bpc, badva, 0)
            return RESUME
        if res == NO_ENTRY:
            reflect_nb(m, c, v, code | EXC_REFILL_FLAG, pc, bpc, badva, 0)
            return RESUME
        if store and _vtlb_valid(m, v, badva):
            reflect_nb(m, c, v, EXC_MOD, pc, bpc, badva, 0)
            return RESUME
        reflect_nb(m, c, v, exc, pc, bpc, badva, 0)
        return RESUME
    if exc == EXC_MOD:
        g = _guest_dirty_page(m, v, badva)
        if g >= 0:
            # the guest lets this store through: the monitor's entry lacks D because the machine page
            # is write-protected (its owner decides, in Python), or lacked it (stale: refill it)
            if m.wprot[m.pmap[m.vstate[v, VS_VM], g]] != 0:
                return _to_host(m, c, v, DX_WPROT, g, WP_STORE, badva)
            if fill_nb(m, c, v, badva, True) == FILLED:
                return RESUME
        reflect_nb(m, c, v, EXC_MOD, pc, bpc, badva, 0)
        return RESUME
    if (exc == EXC_ADEL or exc == EXC_ADES) and guest_kernel and 0x80000000 <= badva < 0xC0000000 \
            and badva != pc:
        insn = _fetch_insn(m, c, pc)
        if _device_fast(m, c, v, badva, insn):
            return RESUME
        return _to_host(m, c, v, DX_KSEG, badva, insn, 1 if exc == EXC_ADES else 0)
    reflect_nb(m, c, v, code & ~EXC_REFILL_FLAG, pc, bpc, badva, ce)
    return RESUME


@njit(cache=True, _nrt=False)
def _is_eret(insn):
    return insn >> 26 == 0x10 and (insn >> 21) & 31 >= 0x10 and insn & 0x3F == 0x18


@njit(cache=True, _nrt=False)
def _emulate_run(m, c, v):
    """After emulating one privileged instruction, the monitor looks at the next ones before it
    leaves: consecutive privileged instructions (the guest's refill handler ends mtc0, mtc0, ehb,
    tlbwr, eret) are emulated in the same trap, each at P_MON_EMUL plus the load of its word,
    instead of a trap each.  It stops at anything else, at a branch or delay slot, when the
    guest leaves its kernel mode, when an exception or interrupt was delivered, after eret, and
    after MAX_RUN instructions."""
    st = m.cpu[c]
    for _ in range(MAX_RUN):
        if st[BRANCH_PC] != -1 or st[WAITING] or not guest_kernel_mode(m.vcp0[v, CP0_Status, 0]):
            return
        pc = st[PC]
        pa = xlate_nb(m, c, MMU_SUPER, pc, ACC_FETCH)
        if pa < 0:
            return
        insn = np.int64(m.ram32[pa >> 2])
        if insn == EHB:                              # a hazard barrier: nothing to do in the monitor
            st[PC] = (pc + 4) & M32
            st[NPC] = (pc + 8) & M32
            _charge(m, c, v, 1, 0)
            continue
        op = insn >> 26
        rs = (insn >> 21) & 31
        if op != 0x10 or not (rs == 0 or rs == 4 or rs == 0xB or rs >= 0x10):
            return
        if rs >= 0x10 and (insn & 0x3F) == 0x20:    # wait: it traps on its own
            return
        cycles = 0
        if m.params[P_TIMING]:
            cycles = access_nb(m, c, pa >> m.params[P_LSHIFT], ACC_LOAD)
        _charge(m, c, v, cycles, 0)
        m.dstats[v, DS_TRAPS_SAVED] += 1
        emulate_nb(m, c, v, insn, pc, (pc + 4) & M32, -1)
        if _is_eret(insn) or st[PC] != ((pc + 4) & M32):
            return


@njit(cache=True, _nrt=False)
def _guest_dirty_page(m, v, va):
    """The guest-physical page va maps to if the guest's TLB lets a store through (valid, dirty, a
    page of the VM), else -1."""
    asid = m.vcp0[v, CP0_EntryHi, 0] & 0xFF
    i = _vtlb_lookup(m, v, va, asid)
    if i < 0:
        return -1
    t = m.vtlb
    half = ((t[v, i, TLB_PAGEMASK] | 0x1FFF) + 1) >> 1
    glo = t[v, i, TLB_LO1] if va & half else t[v, i, TLB_LO0]
    if not lo_valid(glo) or not lo_dirty(glo):
        return -1
    g = ((lo_pfn(glo) << 12) + (va & (half - 1) & ~0xFFF)) >> 12
    if g >= m.pmap.shape[1] or m.pmap[m.vstate[v, VS_VM], g] < 0:
        return -1
    return g


@njit(cache=True, _nrt=False)
def _vtlb_valid(m, v, va):
    asid = m.vcp0[v, CP0_EntryHi, 0] & 0xFF
    i = _vtlb_lookup(m, v, va, asid)
    if i < 0:
        return False
    t = m.vtlb
    half = ((t[v, i, TLB_PAGEMASK] | 0x1FFF) + 1) >> 1
    glo = t[v, i, TLB_LO1] if va & half else t[v, i, TLB_LO0]
    return lo_valid(glo)


__all__ = ["hal_push_nb", "hal_pull_nb", "disco_trap_nb", "emulate_nb", "fill_nb", "reflect_nb", "deliver_pending_nb",
           "post_interrupt_nb", "sync_real_status_nb", "l2tlb_flush_nb", "DX_KSEG", "DX_HALT", "DX_MCALL", "DX_WPROT",
           "WP_STORE", "WP_ZERO"]
