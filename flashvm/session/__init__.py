"""The session: one way to run anything.  A RunSpec goes in, the runner for its
kind runs it (process, bare, os, disco), a RunReport comes out.

    report = run(spec, stdout=sys.stdout.buffer, stderr=sys.stderr.buffer, console=err)
    summary(report, err); exit_status(report)
"""
from __future__ import annotations

import contextlib
import sys
from typing import BinaryIO

from rich.console import Console

from flashvm.elf import load_elf
from flashvm.guestos import build_kernel
from flashvm.machine.trace import Tracer, run_fn
from flashvm.process.abi import SYSCALL_NAMES
from flashvm.process.image import read_program
from flashvm.session.progress import Progress
from flashvm.session.runners import RUNNERS
from flashvm.session.status import exit_status, os_verdict, vm_failures
from flashvm.session.summary import summary
from flashvm.spec import RunReport, RunSpec

__all__ = ["run", "summary", "exit_status", "os_verdict", "vm_failures", "RunSpec", "RunReport"]


def run(spec: RunSpec, *, stdout: BinaryIO | None = None, stderr: BinaryIO | None = None,
        console: Console | None = None) -> RunReport:
    """Run `spec`.  The guest's stdout/stderr pass through to `stdout`/`stderr` as
    they come (None: only kept in the report); with a `console` the progress line
    is shown on it (the caller gives one only for a terminal).  The kernel log of a
    verbose OS run goes to `stderr`, and then no progress is shown."""
    progress = Progress(console) if console is not None and not spec.verbose and not spec.trace else None
    with contextlib.ExitStack() as stack:
        tracer = _tracer(spec, stack)
        try:
            return RUNNERS[spec.kind](spec, stdout, stderr, progress, run_fn(tracer))
        finally:
            if tracer is not None:
                tracer.flush()
            if progress is not None:
                progress.clear()
            for sink in (stdout, stderr):
                if sink is not None:
                    sink.flush()


def _tracer(spec: RunSpec, stack: contextlib.ExitStack) -> Tracer | None:
    """The trace `spec` asks for (docs/trace.md), writing to its trace file or stderr;
    named by the program's symbols, and the guest kernel's on the guest OS."""
    if not spec.trace:
        return None
    out = stack.enter_context(open(spec.trace_file, "w")) if spec.trace_file is not None else sys.stderr
    symbols = [read_program(str(spec.program)).image.symbols]    # none for a dynamic program
    if spec.kind in ("os", "disco"):
        kernel = build_kernel("hal" if spec.hal else "mapped" if spec.kind == "disco" else spec.variant)
        symbols.insert(0, load_elf(kernel).symbols)
    return Tracer(spec.trace, out, symbols=symbols, syscall_names=SYSCALL_NAMES)
