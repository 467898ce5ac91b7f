"""The `flashvm` command line.

    flashvm run workloads/raytrace        build, run and check a workload
    flashvm exec PROGRAM [ARGS...]        run a static mipsel Linux program (process mode)
    flashvm exec --bare KERNEL.elf        boot a freestanding program on the FLASH machine
    flashvm exec --os [--cpus N] PROGRAM [ARGS...]   boot the guest OS and run PROGRAM on it
    flashvm exec --os --vms N [--cpus C] [--hal] PROGRAM   the same in N Disco virtual machines
    flashvm machines                      list the machine configs and their fields
    flashvm fs mkfs|ls|cat|get|fsck       build and read disk images (docs/fs.md)
    flashvm sysroot DIR PKG...            a root of Debian mipsel packages (docs/sysroot.md)
    flashvm disasm PROGRAM [--symbol main]

`--machine NAME|FILE` (flash1, flash8, uma8 or a TOML config) and
`--mode functional|timing` choose the machine and the level of detail.

The guest's stdout/stderr pass through unchanged; everything flashvm itself
says (progress, summary, the path of the HDF5 result) goes to stderr.  Here
options become a RunSpec (flashvm/spec.py) that the session (flashvm/session)
runs; flashvm modules are imported inside the commands to keep --help fast.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="flashvm: a simulated FLASH multiprocessor and the Disco VMM, in Python/Numba.")
err = Console(stderr=True, highlight=False, soft_wrap=True)

DEFAULT_RESULTS = Path("results")


def _fail(msg: str, code: int = 2) -> None:
    sys.stderr.write(f"error: {msg}\n")
    raise typer.Exit(code)


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


def _cpus_option(text: str | None) -> int | None:
    """The value of --cpus (one-line error when it is not a positive whole number)."""
    if text is None:
        return None
    try:
        n = int(text, 10)
    except ValueError:
        n = 0
    if n < 1:
        _fail(f"--cpus {text!r}: give a whole number of CPUs, at least 1")
    return n


def _os_machine(cfg, cpus: int | None, option: str):
    """`cfg` cut down to `cpus` CPUs (one-line error naming `option` when it cannot be)."""
    from flashvm.machine.config import machine_with_cpus
    try:
        return machine_with_cpus(cfg, 1 if cpus is None else cpus)
    except ValueError as e:
        hint = " (e.g. --machine flash8)" if cpus and cpus > cfg.ncpu and option == "--cpus" else ""
        _fail(f"{option}: {e}{hint}")


def _os_variant(variant: str | None) -> str:
    from flashvm.guestos import VARIANTS
    if variant == "hal":
        _fail("--variant hal: the HAL kernel runs only in Disco's VMs; use --vms N --hal")
    if variant is not None and variant not in VARIANTS:
        _fail(f"--variant {variant!r}: use one of {', '.join(v for v in VARIANTS if v != 'hal')}")
    return variant or "kseg0"


def _check_max_insns(max_insns: int | None) -> None:
    from flashvm.spec import max_insns_problem
    problem = max_insns_problem(max_insns)
    if problem is not None:
        _fail(problem)


def _trace_kinds(text: str | None, trace_file: Path | None) -> frozenset[str]:
    """The kinds --trace names (one-line error for an unknown one)."""
    from flashvm.machine.trace import parse_kinds
    if text is None:
        if trace_file is not None:
            _fail("--trace-file needs --trace")
        return frozenset()
    try:
        return frozenset(parse_kinds(text))
    except ValueError as e:
        _fail(f"--trace {text}: {e}")


def _check_user_program(program: Path) -> None:
    """PROGRAM must be a static mipsel executable for user space (one-line error otherwise)."""
    from flashvm.elf import ElfError, load_elf
    from flashvm.machine.layout import USER_TOP
    try:
        img = load_elf(program)
    except ElfError as e:
        _fail(str(e))
    high = [s for s in img.segments if s.vaddr + s.memsz > USER_TOP]
    if high:
        _fail(f"{program}: segment at {high[0].vaddr:#x} is outside user space (below {USER_TOP:#x}); "
              "a freestanding program runs with --bare, not --os")


def _run(spec, quiet: bool):
    """Run `spec` with the guest's output passed through (one-line error when it cannot run)."""
    from flashvm.elf import ElfError
    from flashvm.machine.flash import GuestError
    from flashvm.session import run
    show = not quiet and err.is_terminal
    try:
        return run(spec, stdout=sys.stdout.buffer, stderr=sys.stderr.buffer, console=err if show else None)
    except (ElfError, GuestError) as e:
        _fail(str(e))


def _report(report, results: Path, quiet: bool, *, always: bool = False) -> None:
    """The summary (unless quiet) and the result file (its path: unless quiet, or `always`)."""
    from flashvm.results import write_report
    from flashvm.session import summary
    if not quiet:
        summary(report, err)
    path = write_report(report, results)
    if always or not quiet:
        err.print(f"results: {path}")


from flashvm.fs.cli import app as fs_app  # noqa: E402  (flashvm fs ...)
from flashvm.sysroot.cli import sysroot_command  # noqa: E402  (flashvm sysroot ...)

