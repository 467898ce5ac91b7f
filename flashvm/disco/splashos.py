"""SPLASHOS in Disco's virtual machines (paper §4.4; docs/splashos.md).

A SPLASHOS program (flashvm.toolchain.build_splashos) is linked at user
addresses equal to its guest-physical ones.  The monitor boots it as it boots
any guest kernel: the segments go in through the wired window (0xC0000000 +
guest-physical) and VCPU 0 starts at `_start`'s alias there; SPLASHOS then
wires its own identity mapping and runs the program in user mode.  Nothing
in the monitor is specific to SPLASHOS.

    vms, disco, run = run_splashos(exe, ["radix", "8", "16384"], cpus=8)
    vms, disco, run = run_vms([OsGuest({"/bin/radix": exe_os}, ["/bin/radix", "2", "4096"], ncpu=2),
                               SplashosGuest(exe, ["radix", "4", "4096"], ncpu=4)])
"""
from __future__ import annotations

import dataclasses
import io
import tempfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from flashvm.disco.monitor import Disco, VirtualMachine, VmSpec
from flashvm.disco.sosfs import make_image, read_files
from flashvm.elf import ElfImage, load_elf
from flashvm.guestos import PANIC_STATUS, ConsoleDemux, build_kernel, os_words, root_disk_image
from flashvm.kernels.disco import KSSEG
from flashvm.kernels.run import run as run_kernel
from flashvm.machine.disk import Disk, disk_base
from flashvm.machine.flash import GuestError, RunResult
from flashvm.machine.trace import RunFn
from flashvm.spec import GuestFile, VmOutcome

MARK = "__sos_user_main"            # a symbol only SPLASHOS programs have


def is_splashos(image: ElfImage) -> bool:
    """Whether `image` was linked with SPLASHOS."""
    return MARK in image.symbols


def window_image(image: ElfImage) -> ElfImage:
    """`image` as the monitor loads a guest kernel: each segment at its alias in the
    wired window (0xC0000000 + guest-physical), the entry there too."""
    if not is_splashos(image):
        raise GuestError(f"{image.path}: not a SPLASHOS program (build it with "
                         "`python -m flashvm.toolchain splashos FILE.c`)")
    segs = tuple(dataclasses.replace(s, vaddr=KSSEG + s.vaddr) for s in image.segments)
    return dataclasses.replace(image, segments=segs, entry=KSSEG + image.entry)


def boot_splashos(disco: Disco, vm: VirtualMachine, image: ElfImage, argv: Sequence[str]) -> None:
    """Load a SPLASHOS program into `vm` and start its VCPU 0 (the others wait to be released)."""
    disco.boot(vm, window_image(image), list(argv))


@dataclass(frozen=True)
class SplashosGuest:
    """A VM running a SPLASHOS program.  `files` (name -> bytes): a virtual disk in the
    sosfs layout holding them (flashvm/disco/sosfs.py), `disk_mb` MB in all; `disk`: where
    that image is made (kept after the run; else a temporary file).  What the program
    wrote is in `Disco.sos_files[vm]` after the run, and in the image."""
    program: Path | str
    argv: Sequence[str]
    ncpu: int = 1
    mem_mb: int = 32
    files: Mapping[str, bytes] | None = None
    disk: Path | None = None
    disk_mb: int = 8


@dataclass(frozen=True)
class OsGuest:
    """A VM running the guest OS (its mapped build) with `argv` as init over a root disk of `files`."""
    files: Mapping[str, GuestFile]
    argv: Sequence[str]
    ncpu: int = 1
    mem_mb: int = 24
    env: Sequence[str] = field(default_factory=tuple)


