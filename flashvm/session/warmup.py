"""The first run on a machine: Numba compiles the interpreter once (minutes)
and caches it (flashvm/kernels/__init__.py says where).  The session compiles
it here, before the run's clock starts, so the compile neither counts in the
run's host seconds nor in its MIPS; a cold cache is announced in one line and,
on a terminal, an elapsed-time line runs while the compiler works.  Processes
that start on a cold cache at once (parallel tests, a sweep's workers) take
turns: one compiles, the others wait and then load what it cached."""
from __future__ import annotations

import contextlib
import fcntl
import time
from pathlib import Path
from typing import Callable, Iterator

import numba
from rich.console import Console
from rich.text import Text

from flashvm.kernels import jit
from flashvm.kernels.run import run_nb
from flashvm.kernels.state import P_TIMING, Machine


def interpreter_cached() -> bool:
    """Numba's cache holds the interpreter's index file (so loading it takes seconds, not minutes)."""
    try:
        return Path(run_nb._cache._cache_file._index_path).is_file()
    except AttributeError:        # a Numba without this cache layout: assume warm, say nothing
        return True


@contextlib.contextmanager
def compile_lock() -> Iterator[None]:
    """Held while a cold cache is filled: Numba compiles a whole call tree in each process that
    asks for it, so two processes compiling at once spend twice the CPU for one cache."""
    folder = Path(numba.config.CACHE_DIR)  # type: ignore[attr-defined]  # set by flashvm.kernels
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "compile.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def compile_interpreter(m: Machine) -> None:
    """Compile (or load from the cache) the interpreter for machines typed like `m` (and the
    JIT tier's loop when the tier is on)."""
    if not jit.enabled():
        # with the tier on the plain loop runs only timing mode: loaded when first called
        # (a functional run with --jit then starts ~0.3 s sooner)
        run_nb.compile((numba.typeof(m), numba.int64))
    if jit.enabled():
        from flashvm.kernels.jitrun import run_jit_nb
        t = jit.Tier()
        run_jit_nb.compile(tuple(numba.typeof(x) for x in (m, 0, t.jt, t.jcnt, t.jq, t.jstat, t.jctx)))
        if m.params[P_TIMING]:       # timing mode: the tier's timing loop (flashvm/kernels/jittiming.py)
            from flashvm.kernels.jitrun_timing import run_jit_timing_nb
            run_jit_timing_nb.compile(tuple(numba.typeof(x) for x in (m, 0, t.jt, t.jcnt, t.jq, t.jstat, t.jctx)))


def _compile(m: Machine) -> None:
    compile_interpreter(m)


class _Elapsed:
    """The spinner's text, redrawn with the time so far."""

    def __init__(self) -> None:
        self.t0 = time.perf_counter()

    def __rich__(self) -> Text:
        return Text(f"compiling the interpreter: {time.perf_counter() - self.t0:.0f} s")


def warm_up(m: Machine, say: Callable[[str], None] | None, console: Console | None) -> None:
    """Make the interpreter ready for `m` (the JIT tier's loop when the tier is on): when the
    cache is cold, `say` what is being compiled and that it happens once, and show the elapsed
    time on `console` (a terminal)."""
    if interpreter_cached():
        _compile(m)
        return
    with compile_lock():
        _cold_compile(m, say, console)


def _cold_compile(m: Machine, say: Callable[[str], None] | None, console: Console | None) -> None:
    if interpreter_cached():          # another process filled the cache while this one waited
        _compile(m)
        return
    if say is not None:
        say("flashvm: compiling the simulator's interpreter with Numba; this happens once "
            "(a few minutes), later runs load it from the cache")
    if console is None:
        _compile(m)
        return
    with console.status(_Elapsed()):
        _compile(m)
