"""bench/programs/raysort.c (issue 16's ray tracer + sort program) at a small size: flashvm prints
what qemu-mipsel prints for the same binary, with and without the JIT tier (the tier made to
translate in so short a run)."""
from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from flashvm.kernels import jit
from flashvm.machine.config import machine_config
from flashvm.session import run
from flashvm.spec import RunSpec
from flashvm.toolchain import build_user
from tests.jit.eager import eager_tier

SOURCE = Path(__file__).resolve().parents[2] / "bench" / "programs" / "raysort.c"
ARGV = ("raysort", "48", "32", "5000", "1")
# qemu-mipsel 7.2, same binary and arguments (checked live below when qemu is installed)
EXPECTED = (b"ray 48x32 checksum 767ebd99\n"
            b"sort 5000 keys x 1 rounds checksum 04b90677\n"
            b"raysort checksum fba461be\n")


@pytest.fixture(scope="module")
def exe() -> Path:
    return Path(build_user([SOURCE]))


def test_qemu_prints_the_stored_output(exe):
    qemu = shutil.which("qemu-mipsel")
    if qemu is None:
        pytest.skip("qemu-mipsel not installed")
    got = subprocess.run([qemu, "-0", ARGV[0], str(exe), *ARGV[1:]], capture_output=True, check=True)
    assert got.stdout == EXPECTED


def test_flashvm_prints_what_qemu_prints(exe):
    jit.set_enabled(False)
    try:
        got = run(RunSpec("process", exe, machine_config("flash1"), argv=ARGV))
    finally:
        jit.set_enabled(None)
    assert got.stdout == EXPECTED


@pytest.mark.slow
def test_flashvm_jit_prints_what_qemu_prints(exe, monkeypatch, tmp_path):
    eager_tier(monkeypatch, tmp_path, slice_=1 << 17)
    spec = RunSpec("process", exe, machine_config("flash1"), argv=ARGV)
    jit.set_enabled(False)
    try:
        ref = run(spec)
        jit.set_enabled(True)
        got = run(spec)
    finally:
        jit.set_enabled(None)
    assert got.stdout == ref.stdout == EXPECTED
    assert got.instructions == ref.instructions
    assert got.jit["regions"] > 0 and got.jit["jit_insns"] > 0.5 * got.instructions
