"""Disco's virtual CPUs: their reset and start, where they run, switching them
in and out of a CPU, and the round-robin scheduler.

VCPU g of the run lives on CPU g mod ncpu (affinity); when a CPU has more
than one, they time-share it: between chunks of simulated time (a slice of
SLICE_NS) the CPU moves on to the next runnable VCPU, round robin; a VCPU in
WAIT is not runnable until an interrupt is posted to it or its timer fires.
A VCPU that is not running keeps its registers in a saved context.
"""
from __future__ import annotations

import numpy as np

from flashvm.disco.vm import VirtualMachine, VmSpec
from flashvm.kernels import state as S
from flashvm.kernels.cp0 import mtc0_nb, reset_cpu
from flashvm.kernels.disco import deliver_pending_nb, hal_pull_nb, hal_push_nb, sync_real_status_nb
from flashvm.kernels.l2tlb import KSSEG, l2tlb_flush_nb, real_tlb_flush_nb
from flashvm.kernels.entrylo import LO_CACHED, LO_D, LO_G, LO_V, make_lo
from flashvm.machine.config import MachineConfig
from flashvm.machine.flash import FlashMachine, GuestError

SLICE_NS = 2_500_000             # VCPU time slice when CPUs are shared
HAL_AREA = 0x80000               # offset in each node's monitor memory of the VCPUs' HAL special pages
# the firmware's wired window: ksseg 0xC0000000 + gpa -> gpa, cached, dirty, valid, global
WINDOW_FLAGS = LO_CACHED | LO_D | LO_V | LO_G