app.add_typer(fs_app, name="fs", help="disk images: mkfs, ls, cat, get, fsck (flashfs, docs/fs.md)")
app.command("sysroot")(sysroot_command)  # flashvm sysroot DIR PKG... | --list DIR (docs/sysroot.md)


@app.command()
def machines(name: Optional[str] = typer.Argument(None, help="a preset or config file to describe")) -> None:
    """List the ready-made machine configs, or describe one field by field."""
    from flashvm.machine.config import PRESETS, describe
    if name is None:
        for cfg in PRESETS.values():
            lat = cfg.latencies_cycles()
            typer.echo(f"{cfg.name:8s} {cfg.nodes} node(s) x {cfg.cpus_per_node} CPU, "
                       f"{cfg.ram_bytes >> 20} MB, L2 {cfg.l2.size >> 10} KB, "
                       f"{'UMA' if cfg.uma else 'NUMA'} miss {lat['local']}/{lat['remote']} cycles at {cfg.clock_mhz:g} MHz")
        return
    cfg, _ = _machine(name, "functional")
    t = Table(title=f"machine {cfg.name}", title_justify="left")
    for col in ("field", "value", "meaning"):
        t.add_column(col)
    for row in describe(cfg):
        t.add_row(*row)
    Console().print(t)


@app.command()
def run(workload: Path = typer.Argument(..., help="workload directory (holding workload.toml)"),
        results: Path = typer.Option(DEFAULT_RESULTS, help="directory for the HDF5 result file"),
        max_insns: Optional[int] = typer.Option(None, help="stop the guest after this many instructions"),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress display and no summary"),
        machine: Optional[str] = typer.Option(None, "--machine", help="machine: flash1, flash8, uma8 or a TOML config file"),
        mode: Optional[str] = typer.Option(None, "--mode", help="level of detail: functional (fastest) or timing (caches, directory, NUMA latencies)"),
        cpus: Optional[str] = typer.Option(None, "--cpus", help="os mode: CPUs the guest OS boots on (overrides run.cpus)"),
        variant: Optional[str] = typer.Option(None, "--variant", help="os mode: kernel variant kseg0 or mapped (overrides run.variant)"),
        check: bool = typer.Option(True, help="check the output against workload.toml's [check]")) -> None:
    """Build (if needed), run and check a workload; write its counters to results/."""
    _check_max_insns(max_insns)
    from flashvm.session import exit_status, summary
    from flashvm.toolchain import ToolchainError
    from flashvm.workload import WorkloadError, load_workload
    try:
        w = load_workload(workload)
        err.print(f"{w.name}: {w.description}", markup=False)
        exe = w.build()
    except (WorkloadError, ToolchainError) as e:
        _fail(str(e))
    cfg, sim_mode = _machine(machine or w.machine, mode or w.sim_mode)
    if w.mode != "os" and (cpus is not None or variant is not None):
        _fail(f"{'--cpus' if cpus is not None else '--variant'} applies only to workloads with "
              f"run.mode = \"os\" ({w.name} runs in {w.mode} mode)")
    ncpus = _cpus_option(cpus) if w.mode == "os" else None
    kvariant = None
    if w.mode == "os" and not w.vms:
        n = ncpus if ncpus is not None else (w.cpus or 1)
        cfg = _os_machine(cfg, n, "--cpus" if ncpus is not None else "run.cpus")
        kvariant = _os_variant(variant) if variant is not None else None
    report = _run(w.spec(exe, machine=cfg, sim_mode=sim_mode, cpus=ncpus, variant=kvariant,
                         max_insns=max_insns), quiet)
    if check and report.vms is not None:      # Disco: every VM must pass, before anything is saved
        problem = w.check_report(report)
        if problem:
            if not quiet:
                summary(report, err, title=f"{w.name} (os mode in {w.vms} Disco VMs)")
            _fail(f"{w.name}: {problem}", 1)
    _report(report, results, quiet, always=True)
    if report.verdict:
        _fail(f"{w.name}: {report.verdict}", 1)
    if check:
        problem = w.check_report(report)
        if problem:
            _fail(f"{w.name}: {problem}", 1)
        err.print("[green]check passed[/]")
    raise typer.Exit(exit_status(report))


