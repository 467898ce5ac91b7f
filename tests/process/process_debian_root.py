"""A Debian bookworm mipsel root file system for the tests, made by hand from
the packages (until `flashvm sysroot` makes them): the .debs downloaded with
a private apt configuration built from the machine's own sources, unpacked
into one directory, merged-/usr links added.  Cached under the flashvm cache
(`$FLASHVM_CACHE/test-sysroots/`), keyed by the package list.  Tests skip,
saying why, when apt, dpkg-deb or the registry is not there.
"""
from __future__ import annotations

import glob
import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from flashvm.toolchain import cache_root

SQLITE_PACKAGES = ("libc6", "libgcc-s1", "libsqlite3-0", "sqlite3", "libreadline8", "libtinfo6", "zlib1g")
COREUTILS_PACKAGES = ("coreutils", "libacl1", "libattr1", "libgmp10", "libselinux1", "libpcre2-8-0")
PACKAGES = SQLITE_PACKAGES + COREUTILS_PACKAGES + ("busybox",)


def _apt_options(priv: Path) -> list[str]:
    return ["-o", f"Dir::State={priv}/state", "-o", f"Dir::State::status={priv}/status",
            "-o", f"Dir::Cache={priv}/cache", "-o", "Dir::Etc::sourcelist=/dev/null",
            "-o", f"Dir::Etc::sourceparts={priv}/sources.list.d",
            "-o", f"Dir::Etc::preferencesparts={priv}/preferences.d",
            "-o", "APT::Architecture=mipsel", "-o", "APT::Architectures::=mipsel", "-q"]


def _run(cmd: list[str], cwd: Path | None = None) -> None:
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=600)
    if r.returncode:
        pytest.skip(f"{' '.join(cmd[:2])} failed (registry unreachable?): "
                    f"{(r.stderr or r.stdout).strip().splitlines()[-1:]}")


def _download(priv: Path, packages: tuple[str, ...]) -> Path:
    """The .debs of `packages` (mipsel, bookworm as the machine's sources say) in priv/debs."""
    for tool in ("apt-get", "dpkg-deb"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} not installed: cannot make a Debian mipsel root for the test")
    sources = sorted(glob.glob("/etc/apt/sources.list.d/*.sources") + glob.glob("/etc/apt/sources.list.d/*.list"))
    if os.path.exists("/etc/apt/sources.list"):
        sources.append("/etc/apt/sources.list")
    if not sources:
        pytest.skip("no apt sources configured on this machine")
    for d in ("state/lists/partial", "cache/archives/partial", "sources.list.d", "preferences.d", "debs"):
        (priv / d).mkdir(parents=True, exist_ok=True)
    (priv / "status").touch()
    for i, src in enumerate(sources):
        suffix = ".sources" if src.endswith(".sources") else ".list"
        shutil.copy(src, priv / "sources.list.d" / f"{i}{suffix}")
    opts = _apt_options(priv)
    debs = priv / "debs"
    missing = [p for p in packages if not list(debs.glob(f"{p}_*_mipsel.deb"))]
    if missing:
        _run(["apt-get", *opts, "update"])
        _run(["apt-get", *opts, "download", *missing], cwd=debs)
    return debs


def debian_root(packages: tuple[str, ...] = PACKAGES) -> Path:
    """The root directory holding `packages` unpacked (made once, then cached)."""
    key = hashlib.sha256(" ".join(sorted(packages)).encode()).hexdigest()[:12]
    base = cache_root() / "test-sysroots"
    root = base / key
    if (root / ".complete").exists():
        return root
    debs = _download(base / "apt-mipsel", packages)
    tmp = base / f"{key}.tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    for p in packages:
        deb = sorted(debs.glob(f"{p}_*_mipsel.deb"))[-1]
        _run(["dpkg-deb", "-x", str(deb), str(tmp)])
    for d in ("bin", "sbin", "lib"):          # merged /usr, as a bookworm install has it
        top = tmp / d
        if top.is_dir() and not top.is_symlink():
            (tmp / "usr" / d).mkdir(parents=True, exist_ok=True)
            shutil.copytree(top, tmp / "usr" / d, symlinks=True, dirs_exist_ok=True)
            shutil.rmtree(top)
        if not top.is_symlink():
            top.symlink_to(f"usr/{d}")
    (tmp / ".complete").touch()
    shutil.rmtree(root, ignore_errors=True)
    tmp.rename(root)
    return root
