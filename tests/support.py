"""What the test modules share: the checkout's paths and the whole-program oracle.

tests/ is on sys.path (pyproject's [tool.pytest.ini_options] pythonpath), so
any test module, in whichever folder, says `from support import GUEST, needs_qemu`.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]       # the checkout
TESTS = ROOT / "tests"
GUEST = TESTS / "guest"                          # the guest C test programs
BARE = GUEST / "bare"                            # ... freestanding, for the bare machine
OS_PROGRAMS = GUEST / "os"                       # ... for the guest OS

# the whole-program oracle: Debian's qemu-user (installed by .ci/run)
QEMU = shutil.which("qemu-mipsel")
needs_qemu = pytest.mark.skipif(QEMU is None, reason="qemu-mipsel not installed (Debian package qemu-user): "
                                                     "the live oracle comparison is skipped")
