"""Building flashfs images: :func:`mkfs` formats an image and fills it from a
host directory and/or a mapping guest path -> contents; :func:`parse_size`
reads sizes such as "64M".
"""
from __future__ import annotations

import logging
import os
import stat as stat_mod
import tempfile
from pathlib import Path
from typing import Mapping, Union

from .flashfs import FlashFS
from .layout import (
    BITS_PER_BLOCK, BLOCK_SIZE, BYTES_PER_INODE, DIRENT_HDR, DT_DIR, INODE_SIZE, INODES_PER_BLOCK, MAGIC,
    ROOT_INO, S_IFDIR, SB_FIELDS, SB_STRUCT, VERSION, FsError, Inode, now,
)

__all__ = ["mkfs", "parse_size"]

# the logger keeps the name it had when all of this was flashfs.py
log = logging.getLogger("flashvm.fs.flashfs")


def parse_size(text: str | int) -> int:
    """'64M' -> 67108864; suffixes K, M, G, T (powers of 1024), optional 'B'/'iB'."""
    if isinstance(text, int):
        return text
    s = text.strip().upper().removesuffix("B").removesuffix("I")
    mult = 1
    for suffix, m in (("K", 1 << 10), ("M", 1 << 20), ("G", 1 << 30), ("T", 1 << 40)):
        if s.endswith(suffix):
            s, mult = s[:-1], m
            break
    try:
        value = float(s) * mult
    except ValueError:
        raise FsError(f"bad size {text!r} (expected e.g. 64M, 1G, 1048576)") from None
    return int(value)


