"""The guest OS, unchanged (its mapped link variant), inside Disco's VMs.

Programs give the same output in a VM as on the bare machine (the stored
outputs that tests/test_os.py checks against qemu-mipsel); several VMs run
side by side on one FLASH machine; a VM whose kernel is crashed fails alone.
"""
from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from flashvm.disco.osvm import run_os_vms
from flashvm.toolchain import build_user

GUEST = Path(__file__).parents[1] / "guest"
OSG = GUEST / "os"
PROGRAMS = {p["name"]: p for p in tomllib.loads((GUEST / "programs.toml").read_text())["program"]}


def os_prog(name: str) -> Path:
    return build_user([OSG / f"{name}.c"])


@pytest.mark.parametrize("name", ["qsort", "printf_double", "files"])
def test_suite_program_same_in_a_vm(name):
    p = PROGRAMS[name]
    exe = build_user([GUEST / s for s in p.get("sources", [f"{name}.c"])])
    files = {f"/bin/{name}": exe, "/data/sample.txt": GUEST / "data" / "sample.txt"}
    env = [f"{k}={v}" for k, v in p.get("env", {}).items()]
    res, disco, r = run_os_vms(files, [f"/bin/{name}", *p.get("args", [])], vms=1, machine="flash1",
                               env=env)
    vm = res[0]
    assert vm.ok, (vm.failure, vm.klog[-500:])
    assert vm.stdout.decode(errors="replace") == (GUEST / p["stdout"]).read_text(errors="replace")
    assert vm.status == p["exit_status"]
    st = disco.vm_stats(disco.vms[0])
    assert st["emulated"] > 100 and st["reflected"] > 10      # the kernel really runs deprivileged


SUITE = ["procs", "threads", "fileops", "mmaps", "sigs", "segv"]
STATUS = {"segv": 139, "sigs": 143}          # they end on a signal (tests/test_os.py)


def _suite_expected() -> str:
    out = []
    for name in SUITE:
        out.append((OSG / "expected" / f"{name}.stdout").read_text())
        out.append(f"== {name}: status {STATUS.get(name, 0)}\n")
    return "".join(out)


@pytest.mark.parametrize("vms, cpus", [(1, 8), (2, 4), (4, 2), (8, 1)])
def test_vms_run_the_os_suite_in_parallel(vms, cpus):
    """N copies of the OS on flash8, each with 8/N VCPUs, each running the OS test programs
    one after the other (a runner process forks and execs them): same output as on the bare machine."""
    files = {"/bin/runall": os_prog("runall"), **{f"/bin/{n}": os_prog(n) for n in SUITE}}
    res, disco, r = run_os_vms(files, ["/bin/runall", *[f"/bin/{n}" for n in SUITE]], vms=vms,
                               cpus_per_vm=cpus, machine="flash8", mem_mb=24)
    want = _suite_expected()
    for vm in res:
        assert vm.ok and vm.status == 0, (vm.name, vm.failure, vm.klog[-500:])
        assert vm.stdout.decode() == want, vm.name


def test_vms_talk_over_the_virtual_subnet():
    res, disco, _ = run_os_vms({"/bin/vmnet": os_prog("vmnet")}, [], vms=2, machine="flash8", nets=True,
                               argv_per_vm=[["/bin/vmnet", "ping"], ["/bin/vmnet", "pong"]])
    ping, pong = res
    assert ping.ok and pong.ok, (ping.klog[-300:], pong.klog[-300:])
    assert pong.stdout == b"got 27 from 01: hello from vm0\nanswered 27\n"
    assert ping.stdout == b"sent 27\nreply 27 from 02: 0mv morf olleh\n"


def test_segfault_inside_a_vm_kills_only_the_process():
    res, _, _ = run_os_vms({"/bin/segv": os_prog("segv")}, ["/bin/segv"], vms=1, machine="flash1")
    assert res[0].ok and res[0].stdout == (OSG / "expected" / "segv.stdout").read_bytes()


