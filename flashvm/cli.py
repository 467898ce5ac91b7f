"""The `flashvm` command line.

    flashvm run workloads/raytrace        build, run and check a workload
    flashvm exec PROGRAM [ARGS...]        run a static mipsel Linux program (process mode)
    flashvm exec --bare KERNEL.elf        boot a freestanding program on the bare machine
    flashvm disasm PROGRAM [--symbol main]

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
    """A binary stream that writes through to `target` and keeps a copy."""

    def __init__(self, target) -> None:
        self.target = target
        self.copy = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        self.copy += b
        self.target.write(b)
        self.target.flush()
        return len(b)


@dataclass
class Outcome:
    status: int
    machine: object
    instructions: int
    host_seconds: float
    syscalls: dict = field(default_factory=dict)
    unknown_syscalls: dict = field(default_factory=dict)
    message: str | None = None


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
                     max_insns: int | None, show_progress: bool, total_hint: int | None = None) -> Outcome:
    from flashvm.machine.process import LinuxProcess
    proc = LinuxProcess(str(exe), argv, [f"{k}={v}" for k, v in (env or {}).items()],
                        stdin=io.BytesIO(stdin), stdout=stdout, stderr=stderr)
    runner, done = _progress_runner(total_hint, show_progress)
    try:
        res = proc.run(max_insns=max_insns, run_fn=runner)
    finally:
        done()
    return Outcome(res.status, proc.m, res.insns, res.wall_seconds, dict(res.syscalls_by_number),
                   dict(res.unknown_syscalls), res.message)


def run_bare_mode(exe: Path, *, stdout, max_insns: int | None, show_progress: bool) -> Outcome:
    from flashvm.elf import load_elf
    from flashvm.machine.bare import BareMachine
    bm = BareMachine(out=stdout)
    bm.load(load_elf(exe))
    r = bm.run(max_insns=max_insns)
    return Outcome(r.status, bm.m, r.instructions, r.host_seconds)


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
    t.add_row("simulated cycles", f"{int(m.cpu[:, S.CYCLES].max()):,}")
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
                     attrs={"command": command, "workload": name, "mode": mode, "status": o.status,
                            "host_seconds": o.host_seconds},
                     syscalls=o.syscalls if mode == "process" else None,
                     unknown_syscalls=o.unknown_syscalls if mode == "process" else None,
                     stdout=stdout, stderr=stderr)
    return path


def _fail(msg: str, code: int = 2) -> None:
    sys.stderr.write(f"error: {msg}\n")
    raise typer.Exit(code)


@app.command()
def run(workload: Path = typer.Argument(..., help="workload directory (holding workload.toml)"),
        results: Path = typer.Option(DEFAULT_RESULTS, help="directory for the HDF5 result file"),
        max_insns: Optional[int] = typer.Option(None, help="stop the guest after this many instructions"),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="no progress display and no summary"),
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
    out = Tee(sys.stdout.buffer)
    argv = [w.name, *w.args]
    show = not quiet and err.is_terminal
    limit = max_insns or w.max_insns
    if w.mode == "process":
        o = run_process_mode(exe, argv, env=w.env, stdin=w.stdin, stdout=out, stderr=sys.stderr.buffer,
                             max_insns=limit, show_progress=show)
    else:
        o = run_bare_mode(exe, stdout=out, max_insns=limit, show_progress=show)
    if not quiet:
        summary(o, f"{w.name} ({w.mode} mode)")
    config = {"workload": w.name, "mode": w.mode, "program": str(exe), "argv": argv, "env": w.env,
              "max_insns": limit}
    path = save(o, results, w.name, command="run", mode=w.mode, config=config, stdout=bytes(out.copy))
    err.print(f"results: {path}")
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
          results: Path = typer.Option(DEFAULT_RESULTS, help="directory for the HDF5 result file"),
          max_insns: Optional[int] = typer.Option(None, help="stop the guest after this many instructions"),
          quiet: bool = typer.Option(False, "--quiet", "-q", help="no summary on stderr")) -> None:
    """Run PROGRAM [ARGS...] with its output passed through; exit with its status."""
    from flashvm.elf import ElfError
    from flashvm.machine.bare import GuestError
    if not program.exists():
        _fail(f"{program}: no such file")
    args: List[str] = list(ctx.args)
    show = not quiet and err.is_terminal
    try:
        if bare:
            o = run_bare_mode(program, stdout=sys.stdout.buffer, max_insns=max_insns, show_progress=show)
        else:
            o = run_process_mode(program, [program.name, *args], env=None, stdin=b"",
                                 stdout=sys.stdout.buffer, stderr=sys.stderr.buffer,
                                 max_insns=max_insns, show_progress=show)
            sys.stdout.flush()
    except (ElfError, GuestError) as e:
        _fail(str(e))
    mode = "bare" if bare else "process"
    if not quiet:
        summary(o, f"{program.name} ({mode} mode)")
    config = {"program": str(program), "argv": [program.name, *args], "mode": mode, "max_insns": max_insns}
    path = save(o, results, program.name, command="exec", mode=mode, config=config, stdout=None)
    if not quiet:
        err.print(f"results: {path}")
    raise typer.Exit(o.status & 0xFF if o.status >= 0 else 1)


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
