"""`flashvm sysroot` against the machine's package registry: real Debian mipsel packages.

These need the registry (the machine's apt sources) once; the .debs and the
finished roots are then cached under $FLASHVM_CACHE/sysroot (a first run
downloads about 9 MB of package lists and 8 MB of packages for sqlite3 and
busybox-static, and keeps 45 MB of finished roots).  They skip, saying why, when the
registry cannot be reached and nothing is cached.
"""
from __future__ import annotations

import os
import subprocess

import pytest
from support import QEMU, needs_qemu
from typer.testing import CliRunner

from flashvm.cli import app
from flashvm.sysroot import Sysroot, build_sysroot, sysroot_cache
from flashvm.sysroot.apt import AptError, PrivateApt

pytestmark = pytest.mark.slow                      # a first run downloads and unpacks packages


@pytest.fixture(scope="module")
def registry():
    """The private apt configuration, its package lists fetched (or still fresh)."""
    apt = PrivateApt(sysroot_cache() / "apt")
    try:
        apt.update(timeout=60)
    except AptError as e:
        pytest.skip(f"the package registry is not reachable: {e}")
    return apt


@pytest.fixture(scope="module")
def sqlite_root(registry, tmp_path_factory):
    dest = tmp_path_factory.mktemp("sysroot") / "r"
    r = CliRunner().invoke(app, ["sysroot", str(dest), "sqlite3"])
    assert r.exit_code == 0, r.output
    return dest


def test_sqlite3_sysroot(sqlite_root):
    r = sqlite_root
    assert (r / "usr/bin/sqlite3").is_file() and (r / "bin").is_symlink()
    loader = (r / "lib/ld.so.1").resolve()
    assert loader == (r / "usr/lib/mipsel-linux-gnu/ld.so.1").resolve() and loader.is_file()
    assert list((r / "usr/lib/mipsel-linux-gnu").glob("libsqlite3.so.0*"))
    s = Sysroot.load(r)
    assert {"sqlite3", "libsqlite3-0", "libc6"} <= set(s.packages) and s.interp == "/lib/ld.so.1"
    assert s.requested == ("sqlite3",) and s.size_bytes > 10_000_000
    listed = CliRunner().invoke(app, ["sysroot", "--list", str(r)])
    assert listed.exit_code == 0 and f"sqlite3 {s.packages['sqlite3']}" in listed.output


@needs_qemu
def test_sqlite3_runs_under_the_oracle(sqlite_root):
    out = subprocess.run([QEMU, "-L", str(sqlite_root), str(sqlite_root / "usr/bin/sqlite3"), ":memory:",
                          "select 6*7"], capture_output=True, text=True, timeout=60)
    assert (out.returncode, out.stdout, out.stderr) == (0, "42\n", "")


def test_second_build_comes_from_the_cache(sqlite_root, tmp_path):
    messages: list[str] = []
    s = build_sysroot(tmp_path / "again", ["sqlite3"], progress=messages.append)
    assert any(m.startswith("cached root") for m in messages) and not any("download" in m for m in messages)
    assert s.packages == Sysroot.load(sqlite_root).packages


def test_busybox_static_applets(registry, tmp_path):
    s = build_sysroot(tmp_path / "bb", ["busybox-static"])
    assert s.interp is None and list(s.packages) == ["busybox-static"]
    root = s.root
    for applet in ("sh", "awk", "sed", "sort", "md5sum", "find"):
        assert (root / "usr/bin" / applet).resolve() == (root / "usr/bin/busybox").resolve(), applet
    if QEMU:
        out = subprocess.run([QEMU, "-L", str(root), str(root / "bin/sh"), "-c", "echo hello | md5sum"],
                             capture_output=True, text=True, timeout=60)
        assert out.stdout == "b1946ac92492d2347c6235b4d2611184  -\n", out.stderr


def test_unknown_package_is_named(registry, tmp_path):
    r = CliRunner().invoke(app, ["sysroot", str(tmp_path / "r"), "sqlite3", "no-such-package-xyz"])
    assert r.exit_code == 2
    errors = [line for line in r.output.splitlines() if "error" in line]
    assert len(errors) == 1 and "'no-such-package-xyz'" in errors[0] and "apt-cache search" in errors[0]
    assert not os.path.exists(tmp_path / "r")
