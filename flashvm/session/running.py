"""run() and resume(): a RunSpec goes in, the runner for its kind runs it (process, bare,
os, disco), a RunReport comes out (flashvm.session gives them, imported on first use)."""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import sys
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Callable

from rich.console import Console

from flashvm.elf import SymbolTable, load_elf
from flashvm.guestos import build_kernel
from flashvm.machine.checkpoint import sources
from flashvm.machine.flash import build_state, chunk_hook
from flashvm.kernels import jit
from flashvm.machine.trace import Tracer, run_fn
from flashvm.process.abi import SYSCALL_NAMES
from flashvm.session.fastforward import fast_forwarded
from flashvm.session.ends import STALL_SECONDS, Watch, cpu_states, with_default_limit
from flashvm.process.image import read_program
from flashvm.session.progress import Progress, StatusLine
from flashvm.session.runners import RUNNERS
from flashvm.session.sampling import PeriodicSampler
from flashvm.session.warmup import warm_up
from flashvm import __version__
from flashvm.spec import RunReport, RunSpec

if TYPE_CHECKING:      # checkpoints and gdb: imported by the runs that ask for them
    from flashvm.machine.gdbstub import GdbStub
    from flashvm.session.checkpointing import Checkpointer

__all__ = ["run", "resume"]


def run(spec: RunSpec, *, stdout: BinaryIO | None = None, stderr: BinaryIO | None = None,
        console: Console | None = None, say: Callable[[str], None] | None = None,
        progress: Progress | None = None) -> RunReport:
    """Run `spec`, however it ends (the report's how_ended: halted, limit, deadlock,
    interrupted).  The guest's stdout/stderr pass through to `stdout`/`stderr` as
    they come (None: only kept in the report); with a `console` the progress line
    is shown on it (the caller gives one only for a terminal), or the instructions
    done go to `progress` (flashvm/session/progress.py).  The kernel log of a
    verbose OS run goes to `stderr`, and then no progress is shown.  `say` takes
    flashvm's own one-line notes (a first-use compile).  Without spec.max_insns
    the run stops at the default limit (flashvm/session/ends.py)."""
    spec = with_default_limit(spec)
    if spec.verbose or spec.trace or spec.gdb is not None:
        progress = None
    elif console is not None:
        progress = StatusLine(console)
    symbols = _symbols(spec)
    with contextlib.ExitStack() as stack:
        tracer = _tracer(spec, stack, symbols)
        # the interpreter is compiled (or loaded) before the run's clock starts
        warm_up(build_state(spec.machine, timing=False, ram_bytes=1 << 20), say, console)
        stub = _gdb(spec, say)
        guest_os = spec.kind in ("os", "disco")
        stall = int(STALL_SECONDS * spec.machine.clock_mhz * 1e6) if guest_os else None
        inner = stub.run if stub is not None else fast_forwarded(spec, run_fn(tracer))
        watch = Watch(inner, timeout_s=spec.timeout_s, stall_cycles=stall, symbols=symbols)
        if progress is not None:
            progress.restart()
        report = None
        ckpt = _checkpointer(spec, stdout, stderr, progress, say)
        sampler = inner if isinstance(inner, PeriodicSampler) else None
        hook = chunk_hook.set(sampler.hook if sampler is not None else ckpt)
        try:
            jit.reset_stats()
            jit.set_profile(_profile_name(spec) if jit.enabled() else None)
            report = _named(RUNNERS[spec.kind](spec, stdout, stderr, progress, watch), symbols)
            if report.how_ended == "halted":     # what the next run of this spec loads at its start
                jit.save_profile()
            if sampler is not None:
                sampler.attach(report.regions, report.machine)
                if sampler.region() is None and say is not None:
                    say("note: nothing sampled: the run ended before its first region of interest (--sample-period)")
            if ckpt is not None and ckpt.path is None:
                ckpt.say(f"note: no checkpoint written: the run ended before --checkpoint-at {spec.checkpoint_at}")
            if jit.enabled():
                report = dataclasses.replace(report, jit=jit.stats())
            return report
        finally:
            chunk_hook.reset(hook)
            jit.set_profile(None)
            if stub is not None:
                stub.finish(report.status if report is not None and report.how_ended == "halted" else None)
            if tracer is not None:
                tracer.flush()
            if progress is not None:
                progress.clear()
            for sink in (stdout, stderr):
                if sink is not None:
                    sink.flush()


def _profile_name(spec: RunSpec) -> str:
    """The JIT tier's profile of a run (flashvm/kernels/jit.py): named by what the run runs, so the
    next run of the same specification starts with the regions this one used."""
    return hashlib.sha256(f"{__version__}/{spec!r}".encode()).hexdigest()[:24]


