"""Disco: virtual machines on the FLASH machine (paper §4; DISCO.md §7).

    disco = Disco("flash8", [VmSpec(ncpu=2, mem=32 << 20), VmSpec(ncpu=2)], mode="timing")
    disco.boot(vm, kernel_elf, argv=[...])          # for each VM
    result = disco.run()

The monitor's frequent paths are jitted (flashvm/kernels/disco.py: the trap
path, privileged-instruction emulation, the L2TLB, exception reflection);
the rest is Python, one part per concern, each a mixin of `Disco`:

    memory.py       machine pages, pmap and memmap, back-maps, shootdown, migration
    vcpu.py         VCPU reset and start, switching, the round-robin scheduler
    vdevices.py     each VM's devices, interrupts, emulated kseg0/kseg1 accesses
    containment.py  stopping a failed VM alone, the watchdog

This module builds the monitor, boots and runs the VMs, and is the machine's
Supervisor: the exits, chunk boundaries and failures the bare machine hands
over come here and go to the part concerned.  Each VM sees the machine of
docs/machine.md: RAM from guest-physical 0, its own CPUs numbered from 0,
its own devices.
"""
from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import BinaryIO

import numpy as np

from flashvm.disco.containment import Containment
from flashvm.disco.memory import GuestMemory
from flashvm.disco.numa import NumaConfig, NumaPolicy, default_numa_mode
from flashvm.disco.share import PageSharing
from flashvm.disco.netremap import SubnetRemap
from flashvm.disco.vcpu import Vcpus
from flashvm.disco.vdevices import VirtualDevices
from flashvm.disco.vm import VirtualMachine, VmFailed, VmSpec
from flashvm.disco.wprot import WriteProtection
from flashvm.elf import ElfImage
from flashvm.kernels import state as S
from flashvm.kernels.run import run as run_kernel
from flashvm.kernels.disco import DX_KSEG, DX_MCALL, DX_WPROT, KSSEG, WP_ZERO, hal_push_nb
from flashvm.machine.config import MachineConfig, machine_config
from flashvm.machine.devices import ByteSink, MachineHalted
from flashvm.machine.bootinfo import BootInfo, BootInfoTooLarge, OsWords
from flashvm.machine.flash import FlashMachine, GuestError, RunResult
from flashvm.machine.layout import BOOT_HALT_ON_EXIT, BOOT_SHARE, BOOT_VIRTUAL, BOOTINFO_PA
from flashvm.machine.supervisor import Supervisor
from flashvm.machine.trace import RunFn

# Disco's cost model, in cycles (see flashvm/kernels/disco.py)
# P_MON_REFILL: the refill vector's fast path, counted as MIPS code would do it: save two
# registers, read BadVAddr and EntryHi, hash VPN2 and ASID (4), load the entry's tag and compare it
# (3), load both EntryLo words, write them, tlbwr, restore the registers, eret: 20 instructions,
# plus about 12 cycles of exception entry, eret and CP0 hazards; the L2TLB entry's line is charged
# apart, through the cache model
COSTS = {S.P_MON_TRAP: 40, S.P_MON_EMUL: 25, S.P_MON_TLB: 30, S.P_MON_REFLECT: 40, S.P_MON_REFILL: 32}


