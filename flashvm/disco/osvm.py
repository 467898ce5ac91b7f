"""The guest OS in Disco's virtual machines: N copies of the kernel's mapped
variant side by side, each with its own virtual disk (non-persistent: its
writes are private to the VM, over one shared base image) and console.

    vms, disco, run = run_os_vms({"/bin/hello": exe}, ["/bin/hello"], vms=2, cpus_per_vm=1)
"""
from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Callable, Mapping, Sequence

from flashvm.disco.monitor import Disco, VmSpec
from flashvm.elf import load_elf
from flashvm.guestos import PANIC_STATUS, ConsoleDemux, build_kernel, make_initrd, os_words, root_disk_image
from flashvm.machine.disk import Disk, disk_base
from flashvm.machine.flash import RunResult
from flashvm.kernels.run import run as run_kernel
from flashvm.disco.netremap import RemapNic
from flashvm.machine.net import Subnet, net_base
from flashvm.machine.trace import RunFn
from flashvm.spec import GuestFile, VmOutcome


def run_os_vms(files: Mapping[str, GuestFile], argv: Sequence[str], *, vms: int = 1,
               cpus_per_vm: int = 1, mem_mb: int = 24, machine="flash8", mode: str = "functional",
               env: Sequence[str] = (), max_insns: int | None = 4_000_000_000, verbose: int = 0,
               argv_per_vm: Sequence[Sequence[str]] | None = None, hal: bool = False,
               costs: dict[int, int] | None = None, nets: bool = False,
               progress: Callable[[int], None] | None = None, stdin: bytes = b"",
               run_fn: RunFn = run_kernel,
               root_image: str | Path | None = None, remap: bool | None = None,
               numa: str | None = None, share: bool = False,
               mem_nodes: Sequence[int] = ()) -> tuple[list[VmOutcome], Disco, RunResult]:
    """Boot `vms` copies of the guest OS under Disco, each running argv (or
    argv_per_vm[i]) as init over a root disk holding `files`.  `hal`: the
    kernel's HAL build (privileged registers through a special page, monitor
    calls for zeroed and freed pages) instead of the plain mapped one.
    `nets`: each VM gets a network interface on one virtual subnet (MACs
    02:00:00:00:00:01, :02, ... in VM order; page-aligned payloads are remapped
    copy-on-write where the monitor can write-protect pages, else copied).
    `root_image`: a flashfs image (flashvm.guestos.rootimage.sysroot_image)
    every VM boots from, each behind its own copy-on-write overlay; `files`
    then go in each VM's initrd, which its kernel writes onto its root.
    `share` (with `hal`): the monitor shares machine pages between the VMs: blocks of the
    root image several VMs read (Disco's global disk cache), the kernel's text
    (flashvm/disco/share.py, diskcache.py); `disco.footprint` has the figures.
    `remap`: page remapping on the subnet on or off (None: on where the monitor
    write-protects pages; the file service turns it on, its pages are never written).
    `numa`: the NUMA policy's mode (flashvm/disco/numa.py; None: both on a NUMA machine, off on UMA).
    `mem_nodes`: the nodes each VM's memory comes from (empty: the nodes of its VCPUs).
    Returns the per-VM outcomes, the monitor and the machine's RunResult."""
    demuxes: dict[int, ConsoleDemux] = {}

    def console(vm):
        demuxes[vm.index] = ConsoleDemux()
        return demuxes[vm.index]

    disco = Disco(machine, [VmSpec(ncpu=cpus_per_vm, mem=mem_mb << 20, hal=hal, mem_nodes=tuple(mem_nodes))
                           for _ in range(vms)], mode=mode,
                  consoles=console, costs=costs, numa=numa, share=share)
    kernel = load_elf(build_kernel("hal" if hal else "mapped"))
    with tempfile.TemporaryDirectory(prefix="flashvm-disco-") as tmp:
        base = root_image if root_image is not None else root_disk_image(Path(tmp) / "root.img", files)
        blob = make_initrd(files) if root_image is not None and files else b""
        disks: list[Disk] = []
        subnet = Subnet() if nets else None
        if remap is not None:
            disco.netremap.enabled = remap
        for vm in disco.vms:
            disks.append(disco.add_device(vm, disco.disk_cache.disk(vm, base) if share
                                          else Disk(disk_base(0), vm.host, base, overlay=True)))
            if subnet is not None:
                disco.add_device(vm, RemapNic(net_base(0), vm.host, subnet, disco.netremap))
            args = list(argv_per_vm[vm.index]) if argv_per_vm else list(argv)
            # the root file system is the VM's disk; per-run files (if any) come in an initrd
            # at the top of the VM's memory
            pa = (vm.mem - len(blob)) & ~0xFFF if blob else 0
            if blob:
                disco.guest_write(vm, pa, blob)
            disco.boot(vm, kernel, args, list(env), os_words=os_words(pa, len(blob), verbose=verbose))
            if vm.index == 0 and stdin:         # the host's stdin is VM 0's console input
                vm.uart.inp = bytearray(stdin)
        try:
            r = disco.run(max_insns=max_insns, progress=progress, run_fn=run_fn)
        finally:
            for disk in disks:
                disk.close()
    out = []
    for vm in disco.vms:
        d = demuxes[vm.index]
        out.append(VmOutcome(vm.name, vm.index, list(vm.vcpus), vm.status, vm.failure, bytes(d.streams[1]),
                             bytes(d.streams[2]), bytes(d.streams[3]), panicked=vm.status == PANIC_STATUS))
    return out, disco, r
