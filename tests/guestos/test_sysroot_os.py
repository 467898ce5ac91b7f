"""Debian's own programs (bookworm mipsel: busybox, sqlite3, gcc, python3) on
the guest OS with their sysroot as `/`, compared with qemu-mipsel -L on the
same binaries.  The sysroots come from the package registry (cached after a
first run); without it these skip, saying why.

The CI subset (not slow): sqlite3's `select 6*7` and one busybox script on
1 CPU.  The rest (8 CPUs, timing mode, 2 Disco VMs, gcc, python3) is slow.
"""
from __future__ import annotations

import hashlib

import pytest
from support import QEMU
from sysroots import guest, oracle, sysroot

BUSYBOX = ["busybox-static"]
SQLITE = ["sqlite3", "busybox-static"]
GCC = ["gcc", "make", "libc6-dev", "busybox-static"]
PYTHON = ["python3", "busybox-static"]

DATA = b"".join(b"%s %d\n" % (w, (i * 37) % 101) for i, w in enumerate(
    [b"pear", b"apple", b"fig", b"banana", b"kiwi", b"plum", b"cherry", b"lime"] * 25))
SCRIPT = b"""set -e
cd /w
sort -k2 -n in.txt | awk '{ s += $2; print $1, s }' | sed 's/an/AN/g' > sorted.txt
uniq -c < sorted.txt | sort -rn | head -n 3
md5sum sorted.txt in.txt
mkdir -p d/e && echo one > d/a.txt && echo two > d/e/b.txt && cp in.txt d/e/c.dat
find d -type f | sort
cat $(find d -name '*.txt' | sort) | tr a-z A-Z
wc -l < in.txt
cat d/e/c.dat | grep -c pear
echo done >&2
"""

SQL = b"""create table c(id integer primary key, name text, region text);
create table o(id integer primary key, cid int, amount int);
with recursive n(i) as (select 1 union all select i+1 from n where i < 60)
  insert into c select i, 'cust' || i, 'r' || (i % 4) from n;
with recursive n(i) as (select 1 union all select i+1 from n where i < 12000)
  insert into o select i, i % 60 + 1, (i * 7919) % 1000 from n;
create index ocid on o(cid);
select c.region, count(*), sum(o.amount), max(o.amount) from c join o on o.cid = c.id
  group by c.region order by c.region;
select c.name, sum(o.amount) as t from c join o on o.cid = c.id group by c.id order by t desc, c.name limit 5;
select count(*) from o where cid = 7;
"""


# most tests open their databases with sqlite's lock-free VFS (as the oracle does);
# test_sqlite3_file_with_locks uses the default one, with record locks
DB = "file:/tmp/db?vfs=unix-none"


def _busybox_files():
    return {"/w/in.txt": DATA, "/w/s.sh": SCRIPT}


_one_cpu: dict[tuple, tuple] = {}


def _on_one_cpu(root, argv, files):
    """(status, stdout, stderr) of argv on 1 CPU in functional mode, the reference the other
    configurations must equal: the run is deterministic, so it is made once per session."""
    key = (root.root, tuple(argv), tuple(sorted(files.items())))
    if key not in _one_cpu:
        _one_cpu[key] = guest(root, argv, files=files)[:3]
    return _one_cpu[key]


def _check_oracle(root, argv, got, tmp_path, files=None, stdin=b""):
    for guest_path, data in (files or {}).items():
        host = tmp_path / guest_path.lstrip("/")
        host.parent.mkdir(parents=True, exist_ok=True)
        host.write_bytes(data)
    want = oracle(root, [a.replace("/w/", "w/") if a.startswith("/w/") else a for a in argv],
                  cwd=tmp_path, stdin=stdin)
    if want is not None:
        assert (got[0], got[1]) == want


def test_sqlite3_select(tmp_path):
    root = sysroot(SQLITE)
    argv = ["/usr/bin/sqlite3", ":memory:", "select 6*7"]
    st, out, _, _ = guest(root, argv)
    assert (st, out) == (0, b"42\n")
    _check_oracle(root, argv, (st, out), tmp_path)


def test_two_dynamic_programs_at_once():
    """Two dynamically linked programs mapping their libraries at the same time: unmapping a file
    mapping (MAP_FIXED over it) dropped the file's reference, which takes the file-system mutex,
    under the address space's spinlock, and the kernel panicked when that mutex was contended."""
    root = sysroot(SQLITE)
    argv = ["/bin/sh", "-c", "for i in 1 2 3; do /usr/bin/sqlite3 :memory: \"select $i\" > /tmp/$i & done; wait; "
            "cat /tmp/1 /tmp/2 /tmp/3"]
    st, out, err, _ = guest(root, argv)
    assert (st, out) == (0, b"1\n2\n3\n"), err


