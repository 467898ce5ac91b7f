"""Boot flashvm's guest OS kernel on the simulated machine and run programs on it.

The kernel (``flashvm/guest/os``) is built with :func:`flashvm.toolchain.build_bare`
(its own start code and linker script, no bare runtime).  Before reset the host
writes the boot info block at physical 0x800 (docs/machine.md) and -- until the
DISK device and the file-system library are wired in -- an *initrd* blob with
the files the guest needs near the top of RAM.  OS-private boot info fields:

    0x40  initrd physical address      0x44  initrd size in bytes
    0x48  console mode (1 = framed)    0x4C  kernel verbosity (0 quiet)

Initrd format (little-endian): ``b"FVRD"``, u32 count, then per entry u32 mode,
u32 size, u32 name length, the name padded to 4 bytes, the data padded to 4.

Framed console: the kernel sends every chunk as ``0x00, stream, len_lo,
len_hi, bytes`` (stream 1 = stdout, 2 = stderr, 3 = kernel log) so the host can
keep the streams apart on the single UART.

Python API::

    build_kernel(variant="kseg0") -> Path
    make_initrd(files) -> bytes
    boot_os(files, argv, *, env=None, ncpu=1, ram_mb=64, machine=None, mode="functional",
            max_insns=4_000_000_000, verbose=0, variant="kseg0", clock_mhz=200.0,
            disks=(), nets=0, subnet=None, stdin=b"", live=False) -> OsResult
    exec_os(program, args=(), *, ncpu=1, ram_mb=64, machine=None, mode="functional",
            files=None, env=None, verbose=0, variant="kseg0", max_insns=None,
            stdout=None, stderr=None) -> int
    boot_program(files, argv, *, root="auto", **boot_os_options) -> OsResult
    boot_commands(files, commands, *, root="auto", **boot_os_options) -> OsResult
    os_init(files, commands) -> (files, argv)     # several command lines: init = /sbin/multi
    multi_program() -> Path; multi_argv(commands) -> list[str]; MULTI_PROGRAM = "/sbin/multi"
    run_workload_os(w, *, ncpu=None, cpus=None, machine=None, mode=None, variant=None,
                    verbose=0, live=False, max_insns=None, progress=None) -> OsResult
    machine_with_cpus(machine, cpus) -> MachineConfig
    make_machine(ncpu=1, ram_mb=64, *, machine=None, mode="functional", out=None,
                 clock_mhz=200.0)
"""
from __future__ import annotations

import io
import os
import struct
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Callable, Mapping, Sequence

from flashvm.elf import load_elf
from flashvm.machine.bootinfo import OsWords
from flashvm.machine.layout import BOOTINFO_PA, CONSOLE_FRAMED, KSEG0, KSEG3, KSSEG
from flashvm.toolchain import build_bare

__all__ = ["build_kernel", "make_initrd", "boot_os", "exec_os", "OsResult", "ConsoleDemux",
           "make_disk_image", "have_flashfs", "flashfs_dir", "run_workload_os",
           "OS_DIR", "BOOTINFO_PA", "make_machine", "boot_program", "machine_with_cpus",
           "PANIC_STATUS", "VARIANTS", "MULTI_PROGRAM", "multi_program", "multi_argv", "os_init",
           "boot_commands"]

OS_DIR = Path(__file__).resolve().parent / "guest" / "os"
S_IFREG = 0o100000
S_IFDIR = 0o040000
PANIC_STATUS = 0xDEAD
MULTI_PROGRAM = "/sbin/multi"     # the init that runs several command lines (guest/os/init/multi.c)
MAX_INIT_ARGS = 63                # the kernel takes at most 63 boot-info argv strings

VARIANTS = {"kseg0": "link.ld", "mapped": "link-mapped.ld", "hal": "link-mapped.ld"}   # hal: Disco only


def flashfs_dir() -> Path | None:
    """Where the flashfs library is: flashvm/guest/os/fs (once merged), or
    $FLASHVM_FLASHFS_DIR (a directory holding flashfs.c/.h) for testing."""
    env = os.environ.get("FLASHVM_FLASHFS_DIR")
    for d in ([Path(env)] if env else []) + [OS_DIR / "fs"]:
        if (d / "flashfs.c").is_file() and (d / "flashfs.h").is_file():
            return d.resolve()
    return None


