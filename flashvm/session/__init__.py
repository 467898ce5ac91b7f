"""The session: one way to run anything.  A RunSpec goes in, the runner for its
kind runs it (process, bare, os, disco), a RunReport comes out.

    report = run(spec, stdout=sys.stdout.buffer, stderr=sys.stderr.buffer, console=err)
    summary(report, err); exit_status(report)

Each name is imported from its module on first use (PEP 562): a command that only
checks its options (flashvm.session.options) loads neither Numba nor the simulator.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flashvm.session.running import resume, run
    from flashvm.session.status import end_line, exit_status, os_verdict, status_text, vm_failures
    from flashvm.session.summary import summary
    from flashvm.spec import RunReport, RunSpec

__all__ = ["run", "resume", "summary", "exit_status", "end_line", "status_text", "os_verdict", "vm_failures",
           "RunSpec", "RunReport"]

# name -> the module that defines it
_HOMES = {"run": "flashvm.session.running", "resume": "flashvm.session.running",
          "summary": "flashvm.session.summary", "exit_status": "flashvm.session.status",
          "end_line": "flashvm.session.status", "status_text": "flashvm.session.status",
          "os_verdict": "flashvm.session.status", "vm_failures": "flashvm.session.status",
          "RunSpec": "flashvm.spec", "RunReport": "flashvm.spec"}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])
