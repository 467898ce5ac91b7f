"""The soak (issue 10, "Done when"): parallel programs in the shape of
SPLASH's (tests/guest/soak/: FFT with barriers, a red-black grid stencil,
an n-body, a radix sort, a pipe-and-fork pipeline) on 1, 2, 4 and 8 CPUs,
in functional and timing mode, on the bare guest OS and in 2 Disco VMs
(plain and HAL build), each finishing within an instruction limit with the
output qemu-mipsel gives (stored below; test_expected_lines_match_qemu checks
them).  Every program's result line is independent of its thread count.

Sizes: small by default (the whole set takes a few minutes; a representative
subset is not marked slow).  FLASHVM_SOAK=full runs the full sizes:

    FLASHVM_SOAK=full python -m pytest -q tests/guestos/test_soak.py

`PYTHONPATH=$PWD:$PWD/tests python tests/guestos/test_soak.py [--full]` prints the table of results
(program x configuration: status, instructions, kernel share).
"""
from __future__ import annotations

import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from flashvm.disco.osvm import run_os_vms
from flashvm.guestos import boot_os
from flashvm.kernels.state import S_CYC_BASE
from flashvm.toolchain import build_user
from support import GUEST, needs_qemu

SOAK = GUEST / "soak"
FULL = os.environ.get("FLASHVM_SOAK", "") == "full"


@dataclass(frozen=True)
class Program:
    size: str                   # argv[2]
    line: str                   # the result line qemu-mipsel prints
    limit: int                  # instructions a run may take (the whole machine, all VMs)


SMALL = {
    "fft": Program("12", "fft m=12 checksum 2649.612886 inverse ok", 60_000_000),
    "stencil": Program("64", "stencil n=64 sweeps=12 sum 156859.797215 residual 871.422441", 40_000_000),
    "nbody": Program("128", "nbody n=128 steps=4 energy -0.888719920 -> -0.888719491 x 8.996834816 energy conserved",
                     40_000_000),
    "radix": Program("16384", "radix n=16384 min 00016e11 max fffc9731 hash db8a440a sorted", 40_000_000),
    "pipeline": Program("65536", "pipeline bytes=65536 hash 26240bd5 ok", 300_000_000),
}
FULL_SIZES = {
    "fft": Program("16", "fft m=16 checksum 66366.033521 inverse ok", 1_000_000_000),
    "stencil": Program("256", "stencil n=256 sweeps=12 sum 650075.849692 residual 3680.495609", 1_000_000_000),
    "nbody": Program("512", "nbody n=512 steps=4 energy -0.890932455 -> -0.890932098 x 4.341795997 energy conserved",
                     1_000_000_000),
    "radix": Program("262144", "radix n=262144 min 00003484 max fffffdac hash a7a7cc9c sorted", 1_000_000_000),
    "pipeline": Program("1048576", "pipeline bytes=1048576 hash b22d5cc5 ok", 4_000_000_000),
}
PROGRAMS = FULL_SIZES if FULL else SMALL
CPUS = (1, 2, 4, 8)
MODES = ("functional", "timing")
CONFIGS = ("bare", "vms", "hal")         # the bare guest OS; 2 VMs of the mapped build; 2 VMs of the HAL build


def exe(prog: str) -> Path:
    return build_user([SOAK / f"{prog}.c"])


@dataclass
class Outcome:
    ok: bool
    why: str                    # what went wrong, or ""
    instructions: int
    kernel_share: float         # of all CPUs' cycles (bare only; 0 under Disco)


def run_soak(prog: str, ncpu: int, mode: str, config: str, programs: dict[str, Program] = PROGRAMS) -> Outcome:
    """Run `prog` with `ncpu` threads on `ncpu` CPUs (per VM under Disco)."""
    p = programs[prog]
    files, argv = {f"/bin/{prog}": exe(prog)}, [f"/bin/{prog}", str(ncpu), p.size]
    want = (p.line + "\n").encode()
    if config == "bare":
        r = boot_os(files, argv, ncpu=ncpu, mode=mode, max_insns=p.limit)
        st = r.machine.m.stats
        kernel, total = int(st[:, S_CYC_BASE].sum()), int(st[:, S_CYC_BASE:S_CYC_BASE + 3].sum())
        share = kernel / total if total else 0.0
        if r.status != 0 or r.stdout != want:
            return Outcome(False, f"status {r.status}, stdout {r.stdout[-200:]!r}, stderr {r.stderr[-200:]!r}",
                           r.instructions, share)
        return Outcome(True, "", r.instructions, share)
    res, _, r = run_os_vms(files, argv, vms=2, cpus_per_vm=ncpu, machine="flash8", mode=mode,
                           hal=config == "hal", max_insns=p.limit)
    bad = [f"{vm.name}: status {vm.status}, failure {vm.failure}, stdout {vm.stdout[-200:]!r}"
           for vm in res if not (vm.ok and vm.status == 0 and vm.stdout == want)]
    return Outcome(not bad, "; ".join(bad), r.instructions, 0.0)


