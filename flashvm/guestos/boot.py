"""Booting the guest OS kernel on a FlashMachine and running programs on it.

Before reset the host writes the boot info block (docs/machine.md) with the
kernel's OS-private words (`OsWords`: initrd address and size, console mode,
verbosity; offsets in flashvm/machine/layout.py) and the root file system:
an initrd blob near the top of RAM, or a flashfs disk image as DISK 0.
"""
from __future__ import annotations

import dataclasses
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Callable, Mapping, Sequence

import numpy as np

from flashvm.elf import ElfImage, load_elf
from flashvm.guestos.build import build_kernel
from flashvm.guestos.console import ConsoleDemux
from flashvm.guestos.image import ROOTS, GuestFile, make_initrd, root_disk_image
from flashvm.guestos.multi import os_init
from flashvm.kernels.run import run as run_kernel
from flashvm.machine.bare import BareMachine
from flashvm.machine.bootinfo import OsWords
from flashvm.machine.config import MachineConfig
from flashvm.machine.devices import ByteSink
from flashvm.machine.disk import Disk, disk_base
from flashvm.machine.flash import FlashMachine
from flashvm.machine.layout import CONSOLE_FRAMED, KSEG0, KSEG3, KSSEG
from flashvm.machine.net import Nic, Subnet, net_base
from flashvm.machine.trace import RunFn

PANIC_STATUS = 0xDEAD             # init's status when the kernel panicked


@dataclass
class OsResult:
    status: int                 # init's exit status (128 + signal when killed)
    stdout: bytes
    stderr: bytes
    klog: bytes
    instructions: int
    cycles: int
    host_seconds: float
    machine: FlashMachine = field(repr=False)      # the machine it ran on (its counters)

    @property
    def panicked(self) -> bool:
        return self.status == PANIC_STATUS


def os_words(initrd_pa: int = 0, initrd_size: int = 0, *, verbose: int = 0) -> OsWords:
    """The guest OS's boot-info words for a framed console."""
    return OsWords(initrd_pa=initrd_pa, initrd_size=initrd_size, console_mode=CONSOLE_FRAMED, verbose=verbose)


def _loadable(image: ElfImage) -> ElfImage:
    """The mapped kernel links its body at ksseg 0xC0000000 + physical; the
    machine loads kseg0/kseg1 images, so present those segments at their kseg0
    alias (same physical address)."""
    segs = []
    for s in image.segments:
        if KSSEG <= s.vaddr < KSEG3:
            s = dataclasses.replace(s, vaddr=s.vaddr - KSSEG + KSEG0)
        segs.append(s)
    return dataclasses.replace(image, segments=tuple(segs))


def make_machine(ncpu: int = 1, ram_mb: int = 64, *, machine: str | Path | MachineConfig | None = None,
                 mode: str = "functional", out: ByteSink | None = None, clock_mhz: float = 200.0) -> FlashMachine:
    """The machine to boot on: a one-node BareMachine of `ncpu` CPUs and `ram_mb`
    MB, or a FlashMachine for `machine` (a config name such as "flash8", a TOML
    path or a MachineConfig)."""
    if machine is None:
        return BareMachine(ncpu=ncpu, ram_bytes=ram_mb << 20, out=out, clock_mhz=clock_mhz, mode=mode)
    return FlashMachine(machine, mode=mode, out=out)