def _kernel_sources() -> list[Path]:
    srcs = [OS_DIR / "start.S"] + sorted(p for p in OS_DIR.glob("*.c"))
    fsd = flashfs_dir()
    if fsd is not None:
        srcs.append(fsd / "flashfs.c")
    return srcs


def build_kernel(variant: str = "kseg0", opt: str = "-O2") -> Path:
    """Build (or fetch from the cache) the kernel ELF for a link variant."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown kernel variant {variant!r} (choose from {sorted(VARIANTS)})")
    flags = ["-fno-builtin", "-Wall", "-Wno-unused-function", f"-I{OS_DIR}"]
    fsd = flashfs_dir()
    if fsd is not None:        # the kernel includes "fs/flashfs.h"
        flags += ["-DHAVE_FLASHFS=1", f"-I{fsd.parent}"]
    if variant in ("mapped", "hal"):
        flags.append("-DKERNEL_MAPPED=1")
    if variant == "hal":
        flags.append("-DKERNEL_HAL=1")
    return build_bare(_kernel_sources(), opt=opt, extra_flags=flags, runtime=False,
                      linker_script=OS_DIR / VARIANTS[variant], name=f"flashvm-kernel-{variant}")


def make_initrd(files: Mapping[str, bytes | str | Path | None]) -> bytes:
    """Pack guest files ({"/bin/prog": bytes or host path, "/dir": None}) into an initrd blob."""
    out = bytearray(b"FVRD" + struct.pack("<I", len(files)))
    for name, data in files.items():
        if data is None:
            mode, blob = S_IFDIR | 0o755, b""
        else:
            blob = Path(data).read_bytes() if isinstance(data, (str, Path)) else bytes(data)
            mode = S_IFREG | 0o755
        nm = name.encode()
        out += struct.pack("<III", mode, len(blob), len(nm))
        out += nm + bytes(-len(nm) % 4)
        out += blob + bytes(-len(blob) % 4)
    return bytes(out)


class ConsoleDemux:
    """A byte sink for the UART that splits the kernel's framed console output.

    `live`: False, True (stream 1 to stdout, 2 and 3 to stderr as they come) or
    a mapping {stream: binary sink} (streams not in it are only collected)."""

    def __init__(self, live: bool | Mapping[int, BinaryIO] = False):
        self.streams = {1: bytearray(), 2: bytearray(), 3: bytearray()}
        self.raw = bytearray()
        if live is True:
            live = {1: sys.stdout.buffer, 2: sys.stderr.buffer, 3: sys.stderr.buffer}
        self.live: dict = dict(live or {})
        self._state = 0
        self._hdr: list[int] = []
        self._left = 0
        self._stream = 0

    def write(self, b: bytes) -> int:
        for byte in b:
            self._byte(byte)
        return len(b)

    def flush(self) -> None:
        pass

    def _byte(self, byte: int) -> None:
        if self._left:
            self.streams.setdefault(self._stream, bytearray()).append(byte)
            self._left -= 1
            s = self.live.get(self._stream)
            if s is not None:
                s.write(bytes([byte]))
                if not self._left:
                    s.flush()
            return
        if not self._hdr and byte != 0:
            self.raw.append(byte)          # unframed (early boot) output
            self.streams[3].append(byte)
            return
        self._hdr.append(byte)
        if len(self._hdr) == 4:
            _, self._stream, lo, hi = self._hdr
            self._left = lo | (hi << 8)
            self._hdr = []


@dataclass
class OsResult:
    status: int                 # init's exit status (128 + signal when killed)
    stdout: bytes
    stderr: bytes
    klog: bytes
    instructions: int
    cycles: int
    host_seconds: float
    machine: object = field(repr=False, default=None)

    @property
    def panicked(self) -> bool:
        return self.status == PANIC_STATUS


def _loadable(image):
    """The mapped kernel links its body at ksseg 0xC0000000 + physical; the
    machine loads kseg0/kseg1 images, so present those segments at their kseg0
    alias (same physical address)."""
    import dataclasses
    segs = []
    for s in image.segments:
        if KSSEG <= s.vaddr < KSEG3:
            s = dataclasses.replace(s, vaddr=s.vaddr - KSSEG + KSEG0)
        segs.append(s)
    return dataclasses.replace(image, segments=tuple(segs))


def make_machine(ncpu: int = 1, ram_mb: int = 64, *, machine=None, mode: str = "functional",
                 out: BinaryIO | None = None, clock_mhz: float = 200.0):
    """The machine to boot on: a one-node BareMachine of `ncpu` CPUs and `ram_mb`
    MB, or a FlashMachine for `machine` (a config name such as "flash8", a TOML
    path or a MachineConfig)."""
    if machine is None:
        from flashvm.machine.bare import BareMachine
        return BareMachine(ncpu=ncpu, ram_bytes=ram_mb << 20, out=out, clock_mhz=clock_mhz, mode=mode)
    from flashvm.machine.flash import FlashMachine
    return FlashMachine(machine, mode=mode, out=out)


def boot_os(files: Mapping[str, bytes | str | Path | None], argv: Sequence[str], *,
            env: Sequence[str] | Mapping[str, str] | None = None, ncpu: int = 1, ram_mb: int = 64,
            machine=None, mode: str = "functional", max_insns: int | None = 4_000_000_000,
            verbose: int = 0, variant: str = "kseg0", clock_mhz: float = 200.0,
            disks: Sequence[str | Path | tuple] = (), nets: int = 0, subnet=None,
            stdin: bytes = b"", live: bool | Mapping[int, BinaryIO] = False,
            progress: Callable[[int], None] | None = None) -> OsResult:
    """Boot the kernel with `files` in its root file system and run argv[0] as init.

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
    import numpy as np
    bm.ram8[base:base + len(blob)] = np.frombuffer(blob, np.uint8)
    from flashvm.machine.disk import Disk, disk_base
    attached = []
    for k, spec in enumerate(disks):
        path, opts = (spec[0], dict(spec[1])) if isinstance(spec, tuple) else (spec, {})
        attached.append(bm.add_device(Disk(disk_base(k), bm, path, **opts)))
    from flashvm.machine.net import Nic, Subnet, net_base
    if nets and subnet is None:
        subnet = Subnet()
    nics = [bm.add_device(Nic(net_base(k), bm, subnet)) for k in range(nets)]
    bm.write_bootinfo(list(argv), env, ndisks=len(attached), nnics=len(nics),
                      os_words=OsWords(initrd_pa=base, initrd_size=len(blob), console_mode=CONSOLE_FRAMED,
                                       verbose=verbose))
    try:
        r = bm.run(max_insns=max_insns, progress=progress)
    finally:
        for d in attached:
            d.close()
    return OsResult(status=r.status, stdout=bytes(demux.streams[1]), stderr=bytes(demux.streams[2]),
                    klog=bytes(demux.streams[3]), instructions=r.instructions, cycles=r.cycles,
                    host_seconds=r.host_seconds, machine=bm)


