"""bench/workloads_table.py: the matrix, its options, resuming, and the table from HDF5 counters."""
from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import h5py
import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def wt():
    spec = importlib.util.spec_from_file_location("workloads_table", ROOT / "bench" / "workloads_table.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules["workloads_table"] = mod
    spec.loader.exec_module(mod)
    return mod


def _fake_result(folder: Path, *, stdout: bytes, disco: bool = False, ended: str = "halted",
                 regions: tuple[str, ...] = ()) -> Path:
    """A result file with the counters the table reads (docs/results.md), 2 CPUs at 400 MHz."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "radix-20260101-000000-000000.h5"
    with h5py.File(path, "w") as f:
        f.attrs["machine_json"] = json.dumps({"clock_mhz": 400.0, "ncpu": 2})
        f.attrs["host_seconds"] = 12.5
        f.attrs["ended"] = ended
        f.attrs["status"] = 0
        f["cpu/instructions"] = np.array([3_000_000, 1_000_000], dtype=np.int64)
        f["cpu/cycles"] = np.array([8_000_000, 4_000_000], dtype=np.int64)   # 20 ms at 400 MHz
        # kernel, supervisor, user: 1 M + 1 M + 6 M, idle 2 M of all 10 M
        f["cpu/cycles_by_mode"] = np.array([[1_000_000, 0, 5_000_000], [0, 1_000_000, 1_000_000]], dtype=np.int64)
        f["cpu/idle_cycles"] = np.array([1_000_000, 1_000_000], dtype=np.int64)
        f["cpu/stall_by_mode"] = np.array([[0, 0, 500_000], [0, 0, 0]], dtype=np.int64)
        f["cpu/tlb_refills"] = np.array([6_000, 2_000], dtype=np.int64)
        for i, name in enumerate(regions):      # region i: a (i + 1)-th of the run's counters
            for key in ("instructions", "cycles", "cycles_by_mode", "idle_cycles", "tlb_refills"):
                f[f"roi/{name}/cpu/{key}"] = f[f"cpu/{key}"][()] * (i + 1) // 4
            f[f"roi/{name}"].attrs["visits"] = 1
        if disco:
            f["disco/vm_status"] = np.array([0], dtype=np.int64)
            # the monitor serves the real refills: 3,000 from its L2TLB, 9,000 from the virtual TLB
            f["disco/vcpu_counters"] = np.array([[5, 3_000, 9_000]], dtype=np.int64)
            f["disco/vcpu_counters"].attrs["names"] = ["traps", "l2tlb_hits", "vtlb_hits"]
            f["disco/vm0/stdout"] = np.frombuffer(stdout, dtype=np.uint8)
            f["stdout"] = np.frombuffer(b"", dtype=np.uint8)
        else:
            f["stdout"] = np.frombuffer(stdout, dtype=np.uint8)
    return path


RADIX_UNI_OK = b"radix 1 threads\nsorted, same keys\nchecksum ca194bd7\n"


def test_matrix_and_options(wt):
    a = wt.parse(["--workloads", "radix,pmake", "--size", "uni", "--modes", "timing"])
    cells = wt.matrix(a.workloads, a.configs, a.modes)
    assert [c.name for c in cells] == ["radix-uni-os-timing", "radix-uni-disco-timing",
                                       "pmake-uni-os-timing", "pmake-uni-disco-timing"]
    # the quick ones run first, the guest OS before Disco
    assert [c.name for c in wt.run_order(cells)] == ["radix-uni-os-timing", "pmake-uni-os-timing",
                                                     "radix-uni-disco-timing", "pmake-uni-disco-timing"]
    assert wt.parse(["--size", "mp"]).configs == ["mp-os"]
    argv = wt.Cell("radix", "uni-disco", "timing").argv(Path("R"), 60)
    assert argv[3:] == ["run", "workloads/radix", "--size", "uni", "--mode", "timing", "--results", "R", "-q",
                        "--vms", "1", "--timeout", "60"]
    for bad in (["--workloads", "chess"], ["--configs", "uni-vm"], ["--modes", "fast"], ["--jobs", "0"]):
        with pytest.raises(SystemExit):
            wt.parse(bad)


def test_resume_skips_what_is_there(wt, tmp_path):
    cell = wt.Cell("radix", "uni-os", "functional")
    assert wt.needs_run(cell, tmp_path, retry=False)
    _fake_result(tmp_path / cell.name, stdout=RADIX_UNI_OK)
    assert not wt.needs_run(cell, tmp_path, retry=False)
    failed = wt.Cell("radix", "uni-disco", "functional")
    (tmp_path / failed.name).mkdir()
    (tmp_path / failed.name / "outcome.json").write_text(json.dumps({"check": "fail", "returncode": 1}))
    assert not wt.needs_run(failed, tmp_path, retry=False)      # a recorded failure stays
    assert wt.needs_run(failed, tmp_path, retry=True)


def test_row_figures_and_check(wt, tmp_path):
    ok = wt.Cell("radix", "uni-os", "timing")
    _fake_result(tmp_path / ok.name, stdout=RADIX_UNI_OK)
    assert wt.row(ok, tmp_path) == ("| radix | uni-os | timing | 4.0 M | 20.0 ms | 12.5 | 60.0 / 20.0 / 20.0 % "
                                    "| 2,000 | 5.0 % | pass |")
    bad = wt.Cell("radix", "uni-os", "functional")
    _fake_result(tmp_path / bad.name, stdout=b"checksum 00000000\n")
    assert wt.row(bad, tmp_path).endswith("| 2,000 |  | fail |")
    vm = wt.Cell("radix", "uni-disco", "functional")
    _fake_result(tmp_path / vm.name, stdout=RADIX_UNI_OK, disco=True)
    # under Disco the monitor has kernel mode and the guest kernel supervisor mode
    assert "| 60.0 / 10.0 / 20.0 % (monitor 10.0 %) | 3,000 |" in wt.row(vm, tmp_path)
    assert wt.row(vm, tmp_path).endswith("| pass |")
    stopped = wt.Cell("radix", "mp-os", "functional")
    _fake_result(tmp_path / stopped.name, stdout=RADIX_UNI_OK, ended="limit")
    assert wt.row(stopped, tmp_path).endswith("| stopped (limit; figures until then) |")
    missing = wt.Cell("pmake", "mp-os", "timing")
    assert wt.row(missing, tmp_path).endswith("| not run |")


def test_table_only_writes_out(wt, tmp_path, capsys):
    _fake_result(tmp_path / "res" / "radix-uni-os-functional", stdout=RADIX_UNI_OK)
    out = tmp_path / "t.md"
    assert wt.main(["--workloads", "radix", "--configs", "uni-os", "--modes", "functional", "--table-only",
                    "--results", str(tmp_path / "res"), "--out", str(out)]) == 0
    text = out.read_text()
    assert text == capsys.readouterr().out
    assert text.splitlines()[0].startswith("| workload | config | mode |") and text.count("\n") == 3


def test_region_table(wt, tmp_path):
    one = wt.Cell("radix", "uni-os", "functional")
    _fake_result(tmp_path / one.name, stdout=RADIX_UNI_OK, regions=("sort",))
    assert wt.region_row(one, tmp_path) == ("| radix | uni-os | functional | sort | 1.0 M | 5.0 ms | "
                                            "60.0 / 20.0 / 20.0 % | 2,000 |  |")
    many = wt.Cell("radix", "mp-os", "functional")
    _fake_result(tmp_path / many.name, stdout=RADIX_UNI_OK, regions=("a", "b"))
    assert "| b (longest of 2) | 2.0 M | 10.0 ms |" in wt.region_row(many, tmp_path)
    assert wt.region_row(wt.Cell("radix", "uni-disco", "timing"), tmp_path) is None
    text = wt.table([one, many], tmp_path)
    assert "Inside the regions of interest" in text and text.count("| radix |") == 4


@pytest.mark.parametrize("code, check", [("print('check passed')", "pass"),
                                         ("import sys; print('radix: check failed'); sys.exit(1)", "fail"),
                                         ("import sys; sys.exit(124)", "stopped"),
                                         ("import os; os.kill(os.getpid(), 15)", "stopped")])
def test_run_cell_outcome(wt, tmp_path, monkeypatch, code, check):
    """A cell's outcome from its flashvm's exit status and output (here a stand-in command)."""
    monkeypatch.setattr(wt.Cell, "argv", lambda self, folder, timeout: [sys.executable, "-c", code, "run"])
    cell = wt.Cell("radix", "uni-os", "functional")
    wt.run_cell(cell, tmp_path, None)
    out = wt.outcome(tmp_path / cell.name)
    assert out["check"] == check and out["cell"] == cell.name
    assert not wt.needs_run(cell, tmp_path, retry=False)
    assert wt.needs_run(cell, tmp_path, retry=True) == (check != "pass")
