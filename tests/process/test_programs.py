"""Whole programs: each C test program of tests/guest/programs.toml runs under
flashvm's process mode and must give the same stdout and exit status as
qemu-mipsel on the same binary.

The expected files were produced by qemu-mipsel (tests/guest/regen_expected.py);
when qemu-mipsel is installed the test also runs it live on the very binary
flashvm ran, so a change of toolchain cannot make the two drift apart."""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import tomllib
from pathlib import Path

import pytest

from flashvm.process import run_process
from flashvm.toolchain import build_user

GUEST = Path(__file__).parents[1] / "guest"
PROGRAMS = tomllib.loads((GUEST / "programs.toml").read_text())["program"]
QEMU = shutil.which("qemu-mipsel")


def _run_flashvm(exe: Path, prog: dict) -> tuple[int, bytes]:
    out, errs = io.BytesIO(), io.BytesIO()
    env = [f"{k}={v}" for k, v in prog.get("env", {}).items()]
    cwd = GUEST / prog.get("cwd", ".")
    res = run_process(str(exe), [prog["name"], *prog.get("args", [])], env, stdout=out, stderr=errs,
                      cwd=str(cwd), max_insns=2_000_000_000)
    return res.status, out.getvalue()


@pytest.mark.parametrize("prog", PROGRAMS, ids=[p["name"] for p in PROGRAMS])
def test_program_matches_oracle(prog):
    sources = [GUEST / s for s in prog.get("sources", [f"{prog['name']}.c"])]
    exe = build_user(sources)
    status, out = _run_flashvm(exe, prog)
    expected = (GUEST / prog["stdout"]).read_bytes()
    assert out.decode(errors="replace") == expected.decode(errors="replace")
    assert status == prog["exit_status"]
    if QEMU:
        q = subprocess.run([QEMU, str(exe), *prog.get("args", [])], cwd=GUEST / prog.get("cwd", "."),
                           env=prog.get("env", {}), capture_output=True, timeout=120)
        assert (status, out) == (q.returncode, q.stdout)


def test_qemu_oracle_available_or_skipped():
    if QEMU is None:
        pytest.skip("qemu-mipsel not installed: live oracle comparisons skipped "
                    "(apt-get install qemu-user); stored qemu outputs are still compared")
    assert os.access(QEMU, os.X_OK)
