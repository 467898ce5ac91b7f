"""The guest kernel under SMP: runs that used to hang on 4-8 CPUs (issue 10,
items 1 and 2) finish, within an instruction limit so a hang fails fast."""
from __future__ import annotations

from pathlib import Path

import pytest

from flashvm.guestos import boot_os
from flashvm.toolchain import build_user

OSG = Path(__file__).parents[1] / "guest" / "os"


@pytest.mark.parametrize("ncpu", [1, 4])
def test_one_megabyte_through_a_pipe(ncpu):
    # 4 CPUs livelocked: an idle CPU kept a stale resched request and cycled
    # through the scheduler lock forever, in step with the others
    exe = build_user([OSG / "pipebig.c"])
    r = boot_os({"/bin/pipebig": exe}, ["/bin/pipebig"], root="disk", ncpu=ncpu,
                     max_insns=150_000_000)
    assert r.stdout == b"read 1048576 bytes, 0 wrong, child status 0\n"
    assert r.status == 0


@pytest.mark.parametrize("ncpu", [4, 8])
def test_parallel_program_ends_on_another_cpu_and_halts(ncpu):
    # the process ends on CPU ncpu-1, which syncs the disk by polling while the
    # completion interrupt goes to CPU 0: it used to take the completion away
    exe = build_user([OSG / "barrier.c"])
    r = boot_os({"/bin/barrier": exe}, ["/bin/barrier", str(ncpu), "/grid.txt"],
                     root="disk", ncpu=ncpu, max_insns=60_000_000)
    assert r.stdout == b"sum 18813.894747\n"
    assert r.stderr == b"cpu %d\n" % (ncpu - 1)
    assert r.status == 0


def _kernel_share(r) -> float:
    from flashvm.kernels.state import S_CYC_BASE
    st = r.machine.m.stats
    kernel, user = int(st[:, S_CYC_BASE].sum()), int(st[:, S_CYC_BASE + 2].sum())
    return kernel / (kernel + user)


@pytest.mark.slow
@pytest.mark.parametrize("prog,flags,out", [
    ("barrier", ["-DSIZE=256"], b"sum 77759.797394\n"),
    ("workq", [], b"sum 1.644933822708 jobs 256\n"),
])
def test_compute_bound_program_does_not_spin_in_the_kernel(prog, flags, out):
    # issue 10 item 3: 4 CPUs used to retire 11.9x the 1-CPU instructions (92%
    # of cycles in the kernel); on 4 and 8 CPUs a compute-bound program must
    # retire at most 1.3x its 1-CPU instructions, under 10% in the kernel
    from flashvm.elf import load_elf
    from flashvm.lockstats import read_lock_stats
    from flashvm.guestos import build_kernel
    exe = build_user([OSG / f"{prog}.c"], extra_flags=flags, name=f"{prog}-smp")
    runs = {n: boot_os({"/bin/p": exe}, ["/bin/p", str(n)], ncpu=n, max_insns=100_000_000)
            for n in (1, 4, 8)}
    for n, r in runs.items():
        assert r.stdout == out and r.status == 0, n
        assert r.instructions <= 1.3 * runs[1].instructions, (n, r.instructions)
        assert _kernel_share(r) < 0.10, (n, _kernel_share(r))
    locks = {s.name: s for s in read_lock_stats(runs[4].machine.ram8, load_elf(build_kernel("kseg0")), 4)}
    assert locks["sched"].acquired > 0 and locks["pages"].acquired > 0
    assert locks["pages"].contended <= locks["pages"].acquired


def test_runs_are_deterministic_on_8_cpus():
    # contended locks wait in WAIT for an IPI and TLB shootdowns for one back:
    # two identical runs still retire the same instructions and counters
    import numpy as np
    exe = build_user([OSG / "workq.c"], extra_flags=["-DTASKS=64", "-DWORK=2000"], name="workq-small")
    a, b = (boot_os({"/bin/p": exe}, ["/bin/p", "8"], ncpu=8, max_insns=50_000_000) for _ in range(2))
    assert a.stdout == b.stdout and a.stdout.endswith(b" jobs 64\n") and a.status == 0
    assert a.instructions == b.instructions and a.cycles == b.cycles
    assert np.array_equal(a.machine.m.stats, b.machine.m.stats)
    assert np.array_equal(a.machine.ram8, b.machine.ram8)
