"""The paper's workloads that need no Debian packages (raytrace, radix, engineering's memsim half),
each at a tiny size (a test-only override of its args or commands) under the guest
OS on 1 CPU of flash1 and on the 8 CPUs of flash8 (also in timing mode), and in
one Disco VM, each passing its own check; the ray tracer's image checksum is the same for 1, 2 and 8
threads; `flashvm run --size` through the command line."""
from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys

import pytest

from flashvm.machine.config import machine_config, machine_with_cpus
from flashvm.session import run
from flashvm.workload import Workload, load_workload
from support import QEMU, ROOT, needs_qemu

ENGINEERING = ("checksum cb578d60", "checksum 798c7199", "checksum 9b2a929c")   # memsim 4 CPUs 20000 refs, seeds 1-3
# per workload: the tiny form's check and how it runs with `threads` threads (or simulations)
TINY = {
    "raytrace": (("checksum 99193806",), lambda t: {"args": (str(t), "32", "16")}),
    "radix": (("sorted, same keys", "checksum 50049c9d"), lambda t: {"args": (str(t), "20000")}),
    # the memory-system simulations only, on the plain root (the Verilog half, on Debian's
    # iverilog: test_engineering_verilog.py)
    "engineering": (ENGINEERING, lambda t: {"commands": tuple(
        ("/bin/engineering", "4", "20000", str(s)) for s in range(1, (3 if t > 1 else 2) + 1)),
        "debian": (), "files": {}}),
}


def tiny(name: str, threads: int, **more) -> Workload:
    """workloads/NAME in its tiny form with `threads` threads (engineering: 2 or 3 simulations)."""
    checks, form = TINY[name]
    w = load_workload(ROOT / "workloads" / name, "uni")
    contains = checks if name != "engineering" or threads > 1 else checks[:2]
    return dataclasses.replace(w, stdout_contains=contains, **form(threads), **more)


def run_on(w: Workload, machine: str, cpus: int, sim_mode: str = "functional"):
    """What `flashvm run` does: its RunSpec on `machine` (cut to `cpus` unless in Disco's VMs)."""
    cfg = machine_config(machine)
    if not w.vms:
        cfg = machine_with_cpus(cfg, cpus)
    report = run(w.spec(w.build(), machine=cfg, sim_mode=sim_mode, cpus=cpus))
    assert report.how_ended == "halted", report.end_message
    assert w.check_report(report) is None, (w.check_report(report), report.stdout[-400:], report.stderr[-400:])
    return report


@pytest.mark.parametrize("name", [pytest.param("raytrace", marks=pytest.mark.slow), "radix", "engineering"])
def test_under_the_os_on_one_cpu(name):
    r = run_on(tiny(name, 1), "flash1", 1)
    assert r.config.ncpu == 1 and r.spec.kind == "os"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["raytrace", "radix", "engineering"])
def test_on_the_eight_cpus_of_flash8(name):
    r = run_on(tiny(name, 8), "flash8", 8)
    assert r.config.ncpu == 8
    if name != "engineering":                        # the threads ran on several CPUs at once
        from flashvm.kernels import state as S
        assert (r.machine.stats[:, S.S_CYC_BASE + 2] > 0).sum() >= 4


@pytest.mark.slow
@pytest.mark.parametrize("name", ["raytrace", "radix", "engineering"])
def test_in_one_disco_vm(name):
    r = run_on(tiny(name, 1, vms=1, vm_mem_mb=48 if name == "engineering" else None), "flash1", 1)
    assert r.spec.kind == "disco" and len(r.vms) == 1


@pytest.mark.slow
@pytest.mark.parametrize("name", ["radix", "engineering"])
def test_in_timing_mode_on_flash8(name):
    from flashvm.kernels import state as S
    r = run_on(tiny(name, 8), "flash8", 8, "timing")
    assert r.sim_mode == "timing" and r.machine.stats[:, S.S_MISS_REMOTE].sum() > 0


@pytest.mark.slow
def test_raytrace_two_threads_give_the_same_image():
    """With test_under_the_os_on_one_cpu and test_on_the_eight_cpus_of_flash8: 1, 2 and 8 threads."""
    run_on(tiny("raytrace", 2), "flash8", 2)


@needs_qemu
@pytest.mark.parametrize("name, argv", [("raytrace", ["64", "48"]), ("radix", ["30000", "6"])])
def test_same_result_for_any_thread_count(name, argv):
    """Everything after the first line (which names the thread count) is the same."""
    exe = load_workload(ROOT / "workloads" / name).build()
    outs = {t: subprocess.run([QEMU, str(exe), str(t), *argv], capture_output=True, timeout=120)
            for t in (1, 2, 3, 8)}
    assert all(o.returncode == 0 for o in outs.values())
    rest = {o.stdout.split(b"\n", 1)[1] for o in outs.values()}
    assert len(rest) == 1 and b"checksum " in rest.pop()


@needs_qemu
def test_memsim_checks_itself():
    exe = load_workload(ROOT / "workloads" / "engineering").build()
    out = subprocess.run([QEMU, str(exe), "4", "20000", "1"], capture_output=True, timeout=60)
    assert out.returncode == 0 and ENGINEERING[0].encode() in out.stdout and out.stdout.endswith(b"memsim ok\n")
    bad = subprocess.run([QEMU, str(exe), "0", "1"], capture_output=True, timeout=60)
    assert bad.returncode == 2 and b"usage: memsim" in bad.stderr


@pytest.mark.slow
def test_flashvm_run_size_mp(tmp_path):
    """`flashvm run --size mp` on a copy of workloads/radix whose mp form is tiny."""
    d = tmp_path / "radix"
    d.mkdir()
    shutil.copy(ROOT / "workloads" / "radix" / "radix.c", d)
    text = (ROOT / "workloads" / "radix" / "workload.toml").read_text()
    (d / "workload.toml").write_text(text.replace('args = ["8", "4194304"]', 'args = ["8", "20000"]')
                                     .replace("checksum 65fa48cc", "checksum 50049c9d"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-m", "flashvm.cli", "run", "--size", "mp", "--results", str(tmp_path),
                        str(d)], capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "checksum 50049c9d" in p.stdout and "check passed" in p.stderr and "mp size" in p.stderr
    p = subprocess.run([sys.executable, "-m", "flashvm.cli", "run", "--size", "big", str(d)],
                       capture_output=True, text=True, env=env, cwd=ROOT, timeout=300)
    assert p.returncode == 2 and "no size 'big': it has uni, mp" in p.stderr
