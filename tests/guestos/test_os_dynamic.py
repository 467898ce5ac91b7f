"""Debian's own dynamically linked glibc programs (bookworm mipsel: PIE,
FPXX, /lib/ld.so.1) on the guest OS, compared with qemu-mipsel -L on the
same root; and the kernel side of what a loader and a shell need, in a
static program of our own (tests/guest/os/loader.c) against output written
by hand."""
from __future__ import annotations

import subprocess

import pytest
from os_debian_root import debian_root, os_files
from support import OS_PROGRAMS, QEMU

from flashvm.guestos import boot_os
from flashvm.toolchain import build_user

SQLITE = ["libc6", "libgcc-s1", "sqlite3", "libsqlite3-0", "libreadline8", "libtinfo6", "zlib1g"]
COREUTILS = ["libc6", "libgcc-s1", "coreutils", "libacl1", "libattr1", "libgmp10", "libselinux1",
             "libpcre2-8-0"]
# the same environment for the guest OS and qemu (HOME: sqlite3 looks for ~/.sqliterc)
ENV = {"HOME": "/nonexistent"}
DATA = b"pear 3\napple 10\nfig 2\nbanana 7\n"


def guest(root, argv, files=None, **kw):
    r = boot_os({**os_files(root, [argv[0]]), **(files or {})}, argv, root="disk", env=ENV,
                max_insns=400_000_000, **kw)
    assert not r.panicked, r.klog.decode(errors="replace")[-2000:]
    return r


def oracle(root, argv, cwd=None):
    """qemu-mipsel -L ROOT on the same binary; None without qemu."""
    if QEMU is None:
        return None
    q = subprocess.run([QEMU, "-L", str(root), str(root / argv[0].lstrip("/")), *argv[1:]],
                       capture_output=True, env=ENV, cwd=cwd, timeout=120)
    return q.returncode, q.stdout


def test_sqlite3_select():
    root = debian_root(SQLITE)
    r = guest(root, ["/usr/bin/sqlite3", ":memory:", "select 6*7"])
    assert (r.status, r.stdout) == (0, b"42\n")
    assert oracle(root, ["/usr/bin/sqlite3", ":memory:", "select 6*7"]) in (None, (0, b"42\n"))


def test_sqlite3_table_group_by():
    root = debian_root(SQLITE)
    sql = ("create table t(k text, v int); "
           "with recursive n(i) as (select 1 union all select i+1 from n where i < 500) "
           "insert into t select 'k' || (i % 7), i from n; create index tk on t(k); "
           "select k, count(*), sum(v), printf('%.3f', avg(v)) from t group by k order by k;")
    argv = ["/usr/bin/sqlite3", ":memory:", sql]
    r = guest(root, argv)
    assert r.status == 0
    assert r.stdout.startswith(b"k0|71|")
    want = oracle(root, argv)
    if want is not None:
        assert (r.status, r.stdout) == want


@pytest.mark.parametrize("argv", [
    ["/usr/bin/echo", "hello", "world"],
    ["/usr/bin/expr", "6", "*", "7"],
    ["/usr/bin/sort", "-k2", "-n", "/data/in.txt"],
    ["/usr/bin/seq", "-s", ",", "5"],
], ids=["echo", "expr", "sort", "seq"])
def test_coreutils(argv, tmp_path):
    root = debian_root(COREUTILS)
    r = guest(root, argv, files={"/data/in.txt": DATA})
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "in.txt").write_bytes(DATA)
    # the oracle reads the data file relative to its working directory
    want = oracle(root, [a.replace("/data/", "data/") for a in argv], cwd=tmp_path)
    if want is not None:
        assert (r.status, r.stdout) == want
    assert r.status == 0 and r.stdout


def test_file_mappings_scripts_and_vfork():
    exe = build_user([OS_PROGRAMS / "loader.c"])
    r = boot_os({"/bin/loader": exe}, ["/bin/loader"], root="disk")
    assert r.stdout.decode() == (OS_PROGRAMS / "expected" / "loader.stdout").read_text()
    assert r.status == 0
