"""Copy-on-write and CPU migration on the guest OS (issue 13).

On 8 CPUs a busybox shell's command substitution `$(...)` sometimes came back
empty, or the shell segfaulted: after a fork, a copy-on-write fault gave the
writer its own copy of the page but rewrote only the faulting CPU's TLB
entry.  A CPU the process had run on before kept the old read-only
translation under the process's ASID, and when the process came back there it
read the old page, which the fork's other side, its last user by then, was
writing in place.

`cowmigrate` makes that sequence happen on purpose with sched_setaffinity:
before the fix every one of its 8 rounds read the child's value.  The busybox
script runs under StaleTlbCheck, which compares the TLBs with the page tables
after every run call: before the fix it found stale translations (the shell's
stack page) in 4 of these 4 forms of the script, though only the first one's
output showed it."""
from __future__ import annotations

from pathlib import Path

import pytest
from sysroots import sysroot
from test_sysroot_os import BUSYBOX, DATA, SCRIPT

from flashvm.elf import load_elf
from flashvm.guestos import boot_os, build_kernel
from flashvm.guestos.sysrun import sysroot_boot
from flashvm.guestos.tlbcheck import StaleTlbCheck
from flashvm.machine.config import machine_with_cpus
from flashvm.toolchain import build_user

OSG = Path(__file__).parents[1] / "guest" / "os"


def test_cow_page_read_back_on_a_cpu_the_process_left():
    exe = build_user([OSG / "cowmigrate.c"])
    check = StaleTlbCheck(load_elf(build_kernel()))
    r = boot_os({"/bin/cowmigrate": exe}, ["/bin/cowmigrate"], ncpu=4, ram_mb=64, run_fn=check)
    assert not r.panicked, r.klog.decode(errors="replace")[-2000:]
    assert (r.status, r.stdout) == (0, b"stale reads: 0\n")
    assert check.found == []


@pytest.mark.slow
@pytest.mark.parametrize("pad", [-1, 2, 3, 5])
def test_busybox_script_on_8_cpus_keeps_no_stale_translation(pad):
    # the script as test_sysroot_os runs it, and forms shifted in time by a padding assignment
    script = SCRIPT if pad < 0 else SCRIPT.replace(b"cd /w\n", b"cd /w\nx=%s\n" % (b"y" * (7 * pad)))
    init_files, argv0, env, image = sysroot_boot(sysroot(BUSYBOX), [["/bin/sh", "/w/s.sh"]],
                                                 {"/w/in.txt": DATA, "/w/s.sh": script})
    check = StaleTlbCheck(load_elf(build_kernel()))
    r = boot_os(init_files, argv0, env=env, machine=machine_with_cpus("flash8", 8), ram_mb=128,
                root_image=image, max_insns=20_000_000_000, run_fn=check)
    assert not r.panicked, r.klog.decode(errors="replace")[-2000:]
    assert r.status == 0 and r.stderr == b"done\n", r.stderr
    assert b"ONE\nTWO\n" in r.stdout
    assert check.found == []
