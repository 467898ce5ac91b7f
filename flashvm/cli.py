"""The `flashvm` command line.

    flashvm run workloads/raytrace        build, run and check a workload (--size uni|mp, --splashos, --vms N [--share])
    flashvm exec PROGRAM [ARGS...]        run a static mipsel Linux program (process mode)
    flashvm exec --bare KERNEL.elf        boot a freestanding program on the FLASH machine
    flashvm exec --os [--cpus N] PROGRAM [ARGS...]   boot the guest OS and run PROGRAM on it
    flashvm exec --os --vms N [--cpus C] [--hal] [--nfs] [--vm-mem MB] [--numa MODE] [--share] PROGRAM   the same in N Disco VMs
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
import gc
import signal
import sys
from pathlib import Path
from typing import List, Optional

# Importing Numba and loading the cached kernels make hundreds of thousands of objects that live as
# long as the process: with the default thresholds the collector ran ~300 times while a ray tracer
# started (0.1-0.2 s of CPU, a full collection among them).  Fewer, larger young collections.
gc.set_threshold(20_000, 50, 100)

import typer  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from flashvm import cliopts as O  # noqa: E402
from flashvm.clitext import GDB_HELP, MOPT_HELP, SPLASHOS_HELP, SYSROOT_HELP, TRACE_HELP, VMS_HELP  # noqa: E402

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="flashvm: a simulated FLASH multiprocessor and the Disco VMM, in Python/Numba.")
err = Console(stderr=True, highlight=False, soft_wrap=True)

DEFAULT_RESULTS = O.DEFAULT_RESULTS


@app.callback()
def _tier(jit: Optional[bool] = typer.Option(None, "--jit/--no-jit", help="the JIT tier on (default) or off")) -> None:
    if jit is not None or "flashvm.kernels.jit" in sys.modules:     # the tier's module imports Numba
        __import__("flashvm.session.options", fromlist=["jit_option"]).jit_option(jit)


def _fail(msg: str, code: int = 2) -> None:
    sys.stderr.write(f"error: {msg}\n")
    raise typer.Exit(code)


def _one_line_errors(command):
    """A command whose bad option values (session.options.OptionError), workloads and builds
    end it with one line."""
    @functools.wraps(command)
    def checked(*args, **kwargs):
        try:
            return command(*args, **kwargs)
        except Exception as e:
            if not _one_line(e):
                raise
            _fail(str(e))
    return checked


def _one_line(e: Exception) -> bool:
    """Whether `e` is an OptionError, WorkloadError or ToolchainError: only a module already
    imported can have raised its own (the check imports none: the workload module loads Numba)."""
    kinds = (("flashvm.session.options", "OptionError"), ("flashvm.workload", "WorkloadError"),
             ("flashvm.toolchain", "ToolchainError"))
    return any(m in sys.modules and isinstance(e, getattr(sys.modules[m], name)) for m, name in kinds)


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


def _run(spec, quiet: bool, fast_forward: Optional[str] = None, warmup: Optional[int] = None, checkpoint_at=None, results=None,
         roi=None, period=None, sample: bool = False):
    """Run `spec` with the guest's output passed through (one-line error when it cannot
    run); a SIGINT or SIGTERM before the machine starts ends flashvm with nothing saved."""
    from flashvm.elf import ElfError
    from flashvm.machine.flash import GuestError
    from flashvm.session import options, run
    show = not quiet and err.is_terminal
    try:
        spec = options.with_region_options(spec, fast_forward, warmup, roi, period, sample)
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
        results: Path = O.RESULTS, max_insns: Optional[int] = O.MAX_INSNS, timeout: Optional[float] = O.TIMEOUT,
        quiet: bool = O.QUIET_RUN, machine: Optional[str] = O.MACHINE, mode: Optional[str] = O.MODE,
        cpus: Optional[str] = typer.Option(None, "--cpus", help="os mode: CPUs the guest OS boots on (overrides run.cpus)"),
        variant: Optional[str] = typer.Option(None, "--variant", help="os mode: kseg0 or mapped (overrides run.variant)"),
        fast_forward: Optional[str] = O.FAST_FORWARD, warmup: Optional[int] = O.WARMUP,
        checkpoint_at: Optional[str] = O.CHECKPOINT_AT, roi_instructions: Optional[int] = O.ROI_INSTRUCTIONS,
        sample_period: Optional[int] = O.SAMPLE_PERIOD, sample: bool = O.SAMPLE,
        size: Optional[str] = typer.Option(None, "--size", help="uni or mp: the workload's [size.NAME] form (default uni)"),
        splashos: bool = typer.Option(False, "--splashos", help="its program built against SPLASHOS, in 1 Disco VM"),
        numa: Optional[str] = O.NUMA_RUN,
        vms: Optional[int] = typer.Option(None, "--vms", help="run the workload's commands in N Disco VMs (run.cpus VCPUs each)"),
        vm_mem: Optional[str] = O.VM_MEM, share: bool = O.SHARE,
        check: bool = typer.Option(True, help="check the output against workload.toml's [check]")) -> None:
    """Build (if needed), run and check a workload; write its counters to results/."""
    from flashvm.session import options as o
    o.check_limits(max_insns, timeout)
    from flashvm.session import exit_status, summary
    from flashvm.workload import load_workload
    w = load_workload(workload, size, splashos)         # its errors: one line (_one_line_errors)
    err.print(f"{w.name}: {w.description}", markup=False)
    exe = w.build()
    cfg, sim_mode = _machine(machine or w.machine, mode or ("timing" if sample else w.sim_mode))
    w = o.workload_in_vms(w, cfg, vms, vm_mem, variant)             # --vms: the commands in Disco's VMs
    spec = o.workload_spec(w, exe, cfg, sim_mode, cpus=cpus, variant=variant, max_insns=max_insns, timeout=timeout, numa=numa,
                           share=share)
    report = _run(spec, quiet, fast_forward, warmup, checkpoint_at, results, roi_instructions, sample_period, sample)
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
          vm_mem: Optional[str] = O.VM_MEM, numa: Optional[str] = O.NUMA_EXEC, share: bool = O.SHARE,
          results: Path = O.RESULTS, max_insns: Optional[int] = O.MAX_INSNS, timeout: Optional[float] = O.TIMEOUT,
          file: List[str] = typer.Option([], "--file", help="with --os, --splashos: GUEST=HOST puts HOST on its disk (repeat)"),
          quiet: bool = O.QUIET_EXEC, machine: Optional[str] = O.MACHINE, mode: Optional[str] = O.MODE,
          trace: Optional[str] = typer.Option(None, "--trace", is_flag=False, flag_value="all", help=TRACE_HELP),
          trace_file: Optional[Path] = typer.Option(None, "--trace-file", help="write the trace here instead of stderr"),
          sysroot: Optional[Path] = typer.Option(None, "--sysroot", help=SYSROOT_HELP),
          fast_forward: Optional[str] = O.FAST_FORWARD, warmup: Optional[int] = O.WARMUP,
          checkpoint_at: Optional[str] = O.CHECKPOINT_AT,
          gdb: Optional[str] = typer.Option(None, "--gdb", is_flag=False, flag_value="1234", metavar="[PORT]", help=GDB_HELP),
          gdb_wait: bool = typer.Option(False, "--gdb-wait", help="with --gdb: wait for gdb before running")) -> None:
    """Run PROGRAM [ARGS...] (everything after PROGRAM is its) with stdin, stdout and stderr
    passed through; exit with its status (124: a limit, 125: a deadlock, 130/143: interrupted)."""
    from flashvm.session.commands import exec_spec
    spec = exec_spec(program, list(ctx.args), lambda: _machine(machine or "flash1", mode or "functional"),
                     bare=bare, os_=os_, splashos=splashos, cpus=cpus, variant=variant, verbose=verbose, vms=vms,
                     hal=hal, nfs=nfs, vm_mem=vm_mem, numa=numa, max_insns=max_insns, timeout=timeout, file=file,
                     trace=trace, trace_file=trace_file, sysroot=sysroot, gdb=gdb, gdb_wait=gdb_wait, share=share,
                     stdin=sys.stdin, say=err.print)
    report = _run(spec, quiet, fast_forward, warmup, checkpoint_at, results)
    _report(report, results, quiet)
    from flashvm.session import exit_status, vm_failures
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
           results: Path = O.RESULTS, max_insns: Optional[int] = O.MAX_INSNS, timeout: Optional[float] = O.TIMEOUT,
           quiet: bool = O.QUIET_RUN) -> None:
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