def run_vms(guests: Sequence[SplashosGuest | OsGuest], *, machine="flash8", mode: str = "functional",
            max_insns: int | None = 4_000_000_000, out: BinaryIO | None = None,
            progress: Callable[[int], None] | None = None,
            run_fn: RunFn = run_kernel) -> tuple[list[VmOutcome], Disco, RunResult]:
    """Run SPLASHOS programs and guest OSes side by side, one VM each, in one Disco.
    `out`: where SPLASHOS VMs' console lines go as they come, tagged "[vmN] "
    (default: nowhere; the outcomes keep them).  Returns the per-VM outcomes
    (a SPLASHOS VM's console is its stdout), the monitor and the machine's RunResult."""
    demuxes: dict[int, ConsoleDemux] = {}

    def console(vm: VirtualMachine):
        if isinstance(guests[vm.index], OsGuest):
            demuxes[vm.index] = ConsoleDemux()
            return demuxes[vm.index]
        return vm.console

    disco = Disco(machine, [VmSpec(ncpu=g.ncpu, mem=g.mem_mb << 20) for g in guests], mode=mode,
                  out=out if out is not None else io.BytesIO(), consoles=console)
    kernel = load_elf(build_kernel("mapped")) if any(isinstance(g, OsGuest) for g in guests) else None
    disks: list[Disk] = []
    images: dict[int, Path] = {}
    with tempfile.TemporaryDirectory(prefix="flashvm-splashos-") as tmp:
        for vm, g in zip(disco.vms, guests):
            if isinstance(g, OsGuest):
                base = root_disk_image(Path(tmp) / f"root{vm.index}.img", g.files)
                disks.append(disco.add_device(vm, Disk(disk_base(0), vm.host, base, overlay=True)))
                assert kernel is not None          # loaded above: there is an OS guest
                disco.boot(vm, kernel, list(g.argv), list(g.env), os_words=os_words())
            else:
                if g.files is not None or g.disk is not None:     # its files: a sosfs disk
                    image = make_image(g.disk or Path(tmp) / f"sos{vm.index}.img", g.files or {}, g.disk_mb)
                    images[vm.index] = image
                    disks.append(disco.add_device(vm, Disk(disk_base(0), vm.host, image)))
                boot_splashos(disco, vm, load_elf(g.program), g.argv)
        try:
            r = disco.run(max_insns=max_insns, progress=progress, run_fn=run_fn)
        finally:
            for disk in disks:
                disk.close()
            disco.sos_files = {k: read_files(p) for k, p in images.items()}
    outs = [outcome(vm, demuxes.get(vm.index)) for vm in disco.vms]
    for o in outs:
        o.files = disco.sos_files.get(o.index)
    return outs, disco, r


def outcome(vm: VirtualMachine, demux: ConsoleDemux | None = None) -> VmOutcome:
    """What a VM did: a guest OS's streams from its console demultiplexer, a SPLASHOS VM's console as stdout."""
    if demux is None:
        return VmOutcome(vm.name, vm.index, list(vm.vcpus), vm.status, vm.failure, bytes(vm.out), b"", b"")
    return VmOutcome(vm.name, vm.index, list(vm.vcpus), vm.status, vm.failure, bytes(demux.streams[1]),
                     bytes(demux.streams[2]), bytes(demux.streams[3]), panicked=vm.status == PANIC_STATUS)


def run_splashos(program: Path | str, argv: Sequence[str], *, vms: int = 1, cpus: int = 1, mem_mb: int = 32,
                 files: Mapping[str, bytes] | None = None, **kw) -> tuple[list[VmOutcome], Disco, RunResult]:
    """`vms` VMs of `cpus` VCPUs each running the SPLASHOS program with `argv` (run_vms's keywords);
    `files`: each VM's disk holds them (a copy each; what they write: `disco.sos_files[vm]`)."""
    return run_vms([SplashosGuest(program, argv, cpus, mem_mb, files=files)] * vms, **kw)


__all__ = ["MARK", "OsGuest", "SplashosGuest", "boot_splashos", "is_splashos", "outcome", "run_splashos",
           "run_vms", "window_image"]
