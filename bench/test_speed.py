"""flashvm speed benchmarks (pytest-benchmark).

    python -m pytest bench/ --benchmark-only                 # ~1.5 min
    FLASHVM_BENCH_COLD=1 python -m pytest bench/ --benchmark-only -k cold   # minutes

Each simulation benchmark runs a static mipsel musl program in process mode
(`LinuxProcess(...).run()`, stdout captured) 3 times and checks, inside the timed call,
that the program exited 0 and printed the known-good checksum line (recorded
from qemu-mipsel), so a wrong simulator cannot post a time.  The figures are
stored in ``benchmark.extra_info``: ``instructions`` retired, simulated
``mips`` = instructions / best round's wall seconds (the round includes
building the process: ELF load, address space, initial stack, a few ms) and
``mips_cpu`` from the best round's CPU time, the steadier figure on a shared
machine.
"""
from __future__ import annotations

import io
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from compare import PROGRAMS, last_line

ROOT = Path(__file__).resolve().parent.parent
ROUNDS = 3
GETPPID_CALLS = 100_000
SYS_getppid = 4064
EXITCODE_STDOUT = (b"exiting with 42\natexit: registered second, runs first\n"
                   b"atexit: registered first, runs last\n")


def _simulate(benchmark, report, exe: Path, argv: list[str], check) -> tuple:
    """Time a process-mode run of (exe, argv) for ROUNDS rounds; check(result, process, stdout)
    each run; return the first run's (RunResult, LinuxProcess)."""
    from flashvm.process import LinuxProcess
    runs, cpu = [], []

    def once():
        out = io.BytesIO()
        c0 = time.process_time()
        proc = LinuxProcess(str(exe), argv, stdout=out, stderr=io.BytesIO())
        r = proc.run()
        cpu.append(time.process_time() - c0)
        check(r, proc, out.getvalue())      # inside the timed call: a failure discards the timing
        runs.append((r, proc))

    benchmark.pedantic(once, rounds=ROUNDS, iterations=1)
    insns = {r.instructions for r, _ in runs}
    assert len(insns) == 1, f"instruction counts differ between rounds: {sorted(insns)}"
    best = benchmark.stats.stats.min
    n = runs[0][0].instructions
    report(args=" ".join(argv[1:]), instructions=n, seconds=best, mips=n / best / 1e6,
           cpu_seconds=min(cpu), mips_cpu=n / min(cpu) / 1e6)
    return runs[0]


def _checksum(name: str, want: str):
    def check(r, proc, out: bytes) -> None:
        if r.status != 0:
            raise AssertionError(f"{name}: exit status {r.status} ({r.message})")
        got = last_line(out)
        if got != want:
            raise AssertionError(f"{name}: printed {got!r}, expected {want!r}")
    return check


@pytest.mark.parametrize("name", ["intloop", "raytrace", "mixed"])
def test_program(benchmark, report, programs, flashvm_warm, name):
    """(a) intloop: integer code; (b) raytrace: double-precision FP; (c) mixed."""
    p = PROGRAMS[name]
    benchmark.group = "simulation"
    _simulate(benchmark, report, programs[name], [name, *p.args], _checksum(name, p.checksum))


def test_trap_exit(benchmark, report, programs, flashvm_warm):
    """(d) cost of one exit from the JIT loop to Python: N getppid() system calls."""
    benchmark.group = "exits"
    n = GETPPID_CALLS
    want = f"getppid {n} sum {999 * n}"

    def check(r, proc, out: bytes) -> None:
        _checksum("getppid_loop", want)(r, proc, out)
        calls = proc.syscalls_by_number.get(SYS_getppid, 0)
        if calls != n:
            raise AssertionError(f"getppid_loop: {calls} getppid calls served, expected {n}")

    r, proc = _simulate(benchmark, report, programs["getppid_loop"], ["getppid_loop", str(n)], check)
    best = benchmark.stats.stats.min
    cpu = benchmark.extra_info["cpu_seconds"]
    exits = sum(proc.syscalls_by_number.values())   # every system call is one exit (+ 5 at start/exit)
    report(exits=exits, us_per_exit=best / exits * 1e6, exits_per_s=exits / best,
           us_per_exit_cpu=cpu / exits * 1e6, insns_per_call=r.instructions / n)