def _geometry(total_blocks: int, ninodes: int) -> dict[str, int]:
    """Where the bitmaps, the inode table and the data area start, and their sizes (superblock fields)."""
    bb = -(-total_blocks // BITS_PER_BLOCK)
    ib = -(-ninodes // BITS_PER_BLOCK)
    it = ninodes // INODES_PER_BLOCK
    return dict(bbitmap_start=1, bbitmap_blocks=bb, ibitmap_start=1 + bb, ibitmap_blocks=ib,
                itable_start=1 + bb + ib, itable_blocks=it, data_start=1 + bb + ib + it)


def _format(f, total_blocks: int, ninodes: int, label: str) -> None:
    lay = _geometry(total_blocks, ninodes)
    ds = lay["data_start"]
    root_block = ds
    bbm = bytearray(lay["bbitmap_blocks"] * BLOCK_SIZE)
    for i in list(range(ds + 1)) + list(range(total_blocks, len(bbm) * 8)):
        bbm[i >> 3] |= 1 << (i & 7)
    ibm = bytearray(lay["ibitmap_blocks"] * BLOCK_SIZE)
    for i in [0, ROOT_INO] + list(range(ninodes, len(ibm) * 8)):
        ibm[i >> 3] |= 1 << (i & 7)
    t = now()
    sb = dict(magic=MAGIC, version=VERSION, block_size=BLOCK_SIZE, total_blocks=total_blocks,
              ninodes=ninodes, free_blocks=total_blocks - ds - 1, free_inodes=ninodes - 2,
              root_ino=ROOT_INO, orphan_head=0, mkfs_time=t, write_time=t, state=1,
              inode_size=INODE_SIZE, **lay)
    fd = f.fileno()
    os.ftruncate(fd, total_blocks * BLOCK_SIZE)
    os.pwrite(fd, SB_STRUCT.pack(*(sb[k] for k in SB_FIELDS), label.encode()[:32]), 0)
    os.pwrite(fd, bytes(bbm), lay["bbitmap_start"] * BLOCK_SIZE)
    os.pwrite(fd, bytes(ibm), lay["ibitmap_start"] * BLOCK_SIZE)
    # zero the inode table (the file may be sparse already; be explicit)
    os.pwrite(fd, bytes(lay["itable_blocks"] * BLOCK_SIZE), lay["itable_start"] * BLOCK_SIZE)
    root = Inode()
    root.mode = S_IFDIR | 0o755
    root.nlink = 2
    root.size = BLOCK_SIZE
    root.atime = root.mtime = root.ctime = t
    root.direct[0] = root_block
    root.nblocks = 1
    os.pwrite(fd, root.pack(), lay["itable_start"] * BLOCK_SIZE + ROOT_INO * INODE_SIZE)
    dot = DIRENT_HDR.pack(ROOT_INO, 12, 1, DT_DIR) + b".\0\0\0"
    dotdot = DIRENT_HDR.pack(ROOT_INO, BLOCK_SIZE - 12, 2, DT_DIR) + b"..\0\0"
    os.pwrite(fd, (dot + dotdot).ljust(BLOCK_SIZE, b"\0"), root_block * BLOCK_SIZE)


Content = Union[bytes, bytearray, Path]


def mkfs(image_path: str | os.PathLike, size_bytes: int | str,
         source_dir: str | os.PathLike | None = None,
         files: Mapping[str, Content] | None = None, *,
         inodes: int | None = None, label: str = "") -> None:
    """Build a flashfs image of `size_bytes` (rounded down to whole blocks).

    The tree of `source_dir` (if given) becomes the root directory; then each
    `files` entry guest-path -> content is added (bytes: mode 0644; a host
    Path: its contents and permission bits), making directories as needed.
    Permission bits (so the executable bit) and mtimes of host files are kept;
    symlinks are stored as symlinks; other special files are skipped.  The
    image is written to a temporary file and renamed into place, so on any
    error (FsError) `image_path` is left untouched.
    """
    size = parse_size(size_bytes)
    total_blocks = size // BLOCK_SIZE
    if total_blocks > 0xFFFFFFFF:
        raise FsError(f"image too large ({size} bytes; at most {0xFFFFFFFF * BLOCK_SIZE})")
    if inodes is None:
        inodes = max(64, total_blocks * BLOCK_SIZE // BYTES_PER_INODE)
    ninodes = max(INODES_PER_BLOCK, -(-(inodes + 1) // INODES_PER_BLOCK) * INODES_PER_BLOCK)
    ninodes = min(ninodes, 1 << 24)
    need = _geometry(total_blocks, ninodes)["data_start"] + 1
    if total_blocks < need or total_blocks < 8:
        raise FsError(f"image too small: {size} bytes; at least {max(need, 8) * BLOCK_SIZE} needed "
                      f"for {ninodes - 1} inodes")
    if source_dir is not None and not Path(source_dir).is_dir():
        raise FsError(f"source directory not found: {source_dir}")
    image = Path(image_path)
    image.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{image.name}.", suffix=".tmp", dir=image.parent)
    try:
        with os.fdopen(fd, "r+b") as f:
            _format(f, total_blocks, ninodes, label)
        with FlashFS(tmp) as fs:
            try:
                if source_dir is not None:
                    _add_tree(fs, Path(source_dir), "/")
                for guest, content in (files or {}).items():
                    _add_one(fs, guest, content)
            except FsError as e:
                if "ENOSPC" in str(e):
                    what = "inodes" if "inodes" in str(e) else "blocks"
                    raise FsError(f"image too small: {size} bytes ({ninodes - 1} inodes) is not "
                                  f"enough for the given files (ran out of {what})") from None
                raise
        os.chmod(tmp, 0o644)
        os.replace(tmp, image)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _add_one(fs: FlashFS, guest: str, content: Content) -> None:
    if isinstance(content, (bytes, bytearray)):
        fs.write(guest, bytes(content), 0o644)
        return
    host = Path(content)
    try:
        st = host.lstat()
    except OSError as e:
        raise FsError(f"cannot read {host}: {e.strerror}") from None
    if stat_mod.S_ISDIR(st.st_mode):
        fs.mkdir(guest, st.st_mode & 0o7777, mtime=int(st.st_mtime))
        _add_tree(fs, host, guest)
    elif stat_mod.S_ISLNK(st.st_mode):
        fs.symlink(guest, os.readlink(host))
    elif stat_mod.S_ISREG(st.st_mode):
        try:
            data = host.read_bytes()
        except OSError as e:
            raise FsError(f"cannot read {host}: {e.strerror}") from None
        fs.write(guest, data, st.st_mode & 0o7777, mtime=int(st.st_mtime))
    else:
        log.warning("skipping special file %s", host)


def _add_tree(fs: FlashFS, host_dir: Path, guest_dir: str) -> None:
    try:
        entries = sorted(os.scandir(host_dir), key=lambda e: e.name)
    except OSError as e:
        raise FsError(f"cannot read directory {host_dir}: {e.strerror}") from None
    base = guest_dir.rstrip("/")
    for entry in entries:
        _add_one(fs, f"{base}/{entry.name}", Path(entry.path))