def have_flashfs() -> bool:
    """Both halves of flashfs are available: the C library (kernel side) and
    flashvm.fs (mkfs on the host)."""
    if flashfs_dir() is None:
        return False
    try:
        import flashvm.fs  # noqa: F401
    except ImportError:
        return False
    return True


def make_disk_image(image: str | Path, files: Mapping[str, bytes | str | Path | None], *,
                    size: int | str = 32 << 20, source_dir: str | Path | None = None) -> Path:
    """A flashfs root disk holding `files` ({guest path: bytes or host path}; None
    entries make directories) and the tree of `source_dir`, via flashvm.fs.mkfs."""
    from flashvm.fs import mkfs
    plain = {k: v for k, v in files.items() if v is not None}
    mkfs(image, size, source_dir=source_dir, files={k: (Path(v) if isinstance(v, str) else v)
                                                      for k, v in plain.items()})
    dirs = [k for k, v in files.items() if v is None]
    if dirs:
        from flashvm.fs import FlashFS
        with FlashFS(image) as fs:
            for d in dirs:
                fs.mkdir(d)
    return Path(image)


def boot_program(files: Mapping[str, bytes | str | Path | None], argv: Sequence[str], *,
                 root: str = "auto", **kw) -> OsResult:
    """boot_os with `files` on the root file system: `root` "disk" (a temporary
    flashfs disk image, DISK 0, before any `disks` given), "initrd" (files in
    RAM) or "auto" (disk when flashfs is available)."""
    import tempfile
    if root == "auto":
        root = "disk" if have_flashfs() else "initrd"
    if root not in ("disk", "initrd"):
        raise ValueError(f"root {root!r}: use \"auto\", \"disk\" or \"initrd\"")
    if root == "initrd":
        return boot_os(files, argv, **kw)
    size = sum(Path(v).stat().st_size if isinstance(v, (str, Path)) else len(v or b"")
               for v in files.values())
    with tempfile.TemporaryDirectory(prefix="flashvm-os-") as tmp:
        img = make_disk_image(Path(tmp) / "root.img", files, size=max(32 << 20, 4 * size))
        return boot_os({}, argv, **{**kw, "disks": [img, *kw.get("disks", ())]})