def test_busybox_script(tmp_path):
    root = sysroot(BUSYBOX)
    st, out, err = _on_one_cpu(root, ["/bin/sh", "/w/s.sh"], _busybox_files())
    assert st == 0 and b"sorted.txt" in out and err.endswith(b"done\n"), (out, err)
    # the oracle runs the script from a copy of /w (the script cds there: give it the host path)
    script = SCRIPT.replace(b"cd /w", b"cd " + str(tmp_path / "w").encode())
    _check_oracle(root, ["/bin/sh", "/w/s.sh"], (st, out), tmp_path, {"/w/in.txt": DATA, "/w/s.sh": script})


# on 8 CPUs, the form that once showed a guest OS race: `cat $(find ...)` came back empty or the shell
# segfaulted (a copy-on-write fault left other CPUs' stale translations: tests/guestos/test_os_subst_race.py)
@pytest.mark.slow
@pytest.mark.parametrize("cpus,mode", [(8, "functional"), (1, "timing"), (8, "timing")])
def test_busybox_script_cpus(cpus, mode):
    root = sysroot(BUSYBOX)
    one = _on_one_cpu(root, ["/bin/sh", "/w/s.sh"], _busybox_files())
    got = guest(root, ["/bin/sh", "/w/s.sh"], files=_busybox_files(), cpus=cpus, mode=mode)
    assert got[:2] == one[:2]


@pytest.mark.slow
def test_busybox_script_two_vms():
    root = sysroot(BUSYBOX)
    one = _on_one_cpu(root, ["/bin/sh", "/w/s.sh"], _busybox_files())
    outs, _ = guest(root, ["/bin/sh", "/w/s.sh"], files=_busybox_files(), vms=2)
    assert [o[:2] for o in outs] == [one[:2]] * 2


@pytest.mark.slow
@pytest.mark.parametrize("how", ["stdin", "file"])
def test_sqlite3_database(how, tmp_path):
    root = sysroot(SQLITE)
    if how == "stdin":
        st, out, err, _ = guest(root, ["/usr/bin/sqlite3", DB], stdin=SQL)
    else:           # the reference of test_sqlite3_database_cpus_vms
        st, out, err = _on_one_cpu(root, ["/usr/bin/sqlite3", "-init", "/w/q.sql", DB, ".quit"], {"/w/q.sql": SQL})
    assert st == 0, err
    assert out.count(b"\n") == 4 + 5 + 1 and out.startswith(b"r0|3000|")
    if how == "stdin":
        want = oracle(root, ["/usr/bin/sqlite3", f"file:{tmp_path}/db?vfs=unix-none"], cwd=tmp_path, stdin=SQL)
        if want is not None:
            assert (st, out) == want


@pytest.mark.slow
def test_sqlite3_file_with_locks():
    """sqlite3's default VFS on a database file takes fcntl record locks (F_SETLK64)."""
    st, out, err, _ = guest(sysroot(SQLITE), ["/usr/bin/sqlite3", "/tmp/db"], stdin=SQL)
    assert st == 0, err
    assert out.count(b"\n") == 4 + 5 + 1 and out.startswith(b"r0|3000|")


@pytest.mark.slow
def test_sqlite3_writers_share_a_file():
    """Four sqlite3 processes write one database file at once: its record locks serialise them."""
    insert = "begin exclusive; insert into t values($i); commit;"
    argv = ["/bin/sh", "-c", "/usr/bin/sqlite3 /tmp/db 'create table t(x)' && for i in 1 2 3 4; do "
            f"/usr/bin/sqlite3 -cmd '.timeout 20000' /tmp/db \"{insert}\" & done; wait; "
            "/usr/bin/sqlite3 /tmp/db 'select count(*), sum(x) from t'"]
    st, out, err, _ = guest(sysroot(SQLITE), argv)
    assert (st, out) == (0, b"4|10\n"), err


@pytest.mark.slow
@pytest.mark.parametrize("cpus,vms", [(8, None), (1, 2)])
def test_sqlite3_database_cpus_vms(cpus, vms):
    root = sysroot(SQLITE)
    # the SQL in a file: under --vms only VM 0 reads stdin
    argv, files = ["/usr/bin/sqlite3", "-init", "/w/q.sql", DB, ".quit"], {"/w/q.sql": SQL}
    one = _on_one_cpu(root, argv, files)
    got = guest(root, argv, files=files, cpus=cpus, vms=vms)
    if vms:
        assert [o[:2] for o in got[0]] == [one[:2]] * vms
    else:
        assert got[:2] == one[:2]