def boot_os(files: Mapping[str, GuestFile], argv: Sequence[str], *, root: str = "initrd",
            env: Sequence[str] | Mapping[str, str] | None = None, ncpu: int = 1, ram_mb: int = 64,
            machine: str | Path | MachineConfig | None = None, mode: str = "functional",
            max_insns: int | None = 4_000_000_000, verbose: int = 0, variant: str = "kseg0",
            clock_mhz: float = 200.0, disks: Sequence[str | Path | tuple] = (), nets: int = 0,
            subnet: Subnet | None = None, stdin: bytes = b"", live: bool | Mapping[int, ByteSink] = False,
            progress: Callable[[int], None] | None = None, run_fn: RunFn = run_kernel,
            root_image: str | Path | None = None) -> OsResult:
    """Boot the kernel with `files` in its root file system and run argv[0] as init.

    `root`: "initrd" (the files packed in RAM) or "disk" (a temporary flashfs
    image holding them, attached as DISK 0 before any `disks`).
    `root_image`: a flashfs image (flashvm.guestos.rootimage.sysroot_image) as
    DISK 0 instead, behind a copy-on-write overlay, so the image is never
    written; `files` then go in the initrd, which the kernel writes onto it.
    `disks` are host image files attached as DISK 0, 1, ... (a path, or
    (path, {"readonly": True, ...}) with Disk options); the guest sees them as
    /dev/disk0 ... and what it writes is in the files after the run.
    `nets` NICs are attached to `subnet` (a flashvm.machine.net.Subnet, new
    if None) and appear as /dev/net0 ...
    `machine` selects a FLASH configuration (then `ncpu`, `ram_mb` and
    `clock_mhz` come from it); `mode` is "functional" or "timing".  Returns
    init's exit status (the machine halts when init exits) and what the guest
    wrote to stdout, stderr and the kernel log.  `live` passes the streams
    through as they come (see ConsoleDemux); `progress(instructions)` is called
    between chunks of simulation.
    """
    if root not in ROOTS:
        raise ValueError(f"root {root!r}: use \"initrd\" or \"disk\"")
    kw = dict(env=env, ncpu=ncpu, ram_mb=ram_mb, machine=machine, mode=mode, max_insns=max_insns,
              verbose=verbose, variant=variant, clock_mhz=clock_mhz, nets=nets, subnet=subnet, stdin=stdin,
              live=live, progress=progress, run_fn=run_fn)
    if root_image is not None:
        return _boot(files, argv, disks=[(root_image, {"overlay": True}), *disks], **kw)
    if root == "initrd":
        return _boot(files, argv, disks=disks, **kw)
    with tempfile.TemporaryDirectory(prefix="flashvm-os-") as tmp:
        img = root_disk_image(Path(tmp) / "root.img", files)
        return _boot({}, argv, disks=[img, *disks], **kw)


def _boot(files, argv, *, env, ncpu, ram_mb, machine, mode, max_insns, verbose, variant, clock_mhz,
          disks, nets, subnet, stdin, live, progress, run_fn) -> OsResult:
    """boot_os with `files` in the initrd (empty when the root is on a disk)."""
    if isinstance(env, Mapping):
        env = [f"{k}={v}" for k, v in env.items()]
    env = list(env or [])
    demux = ConsoleDemux(live=live)
    bm = make_machine(ncpu, ram_mb, machine=machine, mode=mode, out=demux, clock_mhz=clock_mhz)
    bm.load(_loadable(load_elf(build_kernel(variant))))
    if stdin:
        bm.uart.inp = bytearray(stdin)
    ram_bytes = int(bm.ram_bytes)
    blob = make_initrd(files)
    base = (ram_bytes - len(blob)) & ~0xFFF
    bm.ram8[base:base + len(blob)] = np.frombuffer(blob, np.uint8)
    attached: list[Disk] = []
    for k, spec in enumerate(disks):
        path, opts = (spec[0], dict(spec[1])) if isinstance(spec, tuple) else (spec, {})
        attached.append(bm.add_device(Disk(disk_base(k), bm, path, **opts)))
    if nets and subnet is None:
        subnet = Subnet()
    nics = [bm.add_device(Nic(net_base(k), bm, subnet)) for k in range(nets)]
    bm.write_bootinfo(list(argv), env, ndisks=len(attached), nnics=len(nics),
                      os_words=os_words(base, len(blob), verbose=verbose))
    try:
        r = bm.run(max_insns=max_insns, progress=progress, run_fn=run_fn)
    finally:
        for d in attached:
            d.close()
    return OsResult(status=r.status, stdout=bytes(demux.streams[1]), stderr=bytes(demux.streams[2]),
                    klog=bytes(demux.streams[3]), instructions=r.instructions, cycles=r.cycles,
                    host_seconds=r.host_seconds, machine=bm)


def boot_commands(files: Mapping[str, GuestFile], commands: Sequence[Sequence[str]], *,
                  root: str = "disk", **kw) -> OsResult:
    """boot_os running several command lines at once (see flashvm.guestos.multi.os_init);
    the status is the first nonzero one among the commands, stdout/stderr shared."""
    files, argv = os_init(files, commands)
    return boot_os(files, argv, root=root, **kw)


def exec_os(program: str | Path, args: Sequence[str] = (), *, root: str = "disk",
            files: Mapping[str, GuestFile] | None = None, verbose: int = 0,
            stdout: BinaryIO | None = None, stderr: BinaryIO | None = None, **kw) -> int:
    """Boot the OS with PROGRAM on its root file system as /bin/<name>, run it with
    ARGS, write its stdout/stderr (and the kernel log when `verbose` or after a
    panic) and return its exit status; other options as for boot_os."""
    program = Path(program)
    guest = f"/bin/{program.name}"
    res = boot_os({guest: program, **(files or {})}, [guest, *args], root=root, verbose=verbose,
                  max_insns=kw.pop("max_insns", None), **kw)
    (stdout or sys.stdout.buffer).write(res.stdout)
    (stderr or sys.stderr.buffer).write(res.stderr + (res.klog if verbose or res.panicked else b""))
    return res.status
