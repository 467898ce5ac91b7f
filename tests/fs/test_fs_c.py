"""flashfs, C library: compiled for the host with a file-backed device (the
driver tests/guest/fs/fsdrv.c) and checked against the Python side
in both directions, plus a cross-compile for the guest target."""
from __future__ import annotations

import errno
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from flashvm.fs import BLOCK_SIZE, MAX_FILE_SIZE, C_DIR, FlashFS, mkfs

pytestmark = pytest.mark.skipif(importlib.util.find_spec("ziglang") is None,
                                reason="the Python package 'ziglang' (C compiler) is not installed")

DRIVERS = Path(__file__).resolve().parents[1] / "guest" / "fs"    # C test programs
SOURCES = [DRIVERS / "fsdrv.c", C_DIR / "flashfs.c"]
WARN = ["-Wall", "-Wextra", "-Werror"]


def _env() -> dict[str, str]:
    try:
        from flashvm.toolchain import _zig_env
        return _zig_env()
    except Exception:  # pragma: no cover
        return dict(os.environ)


def _cc(args: list[str]) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ziglang", "cc", *args],
                          capture_output=True, text=True, env=_env(), timeout=300)


@pytest.fixture(scope="session")
def fsdrv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    exe = tmp_path_factory.mktemp("fsdrv") / "fsdrv"
    r = _cc(["-O1", "-g", *WARN, "-fsanitize=undefined", "-fsanitize-trap=undefined",
             f"-I{C_DIR}", "-o", str(exe), *map(str, SOURCES)])
    assert r.returncode == 0, r.stderr
    return exe


def test_cross_compiles_for_guest_without_warnings(tmp_path: Path) -> None:
    obj = tmp_path / "flashfs.o"
    r = _cc(["-target", "mipsel-freestanding-none", "-mcpu=mips32r2", "-O2", "-ffreestanding",
             "-fno-builtin", "-nostdlib", *WARN, "-c", str(C_DIR / "flashfs.c"), "-o", str(obj)])
    assert r.returncode == 0 and not r.stderr.strip(), r.stderr
    data = obj.read_bytes()
    assert data[:4] == b"\x7fELF" and data[5] == 1            # little-endian ELF
    for helper in (b"__udivdi3", b"__umoddi3", b"\0memcpy\0", b"\0memset\0"):
        assert helper not in data, f"needs {helper!r}"


class CError(Exception):
    def __init__(self, code: int) -> None:
        super().__init__(f"errno {code} ({errno.errorcode.get(-code, '?')})")
        self.code = code


