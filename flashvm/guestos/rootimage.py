"""The guest OS's root disk made from a sysroot (flashvm.sysroot): one flashfs
image per sysroot, built once and cached, shared read-only by every run.

A run never writes the cached image: it is attached as DISK 0 with a
copy-on-write overlay (flashvm.machine.disk.Disk(overlay=True)), one per
machine or per Disco VM, so the guest may write its root freely and nothing
is kept.  What changes from run to run (the program when it is not in the
sysroot, --file files, the multi-command init) is not in the image: it
travels in the initrd, which the kernel writes onto its flashfs root at boot
(flashvm/guest/os/initrd.c), that is into the run's overlay.

The cache key is the sysroot's manifest key, a fingerprint of its tree (so a
sysroot changed by hand gets a new image), IMAGE_FORMAT, the link mode and
the extra files baked in.  Images live in $FLASHVM_CACHE/osimage/KEY.img.
"""
from __future__ import annotations

import hashlib
import json
import os
import stat as stat_mod
import time
from pathlib import Path
from typing import Callable, Mapping, Optional

from flashvm.fs import FlashFS, FsError, mkfs
from flashvm.fs.layout import BLOCK_SIZE, fixed_clock
from flashvm.guestos.image import GUEST_EPOCH
from flashvm.spec import GuestFile
from flashvm.sysroot import MANIFEST, Sysroot
from flashvm.sysroot.deb import resolve_inside
from flashvm.toolchain import cache_root

IMAGE_FORMAT = 2                 # bump when what ends up in an image changes (2: stamped at GUEST_EPOCH)
LINK_MODES = ("keep", "resolve")
# "keep": symbolic links stay links (the kernel's VFS follows them).
# "resolve": every link is replaced by what it names (a file becomes a hard
# link to the one real copy, a directory a directory of such links), for a
# kernel whose VFS does not follow symbolic links (the guest OS before it did).
DEFAULT_LINKS = "keep"
HEADROOM = 256 << 20             # free space for what the guest writes (the host file is sparse)


def image_cache() -> Path:
    return cache_root() / "osimage"


def tree_fingerprint(root: Path) -> str:
    """Names, kinds, sizes and mtimes of everything under `root` (the manifest aside), hashed."""
    h = hashlib.sha256()
    for dirpath, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files) + dirs:
            if dirpath == str(root) and name == MANIFEST:
                continue
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            # a link's own time is not copied with it (shutil.copytree): its target stands for it
            what = os.readlink(path) if stat_mod.S_ISLNK(st.st_mode) else f"{st.st_size}\0{int(st.st_mtime)}"
            h.update(f"{os.path.relpath(path, root)}\0{st.st_mode}\0{what}\n".encode(errors="surrogateescape"))
    return h.hexdigest()[:16]


def _extra_digest(extra: Mapping[str, GuestFile]) -> str:
    h = hashlib.sha256()
    for guest in sorted(extra):
        data = extra[guest]
        blob = b"<dir>" if data is None else (Path(data).read_bytes() if isinstance(data, (str, Path))
                                               else bytes(data))
        h.update(guest.encode() + b"\0" + hashlib.sha256(blob).digest())
    return h.hexdigest()[:16]


def image_key(sysroot: Sysroot, links: str, extra: Mapping[str, GuestFile]) -> str:
    text = json.dumps([IMAGE_FORMAT, links, sysroot.key, tree_fingerprint(sysroot.root), _extra_digest(extra)])
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def _count(root: Path) -> tuple[int, int]:
    """Bytes of regular files and number of entries under `root`, links not followed."""
    size = entries = 0
    for dirpath, dirs, files in os.walk(root):
        entries += len(dirs) + len(files)
        for name in files:
            st = os.lstat(os.path.join(dirpath, name))
            if stat_mod.S_ISREG(st.st_mode):
                size += st.st_size
    return size, entries


