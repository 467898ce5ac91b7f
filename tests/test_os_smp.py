"""The guest kernel under SMP: runs that used to hang on 4-8 CPUs (issue 10,
items 1 and 2) finish, within an instruction limit so a hang fails fast."""
from __future__ import annotations

from pathlib import Path

import pytest

from flashvm.osrun import boot_program
from flashvm.toolchain import build_user

OSG = Path(__file__).parent / "guest" / "os"


@pytest.mark.parametrize("ncpu", [1, 4])
def test_one_megabyte_through_a_pipe(ncpu):
    # 4 CPUs livelocked: an idle CPU kept a stale resched request and cycled
    # through the scheduler lock forever, in step with the others
    exe = build_user([OSG / "pipebig.c"])
    r = boot_program({"/bin/pipebig": exe}, ["/bin/pipebig"], root="disk", ncpu=ncpu,
                     max_insns=150_000_000)
    assert r.stdout == b"read 1048576 bytes, 0 wrong, child status 0\n"
    assert r.status == 0


@pytest.mark.parametrize("ncpu", [4, 8])
def test_parallel_program_ends_on_another_cpu_and_halts(ncpu):
    # the process ends on CPU ncpu-1, which syncs the disk by polling while the
    # completion interrupt goes to CPU 0: it used to take the completion away
    exe = build_user([OSG / "barrier.c"])
    r = boot_program({"/bin/barrier": exe}, ["/bin/barrier", str(ncpu), "/grid.txt"],
                     root="disk", ncpu=ncpu, max_insns=60_000_000)
    assert r.stdout == b"sum 18813.894747\n"
    assert r.stderr == b"cpu %d\n" % (ncpu - 1)
    assert r.status == 0