class Drv:
    """A running fsdrv process (one command per line)."""

    def __init__(self, exe: Path, image: Path, nbufs: int = 32) -> None:
        self.p = subprocess.Popen([str(exe), str(image), str(nbufs)], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True, bufsize=1)
        first = self.p.stdout.readline().strip()
        if first != "ok mounted":
            self.close()
            raise CError(int(first.split()[1]))

    def __call__(self, *args: object) -> str:
        self.p.stdin.write(" ".join(map(str, args)) + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError(f"fsdrv died (status {self.p.wait()}) on {args}")
        line = line.rstrip("\n")
        if line.startswith("ok"):
            return line[3:]
        raise CError(int(line.split()[1]))

    def err(self, *args: object) -> int:
        """0 or the negative errno of a command."""
        try:
            self(*args)
            return 0
        except CError as e:
            return e.code

    def read(self, path: str) -> bytes:
        return bytes.fromhex(self("cat", path))

    def ls(self, path: str) -> dict[str, tuple[int, int]]:
        out = {}
        for item in self("ls", path).split():
            name, ino, typ = item.rsplit(":", 2)
            out[name] = (int(ino), int(typ))
        return out

    def stat(self, path: str) -> dict[str, int]:
        v = self("stat", path).split()
        keys = ["ino", "mode", "nlink", "size", "blocks", "uid", "gid", "atime", "mtime", "ctime"]
        return {k: int(x, 8 if k == "mode" else 10) for k, x in zip(keys, v)}

    def close(self) -> None:
        if self.p.poll() is None:
            self.p.stdin.write("quit\n")
            self.p.stdin.close()
            self.p.wait(timeout=30)
        self.p.stdout.close()

    def __enter__(self) -> "Drv":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def pattern(off: int, n: int, seed: int) -> bytes:
    return bytes((seed + p * 7 + (p >> 12) * 13) & 0xFF for p in range(off, off + n))


def pattern_fast(off: int, n: int, seed: int) -> bytes:
    import numpy as np
    p = np.arange(off, off + n, dtype=np.uint64)
    return ((seed + p * 7 + (p >> 12) * 13) & 0xFF).astype(np.uint8).tobytes()


def clean(image: Path) -> None:
    with FlashFS(image, writable=False) as fs:
        assert fs.fsck() == []


# ------------------------------------------------------- Python -> C
def test_c_reads_python_image(fsdrv: Path, tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "bin").mkdir(parents=True)
    (src / "bin" / "prog").write_bytes(os.urandom(70_000))
    (src / "bin" / "prog").chmod(0o755)
    (src / "etc").mkdir()
    (src / "etc" / "motd").write_text("welcome\n")
    os.symlink("../bin/prog", src / "etc" / "link")
    img = tmp_path / "d.img"
    big = os.urandom((12 + 1024 + 40) * BLOCK_SIZE + 7)      # uses the double indirect
    mkfs(img, "8M", src, files={"/big": big, "/" + "L" * 255: b"long"})
    with FlashFS(img, writable=False) as fs, Drv(fsdrv, img) as c:
        for path, s in fs.walk("/"):
            cs = c.stat(path)
            assert (cs["ino"], cs["mode"], cs["nlink"], cs["size"], cs["blocks"], cs["mtime"]) == \
                (s.ino, s.mode, s.nlink, s.size, s.blocks, s.mtime), path
            if s.is_dir:
                entries = {e.name: (e.ino, e.type) for e in fs.scandir(path)}
                assert c.ls(path) == entries
            elif s.is_file and s.size < 400_000:
                assert c.read(path) == fs.read(path)
        assert c("readlink", "/etc/link") == "../bin/prog"
        for off in (0, 12 * BLOCK_SIZE - 3, (12 + 1024) * BLOCK_SIZE - 5, len(big) - 100, len(big)):
            got = bytes.fromhex(c("read", "/big", off, 5000))
            assert got == big[off:off + 5000]
        assert c("lookup", "/bin", "..") == "1"
        assert c("lookup", "/bin", ".") == c("stat", "/bin").split()[0]
        assert c.err("lookup", "/", "L" * 256) == -errno.ENAMETOOLONG
        assert c.err("lookup", "/", "nope") == -errno.ENOENT
        assert c.err("lookup", "/etc/motd", "x") == -errno.ENOTDIR
        assert c.err("cat", "/bin") == -errno.EISDIR


# ------------------------------------------------------- C -> Python
def test_python_reads_c_changes(fsdrv: Path, tmp_path: Path) -> None:
    img = tmp_path / "d.img"
    mkfs(img, "4M", files={"/etc/passwd": b"root\n", "/old": b"old contents"})
    with Drv(fsdrv, img, nbufs=8) as c:
        c("time", 5000)
        c("mkdir", "/home", "755")
        c("mkdir", "/home/u", "700")
        c("create", "/home/u/notes", "600")
        c("write", "/home/u/notes", 0, b"hello world".hex())
        c("write", "/home/u/notes", 6, b"WORLD!".hex())
        c("create", "/exe", "755")
        c("fill", "/exe", 0, 100_000, 9)
        c("rename", "/old", "/home/u/renamed")
        c("rename", "/etc/passwd", "/home/u/notes")             # replaces the target
        c("link", "/exe", "/home/exe2")
        c("symlink", "/sl", "home/u")
        c("create", "/gone", "644")
        c("write", "/gone", 0, "00" * 9000)
        c("unlink", "/gone")
        c("chown", "/exe", 1000, 100)
        c("settimes", "/exe", 111, 222)
        c("chmod", "/home/u", "750")
        c("create", "/fifo", "10644")
        c("sync")
    with FlashFS(img, writable=False) as fs:
        assert fs.fsck() == []
        assert sorted(fs.listdir("/")) == ["etc", "exe", "fifo", "home", "sl"]
        assert fs.listdir("/etc") == []
        assert sorted(fs.listdir("/home/u")) == ["notes", "renamed"]
        assert fs.read("/home/u/notes") == b"root\n"
        assert fs.read("/home/u/renamed") == b"old contents"
        assert fs.read("/exe") == pattern(0, 100_000, 9) == fs.read("/home/exe2")
        s = fs.stat("/exe")
        assert (s.mode, s.nlink, s.uid, s.gid, s.atime, s.mtime, s.ctime) == \
            (0o100755, 2, 1000, 100, 111, 222, 5000)
        assert fs.stat("/home/u").mode == 0o40750 and fs.stat("/home").nlink == 3
        assert fs.readlink("/sl") == "home/u"
        assert fs.stat("/fifo").mode == 0o10644
        assert fs.stat("/").nlink == 4


def test_remount_and_small_cache(fsdrv: Path, tmp_path: Path) -> None:
    img = tmp_path / "d.img"
    mkfs(img, "2M")
    with Drv(fsdrv, img, nbufs=8) as c:
        for i in range(40):
            c("create", f"/f{i}", "644")
            c("write", f"/f{i}", 0, f"file {i}".encode().hex())
        c("unmount")
        c("mount")
        assert c.read("/f39") == b"file 39"
        assert len(c.ls("/")) == 42
        reads, writes = map(int, c("iostats").split())
        assert writes < 200                         # write-back, not write-through
    clean(img)
    with pytest.raises(CError) as e:
        Drv(fsdrv, img, nbufs=4).close()              # below FS_MIN_BUFS
    assert e.value.code == -errno.EINVAL
    bad = tmp_path / "bad.img"
    bad.write_bytes(bytes(65536))
    with pytest.raises(CError) as e:
        Drv(fsdrv, bad)
    assert e.value.code == -errno.EINVAL


def test_namespace_errors(fsdrv: Path, tmp_path: Path) -> None:
    img = tmp_path / "d.img"
    mkfs(img, "2M", files={"/d/f": b"x", "/d/sub/g": b"y", "/e/h": b"z", "/file": b"f"})
    with Drv(fsdrv, img) as c:
        c("mkdir", "/empty", "755")
        E = errno
        assert c.err("create", "/d/f", "644") == -E.EEXIST
        assert c.err("mkdir", "/d", "755") == -E.EEXIST
        assert c.err("create", "/file/x", "644") == -E.ENOTDIR
        assert c.err("create", "/nodir/x", "644") == -E.ENOENT
        assert c.err("create", "/" + "n" * 256, "644") == -E.ENAMETOOLONG
        assert c.err("create", "/" + "n" * 255, "644") == 0
        assert c.err("mkdir", "/d/..", "755") == -E.EEXIST
        assert c.err("unlink", "/d") == -E.EISDIR
        assert c.err("unlink", "/nope") == -E.ENOENT
        assert c.err("rmdir", "/d") == -E.ENOTEMPTY
        assert c.err("rmdir", "/file") == -E.ENOTDIR
        assert c.err("rmdir", "/d/.") == -E.EINVAL
        assert c.err("rmdir", "/d/..") == -E.ENOTEMPTY
        assert c.err("write", "/d", 0, "00") == -E.EISDIR
        assert c.err("truncate", "/d", 0) == -E.EISDIR
        assert c.err("link", "/d", "/d2") == -E.EPERM
        assert c.err("link", "/file", "/d/f") == -E.EEXIST
        # rename
        assert c.err("rename", "/d", "/d/sub/x") == -E.EINVAL       # into itself
        assert c.err("rename", "/d", "/d/x") == -E.EINVAL
        assert c.err("rename", "/d", "/file") == -E.ENOTDIR
        assert c.err("rename", "/file", "/empty") == -E.EISDIR
        assert c.err("rename", "/e", "/d") == -E.ENOTEMPTY
        assert c.err("rename", "/nope", "/x") == -E.ENOENT
        assert c.err("rename", "/d/.", "/x") == -E.EINVAL
        assert c.err("rename", "/file", "/file") == 0
        c("link", "/file", "/file2")
        assert c.err("rename", "/file", "/file2") == 0                # same inode: nothing
        assert c.stat("/file")["nlink"] == 2
        c("rename", "/e", "/empty")                                    # dir over empty dir
        assert c.read("/empty/h") == b"z"
        c("rename", "/d/sub", "/sub")                                  # across directories
        assert c("lookup", "/sub", "..") == "1"
        assert c.stat("/d")["nlink"] == 2 and c.stat("/")["nlink"] == 5
        c("rename", "/sub", "/d/sub")
        assert c.stat("/")["nlink"] == 4
        assert c.err("rmdir", "/") == -E.EINVAL                       # empty name
        c("sync")
    clean(img)


def test_readdir_cookie_survives_changes(fsdrv: Path, tmp_path: Path) -> None:
    img = tmp_path / "d.img"
    names = [f"entry-{i:03d}-" + "x" * (i % 50) for i in range(150)]    # several blocks
    mkfs(img, "2M", files={f"/d/{n}": b"" for n in names})
    with Drv(fsdrv, img) as c:
        assert set(c.ls("/d")) == set(names) | {".", ".."}
        for n in names[::2]:
            c("unlink", f"/d/{n}")
        for n in names[::6]:
            c("create", f"/d/{n}", "644")          # refills holes in the blocks
        want = set(names[1::2]) | set(names[::6]) | {".", ".."}
        assert set(c.ls("/d")) == want
        c("sync")
    with FlashFS(img, writable=False) as fs:
        assert set(fs.listdir("/d")) == want - {".", ".."}
        assert fs.fsck() == []


def test_open_unlinked_files_become_orphans(fsdrv: Path, tmp_path: Path) -> None:
    img = tmp_path / "d.img"
    mkfs(img, "2M", files={"/a": b"A" * 10000, "/b": b"B" * 10000, "/c": b"C" * 10000})
    with Drv(fsdrv, img) as c:
        free0 = c("statfs").split()
        ia = c("open", "/a")
        ib = c("open", "/b")
        c("unlink", "/a")
        c("rename", "/c", "/b")                    # b replaced while open
        assert c.err("cat", "/a") == -errno.ENOENT
        assert bytes.fromhex(c("readi", ia, 0, 3)) == b"AAA"    # still readable
        assert bytes.fromhex(c("readi", ib, 9998, 10)) == b"BB"
        c("sync")
        with FlashFS(img, writable=False) as fs:
            assert fs.fsck() == []                 # orphans are a consistent state
            assert fs.sb["orphan_head"] in (int(ia), int(ib))
        c("close", ia)
        assert c.err("readi", ia, 0, 1) == -errno.ENOENT
        c("sync")
        clean(img)
        # "crash" with b still open: the next mount frees it
    with Drv(fsdrv, img) as c:
        assert c.read("/b") == b"C" * 10000
        c("sync")
        free1 = c("statfs").split()
        # free blocks: a and the old b were freed, c's blocks now belong to b
        assert int(free1[1]) == int(free0[1]) + 6 and int(free1[3]) == int(free0[3]) + 2
    clean(img)


def test_double_indirect_c(fsdrv: Path, tmp_path: Path) -> None:
    img = tmp_path / "d.img"
    mkfs(img, "16M")
    size = (12 + 1024 + 700) * BLOCK_SIZE + 1234
    with Drv(fsdrv, img) as c:
        free0 = int(c("statfs").split()[1])
        c("create", "/big", "644")
        assert c("fill", "/big", 0, size, 5) == str(size)
        nblocks = -(-size // BLOCK_SIZE)
        assert c.stat("/big")["blocks"] == 8 * (nblocks + 3)
        # a sparse write near the 4 GB limit, and one past it
        far = MAX_FILE_SIZE - 10
        assert c("write", "/big", far, "ab" * 10) == "10"
        assert c.err("write", "/big", MAX_FILE_SIZE, "ab") == -errno.EFBIG
        assert c.stat("/big")["size"] == MAX_FILE_SIZE
        assert bytes.fromhex(c("read", "/big", far - 5, 100)) == bytes(5) + b"\xab" * 10
        c("sync")
        with FlashFS(img, writable=False) as fs:
            assert fs.fsck() == []
            c("truncate", "/big", size)
            c("sync")
            assert fs.read("/big") == pattern_fast(0, size, 5)
        for cut in ((12 + 1024 + 3) * BLOCK_SIZE + 5, (12 + 1024) * BLOCK_SIZE,
                    (12 + 7) * BLOCK_SIZE - 1, 12 * BLOCK_SIZE, 100, 0):
            c("truncate", "/big", cut)
            c("sync")
            with FlashFS(img, writable=False) as fs:
                assert fs.fsck() == [], cut
                assert fs.read("/big") == pattern_fast(0, cut, 5)
        # growing again reads zeros where the old data was
        c("truncate", "/big", 3 * BLOCK_SIZE)
        assert bytes.fromhex(c("read", "/big", 0, 200)) == bytes(200)
        c("unlink", "/big")
        c("sync")
        assert int(c("statfs").split()[1]) == free0
    clean(img)


def test_enospc(fsdrv: Path, tmp_path: Path) -> None:
    img = tmp_path / "d.img"
    mkfs(img, "256K", inodes=40)
    with Drv(fsdrv, img, nbufs=8) as c:
        total, free0, itotal, ifree0 = map(int, c("statfs").split())
        c("create", "/f", "644")
        n = int(c("fill", "/f", 0, 10 << 20, 1))          # short write
        assert 0 < n < 10 << 20
        assert int(c("statfs").split()[1]) == 0
        assert c.err("write", "/f", n, "00") == -errno.ENOSPC
        assert c.err("mkdir", "/d", "755") == -errno.ENOSPC
        # directory full and no block to grow it: ENOSPC, and no inode leaked
        made = 0
        while c.err("create", f"/name-{made:04d}-{'x' * 200}", "644") == 0:
            made += 1
        assert int(c("statfs").split()[3]) == ifree0 - 1 - made
        c("sync")
        with FlashFS(img, writable=False) as fs:
            assert fs.fsck() == []
            assert fs.read("/f") == pattern(0, n, 1)
        c("truncate", "/f", 0)
        made2 = 0
        while c.err("create", f"/g{made2}", "644") == 0:
            made2 += 1
        assert int(c("statfs").split()[3]) == 0           # ran out of inodes now
        assert c.err("mkdir", "/d", "755") == -errno.ENOSPC
        c("sync")
        clean(img)
        c("unlink", "/f")
        for i in range(made2):
            c("unlink", f"/g{i}")
        for i in range(made):
            c("unlink", f"/name-{i:04d}-{'x' * 200}")
        c("sync")
        # the root directory grew by some blocks; everything else is back
        total1, free1, _, ifree1 = map(int, c("statfs").split())
        assert ifree1 == ifree0
        assert free1 >= free0 - 3
    clean(img)


# ---------------------------------------------------------- random ops
NAMES = st.lists(st.sampled_from("abc"), min_size=1, max_size=3).map("/".join)
OFFS = st.one_of(st.sampled_from([0, 1, 4095, 4096, 12 * 4096 - 2, 12 * 4096, 53000]),
                 st.integers(0, 60_000))
OPS = st.one_of(
    st.tuples(st.just("create"), NAMES),
    st.tuples(st.just("mkdir"), NAMES),
    st.tuples(st.just("write"), NAMES, OFFS, st.binary(min_size=0, max_size=300)),
    st.tuples(st.just("truncate"), NAMES, OFFS),
    st.tuples(st.just("unlink"), NAMES),
    st.tuples(st.just("rmdir"), NAMES),
    st.tuples(st.just("rename"), NAMES, NAMES),
    st.tuples(st.just("link"), NAMES, NAMES),
    st.tuples(st.just("read"), NAMES, OFFS, st.integers(0, 9000)),
)
E = errno


class Model:
    """What POSIX (and the C library's order of checks) says should happen."""

    def __init__(self) -> None:
        self.dirs: set[str] = {""}
        self.files: dict[str, int] = {}
        self.data: dict[int, bytearray] = {}
        self.next = 0

    @staticmethod
    def parent(p: str) -> str:
        return p.rpartition("/")[0]

    def namei(self, p: str) -> int:
        cur = ""
        for comp in p.split("/") if p else []:
            if cur in self.files:
                return -E.ENOTDIR
            cur = f"{cur}/{comp}" if cur else comp
            if cur not in self.dirs and cur not in self.files:
                return -E.ENOENT
        return 0

    def exists(self, p: str) -> bool:
        return p in self.dirs or p in self.files

    def children(self, d: str) -> list[str]:
        pre = d + "/" if d else ""
        return [p for p in (*self.dirs, *self.files)
                if p and p.startswith(pre) and "/" not in p[len(pre):]]

    def apply(self, op: tuple) -> tuple[int, object]:
        kind, p = op[0], op[1]
        if kind in ("write", "truncate", "read"):
            if (e := self.namei(p)) or (e := -E.EISDIR if p in self.dirs else 0):
                return e, None
            buf = self.data[self.files[p]]
            if kind == "read":
                return 0, bytes(buf[op[2]:op[2] + op[3]])
            if kind == "truncate":
                del buf[op[2]:]
                buf.extend(bytes(op[2] - len(buf)))
                return 0, None
            off, d = op[2], op[3]
            if d:
                if len(buf) < off:
                    buf.extend(bytes(off - len(buf)))
                buf[off:off + len(d)] = d
            return 0, len(d)
        if kind in ("create", "mkdir", "unlink", "rmdir"):
            par = self.parent(p)
            if (e := self.namei(par)) or (e := -E.ENOTDIR if par in self.files else 0):
                return e, None
            if kind in ("create", "mkdir"):
                if self.exists(p):
                    return -E.EEXIST, None
                if kind == "mkdir":
                    self.dirs.add(p)
                else:
                    self.files[p] = self.next
                    self.data[self.next] = bytearray()
                    self.next += 1
                return 0, None
            if not self.exists(p):
                return -E.ENOENT, None
            if kind == "unlink":
                if p in self.dirs:
                    return -E.EISDIR, None
                del self.files[p]
                return 0, None
            if p not in self.dirs:
                return -E.ENOTDIR, None
            if self.children(p):
                return -E.ENOTEMPTY, None
            self.dirs.remove(p)
            return 0, None
        a, b = p, op[2]
        pa, pb = self.parent(a), self.parent(b)
        if (e := self.namei(pa)) or (e := self.namei(pb)):
            return e, None
        if kind == "link":
            if pa in self.files:
                return -E.ENOTDIR, None
            if not self.exists(a):
                return -E.ENOENT, None
            if a in self.dirs:
                return -E.EPERM, None
            if pb in self.files:
                return -E.ENOTDIR, None
            if self.exists(b):
                return -E.EEXIST, None
            self.files[b] = self.files[a]
            return 0, None
        # rename
        if pb in self.files or pa in self.files:
            return -E.ENOTDIR, None
        if not self.exists(a):
            return -E.ENOENT, None
        if a == b or (a in self.files and self.files.get(b) == self.files[a]):
            return 0, None
        adir = a in self.dirs
        if adir and pa != pb and b.startswith(a + "/"):
            return -E.EINVAL, None
        if self.exists(b):
            if adir and b not in self.dirs:
                return -E.ENOTDIR, None
            if adir and self.children(b):
                return -E.ENOTEMPTY, None
            if not adir and b in self.dirs:
                return -E.EISDIR, None
            self.dirs.discard(b)
            self.files.pop(b, None)
        if adir:
            moved = [x for x in (*self.dirs, *self.files) if x == a or x.startswith(a + "/")]
            for x in moved:
                y = b + x[len(a):]
                if x in self.dirs:
                    self.dirs.remove(x)
                    self.dirs.add(y)
                else:
                    self.files[y] = self.files.pop(x)
        else:
            self.files[b] = self.files.pop(a)
        return 0, None


def run_c(c: Drv, op: tuple) -> tuple[int, object]:
    kind, p = op[0], "/" + op[1]
    try:
        if kind == "create":
            c("create", p, "644")
        elif kind == "mkdir":
            c("mkdir", p, "755")
        elif kind == "write":
            return 0, int(c("write", p, op[2], op[3].hex()))
        elif kind == "truncate":
            c("truncate", p, op[2])
        elif kind in ("unlink", "rmdir"):
            c(kind, p)
        elif kind in ("rename", "link"):
            c(kind, p, "/" + op[2])
        elif kind == "read":
            return 0, bytes.fromhex(c("read", p, op[2], op[3]))
    except CError as e:
        return e.code, None
    return 0, None


def compare(image: Path, m: Model) -> None:
    with FlashFS(image, writable=False) as fs:
        seen_dirs, seen_files, inos = set(), {}, {}
        for path, s in fs.walk("/"):
            p = path.lstrip("/")
            if s.is_dir:
                seen_dirs.add(p)
                assert s.nlink == 2 + sum(1 for x in m.children(p) if x in m.dirs), p
            else:
                seen_files[p] = fs.read(path)
                inos[p] = s.ino
                assert s.nlink == sum(1 for v in m.files.values() if v == m.files.get(p)), p
        assert seen_dirs == m.dirs
        assert seen_files == {p: bytes(m.data[n]) for p, n in m.files.items()}
        for p, q in ((p, q) for p in m.files for q in m.files):
            assert (inos[p] == inos[q]) == (m.files[p] == m.files[q])
        assert fs.fsck() == []


@settings(max_examples=int(os.environ.get("FLASHFS_EXAMPLES", "40")), deadline=None, suppress_health_check=[HealthCheck.too_slow,
                                                                   HealthCheck.function_scoped_fixture])
@given(ops=st.lists(OPS, min_size=1, max_size=45))
def test_random_operations_match_model(fsdrv: Path, tmp_path: Path, ops: list[tuple]) -> None:
    img = tmp_path / "rand.img"
    mkfs(img, "4M")
    m = Model()
    with Drv(fsdrv, img, nbufs=8) as c:
        for i in range(0, len(ops), 15):
            for op in ops[i:i + 15]:
                want = m.apply(op)
                got = run_c(c, op)
                assert got == want, op
            c("sync")
            compare(img, m)


FILL = st.tuples(st.just("fill"), st.sampled_from(["a", "c", "b/a", "b/b"]),
                 st.integers(0, 120_000), st.integers(1, 40_000), st.integers(0, 255))


@settings(max_examples=int(os.environ.get("FLASHFS_EXAMPLES", "40")), deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(pairs=st.lists(st.tuples(OPS, FILL), min_size=3, max_size=25))
def test_random_operations_on_a_full_disk(fsdrv: Path, tmp_path: Path, pairs: list[tuple]) -> None:
    """On a tiny image: every result matches the model, except that an
    operation the model allows may fail with ENOSPC (changing nothing) and
    a write may be short (the model then takes only what was written)."""
    import copy
    ops = [op for pair in pairs for op in pair]
    img = tmp_path / "tiny.img"
    mkfs(img, 96 * 1024, inodes=30)
    m = Model()
    nospc = 0
    setup = [("create", "a"), ("mkdir", "b"), ("create", "b/a"), ("create", "c")]
    with Drv(fsdrv, img, nbufs=8) as c:
        for op in setup + ops:
            if op[0] == "fill":
                _, p, off, n, seed = op
                op = ("write", p, off, pattern(off, n, seed))
                try:
                    got = (0, int(c("fill", "/" + p, off, n, seed)))
                except CError as e:
                    got = (e.code, None)
            else:
                got = run_c(c, op)
            if got[0] == -errno.ENOSPC:
                nospc += 1
                assert copy.deepcopy(m).apply(op)[0] == 0, op
            elif op[0] == "write" and got[0] == 0 and got[1] < len(op[3]):
                nospc += 1
                assert m.apply(op[:3] + (op[3][:got[1]],)) == got
            else:
                assert got == m.apply(op), op
        c("sync")
        compare(img, m)
    if os.environ.get("FLASHFS_DEBUG"):
        print("nospc", nospc, "of", len(ops))


def test_removed_but_open_directory(fsdrv: Path, tmp_path: Path) -> None:
    img = tmp_path / "d.img"
    mkfs(img, "1M")
    with Drv(fsdrv, img) as c:
        c("mkdir", "/d", "755")
        c("create", "/f", "644")
        ino = c("open", "/d")
        fino = c("open", "/f")
        c("rmdir", "/d")
        c("unlink", "/f")
        # the kernel still has them, but nothing may be added to or linked from them
        assert c.err("createi", ino, "x") == -errno.ENOENT
        assert c.err("linki", fino, "/again") == -errno.ENOENT
        assert c("lookup", "/", "..") == "1"
        c("sync")
        clean(img)
        c("close", ino)
        c("close", fino)
        c("sync")
        with FlashFS(img, writable=False) as fs:
            assert fs.fsck() == [] and fs.listdir("/") == [] and fs.stat("/").nlink == 2


def test_library_runs_on_the_simulated_mips(fsdrv: Path, tmp_path: Path) -> None:
    """The cross-compiled library on the bare machine makes exactly the same
    disk as the host build given the same operations."""
    from flashvm.elf import load_elf
    from flashvm.machine.bare import BareMachine
    from flashvm.toolchain import build_bare
    import io
    img = tmp_path / "d.img"
    nblocks = 64
    mkfs(img, nblocks * BLOCK_SIZE, files={"/etc/motd": b"hello from flashfs\n"})
    raw = img.read_bytes()
    blocks = [(i, raw[i * BLOCK_SIZE:(i + 1) * BLOCK_SIZE]) for i in range(nblocks)]
    inc = tmp_path / "inc"
    inc.mkdir()
    with open(inc / "fs_image.h", "w") as h:
        h.write(f"#define FS_IMAGE_BLOCKS {nblocks}\n")
        h.write("static const struct { uint32_t blockno; uint8_t data[4096]; } image_blocks[] = {\n")
        for i, data in blocks:
            if any(data):
                h.write(f"{{{i}, {{{','.join(map(str, data))}}}}},\n")
        h.write("};\n")
    elf = build_bare([DRIVERS / "fs_bare.c", C_DIR / "flashfs.c"],
                     extra_flags=[f"-I{inc}", f"-I{C_DIR}"])
    out = io.BytesIO()
    bm = BareMachine(out=out)
    bm.load(load_elf(elf))
    r = bm.run(max_insns=100_000_000)
    text = out.getvalue().decode()
    assert r.status == 0, text
    lines = text.splitlines()
    assert lines[0] == "motd: hello from flashfs"
    assert lines[1] == "ls: . .. moved x"
    assert lines[2] == "moved: size=5000 blocks=16 nlink=1"
    assert lines[3] == "read: %d %d" % tuple((1 + p * 7 + (p >> 12) * 13) & 0xFF for p in (4990, 4999))
    mips = {int(b): h for _, b, h in (ln.split() for ln in lines[4:])}
    # the same on the host
    with Drv(fsdrv, img, nbufs=16) as c:
        c("create", "/new", "644")
        c("fill", "/new", 0, 20000, 1)
        c("write", "/new", 70000, b"tail".hex())
        c("mkdir", "/dir", "755")
        c("rename", "/new", "/dir/moved")
        c("unlink", "/etc/motd")
        c("create", "/dir/x", "644")
        c("truncate", "/dir/moved", 5000)
        c("sync")
    raw = img.read_bytes()

    def fnv(b: bytes) -> str:
        h = 2166136261
        for x in b:
            h = ((h ^ x) * 16777619) & 0xFFFFFFFF
        return f"{h:08x}"
    host = {i: fnv(raw[i * BLOCK_SIZE:(i + 1) * BLOCK_SIZE]) for i in range(nblocks)}
    assert mips == host
    clean(img)
