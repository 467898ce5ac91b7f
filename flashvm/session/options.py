"""The command line's option values made into what a RunSpec holds; a value
that cannot be used raises OptionError with a one-line message naming it."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import BinaryIO, Callable, Sequence, TextIO

from flashvm.disco.memory import vm_memory_problem
from flashvm.disco.splashos import is_splashos
from flashvm.elf import ElfError, load_elf
from flashvm.fs import FsError
from flashvm.guestos import VARIANTS
from flashvm.guestos.sysrun import sysroot_boot
from flashvm.machine.config import MachineConfig, machine_with_cpus
from flashvm.machine.layout import USER_TOP
from flashvm.machine.trace import parse_kinds
from flashvm.process.sysroot import host_file
from flashvm.session.fastforward import fast_forward_option
from flashvm.spec import RunSpec, max_insns_problem
from flashvm.sysroot import Sysroot, SysrootError
from flashvm.workload import Workload


class OptionError(ValueError):
    """An option the run cannot use; the message is the one line to show."""


def cpus_option(text: str | None) -> int | None:
    """The value of --cpus (a positive whole number, or None)."""
    if text is None:
        return None
    try:
        n = int(text, 10)
    except ValueError:
        n = 0
    if n < 1:
        raise OptionError(f"--cpus {text!r}: give a whole number of CPUs, at least 1")
    return n


def os_machine(cfg: MachineConfig, cpus: int | None, option: str) -> MachineConfig:
    """`cfg` cut down to `cpus` CPUs (the error names `option` when it cannot be)."""
    try:
        return machine_with_cpus(cfg, 1 if cpus is None else cpus)
    except ValueError as e:
        hint = " (e.g. --machine flash8)" if cpus and cpus > cfg.ncpu and option == "--cpus" else ""
        raise OptionError(f"{option}: {e}{hint}") from None


def workload_spec(w: Workload, exe: Path, cfg: MachineConfig, sim_mode: str, *, cpus: str | None,
                  variant: str | None, max_insns: int | None, timeout: float | None) -> RunSpec:
    """The RunSpec of `flashvm run`: the workload's own, with --cpus/--variant (os mode only)
    and the limits given on the command line."""
    if w.mode != "os" and (cpus is not None or variant is not None):
        raise OptionError(f"{'--cpus' if cpus is not None else '--variant'} applies only to workloads with "
                          f"run.mode = \"os\" ({w.name} runs in {w.mode} mode)")
    ncpus = cpus_option(cpus) if w.mode == "os" else None
    kvariant = None
    if w.mode == "os" and not w.vms:
        n = ncpus if ncpus is not None else (w.cpus or 1)
        cfg = os_machine(cfg, n, "--cpus" if ncpus is not None else "run.cpus")
        kvariant = os_variant(variant) if variant is not None else None
    return w.spec(exe, machine=cfg, sim_mode=sim_mode, cpus=ncpus, variant=kvariant, max_insns=max_insns,
                  timeout_s=timeout)


def os_variant(variant: str | None) -> str:
    """The guest OS kernel's link variant --variant names (kseg0 when not given)."""
    if variant == "hal":
        raise OptionError("--variant hal: the HAL kernel runs only in Disco's VMs; use --vms N --hal")
    if variant is not None and variant not in VARIANTS:
        raise OptionError(f"--variant {variant!r}: use one of {', '.join(v for v in VARIANTS if v != 'hal')}")
    return variant or "kseg0"


def check_limits(max_insns: int | None, timeout: float | None) -> None:
    """--max-insns and --timeout must be positive (or not given)."""
    problem = max_insns_problem(max_insns)
    if problem is not None:
        raise OptionError(problem)
    if timeout is not None and not timeout > 0:
        raise OptionError(f"--timeout {timeout:g}: give a positive number of seconds")


def guest_files(pairs: Sequence[str]) -> dict[str, Path]:
    """--file GUEST=HOST options as guest files {GUEST: HOST}."""
    files = {}
    for pair in pairs:
        guest, sep, host = pair.partition("=")
        if not sep or not guest.startswith("/") or not host:
            raise OptionError(f"--file {pair!r}: give GUEST=HOST, GUEST an absolute path on the guest's disk")
        if not Path(host).is_file():
            raise OptionError(f"--file {pair!r}: {host}: no such file")
        files[guest] = Path(host)
    return files


def trace_kinds(text: str | None, trace_file: Path | None) -> frozenset[str]:
    """The kinds --trace names (docs/trace.md)."""
    if text is None:
        if trace_file is not None:
            raise OptionError("--trace-file needs --trace")
        return frozenset()
    try:
        return frozenset(parse_kinds(text))
    except ValueError as e:
        raise OptionError(f"--trace {text}: {e}") from None


def gdb_port(port: str | None, wait: bool, trace: frozenset[str]) -> int | None:
    """The localhost port --gdb [PORT] names (docs/gdb.md), None without --gdb."""
    if port is None:
        if wait:
            raise OptionError("--gdb-wait needs --gdb")
        return None
    if trace:
        raise OptionError("--gdb and --trace exclude each other (gdb drives the machine itself)")
    if not port.isdigit() or int(port) > 65535:
        raise OptionError(f"--gdb {port}: give a TCP port number (0: any free port), before PROGRAM")
    return int(port)


