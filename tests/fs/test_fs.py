"""flashfs, Python side: mkfs round trips, FlashFS read/write, fsck, the CLI."""
from __future__ import annotations

import os
import struct
from pathlib import Path

import pytest
from typer.testing import CliRunner

from flashvm.fs import BLOCK_SIZE, MAX_FILE_SIZE, FlashFS, FsError, mkfs, parse_size
from flashvm.fs.cli import app


def _tree(root: Path) -> None:
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "sh").write_bytes(b"\x7fELF" + bytes(range(256)) * 100)
    (root / "bin" / "sh").chmod(0o755)
    (root / "etc" / "init.d").mkdir(parents=True)
    (root / "etc" / "passwd").write_text("root:x:0:0::/root:/bin/sh\n")
    (root / "etc" / "init.d" / "rc").write_text("#!/bin/sh\necho hi\n")
    (root / "etc" / "init.d" / "rc").chmod(0o700)
    (root / "empty").mkdir()
    (root / "zero").write_bytes(b"")
    (root / "holey").write_bytes(bytes(3 * BLOCK_SIZE) + b"tail")
    (root / ("n" * 255)).write_bytes(b"long name")
    os.symlink("bin/sh", root / "sh-link")


def _host_files(root: Path) -> dict[str, Path]:
    return {"/" + str(p.relative_to(root)): p for p in root.rglob("*")}


def test_roundtrip_from_directory(tmp_path: Path) -> None:
    src = tmp_path / "src"
    _tree(src)
    img = tmp_path / "disk.img"
    mkfs(img, "4M", src)
    with FlashFS(img, writable=False) as fs:
        assert fs.fsck() == []
        assert sorted(fs.listdir("/")) == sorted(p.name for p in src.iterdir())
        for guest, host in _host_files(src).items():
            st = fs.stat(guest)
            hst = host.lstat()
            if host.is_symlink():
                assert st.is_symlink and fs.readlink(guest) == os.readlink(host)
            elif host.is_dir():
                assert st.is_dir
                assert sorted(fs.listdir(guest)) == sorted(p.name for p in host.iterdir())
                assert st.nlink == 2 + sum(1 for p in host.iterdir() if p.is_dir() and not p.is_symlink())
            else:
                assert fs.read(guest) == host.read_bytes()
                assert st.mode == hst.st_mode  # type + permission bits, executable bit kept
                assert st.mtime == int(hst.st_mtime)
                assert st.nlink == 1
        # all-zero blocks became holes
        assert fs.stat("/holey").blocks == 8
        assert fs.stat("/").ino == 1


def test_files_mapping_makes_directories(tmp_path: Path) -> None:
    host = tmp_path / "prog"
    host.write_bytes(b"program")
    host.chmod(0o751)
    img = tmp_path / "d.img"
    mkfs(img, 1 << 20, files={"/a/b/c/data": b"xyz", "sbin/init": host, "/top": bytearray(b"t")})
    with FlashFS(img) as fs:
        assert fs.read("/a/b/c/data") == b"xyz"
        assert oct(fs.stat("/a/b/c/data").mode) == oct(0o100644)
        assert oct(fs.stat("/sbin/init").mode) == oct(0o100751)
        assert fs.stat("/a/b").is_dir and fs.listdir("/a/b") == ["c"]
        assert fs.read("top") == b"t"
        assert fs.fsck() == []


def test_extract(tmp_path: Path) -> None:
    src = tmp_path / "src"
    _tree(src)
    img = tmp_path / "d.img"
    mkfs(img, "4M", src)
    out = tmp_path / "out"
    with FlashFS(img, writable=False) as fs:
        fs.extract("/", out)
    for guest, host in _host_files(src).items():
        dst = out / guest.lstrip("/")
        if host.is_symlink():
            assert os.readlink(dst) == os.readlink(host)
        elif host.is_file():
            assert dst.read_bytes() == host.read_bytes()
            assert dst.stat().st_mode == host.stat().st_mode
    with FlashFS(img, writable=False) as fs:
        fs.extract("/etc", tmp_path / "etc")
    assert (tmp_path / "etc" / "init.d" / "rc").read_text().startswith("#!")


