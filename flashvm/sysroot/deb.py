"""Unpacking a Debian package (.deb) into a root directory, in Python.

The package's files are in the `data.tar.{xz,gz,bz2,zst}` member; its
metadata (the `control` file, maintainer scripts) in `control.tar.*`.
tarfile reads xz, gz and bz2; zstd needs the `zstandard` module or the
`unzstd` program.

Debian 12 is merged-/usr: /bin, /sbin and /lib are symbolic links into /usr,
yet packages still ship files under ./bin, ./lib...  dpkg writes those through
the links; `unpack_deb` does the same by rewriting the first path component
(`ALIASED`), so every file lands in /usr whatever order packages unpack in.
Paths are resolved inside the root as a chroot would: no member (or symbolic
link a member points through) can write outside it.  Absolute symbolic links
are made relative (`make_link`), so they point into the root from the host too.
"""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path, PurePath, PurePosixPath
from typing import IO

from .ar import ArError, read_ar

# top-level directories that are symbolic links into /usr on a merged-/usr system
ALIASED = ("bin", "sbin", "lib", "lib32", "lib64", "libo32", "libx32")

_MAX_LINKS = 40                                   # the kernel's limit on symbolic links in one lookup


class DebError(ValueError):
    """A .deb could not be read or unpacked."""


def _decompress_zst(data: bytes, what: str) -> bytes:
    try:
        import zstandard
    except ImportError:
        zstandard = None
    if zstandard is not None:
        return zstandard.ZstdDecompressor().decompressobj().decompress(data)
    if shutil.which("unzstd") is None:
        raise DebError(f"{what} is zstd-compressed: install the Python package 'zstandard' "
                       "(pip install zstandard) or the zstd program (apt-get install zstd)")
    return subprocess.run(["unzstd", "-c"], input=data, capture_output=True, check=True).stdout


def _tar_member(blob: bytes, prefix: str, what: str) -> tarfile.TarFile:
    """The tar archive `prefix`.tar.* of the .deb `blob`, opened for reading."""
    try:
        for m in read_ar(blob, what):
            if m.name == prefix + ".tar.zst":
                return tarfile.open(fileobj=io.BytesIO(_decompress_zst(m.data, what)), mode="r:")
            if m.name.startswith(prefix + ".tar"):
                return tarfile.open(fileobj=io.BytesIO(m.data), mode="r:*")
    except (ArError, tarfile.TarError) as e:
        raise DebError(f"{what}: {e}") from None
    raise DebError(f"{what}: no {prefix}.tar member (is it a Debian package?)")


def _file_member(tar: tarfile.TarFile, info: tarfile.TarInfo, what: str) -> IO[bytes]:
    """The contents of the regular-file member `info` (tarfile gives None for any other kind)."""
    f = tar.extractfile(info)
    if f is None:
        raise DebError(f"{what}: {info.name} is not a regular file")
    return f


def read_control(deb: Path) -> dict[str, str]:
    """The fields of the package's `control` file, plus its maintainer scripts as 'script:NAME'."""
    tar = _tar_member(deb.read_bytes(), "control", str(deb))
    fields: dict[str, str] = {}
    for info in tar.getmembers():
        name = PurePosixPath(info.name).name
        if not info.isfile():
            continue
        text = _file_member(tar, info, str(deb)).read().decode("utf-8", "replace")
        if name == "control":
            fields.update(parse_control(text))
        elif name in ("preinst", "postinst"):
            fields["script:" + name] = text
    return fields


def parse_control(text: str) -> dict[str, str]:
    """A deb822 paragraph as a dict (continuation lines joined with newlines)."""
    fields: dict[str, str] = {}
    key = None
    for line in text.splitlines():
        if line[:1] in (" ", "\t") and key is not None:
            fields[key] += "\n" + line.strip()
        elif ":" in line:
            key, _, value = line.partition(":")
            key = key.strip()
            fields[key] = value.strip()
    return fields


def package_path(member: str) -> PurePosixPath | None:
    """The path inside the root where the tar member `member` goes (None for the root itself)."""
    parts = [p for p in PurePosixPath(member).parts if p not in ("", ".", "/")]
    if any(p == ".." for p in parts):
        raise DebError(f"member {member!r} climbs out of the root")
    if not parts:
        return None
    if parts[0] in ALIASED:
        parts.insert(0, "usr")
    return PurePosixPath(*parts)


def resolve_inside(root: Path, rel: PurePath | str, *, follow_last: bool = True) -> Path:
    """The host path of `rel` in `root`, following symbolic links as if `root` were `/`.

    Absolute link targets restart at `root`; ".." stops at `root`.  Components
    that do not exist are kept as they are (the caller may be about to create them).
    """
    todo = [p for p in PurePosixPath(rel).parts if p not in ("/", "", ".")]
    todo.reverse()
    done: list[str] = []
    links = 0
    while todo:
        part = todo.pop()
        if part == "..":
            if done:
                done.pop()
            continue
        here = root.joinpath(*done, part)
        if (todo or follow_last) and here.is_symlink():
            links += 1
            if links > _MAX_LINKS:
                raise DebError(f"too many levels of symbolic links resolving /{rel} in {root}")
            target = PurePosixPath(os.readlink(here))
            if target.is_absolute():
                done = []
            todo.extend(reversed([p for p in target.parts if p not in ("/", "", ".")]))
            continue
        done.append(part)
    return root.joinpath(*done)


def make_link(root: Path, target: str, dest: Path) -> None:
    """A symbolic link at `dest` (a host path in `root`) to `target` as the guest sees it.

    An absolute target is written relative to the link's directory, so the
    link means the same inside the guest and on the host (for qemu-mipsel -L
    and for tools that copy the tree); the directory is the real one, links
    in its path followed, as the kernel resolves a relative target.
    """
    if target.startswith("/"):
        where = resolve_inside(root, target, follow_last=False)
        target = os.path.relpath(where, os.path.realpath(dest.parent))
    os.symlink(target, dest)


def unpack_deb(deb: Path, root: Path) -> list[str]:
    """Unpack the data of `deb` into `root`; the paths written, as "/usr/bin/x"."""
    tar = _tar_member(deb.read_bytes(), "data", str(deb))
    written: list[str] = []
    for info in tar.getmembers():
        rel = package_path(info.name)
        if rel is None:
            continue
        parent = resolve_inside(root, rel.parent)
        parent.mkdir(parents=True, exist_ok=True)
        dest = parent / rel.name
        if info.isdir():
            if not dest.is_dir():
                dest.mkdir()
            os.chmod(dest, info.mode & 0o7777 | 0o700)
            continue
        if dest.is_symlink() or dest.exists():
            if dest.is_dir() and not dest.is_symlink():
                raise DebError(f"{deb.name}: /{rel} is a directory in another package")
            dest.unlink()
        if info.issym():
            make_link(root, info.linkname, dest)
        elif info.islnk():
            target = package_path(info.linkname)
            if target is None:
                raise DebError(f"{deb.name}: hard link /{rel} to the root")
            os.link(resolve_inside(root, target), dest)
        elif info.isfile():
            with _file_member(tar, info, deb.name) as src, open(dest, "wb") as out:
                shutil.copyfileobj(src, out, 1 << 20)
            os.chmod(dest, info.mode & 0o7777)
        else:
            continue                              # device nodes, fifos: the guest OS provides /dev
        written.append("/" + str(rel))
    return written
