"""The ar reader, .deb unpacking and the post-install steps, on synthetic packages (no network)."""
from __future__ import annotations

import errno
import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from debs import make_deb, tar_bytes
from typer.testing import CliRunner

from flashvm.cli import app
from flashvm.sysroot import MANIFEST, Sysroot, SysrootError, build, build_sysroot
from flashvm.sysroot.apt import AptError, Package, PrivateApt
from flashvm.sysroot.ar import MAGIC, ArError, read_ar, write_ar
from flashvm.sysroot.deb import DebError, package_path, read_control, resolve_inside, unpack_deb
from flashvm.sysroot.finish import applet_names, library_search

# ------------------------------------------------------------------ ar
def test_ar_round_trip_with_odd_sizes():
    members = [("debian-binary", b"2.0\n"), ("odd", b"abc"), ("empty", b""), ("last", b"x" * 1001)]
    got = [(m.name, m.data) for m in read_ar(write_ar(members))]
    assert got == members


def test_ar_gnu_and_bsd_names():
    def header(name: str, size: int) -> bytes:
        return f"{name:<16}{0:<12}{0:<6}{0:<6}{0o644:<8o}{size:<10}`\n".encode()
    blob = MAGIC + header("//", 0) + header("short/", 2) + b"hi" + header("#1/24", 27) \
        + b"a-rather-long-name.xz\0\0\0" + b"abc" + b"\n"
    assert [(m.name, m.data) for m in read_ar(blob)] == [("short", b"hi"), ("a-rather-long-name.xz", b"abc")]


@pytest.mark.parametrize("blob, message", [
    (b"PK\3\4 not an ar", "bad magic"),
    (MAGIC + b"data.tar.xz     0", "truncated"),
    (MAGIC + b"x" * 58 + b"`\n", "bad size"),
    (write_ar([("a", b"12345")])[:-2], "runs past the end"),
])
def test_ar_errors(blob, message):
    with pytest.raises(ArError, match=message):
        list(read_ar(blob, "t.deb"))


# --------------------------------------------------------------- paths
def test_package_path_merges_usr_and_refuses_escapes():
    assert str(package_path("./bin/sh")) == "usr/bin/sh"
    assert str(package_path("./lib/mipsel-linux-gnu/libc.so.6")) == "usr/lib/mipsel-linux-gnu/libc.so.6"
    assert str(package_path("./usr/bin/x")) == "usr/bin/x"
    assert str(package_path("./etc/passwd")) == "etc/passwd"
    assert package_path("./") is None
    with pytest.raises(DebError, match="climbs out"):
        package_path("./usr/../../etc/passwd")


def test_resolve_inside_stays_in_the_root(tmp_path):
    (tmp_path / "usr" / "lib").mkdir(parents=True)
    os.symlink("usr/lib", tmp_path / "lib")
    os.symlink("/etc", tmp_path / "usr" / "lib" / "abs")          # absolute: the root's /etc, not the host's
    os.symlink("../../../../..", tmp_path / "usr" / "up")           # ".." stops at the root
    assert resolve_inside(tmp_path, "/lib/abs/passwd") == tmp_path / "etc" / "passwd"
    assert resolve_inside(tmp_path, "/usr/up/etc") == tmp_path / "etc"
    assert resolve_inside(tmp_path, "/lib", follow_last=False) == tmp_path / "lib"
    os.symlink("loop", tmp_path / "loop")
    with pytest.raises(DebError, match="too many levels"):
        resolve_inside(tmp_path, "/loop/x")


# -------------------------------------------------------- synthetic install
def _libc(tmp_path: Path) -> Path:
    return make_deb(tmp_path / "libc6.deb", "libc6", [
        ("dir", "./lib/"), ("dir", "./lib/mipsel-linux-gnu/"),
        ("file", "./lib/mipsel-linux-gnu/ld.so.1", b"\x7fELF loader", 0o755),
        ("file", "./lib/mipsel-linux-gnu/libc.so.6", b"\x7fELF libc", 0o644),
        ("sym", "./lib/ld.so.1", "mipsel-linux-gnu/ld.so.1"),
        ("dir", "./etc/"), ("dir", "./etc/ld.so.conf.d/"),
        ("file", "./etc/ld.so.conf.d/mipsel-linux-gnu.conf", b"/lib/mipsel-linux-gnu\n/opt/private\n", 0o644),
    ])