def image_geometry(root: Path, links: str) -> tuple[int, int]:
    """(image bytes, inodes) for the tree of `root`: its data twice over (resolved
    links may add directories of links; a guest writes), plus HEADROOM."""
    size, entries = _count(root)
    factor = 3 if links == "resolve" else 1     # resolved directory links repeat their entries
    blocks = size // BLOCK_SIZE + entries * factor
    total = (2 * blocks * BLOCK_SIZE + HEADROOM + (1 << 20) - 1) & ~((1 << 20) - 1)
    return total, max(8192, 4 * entries * factor)


def _resolved_tree(fs: FlashFS, root: Path, host_dir: Path, guest_dir: str, written: dict[Path, str],
                   stack: tuple[Path, ...]) -> None:
    """Copy `host_dir` to `guest_dir` following links inside `root`: each real file
    is written once, every other name for it becomes a hard link."""
    for entry in sorted(os.scandir(host_dir), key=lambda e: e.name):
        guest = f"{guest_dir.rstrip('/')}/{entry.name}"
        here = Path(entry.path)
        real = resolve_inside(root, here.relative_to(root)) if here.is_symlink() else here
        try:
            st = real.lstat()
        except OSError:
            continue                                  # a dangling link: nothing to name
        if stat_mod.S_ISDIR(st.st_mode):
            if real in stack:
                continue                              # a link back up the tree
            fs.mkdir(guest, st.st_mode & 0o7777, mtime=int(st.st_mtime))
            _resolved_tree(fs, root, real, guest, written, stack + (real,))
        elif stat_mod.S_ISREG(st.st_mode):
            if real in written:
                fs.link(written[real], guest)
            else:
                fs.write(guest, real.read_bytes(), st.st_mode & 0o7777, mtime=int(st.st_mtime))
                written[real] = guest


def build_image(image: Path, root: Path, links: str, extra: Mapping[str, GuestFile]) -> None:
    """Write the flashfs image of the tree `root` (plus `extra`) to `image`."""
    size, inodes = image_geometry(root, links)
    plain = {g: (Path(v) if isinstance(v, str) else v) for g, v in extra.items() if v is not None}
    tmp = image.with_name(f".{image.name}.{os.getpid()}")
    try:
        with fixed_clock(GUEST_EPOCH):
            _write_image(tmp, root, links, extra, plain, size, inodes)
        os.replace(tmp, image)
    finally:
        if tmp.exists():
            tmp.unlink()


def _write_image(tmp: Path, root: Path, links: str, extra: Mapping[str, GuestFile],
                 plain: Mapping[str, bytes | Path], size: int, inodes: int) -> None:
    if links == "keep":
        mkfs(tmp, size, source_dir=root, files=plain, inodes=inodes, label="sysroot")
    else:
        mkfs(tmp, size, inodes=inodes, label="sysroot")
        with FlashFS(tmp) as fs:
            _resolved_tree(fs, root, root, "/", {}, (root,))
            for g, v in plain.items():
                fs.write(g, v if isinstance(v, bytes) else Path(v).read_bytes(), 0o755)
    with FlashFS(tmp) as fs:
        for g, what in extra.items():
            if what is None:
                fs.mkdir(g)
        if fs.exists(f"/{MANIFEST}"):
            fs.unlink(f"/{MANIFEST}")


def sysroot_image(sysroot: Sysroot | Path, *, links: str = DEFAULT_LINKS,
                  extra: Optional[Mapping[str, GuestFile]] = None,
                  progress: Optional[Callable[[str], None]] = None) -> Path:
    """The cached flashfs root image of `sysroot` (a Sysroot or its directory),
    built when there is none yet for its key; never written by a run."""
    if links not in LINK_MODES:
        raise ValueError(f"links {links!r}: use one of {', '.join(LINK_MODES)}")
    sr = sysroot if isinstance(sysroot, Sysroot) else Sysroot.load(Path(sysroot))
    extra = dict(extra or {})
    image = image_cache() / f"{image_key(sr, links, extra)}.img"
    if image.is_file():
        return image
    say = progress or (lambda msg: None)
    image.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    try:
        build_image(image, sr.root, links, extra)
    except FsError as e:
        raise FsError(f"root image of {sr.root}: {e}") from None
    say(f"root image {image.name}: {image.stat().st_size >> 20} MB in {time.monotonic() - t0:.1f} s")
    return image
