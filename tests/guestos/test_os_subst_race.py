"""Copy-on-write and CPU migration on the guest OS (issue 13).

On 8 CPUs a busybox shell's command substitution `$(...)` sometimes came back
empty, or the shell segfaulted: after a fork, a copy-on-write fault gave the
writer its own copy of the page but rewrote only the faulting CPU's TLB
entry.  A CPU the process had run on before kept the old read-only
translation under the process's ASID, and when the process came back there it
read the old page, which the fork's other side, its last user by then, was
writing in place.  `cowmigrate` makes that sequence happen on purpose with
sched_setaffinity: before the fix every one of its 8 rounds read the child's
value."""
from __future__ import annotations

from pathlib import Path

from flashvm.guestos import boot_os
from flashvm.toolchain import build_user

OSG = Path(__file__).parents[1] / "guest" / "os"


def test_cow_page_read_back_on_a_cpu_the_process_left():
    exe = build_user([OSG / "cowmigrate.c"])
    r = boot_os({"/bin/cowmigrate": exe}, ["/bin/cowmigrate"], ncpu=4, ram_mb=64)
    assert not r.panicked, r.klog.decode(errors="replace")[-2000:]
    assert (r.status, r.stdout) == (0, b"stale reads: 0\n")
