"""The session: one way to run anything.  A RunSpec goes in, the runner for its
kind runs it (process, bare, os, disco), a RunReport comes out.

    report = run(spec, stdout=sys.stdout.buffer, stderr=sys.stderr.buffer, console=err)
    summary(report, err); exit_status(report)
"""
from __future__ import annotations

from typing import BinaryIO

from rich.console import Console

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
    progress = Progress(console) if console is not None and not spec.verbose else None
    try:
        return RUNNERS[spec.kind](spec, stdout, stderr, progress)
    finally:
        if progress is not None:
            progress.clear()
        for sink in (stdout, stderr):
            if sink is not None:
                sink.flush()
