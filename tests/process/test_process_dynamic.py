"""Debian's dynamically linked glibc programs in process mode, from a sysroot
(like `qemu-mipsel -L ROOT`): glibc's loader from PT_INTERP, PIE executables,
shared libraries through file-backed mmap, execve of another dynamic program.
Each run is compared with qemu-mipsel -L on the same binaries when it is
installed, and with a known answer always.  The sysroot comes from Debian's
packages (tests/process/process_debian_root.py; skipped when the registry is not reachable).
"""
from __future__ import annotations

import hashlib
import io
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from process_debian_root import debian_root
from flashvm.process import new_process
from flashvm.process.abi import syscall_name
from flashvm.process.sysroot import guest_to_host, host_file, resolve_in
from support import QEMU, ROOT

ENV = {"PATH": "/usr/bin:/bin", "LC_ALL": "C"}

BIG_SQL = """\
CREATE TABLE t(id INTEGER PRIMARY KEY, grp INTEGER, val TEXT);
CREATE TABLE g(grp INTEGER PRIMARY KEY, name TEXT);
WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10000)
INSERT INTO t SELECT x, x % 17, printf('v%05d', x * 7919 % 10007) FROM c;
WITH RECURSIVE c(x) AS (SELECT 0 UNION ALL SELECT x + 1 FROM c WHERE x < 16)
INSERT INTO g SELECT x, 'group' || x FROM c;
CREATE INDEX t_grp ON t(grp);
SELECT grp, count(*), sum(id), min(val), max(val) FROM t WHERE grp BETWEEN 3 AND 9 GROUP BY grp ORDER BY grp;
SELECT g.name, count(*), sum(t.id) FROM t JOIN g USING (grp) WHERE t.val > 'v05000' GROUP BY g.name ORDER BY 2 DESC, 1 LIMIT 5;
SELECT count(*) FROM t;
"""


@pytest.fixture(scope="module")
def root() -> Path:
    return debian_root()


def flashvm_run(root: Path, argv: list[str], stdin: bytes = b""):
    """Run argv[0] (a path inside root) in process mode; (status, stdout, process)."""
    out = io.BytesIO()
    p = new_process(argv[0], argv, ENV, stdin=io.BytesIO(stdin), stdout=out, sysroot=root)
    r = p.run()
    return r.status, out.getvalue(), p


def qemu_run(root: Path, argv: list[str], stdin: bytes = b"") -> tuple[int, bytes]:
    r = subprocess.run([QEMU, "-L", str(root), host_file(root, argv[0]), *argv[1:]], input=stdin,
                       capture_output=True, env=ENV, timeout=300)
    return r.returncode, r.stdout


def check(root: Path, argv: list[str], stdin: bytes = b"", expect: bytes | None = None) -> bytes:
    """flashvm's run of argv: status 0, no system call left unanswered, the
    output `expect` (when given) and qemu-mipsel's (when installed)."""
    status, out, p = flashvm_run(root, argv, stdin)
    assert status == 0, out
    assert not p.unknown_syscalls, {syscall_name(n): c for n, c in p.unknown_syscalls.items()}
    if expect is not None:
        assert out == expect
    if QEMU is not None:
        assert qemu_run(root, argv, stdin) == (0, out)
    return out


# ------------------------------------------------------------------ path lookup (no registry)
def test_sysroot_lookup(tmp_path):
    r = tmp_path
    (r / "usr/lib/mipsel-linux-gnu").mkdir(parents=True)
    (r / "usr/lib/mipsel-linux-gnu/ld.so.1").write_bytes(b"x")
    (r / "usr/lib/mipsel-linux-gnu/libc.so.6").write_bytes(b"y")
    (r / "lib").symlink_to("usr/lib")                                  # merged /usr
    (r / "usr/lib/ld.so.1").symlink_to("mipsel-linux-gnu/ld.so.1")     # relative link
    (r / "usr/lib/abs").symlink_to("/usr/lib/mipsel-linux-gnu")        # absolute: from the sysroot's top
    (r / "usr/lib/loop").symlink_to("loop")
    rb = os.fsencode(r)
    real = os.fsencode(r / "usr/lib/mipsel-linux-gnu/ld.so.1")
    assert resolve_in(rb, b"/lib/ld.so.1") == real
    assert resolve_in(rb, b"/lib/abs/libc.so.6") == os.fsencode(r / "usr/lib/mipsel-linux-gnu/libc.so.6")
    assert resolve_in(rb, b"/../../lib/./ld.so.1") == real               # .. stops at the top
    assert resolve_in(rb, b"/lib/ld.so.1", follow=False) == os.fsencode(r / "usr/lib/ld.so.1")
    assert resolve_in(rb, b"/lib/missing") is None
    assert resolve_in(rb, b"/lib/ld.so.1/x") is None                   # not a directory
    assert resolve_in(rb, b"/usr/lib/loop") is None                    # ELOOP
    assert guest_to_host(rb, b"/dev/null") == b"/dev/null"               # not there: the host's
    assert guest_to_host(rb, b"lib/ld.so.1") == b"lib/ld.so.1"           # relative: untouched
    assert guest_to_host(None, b"/lib/ld.so.1") == b"/lib/ld.so.1"
    assert host_file(r, "/lib/ld.so.1") == os.fsdecode(real)


