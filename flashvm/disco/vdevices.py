"""Disco's virtual devices: each VM's console, DMA host and SMP block, its
interrupt lines, and the guest kernel's accesses to kseg0/kseg1 (device
registers and unmapped memory), which the monitor emulates in Python, with
the HAL's disk monitor call and the bus errors a guest gets for nothing there.
"""
from __future__ import annotations

import io
import struct
from collections.abc import Callable, Iterator
from typing import BinaryIO, TypeVar

import numpy as np

from flashvm.disco.vm import VirtualMachine
from flashvm.disco.wprot import WriteProtection
from flashvm.kernels import state as S
from flashvm.kernels.disco import post_interrupt_nb, reflect_nb
from flashvm.machine.devhost import DmaError
from flashvm.machine.devices import ByteSink, Device, Power, Timer, Uart
from flashvm.machine.flash import FlashMachine
from flashvm.machine.layout import (
    DISK_BASE, DISK_STRIDE, HAL_MC_DISK, POWER_BASE, SMP_BASE, SMP_SIZE, TIMER_BASE, UART_BASE,
)
from flashvm.machine.roi import RoiDevice
from flashvm.machine.services import ServiceDevice


class TaggedWriter(io.RawIOBase):
    """A VM's console: bytes kept, and lines echoed to `sink` prefixed with the VM's tag."""

    def __init__(self, vm: VirtualMachine, sink: BinaryIO | None):
        self.vm = vm
        self.sink = sink
        self.line = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        self.vm.out += b
        if self.sink is not None:
            for ch in bytes(b):
                self.line.append(ch)
                if ch == 10:
                    self.flush_line()
        return len(b)

    def flush_line(self) -> None:
        if self.line and self.sink is not None:
            self.sink.write(f"[{self.vm.name}] ".encode() + bytes(self.line))
            self.sink.flush()
        self.line.clear()


class VmHost:
    """The DeviceHost of a VM's virtual devices: guest-physical DMA through the pmap,
    interrupts posted to its VCPUs, the machine's clock and event queue."""

    def __init__(self, disco: VirtualDevices, vm: VirtualMachine):
        self.disco = disco
        self.vm = vm
        self.ram_bytes = vm.mem
        self.ram8 = np.zeros(0, np.uint8)     # devices never index it (DeviceHost contract)

    def now_ns(self) -> int:
        return self.disco.fm.now_ns()

    def schedule(self, at_ns: int, fn) -> None:
        self.disco.fm.schedule(at_ns, fn)

    def set_irq(self, source: object, cpu: int, line: int, level: bool) -> None:
        if 0 <= cpu < self.vm.ncpu and not self.vm.done:
            self.disco.post(self.vm, cpu, line, level, source)

    def _pieces(self, pa: int, n: int) -> Iterator[tuple[int, int]]:
        if not (0 <= pa and n >= 0 and pa + n <= self.vm.mem):
            raise DmaError(f"guest-physical {pa:#x}+{n} is outside the VM's {self.vm.mem >> 20} MB")
        pmap = self.disco.fm.m.pmap[self.vm.index]
        while n > 0:
            chunk = min(n, 4096 - (pa & 0xFFF))
            mp = int(pmap[pa >> 12])
            if mp < 0:
                raise DmaError(f"guest-physical page {pa >> 12:#x} has no machine page")
            yield (mp << 12) | (pa & 0xFFF), chunk
            pa += chunk
            n -= chunk

    def dma_write(self, pa: int, data: bytes) -> None:
        list(self._pieces(pa, len(data)))              # refuse a bad range before anyone hears of it
        self.disco.write_protection.before_dma(self.vm, pa, len(data))   # owners of protected pages first
        pieces = list(self._pieces(pa, len(data)))     # refuse before touching anything
        off = 0
        for ma, n in pieces:
            self.disco.fm.dma_write(ma, data[off:off + n])
            off += n

    def dma_read(self, pa: int, n: int) -> bytes:
        return b"".join(self.disco.fm.dma_read(ma, k) for ma, k in self._pieces(pa, n))


