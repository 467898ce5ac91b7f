"""SPLASHOS (paper §4.4): SPLASH-style programs linked with the library OS run
directly in Disco VMs.  The soak's radix sort and FFT (tests/guest/soak/, the
same pthreads source the guest OS runs) give, on 8 VCPUs, the result lines the
guest OS and qemu-mipsel give (tests/guestos/test_soak.py), bit for bit the
same run twice, and beside a VM running the guest OS."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from flashvm.disco.splashos import OsGuest, SplashosGuest, run_splashos, run_vms
from flashvm.kernels.state import S_INSNS
from flashvm.results import read_run
from flashvm.toolchain import build_splashos, build_user
from support import GUEST, ROOT

SOAK = GUEST / "soak"
# the result lines of tests/guestos/test_soak.py (the guest OS's, checked there against qemu-mipsel)
RADIX = ("16384", "radix n=16384 min 00016e11 max fffc9731 hash db8a440a sorted")
FFT = ("12", "fft m=12 checksum 2649.612886 inverse ok")


def splashos_exe(prog: str):
    return build_splashos([SOAK / f"{prog}.c"])


def run8(prog: str, size: str, mode: str = "functional"):
    vms, disco, r = run_splashos(splashos_exe(prog), [prog, "8", size], cpus=8, machine="flash8", mode=mode,
                                 max_insns=100_000_000)
    return vms[0], disco, r


@pytest.mark.parametrize("prog,size,line", [("radix", *RADIX), ("fft", *FFT)])
def test_soak_program_on_8_vcpus_gives_the_guest_os_result(prog, size, line):
    vm, disco, r = run8(prog, size)
    assert vm.failure is None and vm.status == 0, (vm.failure, vm.stdout)
    assert vm.stdout == (line + "\n").encode()
    # all 8 VCPUs ran the program, each on its own CPU
    assert (disco.m.stats[:8, S_INSNS] > 10_000).all()


def test_no_virtual_memory_of_its_own():
    """SPLASHOS wires one identity mapping per VCPU and never writes the TLB again: every
    TLB miss of the program is served by the monitor, none is reflected to SPLASHOS."""
    vm, disco, r = run8("radix", RADIX[0])
    st = disco.vm_stats(disco.vms[0])
    assert st["tlb_writes"] == 8                       # one wired entry per VCPU (32 MB VM)
    assert st["vtlb_hits"] + st["l2tlb_hits"] > 100
    assert st["reflected"] == 9                        # the calls to its kernel half: 7 VCPU starts, write, exit


@pytest.mark.slow
def test_deterministic_bit_for_bit():
    a, da, ra = run8("radix", RADIX[0], mode="timing")
    b, db, rb = run8("radix", RADIX[0], mode="timing")
    assert a.stdout == b.stdout and ra.instructions == rb.instructions
    assert np.array_equal(da.m.stats, db.m.stats) and np.array_equal(da.m.dstats, db.m.dstats)
    assert np.array_equal(da.m.cpu[:, :], db.m.cpu[:, :])


def test_beside_the_guest_os():
    """One VM runs the guest OS (radix built for Linux), another SPLASHOS (the same source)."""
    user = build_user([SOAK / "radix.c"])
    vms, disco, r = run_vms([OsGuest({"/bin/radix": user}, ["/bin/radix", "2", "4096"], ncpu=2),
                             SplashosGuest(splashos_exe("radix"), ["radix", "4", "4096"], ncpu=4),
                             SplashosGuest(splashos_exe("fft"), ["fft", "2", "8"], ncpu=2)],
                            machine="flash8", max_insns=200_000_000)
    os_vm, sos_vm, fft_vm = vms
    assert os_vm.ok and os_vm.status == 0, (os_vm.failure, os_vm.stdout, os_vm.stderr)
    assert sos_vm.status == 0 and fft_vm.status == 0, (sos_vm.failure, fft_vm.failure)
    assert sos_vm.stdout == os_vm.stdout and sos_vm.stdout.endswith(b"sorted\n")
    assert fft_vm.stdout.endswith(b"inverse ok\n")


def test_a_crash_is_reported_and_stays_in_its_vm(tmp_path):
    src = tmp_path / "crash.c"
    src.write_text('#include <stdio.h>\nint main(void) { printf("before\\n"); *(volatile int *)0x7ff00000 = 1;'
                   ' return 0; }\n')
    vms, disco, r = run_vms([SplashosGuest(build_splashos([src]), ["crash"]),
                             SplashosGuest(splashos_exe("radix"), ["radix", "1", "256"])], machine="flash8")
    crash, radix = vms
    assert crash.status == 0xEE and crash.stdout.startswith(b"before\nsplashos: exception ")
    assert radix.status == 0 and radix.stdout.endswith(b"sorted\n")


def test_more_threads_than_vcpus_is_refused():
    vms, disco, r = run_splashos(splashos_exe("radix"), ["radix", "4", "1024"], cpus=2, machine="flash8")
    assert vms[0].status == 3 and b"pthread_create failed" in vms[0].stdout


def flashvm(*args: str) -> subprocess.CompletedProcess:
    """`python -m flashvm.cli ARGS` from this source tree."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, "-m", "flashvm.cli", *args], cwd=ROOT, capture_output=True, timeout=600,
                          env=env)


@pytest.mark.slow
def test_exec_splashos_command_line(tmp_path):
    p = flashvm("exec", "--splashos", "--machine", "flash8", "--cpus", "8", "--results", str(tmp_path),
                str(splashos_exe("radix")), "8", RADIX[0])
    assert p.returncode == 0, p.stderr
    assert p.stdout == f"[vm0] {RADIX[1]}\n".encode()
    assert "SPLASHOS in 1 Disco VM" in p.stderr.decode()
    (f,) = tmp_path.glob("*.h5")
    r = read_run(f)
    assert r["attrs"]["mode"] == "splashos" and r["config"]["cpus_per_vm"] == 8 and r["config"]["vms"] == 1
    # a program not linked with SPLASHOS is refused in one line
    p = flashvm("exec", "--splashos", str(build_user([SOAK / "radix.c"])))
    assert p.returncode == 2 and b"not linked with SPLASHOS" in p.stderr
    p = flashvm("exec", "--splashos", "--os", str(splashos_exe("radix")))
    assert p.returncode == 2 and b"exclude each other" in p.stderr
