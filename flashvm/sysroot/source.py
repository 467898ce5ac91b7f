"""Debian source packages, fetched on first use (docs/sysroot.md).

    tarball = fetch_source("figlet", sha256="bf88c4...")   # .../sources/figlet/figlet_2.2.5.orig.tar.gz

`apt-get source --download-only` runs on a private apt configuration whose
entries are the machine's own Debian entries repeated as `deb-src`
(flashvm.sysroot.apt.as_deb_src), so no archive address is written anywhere.
The upstream tarball is kept in $FLASHVM_CACHE/sysroot/sources/PACKAGE/ and
reused; a given sha256 pins it (a different tarball is an error, so a
workload's build never silently changes).
"""
from __future__ import annotations

import hashlib
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Optional

from .apt import AptError, PrivateApt
from .build import SysrootError, sysroot_cache


def source_cache() -> Path:
    """Where fetched source packages are kept, one folder per package."""
    return sysroot_cache() / "sources"


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def upstream_tarball(folder: Path, package: str) -> Optional[Path]:
    """The upstream tarball among a source package's files in `folder`:
    PACKAGE_VERSION.orig.tar.*, or for a native package PACKAGE_VERSION.tar.*."""
    files = sorted(p for p in folder.glob(f"{package}_*.tar.*") if p.is_file())
    orig = [p for p in files if ".orig.tar." in p.name and ".orig-" not in p.name]
    native = [p for p in files if ".debian.tar." not in p.name and ".orig" not in p.name]
    found = orig or native
    return found[-1] if found else None


def fetch_source(package: str, *, sha256: Optional[str] = None,
                 progress: Optional[Callable[[str], None]] = None) -> Path:
    """The upstream tarball of Debian source package `package` (cached; fetched
    with apt-get source on first use).  With `sha256`, the tarball must have it."""
    folder = source_cache() / package
    tarball = upstream_tarball(folder, package) if folder.is_dir() else None
    if tarball is None:
        apt = PrivateApt(sysroot_cache() / "apt-src", log=progress, sources=True)
        try:
            apt.update()
            folder.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.TemporaryDirectory(dir=folder.parent, prefix=f".{package}-") as tmp:
                apt.source(package, Path(tmp))
                if upstream_tarball(Path(tmp), package) is None:
                    raise SysrootError(f"source package {package}: apt-get source gave no upstream tarball")
                folder.mkdir(exist_ok=True)
                for f in Path(tmp).iterdir():
                    shutil.move(str(f), folder / f.name)
        except AptError as e:
            raise SysrootError(str(e)) from None
        tarball = upstream_tarball(folder, package)
        assert tarball is not None
    if sha256 is not None:
        got = file_sha256(tarball)
        if got != sha256.lower():
            raise SysrootError(f"source package {package}: {tarball.name} has sha256 {got}, not {sha256} "
                               f"(Debian's version changed: check the new one and update the sha256)")
    return tarball
