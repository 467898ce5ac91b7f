"""The engineering workload's Verilog half: cpu.v + tb.v compiled and simulated by
Debian's iverilog/vvp on the guest OS beside a memory-system simulation, each
passing its own check; the testbench's self-check catches a broken pipeline
(on the host, when iverilog is installed there)."""
from __future__ import annotations

import dataclasses
import shutil
import subprocess

import pytest

from flashvm.machine.config import machine_config, machine_with_cpus
from flashvm.session import run
from flashvm.workload import Workload, WorkloadError, load_workload
from support import ROOT

ENG = ROOT / "workloads" / "engineering"
VERILOG = ("/bin/sh", "/engineering/verilog.sh")
# 1 round of 8 keys, and memsim on 4 CPUs for 20000 references (seed 1)
TINY = {"commands": ((*VERILOG, "1", "8"), ("/bin/engineering", "4", "20000", "1")),
        "stdout_contains": ("verilog PASS checksum b6e2384a", "checksum cb578d60", "memsim ok")}


def _tiny(size: str = "uni") -> Workload:
    w = dataclasses.replace(load_workload(ENG, size), **TINY)
    try:
        w.sysroot()
    except WorkloadError as e:
        pytest.skip(f"Debian's iverilog not available: {e}")
    return w


def _run(w: Workload, machine: str, cpus: int, sim_mode: str = "functional"):
    cfg = machine_with_cpus(machine_config(machine), cpus)
    report = run(w.spec(w.build(), machine=cfg, sim_mode=sim_mode, cpus=cpus))
    assert report.how_ended == "halted", report.end_message
    assert w.check_report(report) is None, (w.check_report(report), report.stdout[-600:], report.stderr[-600:])
    return report


def test_verilog_beside_memsim_on_one_cpu():
    r = _run(_tiny(), "flash1", 1)
    assert b"verilog: 1 rounds of 8 keys: 436 cycles, 321 instructions" in r.stdout


@pytest.mark.slow
def test_verilog_beside_memsim_on_flash8_in_timing_mode():
    _run(_tiny("mp"), "flash8", 8, "timing")


@pytest.mark.parametrize("size, nverilog, nmemsim", [("uni", 2, 2), ("mp", 6, 6)])
def test_sizes_run_verilog_and_memsim(size, nverilog, nmemsim):
    w = load_workload(ENG, size)
    assert w.debian == ("iverilog", "dash") and set(w.files) >= {"/engineering/cpu.v", "/engineering/tb.v"}
    assert sum(c[:2] == VERILOG for c in w.commands) == nverilog
    assert sum(c[0] == "/bin/engineering" for c in w.commands) == nmemsim
    assert sum("verilog PASS" in s for s in w.stdout_contains) == nverilog


@pytest.mark.skipif(shutil.which("iverilog") is None, reason="iverilog is not installed on the host")
@pytest.mark.parametrize("broken, good", [
    (None, None),
    ("if (m_v && m_wr && !m_load && m_rd == e_rs) fa = m_val;", ""),          # no forwarding from MEM
    ("stall = e_v && e_op == OP_LW", "stall = 1'b0 && e_op == OP_LW"),        # no load-use stall
])
def test_testbench_checks_the_pipeline(tmp_path, broken, good):
    cpu = (ENG / "cpu.v").read_text()
    if broken:
        assert broken in cpu
        cpu = cpu.replace(broken, good)
    (tmp_path / "cpu.v").write_text(cpu)
    subprocess.run(["iverilog", "-o", str(tmp_path / "cpu.vvp"), str(tmp_path / "cpu.v"), str(ENG / "tb.v")],
                   check=True, capture_output=True, timeout=120)
    out = subprocess.run(["vvp", "-n", str(tmp_path / "cpu.vvp"), "+rounds=1", "+n=8"], capture_output=True,
                         text=True, timeout=120).stdout
    if broken:
        assert "verilog FAIL" in out and "PASS" not in out
    else:
        assert "verilog PASS checksum b6e2384a" in out