def repro(prog: str, ncpu: int, mode: str, config: str, programs: dict[str, Program] = PROGRAMS) -> str:
    """The command line that reproduces one case."""
    p = programs[prog]
    vms = {"bare": "", "vms": "--vms 2 --machine flash8 ", "hal": "--vms 2 --hal --machine flash8 "}[config]
    return (f"PYTHONPATH=$PWD python -m flashvm.cli exec --os {vms}--cpus {ncpu} --mode {mode} "
            f"--max-insns {p.limit} {exe(prog)} {ncpu} {p.size}")


# The default CI subset: every program, every configuration, both modes, spread over the CPU counts
# so that each count meets each program; the other cases are marked slow.
FAST = {
    ("fft", 4, "functional", "bare"), ("fft", 8, "timing", "vms"), ("fft", 2, "functional", "hal"),
    ("stencil", 8, "timing", "bare"), ("stencil", 2, "functional", "vms"), ("stencil", 4, "timing", "hal"),
    ("nbody", 2, "timing", "bare"), ("nbody", 4, "functional", "vms"), ("nbody", 1, "timing", "hal"),
    ("radix", 8, "functional", "bare"), ("radix", 1, "timing", "vms"), ("radix", 4, "functional", "hal"),
    ("pipeline", 4, "timing", "bare"), ("pipeline", 2, "timing", "vms"), ("pipeline", 1, "functional", "hal"),
}
def _cases():
    for prog in SMALL:
        for ncpu in CPUS:
            for mode in MODES:
                for config in CONFIGS:
                    marks = []
                    if FULL or (prog, ncpu, mode, config) not in FAST:
                        marks.append(pytest.mark.slow)
                    yield pytest.param(prog, ncpu, mode, config, marks=marks,
                                       id=f"{prog}-{ncpu}cpu-{mode}-{config}")


@pytest.mark.parametrize("prog,ncpu,mode,config", list(_cases()))
def test_soak(prog, ncpu, mode, config):
    o = run_soak(prog, ncpu, mode, config)
    assert o.ok, f"{o.why}\nreproduce: {repro(prog, ncpu, mode, config)}"
    assert o.instructions <= PROGRAMS[prog].limit


@needs_qemu
@pytest.mark.parametrize("prog", list(SMALL))
def test_expected_lines_match_qemu(prog):
    # the stored lines are the oracle's, and independent of the thread count
    from support import QEMU
    p = PROGRAMS[prog]
    for n in (1, 3, 8):
        r = subprocess.run([QEMU, str(exe(prog)), str(n), p.size], capture_output=True, timeout=600)
        assert r.returncode == 0 and r.stdout.decode() == p.line + "\n", (n, r.stdout, r.stderr)


def _table(programs: dict[str, Program]) -> None:
    """Every case, then per program the kernel-time figures of issue 10 item 3 (bare, functional)."""
    print(f"{'program':9} {'cpus':>4} {'mode':10} {'config':6} {'result':6} {'instructions':>13} {'kernel':>7}")
    bare: dict[tuple[str, int], Outcome] = {}
    for prog in programs:
        for ncpu in CPUS:
            for mode in MODES:
                for config in CONFIGS:
                    o = run_soak(prog, ncpu, mode, config, programs)
                    if config == "bare" and mode == "functional":
                        bare[prog, ncpu] = o
                    share = f"{100 * o.kernel_share:6.1f}%" if config == "bare" else ""
                    print(f"{prog:9} {ncpu:4} {mode:10} {config:6} {'pass' if o.ok else 'FAIL':6} "
                          f"{o.instructions:13,} {share:>7}", flush=True)
                    if not o.ok:
                        print(f"    {o.why}\n    reproduce: {repro(prog, ncpu, mode, config, programs)}", flush=True)
    print("\nbare, functional: instructions relative to 1 CPU (target <= 1.3) and kernel share of cycles (< 10%)")
    for prog in programs:
        one = bare[prog, 1].instructions
        print(f"{prog:9} " + "  ".join(f"{n} CPUs {bare[prog, n].instructions / one:4.2f}x "
                                       f"{100 * bare[prog, n].kernel_share:4.1f}%" for n in CPUS), flush=True)


if __name__ == "__main__":
    import sys
    _table(FULL_SIZES if "--full" in sys.argv else SMALL)
