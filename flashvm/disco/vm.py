"""What the monitor knows of a virtual machine: its spec, its record, its failure."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from flashvm.machine.devices import Device, Uart

if TYPE_CHECKING:
    from flashvm.disco.vdevices import TaggedWriter, VmHost, VSmp


class VmFailed(Exception):
    """A VM stops for good (panic, bad state); the others go on."""


@dataclass(frozen=True)
class VmSpec:
    """One virtual machine: its CPUs, memory and disks."""
    ncpu: int = 1
    mem: int = 32 << 20
    name: str = ""
    hal: bool = False           # map the HAL special page (for a guest built with the HAL)
    mem_nodes: tuple[int, ...] = ()   # the nodes its memory comes from, evenly (empty: its VCPUs' nodes)


@dataclass
class VirtualMachine:
    """A VM as the monitor keeps it.  Its virtual devices (`host`, `console`,
    `uart`, `smp`) are attached by the monitor (flashvm/disco/vdevices.py)."""
    index: int
    name: str
    ncpu: int
    mem: int
    vcpus: list[int]                 # global VCPU numbers
    cpus: list[int]                  # the physical CPU running each VCPU
    base: int                        # machine address of guest-physical 0 (the rest: see the pmap)
    out: bytearray = field(default_factory=bytearray)
    status: int | None = None
    failure: str | None = None
    devices: list[Device] = field(default_factory=list)
    strikes: int = 0                 # watchdog half periods in a row with interrupts off, none taken
    busy: bool = False               # the last half period touched memory (containment.WORK_FILLS_PER_MS)
    last_insns: int = 0              # instructions, virtual interrupts and monitor TLB refills
    last_vint: int = 0               # at the last watchdog check
    last_fills: int = 0
    # the virtual devices, attached by the monitor as it makes the VM (not arguments, not compared)
    host: VmHost = field(init=False, repr=False, compare=False)
    console: TaggedWriter = field(init=False, repr=False, compare=False)
    uart: Uart = field(init=False, repr=False, compare=False)
    smp: VSmp = field(init=False, repr=False, compare=False)

    @property
    def done(self) -> bool:
        return self.status is not None or self.failure is not None


__all__ = ["VirtualMachine", "VmFailed", "VmSpec"]
