"""The guest OS's page cache (flashvm/guest/os/pcache.c): file pages mapped by
several processes are one physical page, private writes are copied, write()
and truncate reach the cached pages.  tests/guest/os/pcache.c does the work
in the guest and measures memory with /proc/meminfo's MemFree."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from flashvm.guestos import boot_os
from flashvm.toolchain import build_user

OSG = Path(__file__).parents[1] / "guest" / "os"


def pcache(*args: str, ncpu: int = 1, root: str = "initrd", variant: str = "kseg0"):
    exe = build_user([OSG / "pcache.c"])
    r = boot_os({"/bin/pcache": exe}, ["/bin/pcache", *args], ncpu=ncpu, root=root,
                variant=variant, ram_mb=64, verbose=1)
    out = r.stdout.decode(errors="replace")
    assert r.status == 0 and "ok\n" in out, (out, r.klog[-2000:])
    return out


@pytest.mark.parametrize("root", ["initrd", "disk"])
def test_processes_mapping_one_file_share_its_pages(root):
    out = pcache("share", "8", ncpu=2, root=root)
    used, cached = map(int, re.search(r"(\d+) kB used, (-?\d+) kB more cached", out).groups())
    # 8 private copies would be 8192 kB: one cached copy (1024 kB) and page tables
    assert used < 1024 + 8 * 64, out
    assert cached == 1024, out


@pytest.mark.parametrize("n,ncpu", [(8, 2), (12, 3), (16, 4)])
def test_share_start_and_end_reach_every_process(n, ncpu):
    """The parent starts and ends the mapping processes with broadcasts (a pipe
    it closes).  With one byte a process, a process that had mapped early ate,
    waiting for the end, the bytes of those not yet scheduled: every task then
    slept on an empty pipe (run away on 2 CPUs for 8 processes once a fault
    took a little longer)."""
    out = pcache("share", str(n), ncpu=ncpu)
    assert f"share: {n} maps" in out, out


def test_private_write_stays_private():
    pcache("private", ncpu=2)


@pytest.mark.parametrize("root", ["initrd", "disk"])
def test_write_and_truncate_reach_the_mapping(root):
    pcache("coherent", root=root)


def test_exec_of_one_binary_many_times_shares_its_pages():
    out = pcache("exec", "8", ncpu=4)
    used = int(re.search(r": (\d+) kB used", out).group(1))
    # 8 x 2048 kB of read-only data without the cache
    assert used < 2048 + 8 * 256, out


def test_mapped_kernel_variant_shares_too():
    pcache("share", "4", ncpu=4, variant="mapped")


@pytest.mark.slow
def test_in_a_disco_vm_with_the_hal_and_sharing(tmp_path):
    """The HAL kernel tells the monitor of each page it allocates and releases;
    the cache's pages go through the same calls."""
    exe = build_user([OSG / "pcache.c"])
    p = subprocess.run([sys.executable, "-m", "flashvm.cli", "exec", "--os", "--vms", "1", "--machine", "flash8",
                        "--vm-mem", "32", "--share", "-q", "--results", str(tmp_path), str(exe), "share", "4"],
                       capture_output=True, timeout=600, cwd=Path(__file__).parents[2])
    assert p.returncode == 0, p.stderr[-2000:]
    assert b"[vm0] share: ok" in p.stdout, p.stdout[-2000:]