# ------------------------------------------------------------------ Debian's programs
def test_sqlite3_select(root):
    check(root, ["/usr/bin/sqlite3", ":memory:", "select 6*7"], expect=b"42\n")


def _sqlite_answer() -> bytes:
    """What sqlite3's list mode prints for BIG_SQL, from the host's SQLite."""
    db = sqlite3.connect(":memory:")
    lines = []
    for stmt in BIG_SQL.split(";\n"):
        for row in db.execute(stmt):
            lines.append("|".join(str(v) for v in row))
    return ("\n".join(lines) + "\n").encode()


def test_sqlite3_table_index_group_by(root):
    out = check(root, ["/usr/bin/sqlite3"], BIG_SQL.encode(), expect=_sqlite_answer())
    assert out.endswith(b"\n10000\n")


def test_coreutils_sort_md5sum(root):
    words = b"".join(b"%d\n" % ((i * 7919) % 1009) for i in range(2000))
    check(root, ["/usr/bin/sort", "-n"], words,
          expect=b"".join(b"%d\n" % v for v in sorted((i * 7919) % 1009 for i in range(2000))))
    check(root, ["/usr/bin/md5sum"], words, expect=hashlib.md5(words).hexdigest().encode() + b"  -\n")


def test_busybox_sh_pipe_execs_dynamic_tr(root):
    # busybox's sh forks, and execs /usr/bin/tr (coreutils, dynamically linked) from PATH
    check(root, ["/bin/busybox", "sh", "-c", "echo a | tr a b; echo done"], expect=b"b\ndone\n")


def test_execve_of_a_script_runs_its_interpreter(root, tmp_path):
    script = tmp_path / "script"
    script.write_bytes(b"#!/usr/bin/md5sum -b\nhello\n")
    script.chmod(0o755)
    digest = hashlib.md5(script.read_bytes()).hexdigest().encode()
    status, out, p = flashvm_run(root, ["/bin/busybox", "sh", "-c", str(script)])
    assert (status, out) == (0, digest + b" *" + os.fsencode(script) + b"\n")


def test_static_program_unchanged_by_sysroot(guest_program, tmp_path):
    """A static program named by a host path runs as before with a sysroot given
    (nothing of it is in the sysroot, so the host's file is used)."""
    exe = guest_program("qsort.c")
    out = io.BytesIO()
    p = new_process(str(exe), ["qsort"], stdout=out, sysroot=tmp_path)
    assert p.run().status == 0 and out.getvalue()


def test_cli_exec_sysroot_with_trace(root, tmp_path):
    """`flashvm exec --sysroot DIR /usr/bin/sqlite3 ...` names the program inside
    DIR; the syscall trace works for a program without symbols."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    trace = tmp_path / "trace.txt"
    r = subprocess.run([sys.executable, "-m", "flashvm.cli", "exec", "-q", "--results", str(tmp_path),
                        "--sysroot", str(root), "--trace=syscall", "--trace-file", str(trace),
                        "/usr/bin/sqlite3", ":memory:", "select 6*7"], capture_output=True, env=env, timeout=600)
    assert (r.returncode, r.stdout, r.stderr) == (0, b"42\n", b"")
    lines = trace.read_text().splitlines()
    assert any(" prctl(0x2e," in ln and ln.endswith(" = 0") for ln in lines)      # PR_GET_FP_MODE: FR=0
    assert lines[-1].startswith("syscall cpu=0 4246 exit_group(")
