"""A command line that only asks for help or has a bad option ends before the simulator
is imported: neither Numba nor NumPy (a second or more of every such process)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[2]

# runs the command line in-process, then prints the exit code and which HEAVY modules got imported
PROBE = """
import json, sys
from flashvm.cli import main
sys.argv = ["flashvm", *sys.argv[1:]]
try:
    main()
    code = 0
except SystemExit as e:
    code = e.code
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("numba", "numpy", "llvmlite", "h5py")
               or m in ("flashvm.kernels", "flashvm.machine.flash", "flashvm.guestos"))
print(json.dumps({"code": code, "heavy": heavy}), file=sys.__stdout__)
"""


def probe(*args: str) -> tuple[dict, str]:
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    p = subprocess.run([sys.executable, "-c", PROBE, *args], cwd=ROOT, capture_output=True, timeout=300, env=env)
    return json.loads(p.stdout.decode().strip().splitlines()[-1]), p.stderr.decode()


@pytest.mark.parametrize("args, message", [
    (("exec", "--vms", "0", "x"), "error: --vms applies only to --os\n"),
    (("exec", "--bare", "--os", "x"), "error: --bare, --os and --splashos exclude each other\n"),
    (("exec", "--max-insns", "0", "x"), "error: --max-insns 0: "),
    (("exec", "no/such/program"), "error: no/such/program: no such file\n"),
    (("run", "workloads/raytrace", "--timeout", "-1"), "error: --timeout -1: give a positive number of seconds\n"),
])
def test_option_error_imports_no_simulator(args, message):
    got, err = probe(*args)
    assert got["code"] == 2 and err.startswith(message) and err.count("\n") == 1, err
    assert got["heavy"] == [], f"{' '.join(args)} imported {got['heavy']}"


def test_help_imports_no_simulator():
    got, err = probe("--help")
    assert got["code"] == 0 and got["heavy"] == [], (got, err)


def test_jit_flag_still_reaches_the_tier():
    """--no-jit before a bad option: the tier is told (its module imported), the error is still one line."""
    got, err = probe("--no-jit", "exec", "--vms", "0", "x")
    assert got["code"] == 2 and err == "error: --vms applies only to --os\n"
    assert "numba" in got["heavy"]          # flashvm.kernels.jit is Numba's: --jit/--no-jit pays for it
