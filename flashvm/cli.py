"""The `flashvm` command line.

    flashvm run workloads/raytrace        build, run and check a workload (--size uni|mp, --splashos, --vms N)
    flashvm exec PROGRAM [ARGS...]        run a static mipsel Linux program (process mode)
    flashvm exec --bare KERNEL.elf        boot a freestanding program on the FLASH machine
    flashvm exec --os [--cpus N] PROGRAM [ARGS...]   boot the guest OS and run PROGRAM on it
    flashvm exec --os --vms N [--cpus C] [--hal] [--nfs] [--vm-mem MB] [--numa MODE] PROGRAM   the same in N Disco VMs
    flashvm exec --splashos [--vms N] [--cpus C] PROGRAM   a program linked with SPLASHOS, in Disco VMs
    flashvm machines | fs mkfs|ls|cat|get|fsck   the machine configs; disk images (docs/fs.md)
    flashvm sysroot DIR PKG... | disasm PROGRAM [--symbol main]   Debian roots (docs/sysroot.md); disassembly
    flashvm resume CHECKPOINT [--mode timing]   continue a run from a --checkpoint-at file

`--machine NAME|FILE` (flash1, flash8, uma8, a TOML file) and `--mode functional|timing` choose the machine and the level
of detail, `flashvm --jit|--no-jit ...` the JIT tier (docs/jit.md).  Guest stdio passes through, flashvm's words go to stderr;
results are saved at a limit or a signal too (docs/results.md).  Options become a RunSpec the session runs (flashvm/session).
"""
from __future__ import annotations

import functools
import signal
import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table

from flashvm.clitext import (
    CKPT_HELP, FF_HELP, GDB_HELP, MOPT_HELP, MACHINE_HELP, MAX_INSNS_HELP, MODE_HELP, SPLASHOS_HELP, SYSROOT_HELP, TIMEOUT_HELP,
    NUMA_HELP, ROI_INSNS_HELP, TRACE_HELP, VMS_HELP, WARMUP_HELP,
)

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="flashvm: a simulated FLASH multiprocessor and the Disco VMM, in Python/Numba.")
err = Console(stderr=True, highlight=False, soft_wrap=True)

DEFAULT_RESULTS = Path("results")


@app.callback()
def _tier(jit: Optional[bool] = typer.Option(None, "--jit/--no-jit", help="the JIT tier on or off (docs/jit.md)")) -> None:
    __import__("flashvm.session.options", fromlist=["jit_option"]).jit_option(jit)


def _fail(msg: str, code: int = 2) -> None:
    sys.stderr.write(f"error: {msg}\n")
    raise typer.Exit(code)


def _one_line_errors(command):
    """A command whose bad option values (session.options.OptionError), workloads and builds
    end it with one line."""
    @functools.wraps(command)
    def checked(*args, **kwargs):
        from flashvm.session.options import OptionError
        from flashvm.toolchain import ToolchainError
        from flashvm.workload import WorkloadError
        try:
            return command(*args, **kwargs)
        except (OptionError, WorkloadError, ToolchainError) as e:
            _fail(str(e))
    return checked


def _machine(name: str, mode: str):
    """The MachineConfig and simulation mode the options ask for (one-line errors)."""
    from flashvm.machine.config import ConfigError, machine_config
    from flashvm.machine.flash import MODES
    if mode not in MODES:
        _fail(f"--mode {mode!r}: use one of {', '.join(MODES)}")
    try:
        return machine_config(name), mode
    except ConfigError as e:
        _fail(str(e))


def _run(spec, quiet: bool, fast_forward: Optional[str] = None, warmup: int = 0, checkpoint_at=None, results=None, roi=None):
    """Run `spec` with the guest's output passed through (one-line error when it cannot
    run); a SIGINT or SIGTERM before the machine starts ends flashvm with nothing saved."""
    from flashvm.elf import ElfError
    from flashvm.machine.flash import GuestError
    from flashvm.session import options, run
    show = not quiet and err.is_terminal
    try:
        spec = options.with_roi_instructions(options.with_fast_forward(spec, fast_forward, warmup), roi)
        spec = options.with_checkpoint(spec, checkpoint_at, results)
        return run(spec, stdout=sys.stdout.buffer, stderr=sys.stderr.buffer, console=err if show else None,
                   say=None if quiet else (lambda line: err.print(line, markup=False)))
    except (ElfError, GuestError, ValueError) as e:
        _fail(str(e))
    except KeyboardInterrupt as e:
        _fail("interrupted before the run started; nothing is saved", 128 + getattr(e, "signum", 2))


