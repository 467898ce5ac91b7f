"""The root image of a sysroot (flashvm.guestos.rootimage): built once per
sysroot and cached, links kept or resolved, never written by a run; no
registry needed (a sysroot-shaped tree made here)."""
from __future__ import annotations

import json
import os

import pytest

from flashvm.fs import FlashFS
from flashvm.guestos.rootimage import sysroot_image
from flashvm.guestos.sysrun import SYSROOT_INIT, sysroot_boot
from flashvm.sysroot import MANIFEST, Sysroot


@pytest.fixture
def tree(tmp_path, monkeypatch):
    monkeypatch.setenv("FLASHVM_CACHE", str(tmp_path / "cache"))
    r = tmp_path / "r"
    (r / "usr/lib/mipsel-linux-gnu").mkdir(parents=True)
    (r / "usr/bin").mkdir()
    (r / "usr/lib/mipsel-linux-gnu/libx.so.1.2").write_bytes(b"lib" * 1000)
    os.symlink("libx.so.1.2", r / "usr/lib/mipsel-linux-gnu/libx.so.1")
    os.symlink("usr/lib", r / "lib")
    os.symlink("usr/bin", r / "bin")
    (r / "usr/bin/busybox").write_bytes(b"\x7fELF busybox")
    os.chmod(r / "usr/bin/busybox", 0o755)
    os.symlink("busybox", r / "usr/bin/sh")
    os.symlink("../usr/lib", r / "usr/bin/loop")          # a link back up: not followed forever
    os.symlink("nowhere", r / "usr/bin/dangling")
    (r / MANIFEST).write_text(json.dumps({"packages": [], "requested": ["x"], "interp": None,
                                          "size_bytes": 0, "key": "k1"}))
    return Sysroot.load(r)


def test_resolved_links_are_hard_links(tree):
    image = sysroot_image(tree, links="resolve")
    with FlashFS(image, writable=False) as fs:
        assert fs.fsck() == []
        assert fs.read("/lib/mipsel-linux-gnu/libx.so.1") == b"lib" * 1000
        a, b = fs.stat("/bin/sh"), fs.stat("/usr/bin/busybox")
        assert a.ino == b.ino and a.nlink == 4 and a.mode & 0o777 == 0o755   # busybox and sh, in /usr/bin and /bin
        assert fs.stat("/lib").is_dir and not fs.exists("/usr/bin/dangling")
        assert not fs.exists(f"/{MANIFEST}")


def test_kept_links(tree):
    with FlashFS(sysroot_image(tree), writable=False) as fs:
        assert fs.readlink("/lib") == "usr/lib" and fs.readlink("/usr/bin/sh") == "busybox"


def test_cached_until_the_tree_changes(tree):
    image = sysroot_image(tree)
    mtime = image.stat().st_mtime_ns
    assert sysroot_image(tree) == image and image.stat().st_mtime_ns == mtime
    (tree.root / "usr/bin/new").write_bytes(b"x")
    assert sysroot_image(tree) != image


def test_per_run_files_go_in_the_initrd(tree, tmp_path, monkeypatch):
    monkeypatch.setattr("flashvm.guestos.sysrun.multi_program", lambda: tmp_path / "multi")   # no build here
    files, argv, env, image = sysroot_boot(tree, [["/bin/sh", "-c", "echo hi"]], {"/w/in.txt": b"data"})
    assert argv == [SYSROOT_INIT, "--", "/bin/sh", "-c", "echo hi"]
    assert set(files) == {"/w/in.txt", SYSROOT_INIT} and env["PATH"].endswith("/bin")
    with FlashFS(image, writable=False) as fs:
        assert not fs.exists("/w")