def check_user_program(program: Path) -> None:
    """PROGRAM must be a static mipsel executable for user space (for the guest OS)."""
    try:
        img = load_elf(program)
    except ElfError as e:
        raise OptionError(str(e)) from None
    high = [s for s in img.segments if s.vaddr + s.memsz > USER_TOP]
    if high:
        raise OptionError(f"{program}: segment at {high[0].vaddr:#x} is outside user space (below "
                          f"{USER_TOP:#x}); a freestanding program runs with --bare, not --os")


def check_vms(vms: int, variant: str | None) -> None:
    """--vms N wants at least one VM and no --variant (VMs run the mapped kernel)."""
    if vms < 1:
        raise OptionError(f"--vms {vms}: give at least 1 virtual machine")
    if variant is not None:
        raise OptionError("--variant does not apply to --vms: VMs run the mapped kernel (--hal for its HAL build)")


def splashos_spec(program: Path, args: Sequence[str], cfg: MachineConfig, cpus: str | None, vms: int | None,
                  vm_mem: str | None, common: dict) -> RunSpec:
    """`exec --splashos`: PROGRAM, linked with SPLASHOS, in `vms` Disco VMs (1 by default) of `cpus` VCPUs."""
    try:
        img = load_elf(program)
    except ElfError as e:
        raise OptionError(str(e)) from None
    if not is_splashos(img):
        raise OptionError(f"{program}: not linked with SPLASHOS (build it with "
                          "`python -m flashvm.toolchain splashos FILE.c`)")
    nvms = vms if vms is not None else 1
    check_vms(nvms, None)
    ncpu = cpus_option(cpus) or 1
    return RunSpec("splashos", machine=cfg, argv=(program.name, *args), cpus=ncpu, vms=nvms,
                   vm_mem_mb=vm_mem_option(cfg, nvms, vm_mem),
                   title=f"{program.name} (SPLASHOS in {nvms} Disco VM{'s' if nvms > 1 else ''})", **common)


def program_in_sysroot(program: Path, sysroot: Path | None, bare: bool) -> Path:
    """PROGRAM as the host file it names: inside `sysroot` first (like qemu -L)."""
    if sysroot is None:
        return program
    if bare:
        raise OptionError("--sysroot applies to process mode and --os, not to --bare or --splashos")
    if not sysroot.is_dir():
        raise OptionError(f"--sysroot {sysroot}: not a directory")
    return Path(host_file(sysroot, program))


def os_root(program: Path, host: Path, args: Sequence[str], sysroot: Path | None,
            files: dict[str, Path], say: Callable[[str], None]) -> tuple[tuple[str, ...], dict, dict]:
    """init's argv, the run's root files and more RunSpec fields for --os: PROGRAM
    (at `host`) as /bin/NAME on a disk of its own, or with --sysroot the sysroot's
    cached root image holding PROGRAM at its path there, run as init's child."""
    if sysroot is None:
        check_user_program(host)
        guest = f"/bin/{host.name}"
        return (guest, *args), {guest: host, **files}, {}
    if not program.is_absolute():
        raise OptionError(f"{program}: with --os --sysroot, give the program's absolute path inside the "
                          f"sysroot (e.g. /usr/bin/{program.name})")
    try:
        init_files, argv, env, image = sysroot_boot(Sysroot.load(sysroot), [[str(program), *args]], files,
                                                    progress=say)
    except (SysrootError, FsError) as e:
        raise OptionError(f"--sysroot {sysroot}: {e}") from None
    return tuple(argv), init_files, {"env": env, "root_image": image,
                                     "notes": {"guest_program": str(program), "sysroot": str(sysroot)}}


def vm_mem_option(cfg: MachineConfig, vms: int | None, text: str | None) -> int | None:
    """The value of --vm-mem: a whole number of MB the machine has room for in `vms` VMs."""
    if text is None:
        return None
    if vms is None:
        raise OptionError("--vm-mem applies only to --vms (each Disco VM's memory)")
    try:
        mb: int | str = int(text, 10)
    except ValueError:
        mb = text
    problem = vm_memory_problem(cfg, vms, mb)
    if problem is not None:
        raise OptionError(problem)
    return int(mb)


def guest_stdin(guest_os: bool, stdin: TextIO | None) -> bytes | BinaryIO:
    """The guest's stdin from flashvm's: a process reads it as it comes; the guest OS
    takes it whole at boot (its console reads end-of-file when no byte is there, so
    nothing comes from a terminal: give input through a pipe or a file)."""
    if stdin is None:
        return b""
    if not guest_os:
        return stdin.buffer
    return b"" if stdin.isatty() else stdin.buffer.read()


def with_fast_forward(spec: RunSpec, text: str | None, warmup: int) -> RunSpec:
    """`spec` fast-forwarding as --fast-forward and --warmup say (flashvm/session/fastforward.py)."""
    if text is None:
        if warmup:
            raise OptionError("--warmup applies only to --fast-forward")
        return spec
    try:
        at = fast_forward_option(text)
    except ValueError as e:
        raise OptionError(str(e)) from None
    if spec.sim_mode != "timing":
        raise OptionError("--fast-forward switches to timing mode: give --mode timing")
    if warmup < 0:
        raise OptionError(f"--warmup {warmup}: give a number of instructions, 0 or more")
    return dataclasses.replace(spec, fast_forward=at, warmup=warmup)


def jit_option(on: bool | None) -> None:
    """--jit / --no-jit: the JIT tier on or off for the runs of this process (None: FLASHVM_JIT decides)."""
    from flashvm.kernels.jit import set_enabled
    set_enabled(on)