def _report(report, results: Path, quiet: bool, *, always: bool = False) -> None:
    """The summary (unless quiet), the result file (its path: unless quiet, or `always`)
    and one line on how the run stopped, if it did not halt (or a signal killed it)."""
    from flashvm.results import write_report
    from flashvm.session import end_line, summary
    if not quiet:
        summary(report, err)
    path = write_report(report, results)
    if always or not quiet:
        err.print(f"results: {path}")
    line = end_line(report)
    if line and (report.how_ended != "halted" or not quiet):
        err.print(f"{'stopped' if report.how_ended != 'halted' else 'note'}: {line}", markup=False)


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised like Ctrl-C so every cleanup runs and the run's results are saved."""
    signum = 15

    @staticmethod
    def on_signal(signum, frame) -> None:
        raise _Terminated()


from flashvm.fs.cli import app as fs_app  # noqa: E402  (flashvm fs ...)
from flashvm.sysroot.cli import sysroot_command  # noqa: E402  (flashvm sysroot ...)
from flashvm.experiments.cli import register as add_experiments  # noqa: E402  (flashvm experiment, report)
from flashvm.isa.cli import disasm_command  # noqa: E402  (flashvm disasm ...)

app.add_typer(fs_app, name="fs", help="disk images: mkfs, ls, cat, get, fsck (flashfs, docs/fs.md)")
app.command("sysroot")(sysroot_command)  # flashvm sysroot DIR PKG... | --list DIR (docs/sysroot.md)
add_experiments(app)  # flashvm experiment list|fig5|...|all, flashvm report RESULT.h5 --services (docs/experiments.md)
app.command("disasm")(disasm_command)    # flashvm disasm PROGRAM [--symbol main] | 0x27bdffe0


@app.command()
def machines(name: Optional[str] = typer.Argument(None, help="a preset or config file to describe")) -> None:
    """List the ready-made machine configs, or describe one field by field."""
    from flashvm.machine.config import PRESETS, describe, one_line
    if name is None:
        for cfg in PRESETS.values():
            typer.echo(one_line(cfg))
        return
    cfg, _ = _machine(name, "functional")
    t = Table("field", "value", "meaning", title=f"machine {cfg.name}", title_justify="left")
    for row in describe(cfg):
        t.add_row(*row)
    Console().print(t)


@app.command()
@_one_line_errors
def run(workload: Path = typer.Argument(..., help="workload directory (holding workload.toml)"),
        results: Path = typer.Option(DEFAULT_RESULTS, help="directory for the HDF5 result file"),
        max_insns: Optional[int] = typer.Option(None, help=MAX_INSNS_HELP),
        timeout: Optional[float] = typer.Option(None, "--timeout", help=TIMEOUT_HELP),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress display and no summary"),
        machine: Optional[str] = typer.Option(None, "--machine", help=MACHINE_HELP),
        mode: Optional[str] = typer.Option(None, "--mode", help=MODE_HELP),
        cpus: Optional[str] = typer.Option(None, "--cpus", help="os mode: CPUs the guest OS boots on (overrides run.cpus)"),
        variant: Optional[str] = typer.Option(None, "--variant", help="os mode: kseg0 or mapped (overrides run.variant)"),
        fast_forward: Optional[str] = typer.Option(None, "--fast-forward", help=FF_HELP),
        warmup: int = typer.Option(0, "--warmup", help=WARMUP_HELP),
        roi_instructions: Optional[int] = typer.Option(None, "--roi-instructions", help=ROI_INSNS_HELP),
        checkpoint_at: Optional[str] = typer.Option(None, "--checkpoint-at", help=CKPT_HELP),
        size: Optional[str] = typer.Option(None, "--size", help="uni or mp: the workload's [size.NAME] form (default uni)"),
        splashos: bool = typer.Option(False, "--splashos", help="its program built against SPLASHOS, in 1 Disco VM"),
        numa: Optional[str] = typer.Option(None, "--numa", help="workloads in VMs: " + NUMA_HELP),
        vms: Optional[int] = typer.Option(None, "--vms", help="run the workload's commands in N Disco VMs (run.cpus VCPUs each)"),
        vm_mem: Optional[str] = typer.Option(None, "--vm-mem", metavar="MB", help="with --vms: each VM's memory in MB"),
        check: bool = typer.Option(True, help="check the output against workload.toml's [check]")) -> None:
    """Build (if needed), run and check a workload; write its counters to results/."""
    from flashvm.session import exit_status, options as o, summary
    o.check_limits(max_insns, timeout)
    from flashvm.workload import load_workload
    w = load_workload(workload, size, splashos)         # its errors: one line (_one_line_errors)
    err.print(f"{w.name}: {w.description}", markup=False)
    exe = w.build()
    cfg, sim_mode = _machine(machine or w.machine, mode or w.sim_mode)
    w = o.workload_in_vms(w, cfg, vms, vm_mem, variant)             # --vms: the commands in Disco's VMs
    spec = o.workload_spec(w, exe, cfg, sim_mode, cpus=cpus, variant=variant, max_insns=max_insns, timeout=timeout, numa=numa)
    report = _run(spec, quiet, fast_forward, warmup, checkpoint_at, results, roi_instructions)
    check = check and report.how_ended == "halted"     # a stopped run is saved, not checked
    if check and report.vms is not None:      # Disco: every VM must pass, before anything is saved
        problem = w.check_report(report)
        if problem:
            if not quiet:
                summary(report, err, title=f"{w.name} (os mode in {w.vms} Disco VMs)")
            _fail(f"{w.name}: {problem}", 1)
    _report(report, results, quiet, always=True)
    if report.verdict and report.how_ended == "halted":
        _fail(f"{w.name}: {report.verdict}", 1)
    if check:
        problem = w.check_report(report)
        if problem:
            _fail(f"{w.name}: {problem}", 1)
        err.print("[green]check passed[/]")
    raise typer.Exit(exit_status(report))


