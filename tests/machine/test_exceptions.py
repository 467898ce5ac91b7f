"""Precise exceptions at the kernel level, with hand-assembled code: vector
selection (refill/general/interrupt, BEV, EBase, EXL), EPC and Cause.BD for
delay slots, BadVAddr/Context/EntryHi on TLB faults, ERET and determinism.
Expectations are written from the MIPS32 manual (Vol. III, "Exceptions")."""
from __future__ import annotations

import numpy as np
import pytest

from flashvm.isa.fields import assemble
from flashvm.isa.table import BY_NAME
from flashvm.kernels import state as S
from flashvm.kernels.cp0 import reset_cpu
from flashvm.kernels.entrylo import LO_CACHED, LO_D, LO_G, LO_V, make_lo
from flashvm.kernels.run import run

NOP = 0


def enc(name: str, **fields) -> int:
    return assemble(BY_NAME[name].match, **fields)


@pytest.fixture()
def m():
    m = S.new_machine(1, 1 << 20)
    reset_cpu(m, 0)
    m.cp0[0, S.CP0_Status, 0] = S.St_CU0 | S.St_CU1       # kernel mode, BEV=0, ERL=0
    return m


def place(m, addr: int, words: list[int]) -> None:
    pa = addr & 0x1FFFFFFF
    m.ram32[pa // 4: pa // 4 + len(words)] = words


def start(m, pc: int) -> None:
    m.cpu[0, S.PC] = pc
    m.cpu[0, S.NPC] = pc + 4
    m.cpu[0, S.BRANCH_PC] = -1


SPIN = [0x1000FFFF, NOP]          # b . ; nop


def test_syscall_goes_to_general_vector_with_epc(m):
    place(m, 0x80000180, SPIN)
    place(m, 0x80001000, [enc("addiu", rt=8, rs=0, simm=5), enc("syscall"), NOP])
    start(m, 0x80001000)
    run(m, 10)
    assert m.cp0[0, S.CP0_EPC, 0] == 0x80001004
    assert (m.cp0[0, S.CP0_Cause, 0] >> 2) & 31 == S.EXC_SYS
    assert m.cp0[0, S.CP0_Cause, 0] & S.Ca_BD == 0
    assert m.cp0[0, S.CP0_Status, 0] & S.St_EXL
    assert 0x80000180 <= m.cpu[0, S.PC] <= 0x80000184
    assert m.gpr[0, 8] == 5


def test_exception_in_delay_slot_sets_bd_and_epc_of_branch(m):
    place(m, 0x80000180, SPIN)
    place(m, 0x80001000, [enc("beq", rs=0, rt=0, simm=4), enc("break"), NOP])
    start(m, 0x80001000)
    run(m, 10)
    assert m.cp0[0, S.CP0_EPC, 0] == 0x80001000            # the branch, not the slot
    assert m.cp0[0, S.CP0_Cause, 0] & S.Ca_BD
    assert (m.cp0[0, S.CP0_Cause, 0] >> 2) & 31 == S.EXC_BP


def test_tlb_refill_uses_offset_0_then_180_when_exl(m):
    place(m, 0x80000000, SPIN)                              # refill vector
    place(m, 0x80000180, SPIN)
    place(m, 0x80001000, [enc("lui", rt=9, uimm=0x0040), enc("lw", rt=8, rs=9, simm=0x10), NOP])
    m.cp0[0, S.CP0_EntryHi, 0] = 0x2A                       # ASID 42
    start(m, 0x80001000)
    run(m, 10)
    assert 0x80000000 <= m.cpu[0, S.PC] <= 0x80000004
    assert (m.cp0[0, S.CP0_Cause, 0] >> 2) & 31 == S.EXC_TLBL
    assert m.cp0[0, S.CP0_BadVAddr, 0] == 0x00400010
    assert m.cp0[0, S.CP0_EntryHi, 0] == 0x00400000 | 0x2A  # VPN2 of the fault, ASID kept
    assert m.cp0[0, S.CP0_Context, 0] == (0x00400010 >> 9) & 0x7FFFF0
    assert m.stats[0, S.S_TLB_REFILL] == 1
    # a second miss while EXL=1 goes to the general vector and leaves EPC alone
    place(m, 0x80000000, [enc("lw", rt=8, rs=9, simm=0x2000), NOP] + SPIN)
    start(m, 0x80000000)
    run(m, 5)
    assert 0x80000180 <= m.cpu[0, S.PC] <= 0x80000184
    assert m.cp0[0, S.CP0_EPC, 0] == 0x80001004


def test_tlb_hit_invalid_and_modified(m):
    place(m, 0x80000180, SPIN)
    # map VPN2 0x00400000: even page valid read-only (D=0), odd page invalid
    m.cp0[0, S.CP0_EntryHi, 0] = 0x00400000
    m.cp0[0, S.CP0_EntryLo0, 0] = make_lo(0x10000 >> 12, LO_CACHED | LO_V)   # V, not D
    m.cp0[0, S.CP0_EntryLo1, 0] = 0
    m.cp0[0, S.CP0_Index, 0] = 3
    place(m, 0x80001000, [enc("tlbwi"), enc("lui", rt=9, uimm=0x0040), enc("lw", rt=8, rs=9, simm=4),
                          enc("sw", rt=8, rs=9, simm=4), NOP])
    m.ram32[(0x10000 + 4) // 4] = 0xCAFEF00D
    start(m, 0x80001000)
    run(m, 10)
    assert m.gpr[0, 8] == 0xCAFEF00D                        # the load went through the TLB
    assert (m.cp0[0, S.CP0_Cause, 0] >> 2) & 31 == S.EXC_MOD
    assert m.cp0[0, S.CP0_EPC, 0] == 0x8000100C
    m.cp0[0, S.CP0_Status, 0] &= ~S.St_EXL
    place(m, 0x80001000, [enc("lw", rt=8, rs=9, simm=0x1000), NOP])   # odd page: V=0 -> TLBL (not refill)
    start(m, 0x80001000)
    run(m, 5)
    assert (m.cp0[0, S.CP0_Cause, 0] >> 2) & 31 == S.EXC_TLBL
    assert 0x80000180 <= m.cpu[0, S.PC] <= 0x80000184


def test_bev_and_ebase_move_the_vectors(m):
    place(m, 0x80001000, [enc("syscall"), NOP])
    m.cp0[0, S.CP0_PRId, S.SEL_EBase] = 0x80004000
    place(m, 0x80004180, SPIN)
    start(m, 0x80001000)
    run(m, 4)
    assert 0x80004180 <= m.cpu[0, S.PC] <= 0x80004184
    # BEV=1: the boot-time vectors at 0xBFC00200 + offset (ROM: this machine has none, so the fetch
    # of the vector itself fails; the PC still shows where the CPU went)
    m.cp0[0, S.CP0_Status, 0] = S.St_CU0 | S.St_BEV
    start(m, 0x80001000)
    m.params[S.P_EXC_TO_HOST] = 0
    run(m, 1)
    assert m.cp0[0, S.CP0_EPC, 0] in (0x80001000, 0xBFC00380)
    assert m.stats[0, S.S_EXC_BASE + S.EXC_SYS] == 2


def test_timer_interrupt_with_iv_uses_offset_200(m):
    place(m, 0x80000200, SPIN)
    place(m, 0x80001000, SPIN)
    m.cp0[0, S.CP0_Cause, 0] = S.Ca_IV
    m.cp0[0, S.CP0_Status, 0] |= S.St_IE | (1 << 15)         # IM7: the timer
    m.cp0[0, S.CP0_Compare, 0] = 100
    from flashvm.kernels.cp0 import timer_due
    m.cpu[0, S.TIMER_DUE] = timer_due(0, 0, 0, 100)
    start(m, 0x80001000)
    run(m, 150)
    assert m.cpu[0, S.TIMER_DUE] >= 200                    # Count == Compare after 200 cycles
    run(m, 200)
    assert m.stats[0, S.S_INTERRUPT] == 1
    assert 0x80000200 <= m.cpu[0, S.PC] <= 0x80000204
    assert m.cp0[0, S.CP0_Cause, 0] & S.Ca_TI
    assert m.cp0[0, S.CP0_EPC, 0] in (0x80001000, 0x80001004)


def test_eret_returns_and_clears_exl_and_ll(m):
    place(m, 0x80001000, [enc("eret"), NOP])
    place(m, 0x80002000, SPIN)
    m.cp0[0, S.CP0_EPC, 0] = 0x80002000
    m.cp0[0, S.CP0_Status, 0] |= S.St_EXL
    m.cpu[0, S.LLBIT] = 1
    start(m, 0x80001000)
    run(m, 3)
    assert m.cp0[0, S.CP0_Status, 0] & S.St_EXL == 0
    assert m.cpu[0, S.LLBIT] == 0
    assert 0x80002000 <= m.cpu[0, S.PC] <= 0x80002004


def test_user_mode_cannot_touch_kseg0_or_cp0(m):
    place(m, 0x80000180, SPIN)
    # user code in kuseg needs a mapping: map 0x00400000 -> physical 0x3000 (even page)
    m.tlb[0, 0, S.TLB_ENTRYHI] = 0x00400000
    m.tlb[0, 0, S.TLB_LO0] = make_lo(0x3000 >> 12, LO_CACHED | LO_D | LO_V | LO_G)
    m.tlb[0, 0, S.TLB_LO1] = LO_G
    place(m, 0x80003000, [enc("mfc0", rt=8, rd=12), NOP])
    m.cp0[0, S.CP0_Status, 0] = S.St_UM                      # user mode, CU0=0
    start(m, 0x00400000)
    run(m, 3)
    assert (m.cp0[0, S.CP0_Cause, 0] >> 2) & 31 == S.EXC_CPU
    assert (m.cp0[0, S.CP0_Cause, 0] >> 28) & 3 == 0
    place(m, 0x80003000, [enc("lui", rt=9, uimm=0x8000), enc("lw", rt=8, rs=9, simm=0), NOP])
    m.cp0[0, S.CP0_Status, 0] = S.St_UM
    start(m, 0x00400000)
    run(m, 4)
    assert (m.cp0[0, S.CP0_Cause, 0] >> 2) & 31 == S.EXC_ADEL
    assert m.cp0[0, S.CP0_BadVAddr, 0] == 0x80000000


def test_same_program_same_counters(m):
    prog = [enc("addiu", rt=8, rs=8, simm=1), enc("sw", rt=8, rs=0, simm=0x100),
            enc("bne", rs=8, rt=9, simm=-3), NOP, enc("syscall"), NOP]
    outs = []
    for _ in range(2):
        m2 = S.new_machine(1, 1 << 20)
        reset_cpu(m2, 0)
        m2.cp0[0, S.CP0_Status, 0] = S.St_CU0
        m2.params[S.P_EXC_TO_HOST] = 1
        place(m2, 0x80001000, prog)
        m2.gpr[0, 9] = 5000
        start(m2, 0x80001000)
        assert run(m2, 1_000_000) == S.EXIT_EXCEPTION
        outs.append((m2.stats.copy(), m2.cpu.copy(), m2.gpr.copy()))
    for a, b in zip(*outs):
        np.testing.assert_array_equal(a, b)


def test_external_interrupt_line_and_masking(m):
    """A device raises Cause.IP2 (the host sets it); taken only when IE and IM2 allow."""
    place(m, 0x80000180, SPIN)
    place(m, 0x80001000, SPIN)
    m.cp0[0, S.CP0_Cause, 0] |= 1 << 10                     # IP2 pending
    start(m, 0x80001000)
    run(m, 20)                                              # IE=0: not taken
    assert m.stats[0, S.S_INTERRUPT] == 0
    m.cp0[0, S.CP0_Status, 0] |= S.St_IE | (1 << 10)         # IE and IM2
    run(m, 20)
    assert m.stats[0, S.S_INTERRUPT] == 1
    assert (m.cp0[0, S.CP0_Cause, 0] >> 2) & 31 == S.EXC_INT
    assert 0x80000180 <= m.cpu[0, S.PC] <= 0x80000184


def test_bus_error_on_unbacked_physical_address(m):
    place(m, 0x80000180, SPIN)
    # kseg1 0xB0000000 -> physical 0x10000000: no RAM, no device there
    place(m, 0x80001000, [enc("lui", rt=9, uimm=0xB000), enc("lw", rt=8, rs=9, simm=0), NOP])
    start(m, 0x80001000)
    run(m, 5)
    assert (m.cp0[0, S.CP0_Cause, 0] >> 2) & 31 == S.EXC_DBE
    assert m.cp0[0, S.CP0_EPC, 0] == 0x80001004


def test_ll_sets_lladdr_and_sc_succeeds(m):
    place(m, 0x80001000, [enc("lui", rt=9, uimm=0x8000), enc("ll", rt=8, rs=9, simm=0x200),
                          enc("addiu", rt=8, rs=8, simm=1), enc("sc", rt=8, rs=9, simm=0x200),
                          enc("mfc0", rt=10, rd=17), NOP] + SPIN)
    m.ram32[0x200 // 4] = 41
    start(m, 0x80001000)
    run(m, 6)
    assert m.ram32[0x200 // 4] == 42 and m.gpr[0, 8] == 1
    assert m.gpr[0, 10] == 0x200 >> 4