class VSmp(Device):
    """A VM's SMP block: its VCPU numbers, virtual IPIs, the release of its secondary VCPUs."""
    name = "smp"

    def __init__(self, disco: VirtualDevices, vm: VirtualMachine):
        super().__init__(SMP_BASE, SMP_SIZE)
        self.disco = disco
        self.vm = vm
        self.release = [0] * 64

    def read(self, offset: int, size: int) -> int:
        k = self.disco.current_vcpu_index
        if offset == 0x000:
            return k
        if offset == 0x004:
            return self.vm.ncpu
        if offset == 0x014:
            return int(self.disco.fm.m.cpu_node[self.vm.cpus[k]])
        if 0x100 <= offset < 0x200 and offset % 4 == 0:
            return self.release[(offset - 0x100) // 4]
        return super().read(offset, size)

    def write(self, offset: int, size: int, value: int) -> None:
        k = self.disco.current_vcpu_index
        if offset == 0x008:
            if 0 <= value < self.vm.ncpu:
                self.disco.post(self.vm, value, 1, True, self)
            else:
                self.guest_errors += 1
        elif offset == 0x00C:
            self.disco.post(self.vm, k, 1, False, self)
        elif offset == 0x010:
            for t in range(min(self.vm.ncpu, 32)):
                if value >> t & 1:
                    self.disco.post(self.vm, t, 1, True, self)
        elif 0x100 <= offset < 0x200 and offset % 4 == 0:
            t = (offset - 0x100) // 4
            if t < self.vm.ncpu:
                self.release[t] = value & 0xFFFFFFFF
                self.disco.start_vcpu(self.vm, t, value & 0xFFFFFFFF)
            else:
                self.guest_errors += 1
        else:
            super().write(offset, size, value)


# ------------------------------------------------------------ load/store decoding
_LOADS = {0x20: (1, True), 0x24: (1, False), 0x21: (2, True), 0x25: (2, False), 0x23: (4, True)}
_STORES = {0x28: 1, 0x29: 2, 0x2B: 4}


AnyDevice = TypeVar("AnyDevice", bound=Device)   # add_device gives back what it is given


class VirtualDevices:
    """The virtual-device part of the monitor (a mixin of Disco: uses `m`, `fm`,
    `out`, `consoles`, the memory part's guest_read/guest_write and the VCPU
    part's `_cpu_running`, `current_vcpu_index` and `start_vcpu`)."""
    m: S.Machine
    fm: FlashMachine
    out: BinaryIO
    consoles: Callable[[VirtualMachine], ByteSink] | None
    _cpu_running: Callable[[int], int]
    current_vcpu_index: int
    running: list[int]
    start_vcpu: Callable[[VirtualMachine, int, int], None]
    guest_read: Callable[[VirtualMachine, int, int], bytes]
    guest_write: Callable[[VirtualMachine, int, bytes], None]
    _page_call: Callable[[VirtualMachine, int, int, int], bool]
    write_protection: WriteProtection

    def _init_devices(self) -> None:
        # sources as objects, not id()s: a checkpoint keeps them (flashvm/machine/snapshot.py)
        self._irq_sources: dict[tuple[int, int, int], set[object]] = {}

    def _devices(self, vm: VirtualMachine) -> None:
        host = VmHost(self, vm)
        vm.host = host
        vm.console = TaggedWriter(vm, self.out)
        vm.uart = Uart(UART_BASE, out=self.consoles(vm) if self.consoles else vm.console)
        # the SMP block and timer at the machine's addresses (P_SMP_PA, P_TIMER_PA): the monitor's
        # kernel serves their IPIs and timer words as VSmp and Timer do (kernels/disco.py _device_fast)
        vm.smp = VSmp(self, vm)
        # POWER raises MachineHalted, which the containment part turns into stopping this VM only
        vm.devices = [vm.uart, Power(POWER_BASE), Timer(TIMER_BASE, self.fm.now_cycles, self.fm.ns_per_cycle),
                      vm.smp, RoiDevice(self.fm.roi, prefix=f"{vm.name}."),
                      ServiceDevice(self.fm.services, lambda: self.fm.current_cpu, space=vm.index + 1)]
        self.fm.services.vcpu_of = lambda c: self.running[c]     # the monitor's work is the VCPU's

    def add_device(self, vm: VirtualMachine, dev: AnyDevice) -> AnyDevice:
        """Give VM `vm` another device (a Disk or Nic built on `vm.host`)."""
        vm.devices.append(dev)
        return dev

    def post(self, vm: VirtualMachine, k: int, line: int, level: bool, source: object) -> None:
        """Drive interrupt line `line` of VCPU k of `vm` (level-triggered, OR of sources)."""
        srcs = self._irq_sources.setdefault((vm.index, k, line), set())
        (srcs.add if level else srcs.discard)(source)
        v = vm.vcpus[k]
        post_interrupt_nb(self.m, self._cpu_running(v), v, line, bool(srcs))

    # ------------------------------------------------------------ the guest kernel's unmapped accesses
    def _kseg_access(self, vm: VirtualMachine, c: int, va: int, insn: int) -> None:
        """The guest kernel touched kseg0/kseg1: emulate the load or store (devices or unmapped memory)."""
        m = self.m
        op = insn >> 26
        rt = (insn >> 16) & 31
        pa = va & 0x1FFFFFFF
        if op in _LOADS:
            size, signed = _LOADS[op]
        elif op in _STORES:
            size, signed = _STORES[op], False
        else:                               # lwl/swl/ll/sc/FPU to an unmapped segment: a bus error
            self._bus_error(c, va)
            return
        if va & (size - 1):                 # the guest's own address error, as its CPU would raise it
            reflect_nb(m, c, int(m.cpu[c, S.VCPU]) - 1, S.EXC_ADES if op in _STORES else S.EXC_ADEL,
                       int(m.cpu[c, S.PC]), int(m.cpu[c, S.BRANCH_PC]), va, 0)
            return
        dev = next((d for d in vm.devices if d.base <= pa < d.base + d.size), None)
        if dev is not None:
            self.fm.charge_io(c)
        if op in _STORES:
            value = int(m.gpr[c, rt]) & ((1 << (8 * size)) - 1)
            if dev is not None:
                dev.write(pa - dev.base, size, value)
            elif pa + size <= vm.mem:
                self.guest_write(vm, pa, value.to_bytes(size, "little"))
            else:
                self._bus_error(c, va)
                return
        else:
            if dev is not None:
                value = dev.read(pa - dev.base, size) & ((1 << (8 * size)) - 1)
            elif pa + size <= vm.mem:
                value = int.from_bytes(self.guest_read(vm, pa, size), "little")
            else:
                self._bus_error(c, va)
                return
            if signed and value >> (8 * size - 1):
                value -= 1 << (8 * size)
            if rt:
                m.gpr[c, rt] = value & 0xFFFFFFFF
        # the access is done: on to the next instruction (NPC already holds a branch target)
        npc = int(m.cpu[c, S.NPC])
        m.cpu[c, S.PC] = npc
        m.cpu[c, S.NPC] = (npc + 4) & 0xFFFFFFFF
        m.cpu[c, S.BRANCH_PC] = -1
        # the exception's own cycle, which the interpreter charges when a trap goes on without the
        # host: the accesses the monitor's kernel serves itself (disco.py _device_fast) cost the same
        m.cpu[c, S.CYCLES] += 1
        m.stats[c, S.S_CYC_BASE + S.MMU_KERNEL] += 1

    def _monitor_call(self, vm: VirtualMachine, c: int, call: int, value: int) -> None:
        """A HAL monitor call served in Python: a disk request in one call (the block
        {disk, sector, count, addr, cmd} at guest-physical `value`)."""
        if self._page_call(vm, c, call, value) or call != HAL_MC_DISK:
            return
        try:
            blk = self.guest_read(vm, value & 0xFFFFFFFC, 20)
        except DmaError:
            self._bus_error(c, value)
            return
        k, sector, count, addr, cmd = struct.unpack("<5I", blk)
        disk = next((d for d in vm.devices if d.name == "disk" and d.base == DISK_BASE + DISK_STRIDE * k), None)
        if disk is None:
            return
        self.fm.charge_io(c)
        for off, val in ((0x00, sector), (0x04, count), (0x08, addr), (0x0C, cmd)):
            disk.write(off, 4, val)

    def _bus_error(self, c: int, va: int) -> None:
        """Nothing at that guest-physical address: the guest gets the bus error its CPU would."""
        m = self.m
        v = int(m.cpu[c, S.VCPU]) - 1
        m.dstats[v, S.DS_BUSERR] += 1
        reflect_nb(m, c, v, S.EXC_DBE, int(m.cpu[c, S.PC]), int(m.cpu[c, S.BRANCH_PC]), va, 0)


__all__ = ["TaggedWriter", "VSmp", "VirtualDevices", "VmHost"]
