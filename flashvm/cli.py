"""The `flashvm` command line.

    flashvm run workloads/raytrace        build, run and check a workload
    flashvm exec PROGRAM [ARGS...]        run a static mipsel Linux program (process mode)
    flashvm exec --bare KERNEL.elf        boot a freestanding program on the FLASH machine
    flashvm exec --os [--cpus N] PROGRAM [ARGS...]   boot the guest OS and run PROGRAM on it
    flashvm exec --os --vms N [--cpus C] [--hal] PROGRAM   the same in N Disco virtual machines
    flashvm machines                      list the machine configs and their fields
    flashvm fs mkfs|ls|cat|get|fsck       build and read disk images (docs/fs.md)
    flashvm disasm PROGRAM [--symbol main]

`--machine NAME|FILE` (flash1, flash8, uma8 or a TOML config) and
`--mode functional|timing` choose the machine and the level of detail.

The guest's stdout/stderr pass through unchanged; everything flashvm itself
says (progress, summary, the path of the HDF5 result) goes to stderr.
"""
from __future__ import annotations

import io
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, List, Optional

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="flashvm: a simulated FLASH multiprocessor and the Disco VMM, in Python/Numba.")
err = Console(stderr=True, highlight=False, soft_wrap=True)

DEFAULT_RESULTS = Path("results")


class Tee(io.RawIOBase):
    """A binary stream that writes through to `target` and keeps a copy (flushing
    `target` after every write, or only when flushed with autoflush=False)."""

    def __init__(self, target, autoflush: bool = True) -> None:
        self.target = target
        self.copy = bytearray()
        self.autoflush = autoflush

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        self.copy += b
        self.target.write(b)
        if self.autoflush:
            self.target.flush()
        return len(b)

    def flush(self) -> None:
        if not self.closed:
            self.target.flush()


@dataclass
class Outcome:
    status: int
    machine: object
    instructions: int
    host_seconds: float
    syscalls: dict = field(default_factory=dict)
    unknown_syscalls: dict = field(default_factory=dict)
    message: str | None = None
    config: object = None            # the MachineConfig
    sim_mode: str = "functional"
    vms: list | None = None          # Disco: one dict per VM (name, index, vcpus, status, failure, stdout)
    disco: dict | None = None        # Disco: the monitor's counters summed over all VCPUs


def _progress_runner(total_hint: int | None, show: bool) -> tuple[Callable, Callable[[], None]]:
    """A run() wrapper that updates a progress line on stderr (TTY only)."""
    from flashvm.kernels.run import run as run_kernel
    from flashvm.kernels.state import INSNS
    state = {"last": 0.0, "t0": time.perf_counter()}

    def runner(m, budget):
        reason = run_kernel(m, budget)
        if show:
            now = time.perf_counter()
            if now - state["last"] > 0.25:
                state["last"] = now
                done = int(m.cpu[:, INSNS].sum())
                rate = done / max(now - state["t0"], 1e-9) / 1e6
                extra = f" / {total_hint / 1e6:,.0f} M" if total_hint else ""
                err.file.write(f"\r  {done / 1e6:,.0f} M instructions{extra}  {rate:,.1f} MIPS ")
                err.file.flush()
        return reason

    def done() -> None:
        if show:
            err.file.write("\r" + " " * 70 + "\r")
            err.file.flush()
    return runner, done


def run_process_mode(exe: Path, argv: list[str], *, env: dict | None, stdin: bytes, stdout, stderr,
                     max_insns: int | None, show_progress: bool, total_hint: int | None = None,
                     machine=None, sim_mode: str = "functional") -> Outcome:
    """A Linux program on CPU 0 of `machine` (one node: the host serves the system calls)."""
    from flashvm.process import new_process
    proc = new_process(str(exe), argv, [f"{k}={v}" for k, v in (env or {}).items()], config=machine,
                       mode=sim_mode, stdin=io.BytesIO(stdin), stdout=stdout, stderr=stderr)
    runner, done = _progress_runner(total_hint, show_progress)
    try:
        res = proc.run(max_insns=max_insns, run_fn=runner)
    finally:
        done()
    return Outcome(res.status, proc.m, res.instructions, res.host_seconds, dict(proc.syscalls_by_number),
                   dict(proc.unknown_syscalls), res.message, config=proc.config, sim_mode=sim_mode)