def _checkpointer(spec: RunSpec, stdout: BinaryIO | None, stderr: BinaryIO | None, progress: Progress | None,
                  say: Callable[[str], None] | None) -> Checkpointer | None:
    """The chunk hook that writes `spec`'s checkpoint (--checkpoint-at), if it asks for one."""
    if spec.checkpoint_at is None:
        return None
    from flashvm.session.checkpointing import Checkpointer, checkpoint_at_option
    at = checkpoint_at_option(spec.checkpoint_at)
    if at is None:
        return None
    if spec.fast_forward is not None:
        raise ValueError("--checkpoint-at and --fast-forward exclude each other; checkpoint in functional "
                         "mode and resume it with --mode timing")
    if spec.gdb is not None:
        raise ValueError("--checkpoint-at and --gdb exclude each other")
    return Checkpointer(spec, at, spec.checkpoint_dir or Path("results"), stdout=stdout, stderr=stderr,
                        progress=progress, say=say or (lambda line: print(line, file=sys.stderr, flush=True)))


def resume(path: str | Path, *, mode: str | None = None, options: str | None = None,
           max_insns: int | None = None, timeout: float | None = None, stdout: BinaryIO | None = None,
           stderr: BinaryIO | None = None, console: Console | None = None,
           say: Callable[[str], None] | None = None) -> RunReport:
    """Finish the run saved in checkpoint `path` (flashvm/session/checkpointing.py), in `mode`
    (None: the saved one) with --machine-options `options`; the streams, console and `say`
    as for run().  CheckpointError: the file cannot be used (one line)."""
    from flashvm.session.checkpointing import FINISH, _externals, load, machine_options, reconfigure, resumed_spec
    progress = StatusLine(console) if console is not None else None
    fm, spec, notes = load(path, _externals(stdout, stderr, progress))
    if notes.get("sources") != sources() and say is not None:
        say("note: the checkpoint was made by other flashvm sources; the run may end differently "
            "from an uninterrupted one")
    cfg = machine_options(fm.cfg, options)
    spec = resumed_spec(spec, mode, cfg, max_insns, timeout)
    reconfigure(fm, mode, cfg)
    warm_up(fm.m, say, console)
    symbols = _symbols(spec)
    stall = int(STALL_SECONDS * cfg.clock_mhz * 1e6) if spec.kind in ("os", "disco") else None
    watch = Watch(run_fn(None), timeout_s=spec.timeout_s, stall_cycles=stall, symbols=symbols)
    if progress is not None:
        progress.restart()
    try:
        return _named(FINISH[spec.kind](spec, fm, stdout, stderr, progress, watch), symbols)
    finally:
        if progress is not None:
            progress.clear()
        for sink in (stdout, stderr):
            if sink is not None:
                sink.flush()


def _named(report: RunReport, symbols: list[SymbolTable]) -> RunReport:
    """The machine finds "every CPU waits" without knowing names: add what each CPU is doing."""
    said = report.end_message or ""
    if report.how_ended == "deadlock" and said.startswith("every CPU waits"):
        head = said.split(" (CPU ")[0]
        report.end_message = f"{head}: {cpu_states(report.machine, symbols)}"
    return report


def _symbols(spec: RunSpec) -> list[SymbolTable]:
    """The symbols a PC of the run is named by: the guest kernel's on the guest OS, then the program's."""
    symbols = [read_program(str(spec.program)).image.symbols]    # none for a dynamic program
    if spec.kind in ("os", "disco"):
        kernel = build_kernel("hal" if spec.hal else "mapped" if spec.kind == "disco" else spec.variant)
        symbols.insert(0, load_elf(kernel).symbols)
    return symbols


def _gdb(spec: RunSpec, say: Callable[[str], None] | None) -> GdbStub | None:
    """The gdb stub `spec` asks for (docs/gdb.md); it says where it listens even in a quiet run."""
    if spec.gdb is None:
        return None
    from flashvm.machine.gdbstub import GdbStub
    return GdbStub(spec.gdb, wait=spec.gdb_wait, clock_mhz=spec.machine.clock_mhz,
                   say=say or (lambda line: print(line, file=sys.stderr, flush=True)))


def _tracer(spec: RunSpec, stack: contextlib.ExitStack, symbols: list[SymbolTable]) -> Tracer | None:
    """The trace `spec` asks for (docs/trace.md), writing to its trace file or stderr;
    named by the program's symbols, and the guest kernel's on the guest OS."""
    if not spec.trace:
        return None
    out = stack.enter_context(open(spec.trace_file, "w")) if spec.trace_file is not None else sys.stderr
    return Tracer(spec.trace, out, symbols=symbols, syscall_names=SYSCALL_NAMES)