def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def _cli_exec(exe: Path, results: Path, env: dict[str, str], timeout: float, cpu: list):
    c0 = _children_cpu()
    p = subprocess.run([sys.executable, "-m", "flashvm.cli", "exec", "-q", "--results", str(results),
                        str(exe)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=timeout, check=False)
    cpu.append(_children_cpu() - c0)
    if p.returncode != 42 or p.stdout != EXITCODE_STDOUT:
        raise AssertionError(f"flashvm exec exitcode: status {p.returncode}, stdout {p.stdout!r}, "
                             f"stderr {p.stderr.decode(errors='replace')[-2000:]}")


def test_warm_start(benchmark, report, programs, flashvm_warm, tmp_path):
    """(e) `python -m flashvm.cli exec -q exitcode` wall time, Numba cache warm."""
    benchmark.group = "start-up"
    env = dict(os.environ)
    cpu: list[float] = []
    benchmark.pedantic(_cli_exec, args=(programs["exitcode"], tmp_path, env, 600, cpu),
                       rounds=ROUNDS, iterations=1)
    report(seconds=benchmark.stats.stats.min, cpu_seconds=min(cpu))


# (j) the fixed cost of a flashvm process, whole-process CPU (user + system), for commands that do
# little else: a one-line option error, --help, a tiny program, and a sampled workload run stopped
# after its first 100,000 instructions (start-up to the first guest instruction, plus a few ms)
STARTUP = {
    "option-error": (["exec", "--vms", "0", "x"], 2),
    "help": (["--help"], 0),
    "exec-tiny": (["exec", "-q", "--results", "{results}", "{exitcode}"], 42),
    "run-sample": (["run", "workloads/raytrace", "--sample", "-q", "--max-insns", "100000", "--no-check",
                    "--results", "{results}"], 124),
}


@pytest.mark.parametrize("what", list(STARTUP))
def test_startup(benchmark, report, programs, flashvm_warm, tmp_path, what):
    """(j) `python -m flashvm.cli ARGS` CPU seconds (best round) of the commands in STARTUP."""
    benchmark.group = "start-up"
    args, status = STARTUP[what]
    argv = [a.format(results=tmp_path, exitcode=programs["exitcode"]) for a in args]
    cpu: list[float] = []

    def once():
        c0 = _children_cpu()
        p = subprocess.run([sys.executable, "-m", "flashvm.cli", *argv], cwd=ROOT, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=900, check=False)
        cpu.append(_children_cpu() - c0)
        if p.returncode != status:
            raise AssertionError(f"flashvm {' '.join(argv)}: status {p.returncode}, "
                                 f"stderr {p.stderr.decode(errors='replace')[-2000:]}")

    benchmark.pedantic(once, rounds=ROUNDS + 2, iterations=1)
    report(seconds=benchmark.stats.stats.min, cpu_seconds=min(cpu))


def test_cold_start(benchmark, report, programs, tmp_path):
    """(f) the same with an empty Numba cache (NUMBA_CACHE_DIR): the interpreter compiles."""
    if os.environ.get("FLASHVM_BENCH_COLD") != "1":
        pytest.skip("cold start compiles the interpreter (minutes): set FLASHVM_BENCH_COLD=1")
    benchmark.group = "start-up"
    cache = tmp_path / "numba-cache"
    env = dict(os.environ, NUMBA_CACHE_DIR=str(cache))
    cpu: list[float] = []

    def cold():
        cache.mkdir()                     # empty for every round (one round)
        try:
            _cli_exec(programs["exitcode"], tmp_path, env, 3600, cpu)
        finally:
            shutil.rmtree(cache, ignore_errors=True)

    benchmark.pedantic(cold, rounds=1, iterations=1)
    report(seconds=benchmark.stats.stats.min, cpu_seconds=min(cpu))


# ---------------------------------------------------------------- the FLASH machine
SMP_PROGRAM = ROOT / "tests" / "guest" / "bare" / "smp_numa.c"


@pytest.mark.parametrize("mode", ["functional", "timing"])
def test_raytrace_machine_modes(benchmark, report, programs, flashvm_warm, mode):
    """(g) the ray tracer on one FLASH CPU (flash1), functional vs timing mode (caches, directory)."""
    from flashvm.machine.config import FLASH1
    from flashvm.process import new_process
    benchmark.group = "machine"
    p = PROGRAMS["raytrace"]
    runs, cpu = [], []

    def once():
        out = io.BytesIO()
        proc = new_process(str(programs["raytrace"]), ["raytrace", *p.args], [], config=FLASH1,
                           mode=mode, stdout=out, stderr=io.BytesIO())
        c0 = time.process_time()
        r = proc.run()
        cpu.append(time.process_time() - c0)
        _checksum("raytrace", p.checksum)(r, proc, out.getvalue())
        runs.append(r)

    benchmark.pedantic(once, rounds=ROUNDS, iterations=1)
    n = runs[0].instructions
    report(mode=mode, instructions=n, seconds=benchmark.stats.stats.min,
           mips=n / benchmark.stats.stats.min / 1e6, mips_cpu=n / min(cpu) / 1e6)


@pytest.mark.parametrize("mode", ["functional", "timing"])
def test_smp_8cpu(benchmark, report, flashvm_warm, mode):
    """(h) a shared-memory program on all 8 CPUs of flash8 (LL/SC locks, barriers, NUMA-placed
    arrays): aggregate simulated MIPS.  The bar for timing mode is 20 MIPS."""
    from flashvm.elf import load_elf
    from flashvm.machine.flash import FlashMachine
    from flashvm.toolchain import build_bare
    benchmark.group = "machine"
    exe = build_bare([SMP_PROGRAM], extra_flags=["-DSPREAD=1", "-DPASSES=12"], name="smp_numa_bench")
    image = load_elf(exe)
    runs, cpu = [], []

    def once():
        out = io.BytesIO()
        fm = FlashMachine("flash8", mode=mode, out=out)
        fm.load(image)
        fm.write_bootinfo(["smp_numa"])
        c0 = time.process_time()
        r = fm.run()
        cpu.append(time.process_time() - c0)
        if r.status != 0 or b"ok" not in out.getvalue():
            raise AssertionError(f"smp_numa: status {r.status}, output {out.getvalue()!r}")
        runs.append(r)

    benchmark.pedantic(once, rounds=ROUNDS, iterations=1)
    n = runs[0].instructions
    assert len({r.instructions for r in runs}) == 1, "instruction counts differ between rounds"
    report(mode=mode, cpus=8, instructions=n, simulated_cycles=runs[0].cycles,
           seconds=benchmark.stats.stats.min, mips=n / benchmark.stats.stats.min / 1e6,
           mips_cpu=n / min(cpu) / 1e6)


# ---------------------------------------------------------------- Disco
@pytest.mark.parametrize("where", ["bare", "vm"])
def test_raytrace_os_bare_vs_disco(benchmark, report, programs, flashvm_warm, tmp_path, where):
    """(i) the ray tracer as a process of the guest OS (mapped variant) on flash1: on the
    bare machine vs inside one Disco VM.  Bar: Disco at >= 0.5x the bare simulation speed."""
    from flashvm.disco.osvm import run_os_vms
    from flashvm.guestos import boot_os, make_disk_image
    benchmark.group = "disco"
    p = PROGRAMS["raytrace"]
    argv = ["/bin/raytrace", *p.args]
    files = {"/bin/raytrace": programs["raytrace"]}
    runs, cpu = [], []

    def once():
        c0 = time.process_time()
        if where == "bare":
            img = make_disk_image(tmp_path / "root.img", files)
            r = boot_os({}, argv, machine="flash1", variant="mapped", disks=[img])
            out, insns, cycles, status = r.stdout, r.instructions, r.cycles, r.status
            extra = {}
        else:
            res, disco, r = run_os_vms(files, argv, vms=1, machine="flash1", mem_mb=48)
            out, insns, cycles, status = res[0].stdout, r.instructions, r.cycles, res[0].status
            extra = disco.vm_stats(disco.vms[0])
            extra["exits_per_m"] = extra["host_exits"] / (insns / 1e6)
        cpu.append(time.process_time() - c0)
        if status != 0 or last_line(out) != p.checksum:
            raise AssertionError(f"raytrace ({where}): status {status}, output {out[-200:]!r}")
        runs.append((insns, cycles, extra))

    benchmark.pedantic(once, rounds=ROUNDS, iterations=1)
    insns, cycles, extra = runs[0]
    report(where=where, instructions=insns, simulated_cycles=cycles, seconds=benchmark.stats.stats.min,
           mips=insns / benchmark.stats.stats.min / 1e6, mips_cpu=insns / min(cpu) / 1e6,
           **{k: v for k, v in extra.items() if k in ("traps", "emulated", "host_exits", "exits_per_m",
                                                    "monitor_cycles", "l2tlb_hits", "reflected")})
