"""How a Disco VM fails, and the memory it is given.

A guest kernel that runs out of memory in a VM kills the process, as on the
bare machine, instead of losing the VM to the watchdog (it keeps taking
interrupts, or works its way through memory); `--vm-mem` sets each VM's
memory; a VM that fails says why in one line: on stderr, in the summary and
in the result file.
"""
from __future__ import annotations

import io
import subprocess
import sys

import h5py
import pytest
from rich.console import Console

from flashvm.disco.memory import vm_memory_problem
from flashvm.machine.config import machine_config
from flashvm.session import run, summary
from flashvm.results import write_report
from flashvm.session.status import vm_verdict
from flashvm.spec import RunSpec, VmOutcome
from flashvm.toolchain import build_user
from support import OS_PROGRAMS, ROOT


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "flashvm.cli", *args], capture_output=True, timeout=600, cwd=ROOT)


# ------------------------------------------------------------------ out of memory (issue 10, item 7)
@pytest.mark.parametrize("hal", [False, True])
def test_out_of_memory_in_a_vm_kills_the_hog_not_the_vm(tmp_path, hal):
    exe = build_user([OS_PROGRAMS / "oom.c"])
    p = _cli("exec", "--os", "--vms", "2", "--vm-mem", "16", "--machine", "flash8", *(["--hal"] if hal else []),
             "--results", str(tmp_path), str(exe))
    assert p.returncode == 0, p.stderr[-1500:]
    for vm in ("vm0", "vm1"):
        assert p.stdout.count(f"[{vm}] round".encode()) == 2
        assert f"[{vm}] parent still allocates: yes\n".encode() in p.stdout
    assert b"watchdog" not in p.stderr


def test_vm_mem_sets_each_vms_memory(monkeypatch):
    from flashvm.session import runners
    monitors = []

    def run_os_vms(*a, **kw):
        out = real(*a, **kw)
        monitors.append(out[1])
        return out
    real = runners.run_os_vms
    monkeypatch.setattr(runners, "run_os_vms", run_os_vms)
    exe = build_user([OS_PROGRAMS / "hello.c"])
    spec = RunSpec("disco", program=exe, machine=machine_config("flash8"), argv=("/bin/hello",),
                   files={"/bin/hello": exe}, vms=2, vm_mem_mb=12)
    report = run(spec)
    assert [vm.mem for vm in monitors[0].vms] == [12 << 20] * 2
    for vm in report.vms:
        assert vm.stdout.startswith(b"hello from the flashvm guest OS") and vm.verdict is None


@pytest.mark.parametrize("args, words", [
    (["--vms", "2", "--vm-mem", "64"], "2 VMs of 64 MB need 128 MB; flash1 has 63 MB for VMs"),
    (["--vms", "2", "--vm-mem", "lots"], "--vm-mem 'lots': give a whole number of MB"),
    (["--vms", "1", "--vm-mem", "2"], "at least 4"),
    (["--vm-mem", "8"], "--vm-mem applies only to --vms"),
])
def test_vm_mem_errors_are_one_line(args, words):
    exe = build_user([OS_PROGRAMS / "hello.c"])
    p = _cli("exec", "--os", *args, str(exe))
    assert p.returncode == 2 and p.stdout == b""
    err = p.stderr.decode()
    assert err.count("\n") == 1 and err.startswith("error: ") and words in err, err