def _tool(tmp_path: Path) -> Path:
    table = b"\0junk\0[\0[[\0ash\0cat\0sh\0\xff\xfe"                    # busybox's applet name table
    return make_deb(tmp_path / "tool.deb", "tool", [
        ("dir", "./usr/"), ("dir", "./usr/bin/"), ("dir", "./bin/"), ("dir", "./opt/"), ("dir", "./opt/private/"),
        ("file", "./usr/bin/gcc-12", b"#!/bin/sh\n", 0o755),
        ("sym", "./usr/bin/gcc", "gcc-12"),
        ("sym", "./usr/bin/abs", "/bin/busybox"),
        ("file", "./bin/busybox", b"\x7fELF" + table, 0o755),
        ("hard", "./bin/bb2", "./bin/busybox"),
        ("file", "./bin/cat", b"real cat", 0o755),                      # a package's own file beats the applet
        ("file", "./opt/private/libpriv.so.1", b"lib", 0o644),
    ], postinst="set -e\nupdate-alternatives --quiet \\\n    --install /usr/bin/cc cc /usr/bin/gcc 20 \\\n"
                "    --slave /usr/share/man/man1/cc.1.gz cc.1.gz /usr/share/man/man1/gcc.1.gz\n"
                "update-alternatives --install /usr/bin/cc cc /usr/bin/missing 50\n", compression="gz")


@pytest.fixture
def root(tmp_path):
    """A finished root made of the two synthetic packages, as build.assemble leaves it in the cache."""
    debs = [_libc(tmp_path), _tool(tmp_path)]
    pkgs = [Package("libc6", "2.36-9", "mipsel"), Package("tool", "1:1.0", "mipsel")]
    into = tmp_path / "root"
    into.mkdir()
    build.assemble(into, pkgs, debs, "k", lambda msg: None)
    return into


def test_merged_usr_and_loader(root):
    for name in ("bin", "sbin", "lib"):
        assert os.readlink(root / name) == f"usr/{name}"
    assert not (root / "lib64").exists()
    assert (root / "usr/bin/busybox").read_bytes().startswith(b"\x7fELF")       # ./bin/busybox went to /usr/bin
    assert os.readlink(root / "lib/ld.so.1") == "mipsel-linux-gnu/ld.so.1"
    assert (root / "lib/ld.so.1").resolve() == (root / "usr/lib/mipsel-linux-gnu/ld.so.1").resolve()
    manifest = json.loads((root / MANIFEST).read_text())
    assert manifest["interp"] == "/lib/ld.so.1"
    assert [p["name"] for p in manifest["packages"]] == ["libc6", "tool"]


def test_links_hard_links_and_modes(root):
    assert os.readlink(root / "usr/bin/gcc") == "gcc-12"
    assert os.readlink(root / "usr/bin/abs") == "busybox"                     # absolute made relative
    assert os.stat(root / "usr/bin/bb2").st_ino == os.stat(root / "usr/bin/busybox").st_ino
    assert os.stat(root / "usr/bin/gcc-12").st_mode & 0o777 == 0o755


def test_alternatives_pick_what_exists(root):
    assert (root / "usr/bin/cc").resolve() == (root / "usr/bin/gcc-12").resolve()
    assert os.readlink(root / "usr/bin/cc") == "../../etc/alternatives/cc"
    assert not (root / "usr/share/man/man1/cc.1.gz").is_symlink()              # slaves are not made


def test_library_search_links_private_dirs(root):
    assert (root / "etc/ld.so.conf").read_text() == "include /etc/ld.so.conf.d/*.conf\n"
    lib = root / "usr/lib/mipsel-linux-gnu/libpriv.so.1"
    assert lib.is_symlink() and lib.read_bytes() == b"lib"
    assert library_search(root) == []                                          # a second pass finds nothing new


def test_busybox_applets_from_the_table(root):
    assert applet_names(b"x\0[\0[[\0ash\0cat\0sh\0\xff") == ["[", "[[", "ash", "cat", "sh"]
    assert applet_names(b"no table here") == []
    for applet in ("[", "[[", "ash", "sh"):
        assert (root / "usr/bin" / applet).resolve() == (root / "usr/bin/busybox").resolve()
    assert (root / "usr/bin/cat").read_bytes() == b"real cat"


def test_base_files_and_dpkg_status(root):
    assert (root / "etc/passwd").read_text().startswith("root:x:0:0:")
    assert "root:x:0:" in (root / "etc/group").read_text()
    assert (root / "tmp").stat().st_mode & 0o7777 == 0o1777
    assert (root / "dev").is_dir() and not any((root / "dev").iterdir())
    status = (root / "var/lib/dpkg/status").read_text()
    assert "Package: tool\nStatus: install ok installed\nVersion: 1.0\n" in status
    assert "Description: test package\n more text\n" in status


def test_control_and_compressions(tmp_path):
    fields = read_control(_tool(tmp_path))
    assert fields["Package"] == "tool" and "update-alternatives" in fields["script:postinst"]
    plain = make_deb(tmp_path / "p.deb", "p", [("file", "./etc/x", b"1", 0o644)], compression="")
    unpack_deb(plain, tmp_path / "r")
    assert (tmp_path / "r/etc/x").read_bytes() == b"1"