@app.command("exec", context_settings={"allow_extra_args": True, "ignore_unknown_options": True,
                                       "allow_interspersed_args": False})   # after PROGRAM: its argv
@_one_line_errors
def exec_(ctx: typer.Context,
          program: Path = typer.Argument(..., help="static mipsel ELF (musl) or, with --bare, a freestanding one"),
          bare: bool = typer.Option(False, "--bare", help="boot PROGRAM on the bare machine instead"),
          os_: bool = typer.Option(False, "--os", help="boot the guest OS (docs/os.md) and run PROGRAM as its first process"),
          splashos: bool = typer.Option(False, "--splashos", help=SPLASHOS_HELP),
          cpus: Optional[str] = typer.Option(None, "--cpus", help="with --os: CPUs the guest OS boots on (default 1)"),
          variant: Optional[str] = typer.Option(None, "--variant", help="with --os: kernel link variant, kseg0 or mapped"),
          verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="with --os: kernel log on stderr (-vv: more)"),
          vms: Optional[int] = typer.Option(None, "--vms", help=VMS_HELP),
          hal: bool = typer.Option(False, "--hal", help="with --vms: the guest kernel's HAL build"),
          nfs: bool = typer.Option(False, "--nfs", help="with --vms: VM 0 serves PROGRAM in /srv, the others run it from /nfs"),
          vm_mem: Optional[str] = typer.Option(None, "--vm-mem", metavar="MB", help="with --vms: each VM's memory in MB"),
          numa: Optional[str] = typer.Option(None, "--numa", help="with --vms/--splashos: " + NUMA_HELP),
          results: Path = typer.Option(DEFAULT_RESULTS, help="directory for the HDF5 result file"),
          max_insns: Optional[int] = typer.Option(None, help=MAX_INSNS_HELP),
          timeout: Optional[float] = typer.Option(None, "--timeout", help=TIMEOUT_HELP),
          file: List[str] = typer.Option([], "--file", help="with --os, --splashos: GUEST=HOST puts HOST on its disk (repeat)"),
          quiet: bool = typer.Option(False, "--quiet", "-q", help="no summary on stderr"),
          machine: Optional[str] = typer.Option(None, "--machine", help=MACHINE_HELP),
          mode: Optional[str] = typer.Option(None, "--mode", help=MODE_HELP),
          trace: Optional[str] = typer.Option(None, "--trace", is_flag=False, flag_value="all", help=TRACE_HELP),
          trace_file: Optional[Path] = typer.Option(None, "--trace-file", help="write the trace here instead of stderr"),
          sysroot: Optional[Path] = typer.Option(None, "--sysroot", help=SYSROOT_HELP),
          fast_forward: Optional[str] = typer.Option(None, "--fast-forward", help=FF_HELP),
          warmup: int = typer.Option(0, "--warmup", help=WARMUP_HELP),
          checkpoint_at: Optional[str] = typer.Option(None, "--checkpoint-at", help=CKPT_HELP),
          gdb: Optional[str] = typer.Option(None, "--gdb", is_flag=False, flag_value="1234", metavar="[PORT]", help=GDB_HELP),
          gdb_wait: bool = typer.Option(False, "--gdb-wait", help="with --gdb: wait for gdb before running")) -> None:
    """Run PROGRAM [ARGS...] (everything after PROGRAM is its) with stdin, stdout and stderr
    passed through; exit with its status (124: a limit, 125: a deadlock, 130/143: interrupted)."""
    from flashvm.session import exit_status, options as o, vm_failures
    o.check_limits(max_insns, timeout)
    from flashvm.spec import RunSpec
    o.check_exec_kind(bare, os_, splashos, {"--cpus": cpus is not None and not splashos, "--variant": variant is not None,
                                            "--verbose": bool(verbose), "--vms": vms is not None and not splashos,
                                            "--file": bool(file) and not splashos, "--nfs": nfs})
    host = o.program_in_sysroot(program, sysroot, bare or splashos)
    if not host.is_file():
        _fail(f"{host}: {'not a file' if host.exists() else 'no such file'}")
    args: List[str] = list(ctx.args)
    cfg, sim_mode = _machine(machine or "flash1", mode or "functional")
    numa = o.disco_options(hal, numa, vms, splashos)
    o.vm_mem_option(cfg, vms or (1 if splashos else None), vm_mem)
    guest, extra = program, o.guest_files(file)
    program = host
    common = dict(program=program, sim_mode=sim_mode, max_insns=max_insns, timeout_s=timeout, name=program.name,
                  trace=o.trace_kinds(trace, trace_file), trace_file=trace_file, stdin=o.guest_stdin(os_, sys.stdin),
                  gdb=o.gdb_port(gdb, gdb_wait, o.trace_kinds(trace, trace_file)), gdb_wait=gdb_wait, numa=numa)
    if splashos:
        spec = o.splashos_spec(program, args, cfg, cpus, vms, vm_mem, common, extra)
    elif os_ and vms is not None:
        o.check_vms(vms, variant, nfs)
        argv, files, more = o.os_root(guest, host, args, sysroot, extra, err.print)
        spec = RunSpec("disco", machine=cfg, argv=argv, files=files, **more, nfs=nfs,
                       cpus=o.cpus_option(cpus) or 1, vms=vms, hal=hal, vm_mem_mb=o.vm_mem_option(cfg, vms, vm_mem),
                       title=f"{program.name} (os mode in {vms} Disco VM{'s' if vms > 1 else ''})", **common)
    elif os_:
        ncpus, kvariant = o.cpus_option(cpus), o.os_variant(variant)
        argv, files, more = o.os_root(guest, host, args, sysroot, extra, err.print)
        more.setdefault("notes", {"guest_program": argv[0]})
        cfg = o.os_machine(cfg, ncpus, "--cpus")
        spec = RunSpec("os", machine=cfg, argv=argv, files=files, cpus=cfg.ncpu, variant=kvariant,
                       verbose=verbose, **more,
                       title=f"{program.name} (os mode, {kvariant} kernel)", **common)
    else:
        kind = "bare" if bare else "process"
        spec = RunSpec(kind, machine=cfg, argv=(program.name, *args), title=f"{program.name} ({kind} mode)",
                       sysroot=sysroot, **common)
    report = _run(spec, quiet, fast_forward, warmup, checkpoint_at, results)
    _report(report, results, quiet)
    for line in vm_failures(report):
        err.print(line, markup=False)
    if report.verdict and report.how_ended == "halted":
        _fail(report.verdict, 1)
    raise typer.Exit(exit_status(report))


