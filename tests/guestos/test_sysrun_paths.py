"""Files added to a sysroot run go through the root's directory links: the kernel
writes the initrd's files without following links (/bin is a link in a merged-/usr
root, and /bin/prog used to stop the boot: "cannot create /bin/prog")."""
from __future__ import annotations

import os

from flashvm.guestos.sysrun import in_root


def test_paths_follow_the_roots_directory_links(tmp_path):
    (tmp_path / "usr/bin").mkdir(parents=True)
    (tmp_path / "usr/lib/x").mkdir(parents=True)
    os.symlink("usr/bin", tmp_path / "bin")
    os.symlink("/usr/lib", tmp_path / "lib")
    assert in_root(tmp_path, "/bin/engineering") == "/usr/bin/engineering"
    assert in_root(tmp_path, "/lib/x/y.so") == "/usr/lib/x/y.so"
    assert in_root(tmp_path, "/engineering/cpu.v") == "/engineering/cpu.v"     # a new directory
    assert in_root(tmp_path, "/.flashvm/init") == "/.flashvm/init"
    os.symlink("usr/bin/engineering", tmp_path / "prog")
    assert in_root(tmp_path, "/prog") == "/prog"                                # the last name is not followed
