"""The command line's option values made into what a RunSpec holds; a value
that cannot be used raises OptionError with a one-line message naming it."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Callable, Mapping, Sequence, TextIO

from flashvm.elf import ElfError, load_elf
from flashvm.machine.config import MAX_RAM, MachineConfig, machine_with_cpus
from flashvm.machine.layout import USER_TOP
from flashvm.spec import RunReport, RunSpec, max_insns_problem

# What imports Numba and the simulator (Disco, the guest OS, the kernels) is imported by the
# check that needs it, so that a command line with a bad option ends in a fraction of a second
# (tests/session/test_option_imports.py).
if TYPE_CHECKING:
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


def numa_option(text: str | None, disco: bool) -> str | None:
    """The value of --numa: off, migrate, replicate or both, for a run in Disco VMs (None: not given,
    the machine's default: both on a NUMA machine, off on UMA)."""
    if text is None:
        return None
    if not disco:
        raise OptionError("--numa applies only to runs in Disco VMs (--os --vms N, --splashos, a workload with run.vms)")
    from flashvm.disco.numa import MODES as NUMA_MODES
    if text not in NUMA_MODES:
        raise OptionError(f"--numa {text!r}: use one of {', '.join(NUMA_MODES)}")
    return text


def disco_options(hal: bool, numa: str | None, vms: int | None, splashos: bool) -> str | None:
    """exec's --hal (with --vms only) and --numa (with --vms or --splashos); returns the NUMA mode."""
    if hal and (vms is None or splashos):
        raise OptionError("--hal applies only to --vms (the HAL kernel runs in Disco's VMs)")
    return numa_option(numa, vms is not None or splashos)


def share_option(share: bool, vms: int | None, splashos: bool = False) -> bool:
    """--share: memory shared between the VMs of a guest-OS run in Disco (it needs the HAL kernel,
    which reports the pages it allocates and frees); True when given."""
    if share and (vms is None or splashos):
        raise OptionError("--share applies only to the guest OS in Disco VMs (--os --vms N, run --vms N)")
    return share


def workload_spec(w: Workload, exe: Path, cfg: MachineConfig, sim_mode: str, *, cpus: str | None,
                  variant: str | None, max_insns: int | None, timeout: float | None,
                  numa: str | None = None, share: bool = False) -> RunSpec:
    """The RunSpec of `flashvm run`: the workload's own, with --cpus/--variant (os mode only),
    --numa and --share (workloads in Disco VMs) and the limits given on the command line."""
    numa = numa_option(numa, w.mode == "os" and bool(w.vms))
    share_option(share, w.vms if w.mode == "os" else None)
    if w.mode != "os" and (cpus is not None or variant is not None):
        raise OptionError(f"{'--cpus' if cpus is not None else '--variant'} applies only to workloads with "
                          f"run.mode = \"os\" ({w.name} runs in {w.mode} mode)")
    ncpus = cpus_option(cpus) if w.mode == "os" else None
    kvariant = None
    if w.mode == "os" and not w.vms:
        n = ncpus if ncpus is not None else (w.cpus or 1)
        cfg = os_machine(cfg, n, "--cpus" if ncpus is not None else "run.cpus")
        kvariant = os_variant(variant) if variant is not None else None
    spec = w.spec(exe, machine=cfg, sim_mode=sim_mode, cpus=ncpus, variant=kvariant, max_insns=max_insns,
                  timeout_s=timeout)
    if share:           # the HAL kernel tells the monitor which pages it uses (flashvm/disco/share.py)
        spec = dataclasses.replace(spec, hal=True, share=True)
    return dataclasses.replace(spec, numa=numa) if numa is not None else spec


def workload_in_vms(w: Workload, cfg: MachineConfig, vms: int | None, vm_mem: str | None,
                    variant: str | None) -> Workload:
    """`flashvm run --vms N [--vm-mem MB]`: the workload's commands in N Disco VMs of
    run.cpus VCPUs each (1 VM: the paper's "in one VM"), whatever its normal mode.
    Each VM's memory: --vm-mem, else run.vm_mem_mb, else an equal share of all the
    machine has for VMs (a build or a database needs more than Disco's usual 32 MB)."""
    from flashvm.disco.memory import vm_memory_problem
    if vms is None:
        if vm_mem is not None and not w.vms:
            raise OptionError("--vm-mem applies only to --vms (each Disco VM's memory) or a workload with run.vms")
        mb = vm_mem_option(cfg, w.vms, vm_mem) if vm_mem is not None else None
        return w if mb is None else dataclasses.replace(w, vm_mem_mb=mb)
    if w.mode != "os":
        raise OptionError(f"--vms runs a workload's guest-OS commands in Disco's VMs; {w.name} runs in "
                          f"{w.mode} mode (run.mode = \"os\" workloads only)")
    check_vms(vms, variant)
    mb = vm_mem_option(cfg, vms, vm_mem) if vm_mem is not None else w.vm_mem_mb or vm_share_mb(cfg, vms)
    problem = vm_memory_problem(cfg, vms, mb, None)
    if problem is not None:
        raise OptionError(f"--vms {vms}: {problem} (give --vm-mem MB)")
    return dataclasses.replace(w, vms=vms, vm_mem_mb=mb)


def vm_share_mb(cfg: MachineConfig, vms: int) -> int:
    """Each of `vms` VMs' memory in MB when all the machine's room for VMs is shared equally."""
    from flashvm.disco.memory import MIN_VM_MB, vm_room
    return max(MIN_VM_MB, min((vm_room(cfg) >> 20) // vms, MAX_RAM >> 20))


def os_variant(variant: str | None) -> str:
    """The guest OS kernel's link variant --variant names (kseg0 when not given)."""
    from flashvm.guestos import VARIANTS
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
    from flashvm.machine.trace import parse_kinds
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


def check_exec_kind(bare: bool, os_: bool, splashos: bool, os_only: Mapping[str, bool]) -> None:
    """`exec`: at most one of --bare, --os, --splashos; the options of `os_only` given only with --os."""
    if bare + os_ + splashos > 1:
        raise OptionError("--bare, --os and --splashos exclude each other")
    if not os_:
        for opt, given in os_only.items():
            if given:
                raise OptionError(f"{opt} applies only to --os")


def check_vms(vms: int, variant: str | None, nfs: bool = False) -> None:
    """--vms N wants at least one VM (two with --nfs: a server and a client) and no --variant
    (VMs run the mapped kernel)."""
    if vms < 1:
        raise OptionError(f"--vms {vms}: give at least 1 virtual machine")
    if nfs and vms < 2:
        raise OptionError(f"--nfs with --vms {vms}: the file service needs 2 VMs or more (VM 0 serves)")
    if variant is not None:
        raise OptionError("--variant does not apply to --vms: VMs run the mapped kernel (--hal for its HAL build)")


def splashos_spec(program: Path, args: Sequence[str], cfg: MachineConfig, cpus: str | None, vms: int | None,
                  vm_mem: str | None, common: dict, files: Mapping[str, Path] | None = None) -> RunSpec:
    """`exec --splashos`: PROGRAM, linked with SPLASHOS, in `vms` Disco VMs (1 by default) of `cpus` VCPUs;
    `files` (--file): each VM's virtual disk holds them (SPLASHOS's files, flat names)."""
    from flashvm.disco.splashos import is_splashos
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
    return RunSpec("splashos", machine=cfg, argv=(program.name, *args), cpus=ncpu, vms=nvms, files=dict(files or {}),
                   vm_mem_mb=vm_mem_option(cfg, nvms, vm_mem),
                   title=f"{program.name} (SPLASHOS in {nvms} Disco VM{'s' if nvms > 1 else ''})", **common)


def program_in_sysroot(program: Path, sysroot: Path | None, bare: bool) -> Path:
    """PROGRAM as the host file it names: inside `sysroot` first (like qemu -L)."""
    if sysroot is None:
        return program
    from flashvm.process.sysroot import host_file
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
    from flashvm.fs import FsError
    from flashvm.guestos.sysrun import sysroot_boot
    from flashvm.sysroot import Sysroot, SysrootError
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
    from flashvm.disco.memory import vm_memory_problem
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
    from flashvm.session.fastforward import fast_forward_option
    try:
        at = fast_forward_option(text)
    except ValueError as e:
        raise OptionError(str(e)) from None
    if spec.sim_mode != "timing":
        raise OptionError("--fast-forward switches to timing mode: give --mode timing")
    if warmup < 0:
        raise OptionError(f"--warmup {warmup}: give a number of instructions, 0 or more")
    return dataclasses.replace(spec, fast_forward=at, warmup=warmup)


def with_roi_instructions(spec: RunSpec, n: int | None) -> RunSpec:
    """`spec` ending once its region of interest has run `n` instructions in timing mode (a sample)."""
    if n is None:
        return spec
    if n < 1:
        raise OptionError(f"--roi-instructions {n}: give a positive number of instructions")
    if spec.sim_mode != "timing":
        raise OptionError("--roi-instructions samples the region in timing mode: give --mode timing")
    return dataclasses.replace(spec, roi_instructions=n)


def with_region_options(spec: RunSpec, fast_forward: str | None, warmup: int | None, roi: int | None,
                        period: int | None, sample: bool = False) -> RunSpec:
    """`spec` with --fast-forward, --warmup, --roi-instructions, --sample-period and --sample
    (None, False: not given)."""
    if sample:
        return with_sample(spec, fast_forward, warmup, roi, period)
    if period is None:
        return with_roi_instructions(with_fast_forward(spec, fast_forward, warmup or 0), roi)
    return with_sampling(spec, fast_forward, warmup, roi, period)


def with_sample(spec: RunSpec, fast_forward: str | None, warmup: int | None, size: int | None,
                period: int | None) -> RunSpec:
    """--sample: the region of interest sampled (`with_sampling`) with the defaults for the
    machine's CPUs (flashvm.session.sampling.sample_defaults); --sample-period, --warmup and
    --roi-instructions given with it replace the default they name."""
    from flashvm.session.sampling import sample_defaults
    if fast_forward not in (None, "roi"):
        raise OptionError(f"--sample samples the region of interest: --fast-forward {fast_forward} cannot go with it")
    if spec.sim_mode != "timing":
        raise OptionError("--sample measures the region in timing mode: give --mode timing (or no --mode)")
    p, w, n = sample_defaults(spec.machine.ncpu)
    return with_sampling(spec, "roi", w if warmup is None else warmup, n if size is None else size,
                         p if period is None else period)


def with_sampling(spec: RunSpec, fast_forward: str | None, warmup: int | None, size: int | None,
                  period: int) -> RunSpec:
    """`spec` sampling its region of interest (flashvm/session/sampling.py): `size` (--roi-instructions)
    measured of every `period` instructions, after `warmup` of timing; None: the defaults."""
    from flashvm.session.sampling import DEFAULT_SIZE, DEFAULT_WARMUP
    if fast_forward != "roi" or spec.sim_mode != "timing":
        raise OptionError("--sample-period samples the region of interest: give --fast-forward roi --mode timing")
    size = DEFAULT_SIZE if size is None else size
    warm = DEFAULT_WARMUP if warmup is None else warmup
    if period < 1 or size < 1 or warm < 0:
        raise OptionError(f"--sample-period {period} --roi-instructions {size} --warmup {warm}: give positive "
                          "numbers of instructions (--warmup 0 or more)")
    if warm + size > period:
        raise OptionError(f"--warmup {warm} + --roi-instructions {size} exceed --sample-period {period}: "
                          "each period holds its warm-up and its sample")
    return dataclasses.replace(spec, fast_forward="roi", warmup=warm, roi_instructions=size, sample_period=period)


def with_checkpoint(spec: RunSpec, text: str | None, results: Path | None) -> RunSpec:
    """`spec` writing a checkpoint as --checkpoint-at says, into the results directory."""
    if text is None:
        return spec
    from flashvm.session.checkpointing import checkpoint_at_option
    try:
        checkpoint_at_option(text)
    except ValueError as e:
        raise OptionError(str(e)) from None
    return dataclasses.replace(spec, checkpoint_at=text, checkpoint_dir=results)


def resumed(path: Path, mode: str | None, machine_options: str | None, max_insns: int | None,
            timeout: float | None, err: Any, quiet: bool) -> RunReport:
    """`flashvm resume`: the report of the run finished from checkpoint `path`, with the host's
    streams (progress on the console `err` if it is a terminal, and not `quiet`); a mode, option
    or file that cannot be used raises OptionError (one line)."""
    import sys
    from flashvm.machine.checkpoint import CheckpointError
    from flashvm.machine.flash import MODES
    from flashvm.session import resume
    check_limits(max_insns, timeout)
    if mode is not None and mode not in MODES:
        raise OptionError(f"--mode {mode!r}: use one of {', '.join(MODES)}")
    try:
        return resume(path, mode=mode, options=machine_options, max_insns=max_insns, timeout=timeout,
                      stdout=sys.stdout.buffer, stderr=sys.stderr.buffer,
                      console=err if not quiet and err.is_terminal else None,
                      say=None if quiet else (lambda line: err.print(line, markup=False)))
    except (CheckpointError, ValueError) as e:
        raise OptionError(str(e)) from None
def jit_option(on: bool | None) -> None:
    """--jit / --no-jit: the JIT tier on or off for the runs of this process and of the processes it
    starts (an experiment's dask workers): FLASHVM_JIT is set for them (None: FLASHVM_JIT decides)."""
    import os
    import sys
    if on is not None:
        os.environ["FLASHVM_JIT"] = "1" if on else "0"
    if on is None and "flashvm.kernels.jit" not in sys.modules:
        return          # the default, already (and the tier's module imports Numba)
    from flashvm.kernels.jit import set_enabled
    set_enabled(on)