class Disco(Supervisor, GuestMemory, PageSharing, Vcpus, VirtualDevices, Containment):
    """The virtual machine monitor: VMs with VCPUs on a FLASH machine."""

    def __init__(self, config: MachineConfig | str, vms: list[VmSpec], *, mode: str = "functional",
                 out: BinaryIO | None = None, costs: dict[int, int] | None = None,
                 consoles: Callable[[VirtualMachine], ByteSink] | None = None, watchdog_ms: float = 100.0,
                 numa: str | NumaConfig | None = None, share: bool = False):
        """`out`: where the VMs' console lines go, tagged "[vmN] "; `consoles`: a function
        VirtualMachine -> byte sink to use instead (e.g. the guest OS's console demultiplexer).
        `watchdog_ms`: a VM whose every VCPU keeps interrupts off in its kernel for this long
        (simulated time) is stopped (0: no watchdog).  `numa`: the NUMA policy's mode (off, migrate,
        replicate, both) or its whole configuration; None: both on a NUMA machine, off on UMA.
        `share`: pages are shared between VMs
        (the global disk cache, the kernel's text; flashvm/disco/share.py); the VMs must run
        the guest kernel's HAL build, which tells the monitor which pages it uses."""
        self.consoles = consoles
        cfg = machine_config(config)
        nvcpu = sum(v.ncpu for v in vms)
        if not vms:
            raise GuestError("Disco needs at least one VM")
        max_pages = max(v.mem for v in vms) >> 12
        self.fm = FlashMachine(cfg, mode=mode, out=out, disco=(nvcpu, len(vms), max_pages), supervisor=self)
        self.cfg = cfg
        self.m = self.fm.m
        self.out = out if out is not None else sys.stdout.buffer
        for k, v in {**COSTS, **(costs or {})}.items():
            self.m.params[k] = v
        self.m.params[S.P_MON_DATA] = 0x10000
        self.watchdog_ms = watchdog_ms
        self.current_vcpu_index = 0
        self.vms: list[VirtualMachine] = []
        self.write_protection = WriteProtection(self.m)
        self._init_vcpus()
        self._init_devices()
        self._init_memory()
        self._init_share(share, len(vms), max_pages)
        self._reports_pages = [share and spec.hal for spec in vms]     # the guest says which pages it uses
        # the subnet's copy-on-write page remapping (flashvm/disco/netremap.py)
        self.netremap = SubnetRemap(self)
        self.sos_files: dict[int, dict[str, bytes]] = {}   # SPLASHOS VMs' disk files after a run (splashos.py)
        vcpu = 0
        for i, spec in enumerate(vms):
            if spec.mem % 4096 or spec.mem < (1 << 20):
                raise GuestError(f"VM {i}: memory {spec.mem} must be a multiple of 4 KB, at least 1 MB")
            if spec.ncpu > 64:
                raise GuestError(f"VM {i}: {spec.ncpu} CPUs; a VM has at most 64")
            # VCPU g runs on CPU g mod ncpu: VMs spread over the machine, more VCPUs than CPUs time-share
            cpus = [(vcpu + k) % cfg.ncpu for k in range(spec.ncpu)]
            bad = [n for n in spec.mem_nodes if not 0 <= n < cfg.nodes]
            if bad:
                raise GuestError(f"VM {i}: memory on node {bad[0]}: {cfg.name} has nodes 0-{cfg.nodes - 1}")
            nodes = list(spec.mem_nodes) or [int(n) for n in self.m.cpu_node[cpus]]
            pages = self._map_vm(i, spec.mem, nodes)
            vm = VirtualMachine(index=i, name=spec.name or f"vm{i}", ncpu=spec.ncpu, mem=spec.mem,
                                vcpus=list(range(vcpu, vcpu + spec.ncpu)), cpus=cpus, base=int(pages[0]) << 12)
            vcpu += spec.ncpu
            self._devices(vm)
            self.vms.append(vm)
            self._add_vcpus(vm, spec)
        self._start_cpus()
        if not isinstance(numa, NumaConfig):
            numa = NumaConfig(mode=numa or default_numa_mode(cfg))
        self.numa = NumaPolicy(self, numa)

    # ------------------------------------------------------------ the machine's Supervisor
    def on_exit(self, reason: int, cpu: int) -> bool:
        """EXIT_DISCO: the trap path needs Python (an unmapped access, a monitor call)."""
        if reason != S.EXIT_DISCO:
            return False
        x = self.m.exitrec
        kind = int(x[S.X_A0])
        vm, k = self._vm_of_cpu(cpu)
        self.current_vcpu_index = k
        try:
            if kind == DX_KSEG:
                self._kseg_access(vm, cpu, int(x[S.X_A1]), int(x[S.X_A2]))
                hal_push_nb(self.m, vm.vcpus[k])
            elif kind == DX_MCALL:
                self._monitor_call(vm, cpu, int(x[S.X_A1]), int(x[S.X_A2]))
            elif kind == DX_WPROT:
                self._protected_write(vm, cpu, int(x[S.X_A1]), int(x[S.X_A2]))
            else:
                raise VmFailed(f"monitor: unexpected exit {kind}")
        except MachineHalted as h:
            self._vm_halted(vm, h)
        except VmFailed as e:
            self.fail(vm, str(e))
        return True

    def _protected_write(self, vm: VirtualMachine, cpu: int, gpage: int, how: int) -> None:
        """A store (re-executed on return) or a HAL zero-page call to a write-protected page."""
        if how == WP_ZERO:
            self.write_protection.fault(vm, gpage, -1, "zero")
            self.guest_write(vm, gpage << 12, bytes(4096))
            self.m.dstats[vm.vcpus[self.current_vcpu_index], S.DS_ZERO_PAGES] += 1
        else:
            self.write_protection.fault(vm, gpage, cpu, "store")

    def between_chunks(self) -> None:
        self._schedule()
        self.numa.tick()

    def hot_page(self, page: int, node: int, count: int) -> None:
        """MAGIC: a page became hot for a node; the NUMA policy decides."""
        self.numa.on_hot_page(page, node, count)

    def hot_pages(self, events: np.ndarray) -> None:
        """A batch of MAGIC's events: the NUMA policy decides them in one kernel call."""
        self.numa.on_hot_batch(events)

    def all_waiting(self) -> bool:
        self._fail_waiting()
        return True

    def stuck(self, cpu: int) -> bool:
        return self._fail_stuck()

    @property
    def status(self) -> int:
        """0 when every VM exited 0; else the first failing VM's status (1 for a failed VM)."""
        for vm in self.vms:
            if vm.failure is not None:
                return 1
            if vm.status:
                return vm.status
        return 0

    # ------------------------------------------------------------ booting
    def boot(self, vm: VirtualMachine, image: ElfImage, argv: Sequence[str] = (), envp: Sequence[str] = (),
             *, os_words: OsWords = OsWords()) -> None:
        """Load a guest kernel relinked for the supervisor segment and start VCPU 0.

        Segments in ksseg (0xC0000000 + guest-physical) or kseg0/kseg1 are
        loaded at their guest-physical address.  The VCPU starts at the
        kernel's `_start_virtual` if it has one (the monitor has wired the
        kernel window its boot code would wire), else at the ELF entry, which
        must then be in ksseg.  `os_words` go to boot info's OS area."""
        for seg in image.segments:
            if KSSEG <= seg.vaddr < 0xE0000000:
                gpa = seg.vaddr - KSSEG
            elif 0x80000000 <= seg.vaddr < 0xC0000000:
                gpa = seg.vaddr & 0x1FFFFFFF
            else:
                raise GuestError(f"{image.path}: segment at {seg.vaddr:#x} is neither in the supervisor segment "
                                 "nor in kseg0/kseg1: Disco runs kernels relinked in ksseg (the mapped variant)")
            if gpa + seg.memsz > vm.mem:
                raise GuestError(f"{image.path}: segment {gpa:#x}+{seg.memsz:#x} does not fit in "
                                 f"VM {vm.name}'s {vm.mem >> 20} MB")
            self.guest_write(vm, gpa, bytes(seg.data) + bytes(seg.memsz - seg.filesz))
        if self.share:
            self._share_kernel_text(vm, image)
        sym = image.symbols.get("_start_virtual")
        entry = sym.addr if sym is not None else image.entry
        if not KSSEG <= entry < 0xE0000000:
            raise GuestError(f"{image.path}: entry {entry:#x} is not in the supervisor segment; a guest kernel "
                             "for Disco must be relinked there (link it like flashvm/guest/bare/link-ksseg.ld, "
                             "or give it a _start_virtual)")
        ndisks = sum(1 for d in vm.devices if d.name == "disk")
        nnics = sum(1 for d in vm.devices if d.name == "net")
        info = BootInfo(ncpu=vm.ncpu, ram_bytes=vm.mem, nnodes=1, node_bytes=vm.mem,
                        clock_hz=int(self.cfg.clock_mhz * 1e6), ndisks=ndisks, nnets=nnics,
                        flags=BOOT_HALT_ON_EXIT | BOOT_VIRTUAL | (BOOT_SHARE if self.share else 0),
                        vmnum=vm.index, argv=list(argv), envp=list(envp),
                        os=os_words)
        try:
            block = info.pack()
        except BootInfoTooLarge:
            raise GuestError("the command line and environment do not fit the boot info block") from None
        self.guest_write(vm, BOOTINFO_PA, block)
        for k in range(vm.ncpu):
            self._reset_vcpu(vm, k)
        self.start_vcpu(vm, 0, entry)

    # ------------------------------------------------------------ running
    def run(self, max_insns: int | None = None, progress: Callable[[int], None] | None = None,
            run_fn: RunFn = run_kernel) -> RunResult:
        """Run every VM until all have stopped (or `max_insns`); `run_fn` stands in
        for the run kernel (the trace's)."""
        if self.watchdog_ms > 0:
            self._arm_watchdog()
        self._footprint_start()
        r = self.fm.run(max_insns=max_insns, progress=progress, run_fn=run_fn)
        for vm in self.vms:
            vm.console.flush_line()
        return r

    def vm_stats(self, vm: VirtualMachine) -> dict[str, int]:
        """The monitor's counters summed over the VM's VCPUs."""
        d = self.m.dstats[vm.vcpus].sum(axis=0)
        return {name: int(d[i]) for i, name in enumerate(S.DS_NAMES)}


__all__ = ["COSTS", "Disco", "VirtualMachine", "VmFailed", "VmSpec"]