def run_bare_mode(exe: Path, *, stdout, max_insns: int | None, show_progress: bool,
                  machine=None, sim_mode: str = "functional", argv: list[str] | None = None) -> Outcome:
    """A freestanding program booted on every CPU of `machine` (see docs/machine.md)."""
    from flashvm.elf import load_elf
    from flashvm.machine.config import FLASH1
    from flashvm.machine.flash import FlashMachine
    fm = FlashMachine(machine or FLASH1, mode=sim_mode, out=stdout)
    fm.load(load_elf(exe))
    fm.write_bootinfo(argv or [exe.name])
    t0 = time.perf_counter()
    last = [0.0]

    def progress(done: int) -> None:
        now = time.perf_counter()
        if show_progress and now - last[0] > 0.25:
            last[0] = now
            err.file.write(f"\r  {done / 1e6:,.0f} M instructions  {done / max(now - t0, 1e-9) / 1e6:,.1f} MIPS ")
            err.file.flush()
    try:
        r = fm.run(max_insns=max_insns, progress=progress)
    finally:
        if show_progress:
            err.file.write("\r" + " " * 70 + "\r")
    return Outcome(r.status, fm.m, r.instructions, r.host_seconds, config=fm.cfg, sim_mode=sim_mode)


def _progress_callback(show: bool) -> tuple[Callable[[int], None] | None, Callable[[], None]]:
    """A progress(instructions) callback for machine runs (TTY only) and its cleanup."""
    if not show:
        return None, lambda: None
    t0 = time.perf_counter()
    last = [0.0]

    def progress(done: int) -> None:
        now = time.perf_counter()
        if now - last[0] > 0.25:
            last[0] = now
            err.file.write(f"\r  {done / 1e6:,.0f} M instructions  {done / max(now - t0, 1e-9) / 1e6:,.1f} MIPS ")
            err.file.flush()

    def done() -> None:
        err.file.write("\r" + " " * 70 + "\r")
        err.file.flush()
    return progress, done


def os_outcome(r) -> Outcome:
    """An Outcome for a run of the guest OS (flashvm.osrun.OsResult)."""
    fm = r.machine
    return Outcome(r.status, fm.m, r.instructions, r.host_seconds, config=fm.cfg, sim_mode=fm.mode)


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
    from flashvm.osrun import machine_with_cpus
    try:
        return machine_with_cpus(cfg, 1 if cpus is None else cpus)
    except ValueError as e:
        hint = " (e.g. --machine flash8)" if cpus and cpus > cfg.ncpu and option == "--cpus" else ""
        _fail(f"{option}: {e}{hint}")


def _os_variant(variant: str | None) -> str:
    from flashvm.osrun import VARIANTS
    if variant == "hal":
        _fail("--variant hal: the HAL kernel runs only in Disco's VMs; use --vms N --hal")
    if variant is not None and variant not in VARIANTS:
        _fail(f"--variant {variant!r}: use one of {', '.join(v for v in VARIANTS if v != 'hal')}")
    return variant or "kseg0"


