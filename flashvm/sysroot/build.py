"""Building a sysroot: resolve, download, unpack, finish, cache, copy.

A finished root lives in the cache under a key made of the resolved package
versions (and FORMAT, the version of the steps below), so asking again for
the same packages — in any directory — only resolves (a second or two) and
copies the cached tree.  The cache:

    $FLASHVM_CACHE (default ~/.cache/flashvm)/sysroot/
        apt/            the private apt configuration, state and package lists
        debs/           downloaded .deb files, shared by every root
        roots/KEY/      finished roots, each with its manifest
"""
from __future__ import annotations

import errno
import hashlib
import json
import os
import shutil
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional, Sequence

from ..toolchain import cache_root
from .apt import ARCH, AptError, Package, PrivateApt
from .deb import DebError, read_control, resolve_inside, unpack_deb
from .finish import alternatives, base_files, busybox_links, dpkg_status, library_search, loader_link, merged_usr

MANIFEST = ".flashvm-sysroot.json"
FORMAT = 2                                        # bump when what ends up in a root changes

Progress = Optional[Callable[[str], None]]


class SysrootError(RuntimeError):
    """A sysroot could not be built or read; the message is one line and says the fix."""


@dataclass(frozen=True)
class Sysroot:
    """A root file system of Debian mipsel packages, as described by its manifest."""
    root: Path
    packages: dict[str, str]                      # package name -> version
    requested: tuple[str, ...]                    # the packages asked for
    interp: Optional[str]                         # the loader's path inside the root (None: static only)
    size_bytes: int
    key: str = ""
    extra: dict = field(default_factory=dict, compare=False)

    @classmethod
    def load(cls, dest: Path) -> "Sysroot":
        """The sysroot in `dest` (SysrootError when `dest` is not one)."""
        path = Path(dest) / MANIFEST
        try:
            data = json.loads(path.read_text())
            return cls(root=Path(dest).resolve(), packages={p["name"]: p["version"] for p in data["packages"]},
                       requested=tuple(data["requested"]), interp=data["interp"], size_bytes=data["size_bytes"],
                       key=data["key"], extra={k: data[k] for k in ("alternatives", "busybox_applets") if k in data})
        except FileNotFoundError:
            raise SysrootError(f"{dest} is not a sysroot (no {MANIFEST}); make one with "
                               f"`flashvm sysroot {dest} PKG...`") from None
        except (ValueError, KeyError, TypeError) as e:
            raise SysrootError(f"{path}: unreadable manifest ({e}); rebuild it with `flashvm sysroot`") from None

    def host_path(self, guest_path: str) -> Path:
        """Where the file the guest calls `guest_path` is on the host (symbolic links followed inside)."""
        return resolve_inside(self.root, guest_path)


def sysroot_cache() -> Path:
    return cache_root() / "sysroot"


def cache_key(resolved: Sequence[Package]) -> str:
    text = json.dumps([FORMAT, ARCH, sorted((p.name, p.version, p.arch) for p in resolved)])
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def tree_size(root: Path) -> int:
    """Bytes in the regular files under `root` (each inode counted once)."""
    seen: set[tuple[int, int]] = set()
    total = 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            st = os.lstat(os.path.join(dirpath, name))
            if not os.path.islink(os.path.join(dirpath, name)) and (st.st_dev, st.st_ino) not in seen:
                seen.add((st.st_dev, st.st_ino))
                total += st.st_size
    return total