class Vcpus:
    """The VCPU part of the monitor (a mixin of Disco: uses `cfg`, `m`, `fm` and `vms`)."""
    cfg: MachineConfig
    m: S.Machine
    fm: FlashMachine
    vms: list[VirtualMachine]

    _SAVED_SLOTS = (S.PC, S.NPC, S.HI, S.LO, S.BRANCH_PC, S.FCSR, S.FIR, S.WAITING)

    def _init_vcpus(self) -> None:
        ncpu = self.cfg.ncpu
        for c in range(ncpu):
            reset_cpu(self.m, c)
        self._reset_cp0 = self.m.cp0[0].copy()               # a MIPS CPU's CP0 after reset
        self.running = [-1] * ncpu                             # the VCPU each CPU runs
        self.queue: list[list[int]] = [[] for _ in range(ncpu)]   # VCPUs homed on each CPU (affinity)
        self.ctx: dict[int, dict] = {}                         # saved state of VCPUs not running
        self.switches = 0                                      # VCPU switch-ins
        self.switched_in: set[int] = set()                     # VCPUs switched in since the last watchdog look

    def _add_vcpus(self, vm: VirtualMachine, spec: VmSpec) -> None:
        """Home the VCPUs of a new VM on their CPUs, each with a fresh context (and HAL page)."""
        cfg = self.cfg
        for k in range(spec.ncpu):
            v = vm.vcpus[k]
            self.queue[vm.cpus[k]].append(v)
            self.ctx[v] = self._fresh_context()
            if spec.hal:                                   # its special page, in the monitor's memory
                if v >= 128:
                    raise GuestError("HAL special pages: at most 128 virtual CPUs")
                node = int(self.m.cpu_node[vm.cpus[k]])
                page = ((0 if cfg.interleave else node * cfg.mem_per_node) + HAL_AREA + (v << 12)) >> 12
                self.m.vstate[v, S.VS_HAL] = page
                self.m.ram8[page << 12:(page + 1) << 12] = 0

    def _start_cpus(self) -> None:
        """Each CPU takes its first VCPU (CPUs without one stay off); shared CPUs get time slices."""
        cfg = self.cfg
        for c in range(cfg.ncpu):
            if self.queue[c]:
                self._switch_in(c, self.queue[c][0])
            else:
                self.m.cpu[c, S.HALTED] = 1
        if max(len(q) for q in self.queue) > 1:
            q = cfg.quantum
            self.fm.chunk_cycles = max(q, cfg.cycles(SLICE_NS) // q * q)

    # ------------------------------------------------------------ reset and start
    def _reset_vcpu(self, vm: VirtualMachine, k: int) -> None:
        m = self.m
        v = vm.vcpus[k]
        m.vcp0[v] = self._reset_cp0                            # the reset values of a MIPS CPU ...
        m.vcp0[v, S.CP0_PRId, S.SEL_EBase] = 0x80000000 | k   # ... numbered inside the VM
        m.vcp0[v, S.CP0_Status, 0] = 0                          # kernel mode, as the firmware leaves it
        m.vstate[v, S.VS_VM] = vm.index
        m.vstate[v, S.VS_INDEX] = k
        m.vtlb[v] = 0
        for i in range(m.vtlb.shape[1]):                      # distinct, unmatchable (kseg0 VPN2s)
            m.vtlb[v, i, S.TLB_ENTRYHI] = 0x80000000 + (i << 13)
        # the firmware wires the kernel's window: ksseg 0xC0000000 + gpa -> gpa (16 MB page pairs)
        size, i, gpa = 32 << 20, 0, 0
        while gpa < vm.mem:
            m.vtlb[v, i] = (0x01FFE000, KSSEG + gpa, make_lo(gpa >> 12, WINDOW_FLAGS),
                            make_lo((gpa + (16 << 20)) >> 12, WINDOW_FLAGS))
            gpa += size
            i += 1
        m.vcp0[v, S.CP0_Wired, 0] = i
        slots, _ = self._view(v)
        slots[S.WAITING] = 1                                  # until released
        c = self._cpu_running(v)
        if c >= 0:
            m.cp0[c, S.CP0_Status, 0] = 0x3 << 3               # user mode, all interrupts masked: only the monitor wakes it
        l2tlb_flush_nb(m, c, v)
        hal_push_nb(m, v)

    def start_vcpu(self, vm: VirtualMachine, k: int, pc: int) -> None:
        """Start (or restart) VCPU k of `vm` at `pc` in its kernel mode."""
        m = self.m
        v = vm.vcpus[k]
        if vm.done:
            return
        slots, gpr = self._view(v)
        slots[S.PC] = pc
        slots[S.NPC] = (pc + 4) & 0xFFFFFFFF
        slots[S.BRANCH_PC] = -1
        gpr[4] = k                                             # a0 = CPU number, as the ROM passes it
        slots[S.WAITING] = 0
        c = self._cpu_running(v)
        if c >= 0:
            m.cpu[c, S.CYCLES] = max(int(m.cpu[c, S.CYCLES]), int(m.params[S.P_ROUND_START]))
            sync_real_status_nb(m, c, v)

    # ------------------------------------------------------------ where VCPUs are
    def _fresh_context(self) -> dict:
        slots = np.zeros(S.NSLOTS, np.int64)
        slots[S.WAITING] = 1
        slots[S.BRANCH_PC] = -1
        slots[S.FIR] = self.m.cpu[0, S.FIR]
        return {"slots": slots, "gpr": np.zeros(32, np.int64), "fpr": np.zeros(32, np.int64),
                "count": 0, "compare": 0, "t": 0}

    def _cpu_running(self, v: int) -> int:
        for c, r in enumerate(self.running):
            if r == v:
                return c
        return -1

    def _view(self, v: int):
        """(cpu slots, GPRs) of VCPU v: the CPU's own arrays when it runs, else its saved context."""
        c = self._cpu_running(v)
        if c >= 0:
            return self.m.cpu[c], self.m.gpr[c]
        return self.ctx[v]["slots"], self.ctx[v]["gpr"]

    def _vm_of_cpu(self, c: int) -> tuple[VirtualMachine, int]:
        """The VM whose VCPU CPU c runs, and that VCPU's number inside the VM."""
        v = int(self.m.cpu[c, S.VCPU]) - 1
        vm = self.vms[int(self.m.vstate[v, S.VS_VM])]
        return vm, int(self.m.vstate[v, S.VS_INDEX])

    # ------------------------------------------------------------ switching
    def _switch_out(self, c: int) -> None:
        m = self.m
        v = self.running[c]
        # what the guest stored in its HAL page since the last trap (Status, EPC, EntryLo) is its
        # state: take it now, or the next push (at switch-in, or a posted interrupt) overwrites it
        hal_pull_nb(m, c, v)
        st = m.cpu[c]
        cyc = int(st[S.CYCLES])
        count = (int(st[S.COUNT_AT_BASE]) + ((cyc - int(st[S.COUNT_BASE])) >> 1)) & 0xFFFFFFFF
        self.ctx[v] = {"slots": st.copy(), "gpr": m.gpr[c].copy(), "fpr": m.fpr[c].copy(),
                       "count": count, "compare": int(m.cp0[c, S.CP0_Compare, 0]), "t": cyc}
        self.running[c] = -1
        m.cpu[c, S.VCPU] = 0

    def _switch_in(self, c: int, v: int) -> None:
        """Load VCPU v on CPU c: registers, the guest's ASID and timer in the real CP0, an empty real TLB."""
        m = self.m
        ctx = self.ctx.pop(v)
        self.switches += 1
        self.switched_in.add(v)
        st = m.cpu[c]
        for k in self._SAVED_SLOTS:
            st[k] = ctx["slots"][k]
        st[S.LLBIT] = 0
        m.gpr[c] = ctx["gpr"]
        m.fpr[c] = ctx["fpr"]
        self.running[c] = v
        st[S.VCPU] = v + 1
        st[S.HALTED] = 0
        cyc = int(st[S.CYCLES])
        vc = m.vcp0
        mtc0_nb(m, c, S.CP0_EntryHi, 0, int(vc[v, S.CP0_EntryHi, 0]), cyc)
        m.cp0[c, S.CP0_HWREna, 0] = vc[v, S.CP0_HWREna, 0]
        m.cp0[c, S.CP0_Context, S.SEL_UserLocal] = vc[v, S.CP0_Context, S.SEL_UserLocal]
        # virtual time went on while it was away; a timer that expired meanwhile is posted
        ticks = max(cyc - ctx["t"], 0) >> 1
        count = (ctx["count"] + ticks) & 0xFFFFFFFF
        mtc0_nb(m, c, S.CP0_Count, 0, count, cyc)
        mtc0_nb(m, c, S.CP0_Compare, 0, ctx["compare"], cyc)
        if ctx["t"] and not m.vstate[v, S.VS_TIMER_MASKED] and 0 < ((ctx["compare"] - ctx["count"]) & 0xFFFFFFFF) <= ticks:
            vc[v, S.CP0_Cause, 0] |= S.Ca_TI | (1 << 15)
            m.vstate[v, S.VS_TIMER_MASKED] = 1
        real_tlb_flush_nb(m, c)
        sync_real_status_nb(m, c, v)
        if st[S.WAITING] and int(vc[v, S.CP0_Status, 0]) & int(vc[v, S.CP0_Cause, 0]) & S.Ca_IP:
            st[S.WAITING] = 0
        deliver_pending_nb(m, c, v)
        # after the delivery: a reflected interrupt changes Status (EXL), Cause and EPC, and a
        # stale page would hand the old Status back to the monitor at the next trap
        hal_push_nb(m, v)

    # ------------------------------------------------------------ scheduling
    def _runnable(self, v: int) -> bool:
        m = self.m
        c = self._cpu_running(v)
        if c >= 0:
            return not m.cpu[c, S.WAITING]
        ctx = self.ctx[v]
        if not ctx["slots"][S.WAITING]:
            return True
        if int(m.vcp0[v, S.CP0_Status, 0]) & int(m.vcp0[v, S.CP0_Cause, 0]) & S.Ca_IP:
            return True
        if m.vstate[v, S.VS_TIMER_MASKED] or not (int(m.vcp0[v, S.CP0_Status, 0]) & (1 << 15)):
            return False
        now = int(m.params[S.P_ROUND_START])
        return ((ctx["compare"] - ctx["count"]) & 0xFFFFFFFF) <= max(now - ctx["t"], 0) >> 1

    def _schedule(self) -> None:
        """Between chunks: each CPU with several VCPUs moves on to the next runnable one (round robin)."""
        for c, q in enumerate(self.queue):
            if len(q) < 2:
                continue
            cur = self.running[c]
            i = q.index(cur) if cur in q else -1
            for v in q[i + 1:] + q[:i + 1]:
                if v == cur:
                    break
                if self._runnable(v):
                    if cur >= 0:
                        self._switch_out(c)
                    self._switch_in(c, v)
                    break


__all__ = ["HAL_AREA", "SLICE_NS", "Vcpus"]
