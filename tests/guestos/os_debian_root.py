"""A small Debian bookworm mipsel root for the tests: named .debs downloaded
with the machine's own apt sources (through a private apt configuration, so
nothing of the machine's apt state changes), unpacked into one directory
under the flashvm cache and laid out merged-/usr as Debian 12 installs it.

`debian_root(packages)` skips the calling test with the reason when apt,
dpkg-deb or the package registry is not reachable.  `os_files(root, progs)`
lists what the guest needs on its disk while its VFS has no symbolic links:
the loader at /lib/ld.so.1, each shared library as a real file under
/lib/mipsel-linux-gnu (its first search directory) and the programs."""
from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest

from flashvm.toolchain import cache_root

TRIPLET = "mipsel-linux-gnu"


def _apt_options(priv: Path) -> list[str]:
    return ["-o", f"Dir::State={priv}/state", "-o", f"Dir::State::status={priv}/status",
            "-o", f"Dir::Cache={priv}/cache", "-o", "Dir::Etc::sourcelist=/dev/null",
            "-o", f"Dir::Etc::sourceparts={priv}/sources.list.d",
            "-o", f"Dir::Etc::preferencesparts={priv}/preferences.d",
            "-o", "APT::Architecture=mipsel", "-o", "APT::Architectures::=mipsel", "-q"]


def _private_apt(priv: Path) -> list[str]:
    """A private apt configuration reading the machine's own source entries."""
    for d in ("state/lists/partial", "cache/archives/partial", "sources.list.d", "preferences.d"):
        (priv / d).mkdir(parents=True, exist_ok=True)
    (priv / "status").touch()
    etc = Path("/etc/apt")
    if (etc / "sources.list").is_file():
        shutil.copy(etc / "sources.list", priv / "sources.list.d" / "machine.list")
    for f in sorted((etc / "sources.list.d").glob("*")):
        if f.suffix in (".list", ".sources"):
            shutil.copy(f, priv / "sources.list.d" / f.name)
    return _apt_options(priv)


def _run(cmd: list[str], cwd: Path | None = None, timeout: int = 300) -> None:
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        last = (r.stderr.strip().splitlines() or ["(no message)"])[-1]
        verb = next((c for c in cmd if c in ("update", "download", "-x")), "")
        pytest.skip(f"Debian packages not reachable ({cmd[0]} {verb} failed): {last}")


def _merge_usr(root: Path) -> None:
    """Debian 12 is merged-/usr: /bin, /sbin and /lib are links into /usr."""
    for top in ("bin", "sbin", "lib"):
        src = root / top
        if src.is_symlink() or not src.exists():
            continue
        dst = root / "usr" / top
        dst.mkdir(parents=True, exist_ok=True)
        for item in src.rglob("*"):
            target = dst / item.relative_to(src)
            if item.is_dir() and not item.is_symlink():
                target.mkdir(parents=True, exist_ok=True)
            elif not target.exists() and not target.is_symlink():
                target.parent.mkdir(parents=True, exist_ok=True)
                item.rename(target)
        shutil.rmtree(src)
        src.symlink_to(f"usr/{top}")


def debian_root(packages: list[str]) -> Path:
    """The packages unpacked into one merged-/usr root (cached by name list)."""
    if not shutil.which("apt-get") or not shutil.which("dpkg-deb"):
        pytest.skip("apt-get and dpkg-deb are needed to fetch Debian's mipsel packages")
    base = cache_root() / "debian-test"
    key = hashlib.sha256(" ".join(sorted(packages)).encode()).hexdigest()[:16]
    root = base / f"root-{key}"
    if (root / ".complete").is_file():
        return root
    opts = _private_apt(base / "apt")
    _run(["apt-get", *opts, "update"], timeout=300)
    debs = base / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    _run(["apt-get", *opts, "download", *packages], cwd=debs, timeout=600)
    if root.exists():
        shutil.rmtree(root)
    root.mkdir(parents=True)
    for pkg in packages:
        found = sorted(debs.glob(f"{pkg}_*_mipsel.deb")) + sorted(debs.glob(f"{pkg}_*_all.deb"))
        if not found:
            pytest.skip(f"package {pkg} was not downloaded")
        _run(["dpkg-deb", "-x", str(found[-1]), str(root)])
    _merge_usr(root)
    (root / ".complete").touch()
    return root


def os_files(root: Path, programs: list[str]) -> dict[str, Path]:
    """The guest's disk: /lib/ld.so.1, every library as a file in
    /lib/mipsel-linux-gnu (links resolved) and the programs at their paths."""
    libdir = root / "usr" / "lib" / TRIPLET
    files = {f"/lib/{TRIPLET}/{p.name}": p.resolve() for p in sorted(libdir.iterdir())
             if ".so" in p.name and p.resolve().is_file()}
    files["/lib/ld.so.1"] = (libdir / "ld.so.1").resolve()
    for prog in programs:
        files[prog] = (root / prog.lstrip("/")).resolve()
    return files