def multi_program() -> Path:
    """The ELF of the guest's multi-command init (flashvm/guest/os/init/multi.c,
    built with build_user and cached), which os_init puts at MULTI_PROGRAM."""
    from flashvm.toolchain import build_user
    return build_user([OS_DIR / "init" / "multi.c"], opt="-Os", extra_flags=["-Wall"], name="multi")


def _check_commands(commands: Sequence[Sequence[str]]) -> list[list[str]]:
    cmds = [list(c) for c in commands]
    if not cmds:
        raise ValueError("no command line given")
    for i, c in enumerate(cmds, 1):
        if not c or not all(isinstance(a, str) for a in c):
            raise ValueError(f"command {i}: {c!r} is not a non-empty list of strings")
    return cmds


def multi_argv(commands: Sequence[Sequence[str]]) -> list[str]:
    """init's argv running `commands` (guest argv lists) at once under the multi
    program: [MULTI_PROGRAM, "--", *cmd1, "--", *cmd2, ...], an argument "--"
    (or backslashes then "--") escaped with one more leading backslash."""
    argv = [MULTI_PROGRAM]
    for c in _check_commands(commands):
        argv.append("--")
        argv += ["\\" + a if a.lstrip("\\") == "--" else a for a in c]
    if len(argv) > MAX_INIT_ARGS:
        raise ValueError(f"{len(commands)} command lines make {len(argv)} arguments for init "
                         f"(the multi program and its separators included); the kernel takes "
                         f"at most {MAX_INIT_ARGS}")
    return argv


def os_init(files: Mapping[str, bytes | str | Path | None],
            commands: Sequence[Sequence[str]]) -> tuple[dict, list[str]]:
    """The root files and init argv that run `commands` (guest argv lists):
    one command line runs as init itself (files unchanged); several run at once
    under the multi program (added to the files at MULTI_PROGRAM), which waits
    for all of them and exits with the first nonzero status in command order
    (128 + signal for a killed command; 127 for one that cannot be executed)."""
    cmds = _check_commands(commands)
    if len(cmds) == 1:
        return dict(files), cmds[0]
    if MULTI_PROGRAM in files:
        raise ValueError(f"{MULTI_PROGRAM} is among the files, but several command lines need it "
                         "for the multi program")
    return {**files, MULTI_PROGRAM: multi_program()}, multi_argv(cmds)


def boot_commands(files: Mapping[str, bytes | str | Path | None], commands: Sequence[Sequence[str]], *,
                  root: str = "auto", **kw) -> OsResult:
    """boot_program running several command lines at once (see os_init); the
    status is the first nonzero one among the commands, stdout/stderr shared."""
    files, argv = os_init(files, commands)
    return boot_program(files, argv, root=root, **kw)