def assemble(into: Path, resolved: Sequence[Package], debs: Sequence[Path], key: str, say: Callable) -> None:
    """Unpack and finish a root in `into` (a fresh directory), writing its manifest last."""
    merged_usr(into)
    controls = {}
    for pkg, deb in zip(resolved, debs):          # apt's order: what a package needs unpacks first
        controls[pkg.name] = read_control(deb)
        unpack_deb(deb, into)
    merged_usr(into)                              # /lib64 etc. when a package shipped one
    interp = loader_link(into)
    library_search(into)
    alts = alternatives(into, (c.get("script:postinst", "") for c in controls.values()))
    applets = busybox_links(into)
    base_files(into)
    dpkg_status(into, controls)
    say(f"unpacked {len(resolved)} packages")
    manifest = {"format": FORMAT, "arch": ARCH, "key": key, "requested": [], "interp": interp,
                "packages": [{"name": p.name, "version": p.version, "arch": p.arch} for p in resolved],
                "alternatives": alts, "busybox_applets": len(applets), "size_bytes": 0}
    (into / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")


def _cached_root(apt: PrivateApt, resolved: Sequence[Package], say: Callable) -> Path:
    """The finished root of `resolved` in the cache, built if it is not there yet."""
    key = cache_key(resolved)
    roots = sysroot_cache() / "roots"
    done = roots / key
    if (done / MANIFEST).is_file():
        say(f"cached root {key}")
        return done
    debs = apt.download(resolved, sysroot_cache() / "debs")
    work = roots / f".build-{key}-{os.getpid()}"
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    try:
        assemble(work, resolved, debs, key, say)
        if not (done / MANIFEST).is_file():       # else another flashvm finished the same root first
            shutil.rmtree(done, ignore_errors=True)
            os.replace(work, done)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return done


def _same_root(dest: Path, key: str, requested: Sequence[str]) -> bool:
    """`dest` is already the sysroot of root `key` made for `requested`."""
    try:
        data = json.loads((dest / MANIFEST).read_text())
    except (OSError, ValueError):
        return False
    return data.get("key") == key and data.get("requested") == list(requested)


def _place(cached: Path, dest: Path, requested: Sequence[str]) -> None:
    """Copy the cached root to `dest` (replacing a sysroot already there) and record what was asked for.

    A `dest` that already is this root for these packages is left alone (runs
    that share it may be reading it).  Otherwise the copy is made in a temporary
    directory and renamed into place, so that two runs placing the same root at
    once never see (or leave) a half-copied one."""
    if dest.exists() and not (dest / MANIFEST).is_file() and (not dest.is_dir() or any(dest.iterdir())):
        raise SysrootError(f"{dest} exists and is not a sysroot: give a new or empty directory")
    key = json.loads((cached / MANIFEST).read_text())["key"]
    if _same_root(dest, key, requested):
        return
    dest.parent.mkdir(parents=True, exist_ok=True)
    tag = f"{os.getpid()}-{uuid.uuid4().hex[:8]}"       # unique per call, also within one process
    tmp = dest.parent / f".{dest.name}.tmp-{tag}"
    old = dest.parent / f".{dest.name}.old-{tag}"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        shutil.copytree(cached, tmp, symlinks=True)
        data = json.loads((tmp / MANIFEST).read_text())
        data["requested"] = list(requested)
        data["size_bytes"] = tree_size(tmp)
        (tmp / MANIFEST).write_text(json.dumps(data, indent=1) + "\n")
        if dest.exists():
            try:
                os.replace(dest, old)             # aside in one step; removed below
            except FileNotFoundError:
                pass                              # another run moved it first
        try:
            os.replace(tmp, dest)
        except OSError:
            if not _same_root(dest, key, requested):   # else another run placed the same root first
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.rmtree(old, ignore_errors=True)


def build_sysroot(dest: Path, packages: Sequence[str], *, progress: Progress = None,
                  refresh: bool = False) -> Sysroot:
    """Make `dest` a root file system holding `packages` and everything they need (Debian 12, mipsel).

    `progress(message)` hears what is happening; `refresh` fetches the package
    lists even when the cached ones are less than a day old.  Raises
    SysrootError with a one-line message that says the fix.
    """
    if not packages:
        raise SysrootError("name at least one package (e.g. sqlite3)")
    say = progress or (lambda msg: None)
    dest = Path(dest)
    try:
        apt = PrivateApt(sysroot_cache() / "apt", log=say)
        apt.update(force=refresh)
        resolved = apt.resolve(packages)
        say(f"{len(resolved)} packages: {' '.join(p.name for p in resolved)}")
        _place(_cached_root(apt, resolved, say), dest, packages)
    except (AptError, DebError) as e:
        raise SysrootError(str(e)) from None
    except OSError as e:
        if e.errno == errno.ENOSPC:
            raise SysrootError(f"the disk is full (writing {e.filename or dest}): free some space, or put the "
                               f"cache elsewhere with FLASHVM_CACHE=DIR (now {sysroot_cache()})") from None
        raise SysrootError(f"{e.filename or dest}: {e.strerror or e}") from None
    return Sysroot.load(dest)
