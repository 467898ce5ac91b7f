"""`--share` on the command line (exec --os --vms N, run --vms N): the run's VMs share memory
(HAL kernel, its text loaded once, the global disk cache), and the result file shows it."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from flashvm.results import read_run
from flashvm.toolchain import build_user

ROOT = Path(__file__).parents[2]
GUEST = ROOT / "tests" / "guest"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "flashvm.cli", *args], capture_output=True, timeout=600, cwd=ROOT)


def _memory(tmp_path: Path) -> tuple[dict, dict]:
    import h5py
    path = next(tmp_path.glob("*.h5"))
    with h5py.File(path) as f:
        attrs = dict(f["disco/memory"].attrs)
    return read_run(path)["config"], attrs


@pytest.mark.parametrize("share", [False, True])
def test_exec_share_shares_the_vms_memory(tmp_path, share):
    exe = build_user([GUEST / "exitcode.c"])
    p = _cli("exec", "--os", "--vms", "2", "--machine", "flash8", "--vm-mem", "16", "-q", *(["--share"] * share),
             "--results", str(tmp_path), str(exe))
    assert p.returncode == 42, p.stderr[-2000:]
    config, mem = _memory(tmp_path)
    assert config["share"] is share and config["hal"] is share        # --share runs the HAL kernel
    if share:       # the kernels' text (and the program's blocks) on one machine page for both VMs
        assert mem["machine_pages_total"] <= mem["guest_pages_total"] - 30
    else:           # no sharing: each VM's pages are its own
        assert mem["machine_pages_total"] == mem["guest_pages_total"]


def test_run_share_in_vms(tmp_path):
    d = tmp_path / "w"
    d.mkdir()
    (d / "p.c").write_text('#include <stdio.h>\nint main(void){puts("hello vm");return 0;}\n')
    (d / "workload.toml").write_text('name = "w"\n[build]\nsources = ["p.c"]\n[run]\nmode = "os"\n'
                                     'machine = "flash8"\n[check]\nstdout_contains = "hello vm"\n')
    out = tmp_path / "r"
    p = _cli("run", str(d), "--vms", "2", "--vm-mem", "16", "--share", "-q", "--results", str(out))
    assert p.returncode == 0, p.stderr[-2000:]
    assert b"[vm1] hello vm" in p.stdout and b"check passed" in p.stderr
    config, mem = _memory(out)
    assert config["share"] is True and mem["machine_pages_total"] <= mem["guest_pages_total"] - 30


@pytest.mark.parametrize("args", [["exec", "--os"], ["exec", "--splashos"], ["run"]])
def test_share_needs_vms(tmp_path, args):
    target = str(build_user([GUEST / "exitcode.c"])) if args[0] == "exec" else str(ROOT / "workloads" / "raytrace")
    p = _cli(*args, "--share", "--results", str(tmp_path), target)
    assert p.returncode == 2 and p.stderr.splitlines()[-1].startswith(b"error: --share applies only to"), p.stderr