@app.command()
@_one_line_errors
def resume(checkpoint: Path = typer.Argument(..., help="a checkpoint file (--checkpoint-at)"),
           mode: Optional[str] = typer.Option(None, "--mode", help="functional or timing (default: the saved one)"),
           machine_options: Optional[str] = typer.Option(None, "--machine-options", metavar="KEY=VALUE,...", help=MOPT_HELP),
           results: Path = typer.Option(DEFAULT_RESULTS, help="directory for the HDF5 result file"),
           max_insns: Optional[int] = typer.Option(None, help=MAX_INSNS_HELP),
           timeout: Optional[float] = typer.Option(None, "--timeout", help=TIMEOUT_HELP),
           quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress display and no summary")) -> None:
    """Continue a run from a checkpoint (docs/checkpoints.md); it ends as the uninterrupted run would."""
    from flashvm.session import exit_status, options as o, vm_failures
    report = o.resumed(checkpoint, mode, machine_options, max_insns, timeout, err, quiet)
    _report(report, results, quiet, always=True)
    for line in vm_failures(report):
        err.print(line, markup=False)
    raise typer.Exit(exit_status(report))


def main() -> None:
    signal.signal(signal.SIGTERM, _Terminated.on_signal)
    app()


if __name__ == "__main__":
    main()
