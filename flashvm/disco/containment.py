"""Disco's containment: a VM that halts, panics, deadlocks, loops taking
exceptions or keeps interrupts off stops alone; the others go on.  When the
last VM stops, the run ends (MachineHalted with the run's status).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from flashvm.disco.vm import VirtualMachine
from flashvm.kernels import state as S
from flashvm.machine.devices import MachineHalted
from flashvm.machine.flash import FlashMachine


# a VM with interrupts off whose VCPUs had real TLB misses served by the monitor at this rate
# (touching new pages; a `b .` loop touches one, a switched-in VCPU refills a few) is working ...
WORK_FILLS_PER_MS = 20
# ... or at this rate per million instructions: a kernel filling remote memory touches pages more
# slowly in simulated time (each store waits for a remote line) but as often per instruction
WORK_FILLS_PER_MINSN = 50
WORK_PERIODS = 20               # half periods it may then keep interrupts off (1 s at 100 ms)


class Containment:
    """The containment part of the monitor (a mixin of Disco: uses `m`, `fm`, `vms`,
    `queue`, `running`, `watchdog_ms`, `status` and the VCPU part's switching)."""
    m: S.Machine
    fm: FlashMachine
    vms: list[VirtualMachine]
    queue: list[list[int]]
    running: list[int]
    switched_in: set[int]
    watchdog_ms: float
    _view: Callable
    _switch_in: Callable[[int, int], None]
    _switch_out: Callable[[int], None]
    if TYPE_CHECKING:
        @property
        def status(self) -> int: ...       # Disco's, read-only

    def _vm_halted(self, vm: VirtualMachine, h: MachineHalted) -> None:
        if h.status == -1:
            self.fail(vm, f"crashed: {h.reason}")
            return
        vm.status = h.status
        self._stop(vm)

    def fail(self, vm: VirtualMachine, why: str) -> None:
        """Stop `vm` for good; the other VMs go on.  `why` is one line that starts with what
        happened (crashed, stuck, deadlock, watchdog, monitor) and a colon."""
        if vm.done:
            return
        vm.failure = why
        self._stop(vm)

    def _stop(self, vm: VirtualMachine) -> None:
        m = self.m
        vm.console.flush_line()
        for k, v in enumerate(vm.vcpus):
            c = vm.cpus[k]
            if v in self.queue[c]:
                self.queue[c].remove(v)
            if self.running[c] == v:
                self._switch_out(c)
                if self.queue[c]:
                    self._switch_in(c, self.queue[c][0])
                else:
                    m.cpu[c, S.HALTED] = 1
                    m.cpu[c, S.WAITING] = 0
        if all(v.done for v in self.vms):
            raise MachineHalted(self.status)

    def _fail_stuck(self) -> bool:
        """Nothing retired in a whole chunk: the VMs whose CPUs loop taking exceptions
        fail.  False when no VM is (the machine itself is stuck)."""
        m = self.m
        failed = False
        for vm in self.vms:
            if not vm.done and not any(self._view(v)[0][S.WAITING] for v in vm.vcpus):
                v = vm.vcpus[0]
                self.fail(vm, f"stuck: taking exceptions (a VCPU at pc={int(m.cpu[vm.cpus[0], S.PC]):#010x}, "
                              f"guest EPC={int(m.vcp0[v, S.CP0_EPC, 0]):#010x})")
                failed = True
        return failed

    def _fail_waiting(self) -> None:
        """No CPU can ever run again: the VMs still going are deadlocked; they fail."""
        for vm in self.vms:
            if not vm.done:
                self.fail(vm, "deadlock: every virtual CPU waits for an interrupt that nothing can raise")

    def _arm_watchdog(self) -> None:
        self.fm.schedule(self.fm.now_ns() + int(self.watchdog_ms * 1e6 / 2), self._watchdog)

    def _watchdog(self) -> None:
        """Every half watchdog period: a VM that ran, took no interrupt in the period and has
        interrupts off in all its VCPUs' kernels gets a strike; two in a row stop it.  A
        kernel that works its way through memory meanwhile (monitor TLB refills at
        WORK_FILLS_PER_MS, or WORK_FILLS_PER_MINSN of its instructions: zeroing or copying pages) is
        busy, not looping: it has WORK_PERIODS."""
        m = self.m
        for vm in self.vms:
            if vm.done:
                continue
            off = all((m.vcp0[v, S.CP0_Status, 0] & S.St_IE) == 0 or m.vcp0[v, S.CP0_Status, 0] & 6
                      for v in vm.vcpus)
            progress = int(m.cpu[vm.cpus, S.INSNS].sum())
            waiting = all(self._view(v)[0][S.WAITING] for v in vm.vcpus)
            if progress == vm.last_insns and not waiting:
                self.fail(vm, f"stuck: no instruction retired in {self.watchdog_ms / 2:g} ms of simulated time "
                              f"(an exception loop at guest pc={int(m.cpu[vm.cpus[0], S.PC]):#010x})")
                continue
            ds = m.dstats[vm.vcpus]
            vint = int(ds[:, S.DS_VINT].sum())
            fills = int(ds[:, S.DS_L2TLB_HIT].sum() + ds[:, S.DS_VTLB_HIT].sum())
            took_interrupt = vint != vm.last_vint
            moved = fills - vm.last_fills
            ran = progress - vm.last_insns
            vm.last_insns, vm.last_vint, vm.last_fills = progress, vint, fills
            if not any(v in self.switched_in or v in self.running for v in vm.vcpus):
                continue                # it waited for its turn on shared CPUs: it cannot have looped
            vm.busy = (moved >= WORK_FILLS_PER_MS * self.watchdog_ms / 2
                       or (ran > 0 and moved * 1_000_000 >= WORK_FILLS_PER_MINSN * ran))
            vm.strikes = (vm.strikes + 1) if off and not took_interrupt else 0
            if vm.strikes >= (WORK_PERIODS if vm.busy else 2):
                self.fail(vm, f"watchdog: no interrupts for {vm.strikes * self.watchdog_ms / 2:g} ms of simulated "
                              "time (a guest looping with interrupts off)")
        self.switched_in.clear()
        if not all(v.done for v in self.vms):
            self._arm_watchdog()


__all__ = ["Containment"]
