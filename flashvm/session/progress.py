"""The progress of a run: a status line on stderr while the guest runs
(instructions so far, simulated MIPS), or the same figures passed to a callback
(an experiment's worker).  The caller shows the line only on a terminal;
the line is cleared before the guest's own output goes out, and at the end, and
the guest's output written so far is flushed before the line is drawn (so the
two never share a line)."""
from __future__ import annotations

import io
import time
from typing import BinaryIO, Callable

from rich.console import Console
from rich.control import Control, ControlType
from rich.text import Text

EVERY_S = 0.25          # redraw at most this often


class Progress:
    """`progress(instructions)` reports the instructions done so far (at most every `every_s`
    seconds, with the rate since `restart`); `clear()` removes what is shown.  This base shows
    nothing: StatusLine draws a line on a terminal, Callback passes the figures on."""

    every_s: float | None = None        # None: EVERY_S

    def __init__(self) -> None:
        self.sinks: list[BinaryIO] = []      # the guest's output streams, flushed before each redraw
        self.restart()
        self.showing = False

    def restart(self) -> None:
        """Count the rate from now (the simulation's start, after any compiling)."""
        self.t0 = time.perf_counter()
        self.last = 0.0

    def __call__(self, done: int) -> None:
        now = time.perf_counter()
        if now - self.last <= (EVERY_S if self.every_s is None else self.every_s):
            return
        self.last = now
        self.show(done, done / max(now - self.t0, 1e-9) / 1e6)

    def show(self, done: int, mips: float) -> None:
        """Show `done` instructions at `mips` simulated MIPS."""

    def clear(self) -> None:
        """Remove what is shown."""


class StatusLine(Progress):
    """A status line on a terminal `console`: instructions so far, simulated MIPS."""

    def __init__(self, console: Console) -> None:
        self.console = console
        super().__init__()

    def show(self, done: int, mips: float) -> None:
        for sink in self.sinks:
            sink.flush()
        self.clear()
        self.console.print(Text(f"  {done / 1e6:,.0f} M instructions  {mips:,.1f} MIPS"), end="")
        self.console.file.flush()
        self.showing = True

    def clear(self) -> None:
        if self.showing:
            self.console.control(Control.move_to_column(0), Control((ControlType.ERASE_IN_LINE, 2)))
            self.console.file.flush()
            self.showing = False


class Callback(Progress):
    """Passes (instructions, simulated MIPS) to `report` every `every_s` seconds (an experiment's
    worker sends them to the client's progress display)."""

    def __init__(self, report: Callable[[int, float], None], every_s: float = 5.0) -> None:
        self.report = report
        self.every_s = every_s
        super().__init__()

    def show(self, done: int, mips: float) -> None:
        self.report(done, mips)


class Tee(io.RawIOBase):
    """A binary sink that keeps a copy of what is written and passes it on to
    `target` (if any), clearing the progress line first; `autoflush` flushes
    `target` after every write (else only when flushed)."""

    def __init__(self, target: BinaryIO | None, *, autoflush: bool = True,
                 progress: Progress | None = None) -> None:
        self.target = target
        self.copy = bytearray()
        self.autoflush = autoflush
        self.progress = progress
        if progress is not None and target is not None:
            progress.sinks.append(target)

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        self.copy += b
        if self.target is not None:
            if self.progress is not None:
                self.progress.clear()
            self.target.write(b)
            if self.autoflush:
                self.target.flush()
        return len(b)

    def flush(self) -> None:
        if not self.closed and self.target is not None:
            self.target.flush()

    def fileno(self) -> int:
        """The target's file descriptor: a guest that asks about its stdout sees the real file."""
        if self.target is None:
            raise io.UnsupportedOperation("fileno")
        return self.target.fileno()