def machine_with_cpus(machine, cpus: int):
    """The MachineConfig of `machine` (a name, TOML path or MachineConfig) cut down
    to its first `cpus` CPUs: fewer CPUs than one node has make a one-node machine
    of that many CPUs, otherwise whole nodes (with their memory) are kept."""
    import dataclasses
    from flashvm.machine.config import machine_config
    cfg = machine_config(machine)
    if isinstance(cpus, bool) or not isinstance(cpus, int) or cpus < 1:
        raise ValueError(f"{cpus!r} CPUs: must be a whole number, at least 1")
    if cpus > cfg.ncpu:
        raise ValueError(f"{cpus} CPUs asked for, but machine {cfg.name} has {cfg.ncpu} "
                         f"CPU{'s' if cfg.ncpu > 1 else ''}")
    if cpus == cfg.ncpu:
        return cfg
    per = cfg.cpus_per_node
    if cpus < per:
        nodes, per = 1, cpus
    elif cpus % per:
        raise ValueError(f"{cpus} CPUs: machine {cfg.name} has {per} CPUs per node; "
                         f"use fewer than {per} or a multiple of {per}")
    else:
        nodes = cpus // per
    return dataclasses.replace(cfg, nodes=nodes, cpus_per_node=per).validate()


def exec_os(program: str | Path, args: Sequence[str] = (), *, ncpu: int = 1, ram_mb: int = 64,
            machine=None, mode: str = "functional",
            files: Mapping[str, bytes | str | Path | None] | None = None,
            env: Sequence[str] | Mapping[str, str] | None = None, verbose: int = 0,
            variant: str = "kseg0", max_insns: int | None = None, root: str = "auto",
            stdout: BinaryIO | None = None, stderr: BinaryIO | None = None) -> int:
    """`flashvm exec --os PROGRAM ARGS...`: boot the OS with PROGRAM on its root
    file system as /bin/<name>, run it with ARGS, pass its stdout/stderr through and
    return its exit status.  `root`: "disk" (a temporary flashfs disk image),
    "initrd" (files in RAM), "auto" (disk when flashfs is available)."""
    program = Path(program)
    guest = f"/bin/{program.name}"
    allf: dict = {guest: program}
    allf.update(files or {})
    res = boot_program(allf, [guest, *args], root=root, env=env, ncpu=ncpu, ram_mb=ram_mb,
                       machine=machine, mode=mode, verbose=verbose, variant=variant,
                       max_insns=max_insns)
    (stdout or sys.stdout.buffer).write(res.stdout)
    (stderr or sys.stderr.buffer).write(res.stderr + (res.klog if verbose or res.panicked else b""))
    return res.status


def run_workload_os(w, *, ncpu: int | None = None, cpus: int | None = None, machine=None,
                    mode: str | None = None, variant: str | None = None, verbose: int = 0,
                    live: bool | Mapping[int, BinaryIO] = False, max_insns: int | None = None,
                    progress: Callable[[int], None] | None = None) -> OsResult:
    """Run a `flashvm.workload.Workload` as a user process of the guest OS:
    the program goes on the root file system as /bin/<name> with the
    workload's run.files (a flashfs disk when available, else the initrd) and
    runs as init with the workload's command line (run.args, or its one
    run.commands entry; several run.commands entries run at once under the
    multi program, see os_init), env and stdin on its machine (`machine` overrides it)
    cut down to run.cpus CPUs (`cpus` overrides it; `ncpu` makes a one-node
    BareMachine of that many CPUs instead) in its simulation mode, kernel
    variant and instruction limit (`mode`, `variant`, `max_insns` override)."""
    exe = w.build()
    if hasattr(w, "os_files"):
        files, argv = w.os_files(exe), w.os_argv()
    else:
        files = {f"/bin/{w.name}": exe, **dict(getattr(w, "files", None) or {})}
        argv = w.os_argv() if hasattr(w, "os_argv") else [f"/bin/{w.name}", *w.args]
    kw: dict = dict(env=w.env, stdin=w.stdin, verbose=verbose,
                    variant=variant or getattr(w, "variant", "kseg0"), live=live,
                    mode=mode or w.sim_mode, max_insns=max_insns or w.max_insns, progress=progress)
    if ncpu is not None:
        kw["ncpu"] = ncpu
    else:
        m = machine or w.machine
        if isinstance(m, str) and m.endswith(".toml"):
            m = str(Path(w.directory) / m)
        n = cpus if cpus is not None else getattr(w, "cpus", None)
        kw["machine"] = machine_with_cpus(m, n) if n is not None else m
    return boot_program(files, argv, **kw)