def test_crashed_guest_kernel_fails_alone(monkeypatch):
    """VM 0's kernel text is overwritten with garbage after loading: the monitor
    stops it; VM 1 runs its program to the end."""
    from flashvm.disco import monitor
    orig = monitor.Disco.boot

    def boot(self, vm, image, *a, **kw):
        orig(self, vm, image, *a, **kw)
        if vm.index == 0:
            kmain = image.symbols.get("kmain").addr - 0xC0000000
            self.guest_write(vm, kmain + 64, b"\xff" * 4096)
    monkeypatch.setattr(monitor.Disco, "boot", boot)
    res, disco, r = run_os_vms({"/bin/procs": os_prog("procs")}, ["/bin/procs"], vms=2, machine="flash8")
    bad, good = res
    # the garbage kernel never takes an interrupt again: the monitor stops it, with its reason
    assert not bad.ok and bad.status is None and bad.failure.startswith("watchdog")
    assert good.ok and good.stdout.decode() == (OSG / "expected" / "procs.stdout").read_text()


# ------------------------------------------------------------------ command line
def _cli(*args, cwd=None):
    import subprocess
    import sys
    return subprocess.run([sys.executable, "-m", "flashvm.cli", *args], capture_output=True, timeout=600,
                          cwd=cwd or Path(__file__).parents[2])


def test_exec_os_in_vms_tags_outputs_and_writes_disco_counters(tmp_path):
    from flashvm.results import read_run
    exe = build_user([GUEST / "exitcode.c"])
    p = _cli("exec", "--os", "--vms", "2", "--machine", "flash8", "--results", str(tmp_path), str(exe))
    assert p.returncode == 42, p.stderr[-2000:]
    want = (GUEST / "expected" / "exitcode.stdout").read_bytes()
    for vm in ("vm0", "vm1"):
        assert b"".join(f"[{vm}] ".encode() + ln for ln in want.splitlines(keepends=True)) in p.stdout
    assert b"monitor" in p.stderr and b"guest kernel" in p.stderr
    r = read_run(next(tmp_path.glob("*.h5")))
    assert r["attrs"]["mode"] == "disco" and list(r["disco/vm_status"]) == [42, 42]
    assert r["disco/vcpu_counters"].shape[0] == 2 and r["disco/vcpu_counters"][:, 0].sum() > 0


def test_exec_hal_build_traps_less(tmp_path):
    exe = build_user([GUEST / "exitcode.c"])
    counts = {}
    for hal in (False, True):
        res, disco, _ = run_os_vms({"/bin/e": exe}, ["/bin/e"], vms=1, machine="flash1", hal=hal)
        assert res[0].status == 42 and res[0].stdout == (GUEST / "expected" / "exitcode.stdout").read_bytes()
        counts[hal] = disco.vm_stats(disco.vms[0])
    assert counts[True]["emulated"] < counts[False]["emulated"] / 2      # privileged instructions
    assert counts[True]["traps"] < 0.75 * counts[False]["traps"]
    assert counts[True]["pages_zeroed"] > 50 and counts[False]["monitor_calls"] == 0


@pytest.mark.parametrize("args, words", [
    (["--vms", "2"], b"--vms applies only to --os"),
    (["--os", "--vms", "0"], b"--vms 0"),
    (["--os", "--hal"], b"--hal applies only to --vms"),
    (["--os", "--variant", "hal"], b"runs only in Disco"),
])
def test_disco_option_errors(tmp_path, args, words):
    exe = build_user([GUEST / "exitcode.c"])
    p = _cli("exec", *args, "--results", str(tmp_path), str(exe))
    assert p.returncode == 2 and words in p.stderr and p.stderr.count(b"\n") == 1, p.stderr


def test_workload_with_vms(tmp_path):
    d = tmp_path / "w"
    d.mkdir()
    (d / "p.c").write_text('#include <stdio.h>\nint main(void){puts("hello vm");return 0;}\n')
    (d / "workload.toml").write_text('name = "w"\n[build]\nsources = ["p.c"]\n[run]\nmode = "os"\n'
                                     'machine = "flash8"\nvms = 3\ncpus = 2\n[check]\nstdout_contains = "hello vm"\n')
    p = _cli("run", str(d), "--results", str(tmp_path))
    assert p.returncode == 0, p.stderr[-2000:]
    assert all(f"[vm{i}] hello vm".encode() in p.stdout for i in range(3))
    assert b"check passed" in p.stderr
