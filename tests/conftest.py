"""Shared fixtures.  Tests that take more than a few seconds are marked
`@pytest.mark.slow`: `python -m pytest -m "not slow"` is the inner loop."""
from __future__ import annotations

import os

import pytest

# The suite runs the interpreter (the reference) unless FLASHVM_JIT=1 asks for the JIT tier, which is
# on by default for users: tests/jit compares the two itself (set_enabled), and the regions the
# suite's long programs would otherwise compile on a cold cache cost CI minutes.  Subprocesses
# inherit it.
os.environ.setdefault("FLASHVM_JIT", "0")

from flashvm.toolchain import build_user  # noqa: E402
from support import GUEST


@pytest.fixture(scope="session")
def guest_program():
    """Build (cached) a user program of tests/guest: guest_program("qsort.c") -> ELF path."""
    def build(name: str, *flags: str):
        return build_user([GUEST / name], extra_flags=list(flags))
    return build


@pytest.fixture(scope="session", autouse=True)
def _interpreter_compiled_once():
    """Under pytest-xdist (`-n`) the workers start together: on a cold cache each would compile
    the interpreter's call tree (minutes of CPU) at the same time.  They take turns instead
    (flashvm.session.warmup.compile_lock): one compiles, the others load what it cached."""
    if os.environ.get("PYTEST_XDIST_WORKER"):
        from flashvm.machine.config import machine_config
        from flashvm.machine.flash import build_state
        from flashvm.session.warmup import warm_up
        warm_up(build_state(machine_config("flash1"), timing=False, ram_bytes=1 << 20), None, None)
    yield