@app.command("exec", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def exec_(ctx: typer.Context,
          program: Path = typer.Argument(..., help="static mipsel ELF (musl) or, with --bare, a freestanding one"),
          bare: bool = typer.Option(False, "--bare", help="boot PROGRAM on the bare machine instead"),
          os_: bool = typer.Option(False, "--os", help="boot the guest OS (docs/os.md) and run PROGRAM as its first process"),
          cpus: Optional[str] = typer.Option(None, "--cpus", help="with --os: CPUs the guest OS boots on, the machine's first N (default 1)"),
          variant: Optional[str] = typer.Option(None, "--variant", help="with --os: kernel link variant, kseg0 (default) or mapped"),
          verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="with --os: kernel log on stderr (-vv: more)"),
          vms: Optional[int] = typer.Option(None, "--vms", help="with --os: run N copies of the guest OS in Disco's virtual machines (--cpus: VCPUs per VM)"),
          hal: bool = typer.Option(False, "--hal", help="with --vms: the guest kernel's HAL build (special page, monitor calls)"),
          results: Path = typer.Option(DEFAULT_RESULTS, help="directory for the HDF5 result file"),
          max_insns: Optional[int] = typer.Option(None, help="stop the guest after this many instructions"),
          quiet: bool = typer.Option(False, "--quiet", "-q", help="no summary on stderr"),
          machine: Optional[str] = typer.Option(None, "--machine", help="machine: flash1, flash8, uma8 or a TOML config file"),
          mode: Optional[str] = typer.Option(None, "--mode", help="level of detail: functional (fastest) or timing (caches, directory, NUMA latencies)"),
          trace: Optional[str] = typer.Option(None, "--trace", is_flag=False, flag_value="all", help="trace insn,exc,syscall (any of them; --trace alone: all), docs/trace.md"),
          trace_file: Optional[Path] = typer.Option(None, "--trace-file", help="write the trace here instead of stderr")) -> None:
    """Run PROGRAM [ARGS...] with its output passed through; exit with its status."""
    _check_max_insns(max_insns)
    from flashvm.session import exit_status, vm_failures
    from flashvm.spec import RunSpec
    if bare and os_:
        _fail("--bare and --os exclude each other")
    if not os_:
        for given, opt in ((cpus is not None, "--cpus"), (variant is not None, "--variant"), (verbose, "--verbose"),
                           (vms is not None, "--vms")):
            if given:
                _fail(f"{opt} applies only to --os")
    if not program.exists():
        _fail(f"{program}: no such file")
    if not program.is_file():
        _fail(f"{program}: not a file")
    args: List[str] = list(ctx.args)
    cfg, sim_mode = _machine(machine or "flash1", mode or "functional")
    if hal and vms is None:
        _fail("--hal applies only to --vms (the HAL kernel runs in Disco's VMs)")
    common = dict(program=program, sim_mode=sim_mode, max_insns=max_insns, name=program.name,
                  trace=_trace_kinds(trace, trace_file), trace_file=trace_file)
    guest = f"/bin/{program.name}"
    if os_ and vms is not None:
        if vms < 1:
            _fail(f"--vms {vms}: give at least 1 virtual machine")
        if variant is not None:
            _fail("--variant does not apply to --vms: VMs run the mapped kernel (--hal for its HAL build)")
        _check_user_program(program)
        spec = RunSpec("disco", machine=cfg, argv=(guest, *args), files={guest: program},
                       cpus=_cpus_option(cpus) or 1, vms=vms, hal=hal,
                       title=f"{program.name} (os mode in {vms} Disco VM{'s' if vms > 1 else ''})", **common)
    elif os_:
        ncpus, kvariant = _cpus_option(cpus), _os_variant(variant)
        _check_user_program(program)
        cfg = _os_machine(cfg, ncpus, "--cpus")
        spec = RunSpec("os", machine=cfg, argv=(guest, *args), files={guest: program}, cpus=cfg.ncpu,
                       variant=kvariant, verbose=verbose, notes={"guest_program": guest},
                       title=f"{program.name} (os mode, {kvariant} kernel)", **common)
    else:
        kind = "bare" if bare else "process"
        spec = RunSpec(kind, machine=cfg, argv=(program.name, *args), title=f"{program.name} ({kind} mode)",
                       **common)
    report = _run(spec, quiet)
    _report(report, results, quiet)
    for line in vm_failures(report):
        err.print(line, markup=False)
    if report.verdict:
        _fail(report.verdict, 1)
    raise typer.Exit(exit_status(report))


@app.command()
def disasm(program: Path = typer.Argument(..., help="an ELF file, or a hex instruction word like 0x27bdffe0"),
           symbol: Optional[str] = typer.Option(None, help="disassemble this function only"),
           count: int = typer.Option(64, help="instructions to print when no symbol is given")) -> None:
    """Disassemble instructions with the ISA table."""
    from flashvm.elf import ElfError, load_elf
    from flashvm.isa.disasm import disasm as dis
    text = str(program)
    if not program.exists() and text.lower().startswith("0x"):
        typer.echo(dis(int(text, 16)))
        return
    try:
        img = load_elf(program)
    except (ElfError, OSError) as e:
        _fail(str(e))
    if symbol:
        sym = img.symbols.get(symbol)
        if sym is None:
            _fail(f"{program}: no symbol {symbol!r}")
        start, n = sym.addr, max(sym.size // 4, 1)
    else:
        start, n = img.entry, count
    words = {}
    for seg in img.segments:
        for off in range(0, seg.filesz - 3, 4):
            words[seg.vaddr + off] = int.from_bytes(seg.data[off:off + 4], "little")
    for i in range(n):
        a = start + 4 * i
        if a not in words:
            break
        typer.echo(f"{a:08x}  {words[a]:08x}  {img.symbols.symbolize(a):28s} {dis(words[a], a)}")


def main() -> None:
    app()


if __name__ == "__main__":
    main()