C_MAIN = b"""#include <stdio.h>
#include "lib.h"
int main(void) { long s = 0; for (int i = 1; i <= 1000; i++) s += sq(i) + cube(i % 10);
  printf("sum=%ld fib=%ld\\n", s, fib(40)); return 0; }
"""
C_FILES = {
    "/w/lib.h": b"int sq(int); int cube(int); long fib(int);\n",
    "/w/main.c": C_MAIN,
    "/w/sq.c": b'#include "lib.h"\nint sq(int x) { return x * x; }\n',
    "/w/cube.c": b'#include "lib.h"\nint cube(int x) { return x * x * x; }\n',
    "/w/fib.c": b'#include "lib.h"\nlong fib(int n) { long a = 0, b = 1; while (n--) { long t = a + b; a = b; '
                b'b = t; } return a; }\n',
    "/w/Makefile": b"OBJS = main.o sq.o cube.o fib.o\nprog: $(OBJS)\n\tcc -o prog $(OBJS)\n"
                   b"%.o: %.c lib.h\n\tcc -O2 -c $< -o $@\n",
}
C_WANT = f"sum={sum(i * i + (i % 10) ** 3 for i in range(1, 1001))} fib=102334155\n".encode()
CC1 = "/usr/lib/gcc/mipsel-linux-gnu/12/cc1"
CC1_ARGS = ["-quiet", "-imultiarch", "mipsel-linux-gnu", "-mel", "-march=mips32r2", "-mfpxx", "-mllsc",
            "-mno-lxc1-sxc1", "-mno-madd4", "-mips32r2", "-mabi=32", "-O2"]


@pytest.mark.slow
def test_gcc_cc1_matches_the_oracle(tmp_path):
    """cc1 run directly writes the same assembly on the guest OS as under qemu (fib.c includes
    only its own header: under qemu -L, cc1 would search the host's /usr/include)."""
    root = sysroot(GCC)
    st, out, err, _ = guest(root, ["/bin/sh", "-c", f"cd /w && {CC1} {' '.join(CC1_ARGS)} fib.c -o fib.s "
                                   "&& md5sum fib.s"], files=C_FILES)
    assert st == 0, err
    if QEMU is not None:
        for g, data in C_FILES.items():
            (tmp_path / g.split("/")[-1]).write_bytes(data)
        q = oracle(root, [CC1, *CC1_ARGS, "fib.c", "-o", "fib.s"], cwd=tmp_path)
        assert q is not None and q[0] == 0
        assert out.split()[0].decode() == hashlib.md5((tmp_path / "fib.s").read_bytes()).hexdigest()


@pytest.mark.slow
@pytest.mark.parametrize("cpus", [1, 8])
def test_gcc_driver_builds_and_runs(cpus):
    """One gcc command line compiles and links the program (its driver runs cc1, as, collect2 and ld)."""
    root = sysroot(GCC)
    st, out, err, _ = guest(root, ["/bin/sh", "-c", "cd /w && cc -O2 -o prog main.c sq.c cube.c fib.c && ./prog"],
                            files=C_FILES, cpus=cpus)
    assert (st, out) == (0, C_WANT), err


@pytest.mark.slow
@pytest.mark.parametrize("cpus", [1, 8])
def test_gcc_builds_and_runs(cpus):
    """Debian's gcc builds a multi-file program in the guest (the driver runs cc1, as, collect2, ld), which runs."""
    root = sysroot(GCC)
    # `cd /w; ...`: with `cd /w && cc ... &` the cd would happen in the first job's subshell only
    jobs = " ".join(f"cc -O2 -c {f}.c -o {f}.o &" for f in ("main", "sq", "cube", "fib"))
    st, out, err, _ = guest(root, ["/bin/sh", "-c", f"cd /w; {jobs} wait && cc -o prog main.o sq.o cube.o "
                                   "fib.o && ./prog"], files=C_FILES, cpus=cpus)
    assert (st, out) == (0, C_WANT), err


@pytest.mark.slow
@pytest.mark.parametrize("cpus", [1, 8])
def test_make_j4_drives_gcc(cpus):
    root = sysroot(GCC)
    st, out, err, _ = guest(root, ["/bin/sh", "-c", "make -C /w -j4 >&2 && /w/prog"], files=C_FILES, cpus=cpus)
    assert (st, out) == (0, C_WANT), err


PY = ("import json, re; d = {'k%d' % i: [i, i * i, str(i)] for i in range(300)}; s = json.dumps(d, sort_keys=True); "
      "back = json.loads(s); nums = [int(x) for x in re.findall(r'\\d+', s)]; "
      "print(len(s), len(back), sum(nums) % 1000003, sum(i ** 3 for i in range(20000)) % 999983, "
      "re.sub(r'(\\w)(\\d+)', r'\\2\\1', 'a1 b22 c333'))")


@pytest.mark.slow
@pytest.mark.parametrize("cpus,vms", [(1, None), (8, None), (1, 2)])
def test_python3(cpus, vms, tmp_path):
    root = sysroot(PYTHON)
    argv = ["/usr/bin/python3", "-c", PY]
    got = guest(root, argv, cpus=cpus, vms=vms)
    results = [o[:2] for o in got[0]] if vms else [got[:2]]
    want = oracle(root, argv, cwd=tmp_path)
    for st, out in results:
        assert st == 0 and out.startswith(b"8224 300 ") and out.endswith(b" 1a 22b 333c\n")
        if want is not None:
            assert (st, out) == want