def test_zstd_data(tmp_path):
    if shutil.which("zstd") is None:
        pytest.skip("the zstd program is not installed: no way to make a .tar.zst here")
    raw = tar_bytes([("dir", "./"), ("file", "./etc/z", b"zstd!", 0o644)], "")
    zst = subprocess.run(["zstd", "-q", "-c"], input=raw, capture_output=True, check=True).stdout
    deb = make_deb(tmp_path / "z.deb", "z", [], data_tar=zst, data_member="data.tar.zst")
    unpack_deb(deb, tmp_path / "r")
    assert (tmp_path / "r/etc/z").read_bytes() == b"zstd!"


def test_hostile_members_are_refused(tmp_path):
    deb = make_deb(tmp_path / "bad.deb", "bad", [("file", "./../../escape", b"x", 0o644)])
    with pytest.raises(DebError, match="climbs out"):
        unpack_deb(deb, tmp_path / "r")
    (tmp_path / "r2/usr").mkdir(parents=True)
    os.symlink("/", tmp_path / "r2/usr/up")                                    # writes through it stay inside
    unpack_deb(make_deb(tmp_path / "t.deb", "t", [("file", "./usr/up/tmp/f", b"x", 0o644)]), tmp_path / "r2")
    assert (tmp_path / "r2/tmp/f").read_bytes() == b"x"
    (tmp_path / "notadeb.deb").write_bytes(b"hello")
    with pytest.raises(DebError, match="not an ar archive"):
        unpack_deb(tmp_path / "notadeb.deb", tmp_path / "r")


# ----------------------------------------------------- placing and listing
def test_place_list_and_refusals(root, tmp_path):
    dest = tmp_path / "out"
    build._place(root, dest, ["tool"])
    s = Sysroot.load(dest)
    assert s.packages == {"libc6": "2.36-9", "tool": "1:1.0"} and s.requested == ("tool",)
    assert s.interp == "/lib/ld.so.1" and s.size_bytes > 0
    assert s.host_path("/bin/sh") == s.root / "usr/bin/busybox"
    build._place(root, dest, ["tool", "libc6"])                               # an old sysroot is replaced
    assert Sysroot.load(dest).requested == ("tool", "libc6")
    r = CliRunner().invoke(app, ["sysroot", "--list", str(dest)])
    assert r.exit_code == 0, r.output
    assert "2 packages" in r.output and "loader /lib/ld.so.1" in r.output and "tool 1:1.0" in r.output
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy/file").write_text("mine")
    with pytest.raises(SysrootError, match="exists and is not a sysroot"):
        build._place(root, tmp_path / "busy", ["tool"])
    with pytest.raises(SysrootError, match="is not a sysroot"):
        Sysroot.load(tmp_path / "busy")
    r = CliRunner().invoke(app, ["sysroot", "--list", str(tmp_path / "busy")])
    assert r.exit_code == 2 and "is not a sysroot" in r.output


def test_place_leaves_the_same_root_alone(root, tmp_path):
    """A sysroot that already is this root for these packages is not copied again:
    another run may be reading it (building its root image)."""
    dest = tmp_path / "out"
    build._place(root, dest, ["tool"])
    (dest / "marker").write_text("a run's")
    build._place(root, dest, ["tool"])
    assert (dest / "marker").exists()
    build._place(root, dest, ["tool", "libc6"])          # other packages: replaced
    assert not (dest / "marker").exists() and Sysroot.load(dest).requested == ("tool", "libc6")


def test_place_when_another_run_places_the_same_root_first(root, tmp_path, monkeypatch):
    """Two runs placing one root at once: the one that renames second keeps the first's."""
    dest = tmp_path / "out"
    tree_size = build.tree_size

    def racing_tree_size(path):                           # called on this run's copy, before the rename
        monkeypatch.setattr(build, "tree_size", tree_size)
        build._place(root, dest, ["tool"])                # the other run finishes meanwhile
        (dest / "marker").write_text("the other run's")
        return tree_size(path)

    monkeypatch.setattr(build, "tree_size", racing_tree_size)
    build._place(root, dest, ["tool"])
    assert Sysroot.load(dest).requested == ("tool",)
    assert not list(tmp_path.glob(".out.*"))                 # no temporary left behind


# --------------------------------------------------------- one-line errors
def test_apt_missing(monkeypatch, tmp_path):
    monkeypatch.setattr("flashvm.sysroot.apt.shutil.which", lambda name: None)
    with pytest.raises(AptError, match="apt-get not found.*Debian"):
        PrivateApt(tmp_path).resolve(["sqlite3"])


def test_bad_package_name(tmp_path):
    with pytest.raises(AptError, match="not a Debian package name"):
        PrivateApt(tmp_path).resolve(["Bad Name"])


def test_disk_full(monkeypatch, tmp_path):
    monkeypatch.setenv("FLASHVM_CACHE", str(tmp_path / "cache"))

    def full(self, force=False):
        raise OSError(errno.ENOSPC, "No space left on device", str(tmp_path / "x"))
    monkeypatch.setattr(PrivateApt, "update", full)
    with pytest.raises(SysrootError, match="disk is full.*FLASHVM_CACHE") as e:
        build_sysroot(tmp_path / "r", ["sqlite3"])
    assert "\n" not in str(e.value)
