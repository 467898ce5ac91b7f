"""`flashvm run --splashos`: a workload's program built against SPLASHOS and run
in one Disco VM ([splashos] table), checked like any run; refusals."""
from __future__ import annotations

import dataclasses
import os
import shutil
import subprocess
import sys

import pytest

from flashvm.elf import load_elf
from flashvm.disco.splashos import is_splashos
from flashvm.machine.config import machine_config, machine_with_cpus
from flashvm.session import run
from flashvm.workload import WorkloadError, load_workload
from support import ROOT

RADIX = ROOT / "workloads" / "radix"
TINY = {"args": ("1", "20000"), "stdout_contains": ("sorted, same keys", "checksum 50049c9d")}


def test_radix_on_splashos_in_one_vm():
    w = dataclasses.replace(load_workload(RADIX, splashos=True), **TINY)
    assert w.splashos and w.splashos_vm_mem_mb == 48
    exe = w.build()
    assert is_splashos(load_elf(exe))
    spec = w.spec(exe, machine=machine_with_cpus(machine_config("flash1"), 1), sim_mode="functional")
    assert spec.kind == "splashos" and spec.vms == 1 and spec.vm_mem_mb == 48
    report = run(spec)
    assert report.how_ended == "halted" and w.check_report(report) is None, report.stdout[-400:]
    assert len(report.vms) == 1


def test_splashos_needs_the_table(tmp_path):
    d = tmp_path / "radix"
    d.mkdir()
    shutil.copy(RADIX / "radix.c", d)
    text = (RADIX / "workload.toml").read_text()
    (d / "workload.toml").write_text(text[:text.index("[splashos]")])
    assert not load_workload(d).splashos
    with pytest.raises(WorkloadError, match=r"no \[splashos\] table"):
        load_workload(d, splashos=True)
    (d / "workload.toml").write_text(text.replace("vm_mem_mb = 48", "vm_mem_mb = 0"))
    with pytest.raises(WorkloadError, match="splashos.vm_mem_mb is 0"):
        load_workload(d, splashos=True)
    (d / "workload.toml").write_text(text.replace("vm_mem_mb = 48", "vm_mem_mb = 48\nvms = 2"))
    with pytest.raises(WorkloadError, match="unknown key 'vms' in \\[splashos\\]"):
        load_workload(d)


def test_flashvm_run_splashos_command_line(tmp_path):
    """`flashvm run --splashos --size mp` on a copy of workloads/radix whose mp form is tiny."""
    d = tmp_path / "radix"
    d.mkdir()
    shutil.copy(RADIX / "radix.c", d)
    text = (RADIX / "workload.toml").read_text()
    (d / "workload.toml").write_text(text.replace('args = ["8", "4194304"]', 'args = ["8", "20000"]')
                                     .replace("checksum 65fa48cc", "checksum 50049c9d"))
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.run([sys.executable, "-m", "flashvm.cli", "run", "--splashos", "--size", "mp", "--results",
                        str(tmp_path), str(d)], capture_output=True, text=True, env=env, cwd=ROOT, timeout=900)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "checksum 50049c9d" in p.stdout and "check passed" in p.stderr and "SPLASHOS" in p.stderr
