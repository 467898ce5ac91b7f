"""The guest OS's VFS as Debian's programs need it: symbolic and hard links,
poll/select, statfs, /dev/null, /dev/zero, /dev/urandom and a minimal /proc,
on either root file system (ramfs from the initrd, flashfs on disk 0); and
Debian programs whose root is a whole unpacked tree on the disk, merged-/usr
symbolic links and all, compared with qemu-mipsel -L where its answer is
the same as Linux's."""
from __future__ import annotations

import subprocess
import tempfile

import pytest
from os_debian_root import debian_root
from support import OS_PROGRAMS, QEMU
from test_os_dynamic import COREUTILS, ENV, SQLITE

from flashvm.guestos import boot_os, make_disk_image
from flashvm.toolchain import build_user


def run(name: str, root: str, ncpu: int = 2):
    exe = build_user([OS_PROGRAMS / f"{name}.c"])
    r = boot_os({f"/bin/{name}": exe}, [f"/bin/{name}"], root=root, ncpu=ncpu, verbose=1)
    assert not r.panicked, r.klog.decode(errors="replace")[-2000:]
    return r


@pytest.mark.parametrize("root", ["initrd", "disk"])
def test_links_poll_statfs_devices(root):
    """Everything links.c prints is what Linux prints (stored from qemu-mipsel, run in a temp dir)."""
    r = run("links", root)
    want = (OS_PROGRAMS / "expected" / "links.stdout").read_text()
    assert r.stdout.decode() == want
    assert r.status == 0


def test_links_oracle_live():
    if QEMU is None:
        pytest.skip("qemu-mipsel not installed")
    exe = build_user([OS_PROGRAMS / "links.c"])
    with tempfile.TemporaryDirectory() as d:
        q = subprocess.run([QEMU, str(exe)], cwd=d, capture_output=True, timeout=120)
    assert (q.returncode, q.stdout.decode()) == (0, (OS_PROGRAMS / "expected" / "links.stdout").read_text())


@pytest.mark.parametrize("root", ["initrd", "disk"])
def test_proc_and_urandom(root):
    """/proc/self/{exe,fd,maps}, cpuinfo, meminfo (expected output written by hand);
    /dev/urandom gives the same bytes at every boot."""
    r = run("proctest", root)
    assert r.stdout.decode() == (OS_PROGRAMS / "expected" / "proctest.stdout").read_text()
    assert r.status == 0


@pytest.fixture(scope="module")
def coreutils_disk(tmp_path_factory):
    root = debian_root(COREUTILS)
    return root, make_disk_image(tmp_path_factory.mktemp("vfs") / "root.img", {}, source_dir=root,
                                 size=128 << 20)


def guest(img, argv):
    r = boot_os({}, argv, disks=[img], env=ENV, max_insns=400_000_000)
    assert not r.panicked, r.klog.decode(errors="replace")[-2000:]
    return r


def oracle(root, argv):
    q = subprocess.run([QEMU, "-L", str(root), str(root / argv[0].lstrip("/")), *argv[1:]],
                       capture_output=True, env=ENV, timeout=120)
    return q.returncode, q.stdout


@pytest.mark.parametrize("argv", [
    ["/usr/bin/readlink", "-f", "/lib/ld.so.1"],
    ["/bin/ls", "/usr"],
], ids=["readlink-f", "ls-via-bin-link"])
def test_debian_coreutils_through_links(coreutils_disk, argv):
    """The root tree with its merged-/usr links on the disk: the loader is found
    through /lib -> usr/lib and ld.so.1 -> mipsel-linux-gnu/ld.so.1."""
    root, img = coreutils_disk
    r = guest(img, argv)
    assert r.status == 0 and r.stdout
    if QEMU is not None:
        assert oracle(root, argv) == (r.status, r.stdout)


def test_debian_lstat_of_the_usr_links(coreutils_disk):
    """qemu -L resolves absolute paths against the host's own /lib first, so
    the sysroot's links are checked by hand here."""
    _, img = coreutils_disk
    r = guest(img, ["/usr/bin/stat", "-c", "%n %F %s %N", "/lib", "/lib/ld.so.1", "/bin/ls"])
    assert r.stdout.decode().splitlines() == [
        "/lib symbolic link 7 '/lib' -> 'usr/lib'",
        "/lib/ld.so.1 symbolic link 24 '/lib/ld.so.1' -> 'mipsel-linux-gnu/ld.so.1'",
        "/bin/ls regular file %d '/bin/ls'" % (coreutils_disk[0] / "usr/bin/ls").stat().st_size]


def test_debian_sqlite3_through_links(tmp_path):
    root = debian_root(SQLITE)
    img = make_disk_image(tmp_path / "root.img", {}, source_dir=root, size=96 << 20)
    r = guest(img, ["/usr/bin/sqlite3", ":memory:", "select 6*7"])
    assert (r.status, r.stdout) == (0, b"42\n")
