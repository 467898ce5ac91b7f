"""Memory short for a moment (issue 13, pmake mp): a user page fault that finds
no free page waits a tick at a time for one, and the task is killed only when
none comes for 3 s.  Before, `oomwait`'s second child was killed at once."""
from __future__ import annotations

from pathlib import Path

from flashvm.guestos import boot_os
from flashvm.toolchain import build_user

OSG = Path(__file__).parents[1] / "guest" / "os"


def test_a_fault_out_of_memory_waits_for_an_exiting_process():
    exe = build_user([OSG / "oomwait.c"])
    # 16 MB leave about 14.6 MB free: 9 MB held, then 7 MB more wanted
    r = boot_os({"/bin/oomwait": exe}, ["/bin/oomwait", "9", "7"], ram_mb=16, verbose=1)
    assert r.status == 0 and r.stdout == b"holder: ok, second: ok\n", r.klog.decode(errors="replace")
    assert b"out of memory" not in r.klog