def _run_disco(files: dict, argv: list[str], *, cfg, sim_mode: str, vms: int, cpus: int, hal: bool,
               max_insns: int | None, mem_mb: int = 32, env: list[str] = ()):
    """The guest OS in `vms` Disco VMs of `cpus` VCPUs; each VM's stdout/stderr lines go out tagged."""
    from flashvm.disco.osvm import run_os_vms
    per = max(4, min(mem_mb, (cfg.ram_bytes >> 20) // max(vms, 1) - 2))
    res, disco, r = _guarded(lambda: run_os_vms(files, argv, vms=vms, cpus_per_vm=cpus, machine=cfg,
                                                mode=sim_mode, hal=hal, max_insns=max_insns, mem_mb=per,
                                                env=list(env)))
    for vm in res:
        for stream, sink in ((vm.stdout, sys.stdout.buffer), (vm.stderr, sys.stderr.buffer)):
            for line in stream.splitlines(keepends=True):
                sink.write(f"[{vm.name}] ".encode() + line)
    sys.stdout.flush()
    vmrecs = [{"name": vm.name, "index": v.index, "vcpus": v.vcpus, "status": vm.status,
               "failure": vm.failure, "stdout": vm.stdout} for vm, v in zip(res, disco.vms)]
    from flashvm.kernels import state as S
    totals = {n: int(disco.m.dstats[:, i].sum()) for i, n in enumerate(S.DS_NAMES)}
    status = 0
    for vm in res:
        if vm.failure is not None:
            status = status or 1
        elif vm.status:
            status = status or vm.status
    o = Outcome(status, disco.m, r.instructions, r.host_seconds, config=cfg, sim_mode=sim_mode,
                vms=vmrecs, disco=totals)
    return o, res


def _os_verdict(r) -> str | None:
    """A one-line description of how the guest OS failed (a panic, init not executable), or None."""
    from flashvm.osrun import PANIC_STATUS
    klog = r.klog.decode(errors="replace")
    if r.status == PANIC_STATUS:
        line = next((ln.strip() for ln in klog.splitlines() if "kernel panic" in ln),
                    "kernel panic (no message)")
        return line
    if r.status == 127:
        line = next((ln.strip() for ln in klog.splitlines() if ln.startswith("init: cannot execute")), None)
        if line:
            return f"the guest OS could not start the program ({line})"
    return None


def summary(o: Outcome, title: str) -> None:
    from flashvm.kernels import state as S
    m = o.machine
    t = Table(title=title, show_header=False, title_justify="left")
    t.add_column(style="bold")
    t.add_column(justify="right")
    mips = o.instructions / o.host_seconds / 1e6 if o.host_seconds else 0.0
    t.add_row("instructions", f"{o.instructions:,}")
    t.add_row("host seconds", f"{o.host_seconds:.2f}")
    t.add_row("simulated MIPS", f"{mips:,.1f}")
    cycles = int(m.cpu[:, S.CYCLES].max())
    t.add_row("simulated cycles", f"{cycles:,}")
    if o.config is not None:
        t.add_row("simulated time", f"{cycles / o.config.clock_mhz / 1e3:,.3f} ms "
                                    f"({o.config.name}, {o.sim_mode} mode, {m.cpu.shape[0]} CPUs)")
    by_mode = m.stats[:, S.S_CYC_BASE:S.S_CYC_BASE + 3].sum(axis=0)
    stall = m.stats[:, S.S_STALL_BASE:S.S_STALL_BASE + 3].sum(axis=0)
    idle = int(m.stats[:, S.S_IDLE_CYCLES].sum())
    total = int(by_mode.sum()) + idle
    if total:
        if o.disco is not None:     # Disco runs in kernel mode, the guest kernels in supervisor mode
            parts = [("user", by_mode[2]), ("guest kernel", by_mode[1]), ("monitor", by_mode[0]), ("idle", idle)]
        else:
            parts = [("user", by_mode[2]), ("kernel", by_mode[0]), ("supervisor", by_mode[1]), ("idle", idle)]
        t.add_row("time split (all CPUs)", "  ".join(f"{k} {100 * v / total:.1f}%" for k, v in parts if v))
        if stall.sum():
            t.add_row("stalled on memory", f"{100 * stall.sum() / total:.1f}% of all cycles")
    misses = m.stats[:, [S.S_MISS_LOCAL, S.S_MISS_REMOTE, S.S_MISS_DIRTY]].sum(axis=0)
    if misses.sum():
        t.add_row("L1I / L1D / L2 misses", f"{int(m.stats[:, S.S_L1I_MISS].sum()):,} / "
                                          f"{int(m.stats[:, S.S_L1D_MISS].sum()):,} / {int(m.stats[:, S.S_L2_MISS].sum()):,}")
        t.add_row("L2 misses local / remote / remote dirty",
                  f"{int(misses[0]):,} / {int(misses[1]):,} / {int(misses[2]):,}  "
                  f"({100 * misses[0] / misses.sum():.1f}% local)")
    if o.disco is not None:
        d = o.disco
        t.add_row("VMs", ", ".join(f"{v['name']}: " + (f"failed ({v['failure']})" if v["failure"] else
                                                      f"status {v['status']}") for v in o.vms))
        t.add_row("monitor traps / emulated instructions", f"{d['traps']:,} / {d['emulated']:,}")
        refills = d["l2tlb_hits"] + d["vtlb_hits"]
        if refills:
            t.add_row("real TLB refills served by the monitor",
                      f"{refills:,} ({100 * d['l2tlb_hits'] / refills:.1f}% from the L2TLB)")
        t.add_row("exceptions reflected / virtual interrupts", f"{d['reflected']:,} / {d['virtual_interrupts']:,}")
        if d["monitor_calls"]:
            t.add_row("HAL monitor calls", f"{d['monitor_calls']:,}")
    exc = m.stats[:, S.S_EXC_BASE:S.S_EXC_BASE + 32].sum(axis=0)
    taken = ", ".join(f"{S.EXC_NAMES.get(i, i)} {int(n):,}" for i, n in enumerate(exc) if n)
    t.add_row("exceptions", taken or "none")
    t.add_row("TLB refills / soft-TLB misses",
              f"{int(m.stats[:, S.S_TLB_REFILL].sum()):,} / {int(m.stats[:, S.S_TC_MISS].sum()):,}")
    exits = m.stats[:, S.S_EXIT_BASE:S.S_EXIT_BASE + S.NEXITS].sum(axis=0)
    t.add_row("exits to Python", ", ".join(f"{S.EXIT_NAMES[i]} {int(n):,}" for i, n in enumerate(exits) if n)
              or "none")
    if o.instructions:
        t.add_row("exits per M instructions", f"{exits.sum() / (o.instructions / 1e6):.2f}")
    if o.syscalls:
        t.add_row("system calls", f"{sum(o.syscalls.values()):,}")
    if o.unknown_syscalls:
        t.add_row("unknown syscalls (ENOSYS)", ", ".join(f"{k}: {v}" for k, v in sorted(o.unknown_syscalls.items())))
    t.add_row("exit status", str(o.status))
    err.print(t)


def save(o: Outcome, results: Path, name: str, *, command: str, mode: str, config: dict,
         stdout: bytes | None, stderr: bytes | None = None) -> Path:
    from flashvm.results import default_path, write_run
    path = write_run(default_path(results, name), o.machine, config=config,
                     machine_config=o.config.to_dict() if o.config is not None else None, vms=o.vms,
                     extra={"machine": o.config.name if o.config is not None else "",
                            "sim_mode": o.sim_mode},
                     attrs={"command": command, "workload": name, "mode": mode, "status": o.status,
                            "host_seconds": o.host_seconds},
                     syscalls=o.syscalls if mode == "process" else None,
                     unknown_syscalls=o.unknown_syscalls if mode == "process" else None,
                     stdout=stdout, stderr=stderr)
    return path


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


def _guarded(fn):
    from flashvm.machine.flash import GuestError
    try:
        return fn()
    except GuestError as e:
        _fail(str(e))


def _mount_subcommands() -> None:
    from flashvm.fs.cli import app as fs_app
    app.add_typer(fs_app, name="fs", help="disk images: mkfs, ls, cat, get, fsck (flashfs, docs/fs.md)")


_mount_subcommands()


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
    out = Tee(sys.stdout.buffer)
    argv = [w.name, *w.args]
    show = not quiet and err.is_terminal
    limit = max_insns or w.max_insns
    extra: dict = {}
    stderr_copy = None
    if w.mode == "os" and w.vms:
        files = w.os_files(exe)
        argv = w.os_argv()
        o, res = _run_disco(files, argv, cfg=cfg, sim_mode=sim_mode, vms=w.vms,
                            cpus=_cpus_option(cpus) or w.cpus or 1, hal=w.hal, max_insns=limit,
                            env=[f"{k}={v}" for k, v in w.env.items()])
        extra = {"vms": w.vms, "hal": w.hal, "cpus_per_vm": _cpus_option(cpus) or w.cpus or 1}
        # every VM must pass the check: the output checked is each VM's own
        out.copy = bytearray(res[0].stdout) if res else bytearray()
        bad = [f"{vm.name}: " + "; ".join(w.check(vm.status if vm.status is not None else 1, vm.stdout))
               for vm in res if w.check(vm.status if vm.status is not None else 1, vm.stdout)]
        if check and bad:
            if not quiet:
                summary(o, f"{w.name} (os mode in {w.vms} Disco VMs)")
            _fail(f"{w.name}: check failed: " + " | ".join(bad), 1)
    elif w.mode == "os":
        cpus_opt = _cpus_option(cpus)
        ncpus = cpus_opt if cpus_opt is not None else (w.cpus or 1)
        cfg = _os_machine(cfg, ncpus, "--cpus" if cpus_opt is not None else "run.cpus")
        kvariant = _os_variant(variant) if variant is not None else w.variant
        argv = w.os_argv()
        out, errs = Tee(sys.stdout.buffer, autoflush=False), Tee(sys.stderr.buffer, autoflush=False)
        from flashvm.osrun import run_workload_os
        progress, done = _progress_callback(show)
        try:
            r = _guarded(lambda: run_workload_os(w, machine=cfg, cpus=ncpus, mode=sim_mode, variant=kvariant,
                                                 live={1: out, 2: errs}, max_insns=limit, progress=progress))
        finally:
            done()
        sys.stdout.flush()
        sys.stderr.flush()
        o = os_outcome(r)
        stderr_copy = bytes(errs.copy)
        extra = {"cpus": ncpus, "variant": kvariant,
                 "files": {k: str(v) for k, v in w.files.items()}}
    elif w.mode == "process":
        o = run_process_mode(exe, argv, env=w.env, stdin=w.stdin, stdout=out, stderr=sys.stderr.buffer,
                             max_insns=limit, show_progress=show, machine=cfg, sim_mode=sim_mode)
    else:
        o = _guarded(lambda: run_bare_mode(exe, stdout=out, max_insns=limit, show_progress=show,
                                           machine=cfg, sim_mode=sim_mode, argv=argv))
    if not quiet:
        summary(o, f"{w.name} ({w.mode} mode)")
    config = {"workload": w.name, "mode": w.mode, "program": str(exe), "argv": argv, "env": w.env,
              "max_insns": limit, "machine": cfg.name, "sim_mode": sim_mode, **extra}
    path = save(o, results, w.name, command="run", mode=w.mode, config=config, stdout=bytes(out.copy),
                stderr=stderr_copy)
    err.print(f"results: {path}")
    if w.mode == "os" and not w.vms:
        verdict = _os_verdict(r)
        if verdict:
            _fail(f"{w.name}: {verdict}", 1)
    if check:
        problems = w.check(o.status, bytes(out.copy))
        if problems:
            _fail(f"{w.name}: check failed: " + "; ".join(problems), 1)
        err.print(f"[green]check passed[/]")
    raise typer.Exit(o.status & 0xFF if o.status >= 0 else 1)


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
          mode: Optional[str] = typer.Option(None, "--mode", help="level of detail: functional (fastest) or timing (caches, directory, NUMA latencies)")) -> None:
    """Run PROGRAM [ARGS...] with its output passed through; exit with its status."""
    from flashvm.elf import ElfError
    from flashvm.machine.bare import GuestError
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
    show = not quiet and err.is_terminal
    if hal and vms is None:
        _fail("--hal applies only to --vms (the HAL kernel runs in Disco's VMs)")
    if os_ and vms is not None:
        if vms < 1:
            _fail(f"--vms {vms}: give at least 1 virtual machine")
        if variant is not None:
            _fail("--variant does not apply to --vms: VMs run the mapped kernel (--hal for its HAL build)")
        _check_user_program(program)
        guest = f"/bin/{program.name}"
        o, res = _run_disco({guest: program}, [guest, *args], cfg=cfg, sim_mode=sim_mode, vms=vms,
                            cpus=_cpus_option(cpus) or 1, hal=hal, max_insns=max_insns)
        if not quiet:
            summary(o, f"{program.name} (os mode in {vms} Disco VM{'s' if vms > 1 else ''})")
        config = {"program": str(program), "argv": [guest, *args], "mode": "disco", "max_insns": max_insns,
                  "machine": cfg.name, "sim_mode": sim_mode, "vms": vms, "cpus_per_vm": _cpus_option(cpus) or 1,
                  "hal": hal}
        path = save(o, results, program.name, command="exec", mode="disco", config=config, stdout=None)
        if not quiet:
            err.print(f"results: {path}")
        for vm in res:
            if vm.failure:
                err.print(f"{vm.name} failed: {vm.failure}", markup=False)
        raise typer.Exit(o.status & 0xFF if o.status >= 0 else 1)
    if os_:
        _exec_os(program, args, cfg=cfg, sim_mode=sim_mode, cpus=_cpus_option(cpus), variant=_os_variant(variant),
                 verbose=verbose, results=results, max_insns=max_insns, quiet=quiet, show=show)
    try:
        if bare:
            o = run_bare_mode(program, stdout=sys.stdout.buffer, max_insns=max_insns, show_progress=show,
                              machine=cfg, sim_mode=sim_mode, argv=[program.name, *args])
        else:
            o = run_process_mode(program, [program.name, *args], env=None, stdin=b"",
                                 stdout=sys.stdout.buffer, stderr=sys.stderr.buffer,
                                 max_insns=max_insns, show_progress=show, machine=cfg, sim_mode=sim_mode)
            sys.stdout.flush()
    except (ElfError, GuestError) as e:
        _fail(str(e))
    kind = "bare" if bare else "process"
    if not quiet:
        summary(o, f"{program.name} ({kind} mode)")
    config = {"program": str(program), "argv": [program.name, *args], "mode": kind, "max_insns": max_insns,
              "machine": cfg.name, "sim_mode": sim_mode}
    path = save(o, results, program.name, command="exec", mode=kind, config=config, stdout=None)
    if not quiet:
        err.print(f"results: {path}")
    raise typer.Exit(o.status & 0xFF if o.status >= 0 else 1)


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


def _exec_os(program: Path, args: List[str], *, cfg, sim_mode: str, cpus: int | None, variant: str,
             verbose: int, results: Path, max_insns: int | None, quiet: bool, show: bool) -> None:
    """`flashvm exec --os`: boot the guest OS with PROGRAM on its disk, run it, exit with its status."""
    from flashvm.osrun import boot_program
    _check_user_program(program)
    cfg = _os_machine(cfg, cpus, "--cpus")
    ncpus = cfg.ncpu
    guest = f"/bin/{program.name}"
    out, errs = Tee(sys.stdout.buffer, autoflush=False), Tee(sys.stderr.buffer, autoflush=False)
    live = {1: out, 2: errs}
    if verbose:
        live[3] = sys.stderr.buffer
    progress, done = _progress_callback(show and not verbose)
    try:
        r = _guarded(lambda: boot_program({guest: program}, [guest, *args], machine=cfg, mode=sim_mode,
                                          variant=variant, verbose=verbose, max_insns=max_insns,
                                          live=live, progress=progress))
    finally:
        done()
    sys.stdout.flush()
    o = os_outcome(r)
    if not quiet:
        summary(o, f"{program.name} (os mode, {variant} kernel)")
    config = {"program": str(program), "argv": [guest, *args], "mode": "os", "max_insns": max_insns,
              "machine": cfg.name, "sim_mode": sim_mode, "cpus": ncpus, "variant": variant,
              "guest_program": guest}
    path = save(o, results, program.name, command="exec", mode="os", config=config,
                stdout=bytes(out.copy), stderr=bytes(errs.copy))
    if not quiet:
        err.print(f"results: {path}")
    verdict = _os_verdict(r)
    if verdict:
        _fail(verdict, 1)
    raise typer.Exit(o.status & 0xFF)


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