def test_write_modify_remove(tmp_path: Path) -> None:
    img = tmp_path / "d.img"
    mkfs(img, "2M")
    with FlashFS(img) as fs:
        free0 = fs.sb["free_blocks"]
        fs.write("/x/y", os.urandom(100_000))
        fs.write("/x/y", b"short")        # replace: blocks freed
        assert fs.read("/x/y") == b"short"
        fs.mkdir("/x/z/w")
        fs.symlink("/x/l", "y")
        assert fs.fsck() == []
        with pytest.raises(FsError, match="not empty"):
            fs.rmdir("/x")
        fs.unlink("/x/y")
        fs.unlink("/x/l")
        fs.rmdir("/x/z/w")
        fs.rmdir("/x/z")
        fs.rmdir("/x")
        assert fs.listdir("/") == []
        assert fs.fsck() == []
        assert fs.sb["free_blocks"] == free0
    with FlashFS(img) as fs:               # flushed on close
        assert fs.fsck() == [] and fs.sb["free_blocks"] == free0


def test_double_indirect_python(tmp_path: Path) -> None:
    img = tmp_path / "d.img"
    size = (12 + 1024 + 300) * BLOCK_SIZE + 123      # past direct + single indirect
    data = os.urandom(size)
    mkfs(img, "8M", files={"/big": data})
    with FlashFS(img, writable=False) as fs:
        assert fs.read("/big") == data
        st = fs.stat("/big")
        nblocks = -(-size // BLOCK_SIZE)
        assert st.blocks == 8 * (nblocks + 1 + 2)          # + ind + dind + one mid block
        assert fs.fsck() == []


def test_mkfs_errors(tmp_path: Path) -> None:
    img = tmp_path / "d.img"
    with pytest.raises(FsError, match="image too small"):
        mkfs(img, 16 * 1024)
    with pytest.raises(FsError, match="image too small"):
        mkfs(img, "256K", files={"/f": os.urandom(300_000)})
    with pytest.raises(FsError, match="image too small.*inodes"):
        mkfs(img, "1M", files={f"/f{i}": b"x" for i in range(200)}, inodes=50)
    with pytest.raises(FsError, match="name too long"):
        mkfs(img, "1M", files={"/" + "a" * 256: b""})
    with pytest.raises(FsError, match="source directory not found"):
        mkfs(img, "1M", tmp_path / "nope")
    with pytest.raises(FsError, match="bad size"):
        parse_size("12Q")
    assert not img.exists()
    assert not list(tmp_path.iterdir())                 # no temp files left
    # atomic: a failing mkfs leaves an existing image alone
    mkfs(img, "1M", files={"/keep": b"me"})
    before = img.read_bytes()
    with pytest.raises(FsError):
        mkfs(img, "1M", files={"/f": os.urandom(2 << 20)})
    assert img.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["d.img"]


def test_parse_size() -> None:
    assert parse_size("64M") == 64 << 20
    assert parse_size("1G") == 1 << 30
    assert parse_size("512k") == 512 << 10
    assert parse_size("4096") == 4096
    assert parse_size("2MiB") == 2 << 20


def test_open_errors(tmp_path: Path) -> None:
    bad = tmp_path / "bad.img"
    bad.write_bytes(bytes(8192))
    with pytest.raises(FsError, match="not a flashfs image"):
        FlashFS(bad)
    with pytest.raises(FsError, match="cannot open"):
        FlashFS(tmp_path / "missing.img")
    img = tmp_path / "d.img"
    mkfs(img, "1M")
    raw = bytearray(img.read_bytes())
    raw[4:8] = struct.pack("<I", 99)
    bad.write_bytes(raw)
    with pytest.raises(FsError, match="version 99"):
        FlashFS(bad)


def test_fsck_finds_corruption(tmp_path: Path) -> None:
    img = tmp_path / "d.img"
    mkfs(img, "1M", files={"/a/f": b"x" * 5000, "/g": b"y"})
    with FlashFS(img) as fs:
        assert fs.fsck() == []
        f = fs.stat("/a/f")
        blk = fs._iread(f.ino).direct[0]
        # a used block marked free
        fs._setbit(fs.bbitmap, blk, False)
        assert any(f"block {blk}: used by inode" in p for p in fs.fsck())
        fs._setbit(fs.bbitmap, blk, True)
        # a wrong link count
        ind = fs._iread(f.ino)
        ind.nlink = 3
        fs._iwrite(f.ino, ind)
        assert any("link count 3" in p for p in fs.fsck())
        ind.nlink = 1
        fs._iwrite(f.ino, ind)
        # two files sharing a block
        g = fs.stat("/g")
        gi = fs._iread(g.ino)
        old = gi.direct[0]
        gi.direct[0] = blk
        fs._iwrite(g.ino, gi)
        probs = fs.fsck()
        assert any("claimed by inode" in p for p in probs)
        assert any(f"block {old}: allocated in the bitmap but not used" in p for p in probs)
        gi.direct[0] = old
        fs._iwrite(g.ino, gi)
        # a broken directory record
        root = fs._iread(1)
        fs._wblock(root.direct[0], struct.pack("<H", 6), 4)
        assert any("bad record" in p for p in fs.fsck())
        fs._wblock(root.direct[0], struct.pack("<H", 12), 4)
        assert fs.fsck() == []
        fs.sb["free_inodes"] += 1
        assert any("free inode count" in p for p in fs.fsck())
        fs.sb["free_inodes"] -= 1


def test_max_file_size_constant() -> None:
    assert MAX_FILE_SIZE == (12 + 1024 + 1024 * 1024) * 4096
    assert MAX_FILE_SIZE > 4 * 10**9


# ---------------------------------------------------------------------- CLI
def test_cli(tmp_path: Path) -> None:
    runner = CliRunner()
    src = tmp_path / "src"
    _tree(src)
    extra = tmp_path / "init"
    extra.write_bytes(b"INIT")
    img = tmp_path / "d.img"
    r = runner.invoke(app, ["mkfs", str(img), "--size", "4M", "--from", str(src),
                            "--add", f"{extra}:/sbin/init"])
    assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["ls", str(img), "/"])
    assert r.exit_code == 0 and "sbin" in r.stdout.split() and "bin" in r.stdout.split()
    r = runner.invoke(app, ["ls", "-l", str(img), "/bin"])
    assert r.exit_code == 0 and r.stdout.startswith("-rwxr-xr-x")
    r = runner.invoke(app, ["cat", str(img), "/etc/passwd"])
    assert r.exit_code == 0 and r.stdout == (src / "etc" / "passwd").read_text()
    out = tmp_path / "got"
    r = runner.invoke(app, ["get", str(img), "/sbin/init", str(out)])
    assert r.exit_code == 0 and out.read_bytes() == b"INIT"
    r = runner.invoke(app, ["fsck", str(img)])
    assert r.exit_code == 0 and "clean" in r.stdout


@pytest.mark.parametrize("args, msg", [
    (["cat", "{img}", "/nope"], "no such file"),
    (["ls", "{img}", "/etc/passwd/x"], "not a directory"),
    (["mkfs", "{tmp}/small.img", "--size", "8K"], "image too small"),
    (["mkfs", "{tmp}/x.img", "--size", "1M", "--add", "nocolon"], "HOSTFILE:GUESTPATH"),
    (["mkfs", "{tmp}/x.img", "--size", "lots"], "bad size"),
    (["fsck", "{tmp}/missing.img"], "cannot open"),
])
def test_cli_errors(tmp_path: Path, args: list[str], msg: str) -> None:
    img = tmp_path / "d.img"
    mkfs(img, "1M", files={"/etc/passwd": b"x"})
    args = [a.format(img=img, tmp=tmp_path) for a in args]
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and msg in lines[0] and lines[0].startswith("flashvm fs: error:")
