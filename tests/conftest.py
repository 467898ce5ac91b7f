"""Shared fixtures.  Tests that take more than a few seconds are marked
`@pytest.mark.slow`: `python -m pytest -m "not slow"` is the inner loop."""
from __future__ import annotations

import pytest

from flashvm.toolchain import build_user
from support import GUEST


@pytest.fixture(scope="session")
def guest_program():
    """Build (cached) a user program of tests/guest: guest_program("qsort.c") -> ELF path."""
    def build(name: str, *flags: str):
        return build_user([GUEST / name], extra_flags=list(flags))
    return build
