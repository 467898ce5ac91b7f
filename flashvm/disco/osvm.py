"""The guest OS in Disco's virtual machines: N copies of the kernel's mapped
variant side by side, each with its own virtual disk (non-persistent: its
writes are private to the VM, over one shared base image) and console.

    results, disco = run_os_vms({"/bin/hello": exe}, ["/bin/hello"], vms=2, cpus_per_vm=1)
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Mapping, Sequence

from flashvm.disco.monitor import Disco, VmSpec
from flashvm.elf import load_elf
from flashvm.machine.bootinfo import OsWords
from flashvm.machine.disk import Disk, disk_base
from flashvm.machine.layout import CONSOLE_FRAMED
from flashvm.machine.net import Nic, Subnet, net_base
from flashvm.osrun import PANIC_STATUS, ConsoleDemux, build_kernel, make_disk_image


@dataclass
class VmResult:
    """What one VM's guest OS did."""
    name: str
    status: int | None          # init's exit status; None if the VM failed
    failure: str | None         # why the monitor stopped it
    stdout: bytes
    stderr: bytes
    klog: bytes

    @property
    def ok(self) -> bool:
        return self.failure is None and self.status is not None and self.status != PANIC_STATUS


def run_os_vms(files: Mapping[str, bytes | str | Path], argv: Sequence[str], *, vms: int = 1,
               cpus_per_vm: int = 1, mem_mb: int = 24, machine="flash8", mode: str = "functional",
               env: Sequence[str] = (), max_insns: int | None = 4_000_000_000, verbose: int = 0,
               argv_per_vm: Sequence[Sequence[str]] | None = None, hal: bool = False,
               costs: dict[int, int] | None = None, nets: bool = False) -> tuple[list[VmResult], Disco, object]:
    """Boot `vms` copies of the guest OS under Disco, each running argv (or
    argv_per_vm[i]) as init over a root disk holding `files`.  `hal`: the
    kernel's HAL build (privileged registers through a special page, monitor
    calls for zeroed and freed pages) instead of the plain mapped one.
    `nets`: each VM gets a network interface on one virtual subnet (frames are
    copied between VMs; MACs 02:00:00:00:00:01, :02, ... in VM order).
    Returns the per-VM results, the monitor and the machine's RunResult."""
    demuxes: dict[int, ConsoleDemux] = {}

    def console(vm):
        demuxes[vm.index] = ConsoleDemux()
        return demuxes[vm.index]

    disco = Disco(machine, [VmSpec(ncpu=cpus_per_vm, mem=mem_mb << 20, hal=hal) for _ in range(vms)], mode=mode,
                  consoles=console, costs=costs)
    kernel = load_elf(build_kernel("hal" if hal else "mapped"))
    with tempfile.TemporaryDirectory(prefix="flashvm-disco-") as tmp:
        size = max(32 << 20, 4 * sum(Path(v).stat().st_size if isinstance(v, (str, Path)) else len(v)
                                     for v in files.values()))
        base = make_disk_image(Path(tmp) / "root.img", files, size=size)
        disks = []
        subnet = Subnet() if nets else None
        for vm in disco.vms:
            disks.append(disco.add_device(vm, Disk(disk_base(0), vm.host, base, overlay=True)))
            if subnet is not None:
                disco.add_device(vm, Nic(net_base(0), vm.host, subnet))
            args = list(argv_per_vm[vm.index]) if argv_per_vm else list(argv)
            # the guest OS's boot words: no initrd (the root is the disk), framed console
            disco.boot(vm, kernel, args, list(env), os_words=OsWords(console_mode=CONSOLE_FRAMED, verbose=verbose))
        try:
            r = disco.run(max_insns=max_insns)
        finally:
            for d in disks:
                d.close()
    out = []
    for vm in disco.vms:
        d = demuxes[vm.index]
        out.append(VmResult(vm.name, vm.status, vm.failure, bytes(d.streams[1]), bytes(d.streams[2]),
                            bytes(d.streams[3])))
    return out, disco, r