def test_vm_memory_problem_counts_the_monitors_part():
    cfg = machine_config("flash8")
    room = (cfg.ram_bytes >> 20) - cfg.nodes
    assert vm_memory_problem(cfg, 2, room // 2) is None
    assert "need" in vm_memory_problem(cfg, 2, room // 2 + 1)
    assert "at most" in vm_memory_problem(cfg, 1, 1 << 12)


# ------------------------------------------------------------------ why a VM failed (issue 10, item 8)
def test_a_vm_whose_init_is_killed_names_the_signal(tmp_path):
    exe = build_user([OS_PROGRAMS / "segv.c"])
    p = _cli("exec", "--os", "--vms", "2", "--machine", "flash8", "--results", str(tmp_path), str(exe))
    assert p.returncode == 139
    err = p.stderr.decode()
    lines = err.splitlines()
    assert "vm0: init killed by SIGSEGV" in lines and "vm1: init killed by SIGSEGV" in lines, err
    (h5,) = tmp_path.glob("*.h5")
    with h5py.File(h5) as f:
        assert f["disco/vm1"].attrs["verdict"] == "init killed by SIGSEGV"
        assert f["disco/vm1"].attrs["failure"] == ""


def test_a_vm_whose_kernel_panics_gives_the_panic_line(tmp_path):
    """No init program: the guest kernel panics at boot."""
    exe = build_user([OS_PROGRAMS / "hello.c"])
    spec = RunSpec("disco", program=exe, machine=machine_config("flash8"), argv=(), files={"/bin/hello": exe},
                   vms=2)
    report = run(spec)
    for vm in report.vms:
        assert vm.verdict.startswith("kernel panic (cpu 0): no init program"), vm.verdict
    out = io.StringIO()
    summary(report, Console(file=out, width=400))
    assert "vm1: status 57005 (kernel panic (cpu 0): no init program" in out.getvalue()
    with h5py.File(write_report(report, tmp_path)) as f:       # the panic line is in the VM's kernel log
        assert b"no init program" in f["disco/vm1/klog"][()].tobytes()


def _outcome(**kw) -> VmOutcome:
    base = dict(name="vm0", index=0, vcpus=[0], status=0, failure=None, stdout=b"", stderr=b"", klog=b"")
    return VmOutcome(**{**base, **kw})


@pytest.mark.parametrize("kw, want", [
    (dict(status=0), None),
    (dict(status=3), None),                                       # the program's own status
    (dict(status=137), "init killed by SIGKILL"),
    (dict(status=None, failure="watchdog: no interrupts for 100 ms"), "watchdog: no interrupts for 100 ms"),
    (dict(status=None), "limit: still running when the run ended (instruction limit)"),
])
def test_vm_verdict(kw, want):
    assert vm_verdict(_outcome(**kw), "instruction limit") == want


def test_workload_vm_mem_mb(tmp_path):
    from flashvm.workload import WorkloadError, load_workload
    d = tmp_path / "w"
    d.mkdir()
    (d / "p.c").write_text("int main(void){return 0;}\n")
    toml = 'name = "w"\n[build]\nsources = ["p.c"]\n[run]\nmode = "os"\nmachine = "flash8"\n'
    (d / "workload.toml").write_text(toml + "vms = 2\nvm_mem_mb = 20\n")
    w = load_workload(d)
    spec = w.spec(d / "p.elf", machine=machine_config("flash8"), sim_mode="functional")
    assert spec.kind == "disco" and spec.vm_mem_mb == 20
    (d / "workload.toml").write_text(toml + "vm_mem_mb = 20\n")
    with pytest.raises(WorkloadError, match="run.vm_mem_mb needs run.vms"):
        load_workload(d)
    (d / "workload.toml").write_text(toml + 'vms = 2\nvm_mem_mb = "big"\n')
    with pytest.raises(WorkloadError, match="vm_mem_mb"):
        load_workload(d)


def test_each_vms_stderr_and_kernel_log_are_kept_in_the_result_file(tmp_path):
    """A failed VM's own words: its guest's stderr and kernel log, beside its stdout (/disco/vmN)."""
    exe = build_user([OS_PROGRAMS / "hello.c"])
    p = _cli("exec", "--os", "--vms", "2", "--machine", "flash8", "--results", str(tmp_path), str(exe))
    assert p.returncode == 3, p.stderr[-2000:]
    (h5,) = tmp_path.glob("*.h5")
    with h5py.File(h5) as f:
        for vm in ("vm0", "vm1"):
            assert f[f"disco/{vm}/stderr"][()].tobytes() == b"a line on stderr\n"
            assert f[f"disco/{vm}/stdout"][()].tobytes().startswith(b"hello from the flashvm guest OS")
            assert "klog" not in f[f"disco/{vm}"]          # nothing logged: no empty dataset
