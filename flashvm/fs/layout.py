"""The flashfs on-disk format (docs/fs.md): geometry constants, the superblock,
inode and directory-record layouts, and the records the Python API returns.

Shared by the reader, the writer (FlashFS), mkfs and fsck; no I/O here.
"""
from __future__ import annotations

import os
import struct
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

# ------------------------------------------------------------------ format
BLOCK_SIZE = 4096
SECTOR_SIZE = 512
MAGIC = 0x53464C46              # b"FLFS" little-endian
VERSION = 1
ROOT_INO = 1
NAME_MAX = 255
INODE_SIZE = 128
INODES_PER_BLOCK = BLOCK_SIZE // INODE_SIZE        # 32
PTRS = BLOCK_SIZE // 4                             # 1024
BITS_PER_BLOCK = BLOCK_SIZE * 8
NDIRECT = 12
IND_START = NDIRECT                                # first file block via the single indirect
DIND_START = NDIRECT + PTRS                        # first file block via the double indirect
MAX_FILE_BLOCKS = DIND_START + PTRS * PTRS
MAX_FILE_SIZE = MAX_FILE_BLOCKS * BLOCK_SIZE
NLINK_MAX = 65535
BYTES_PER_INODE = 16384                            # mkfs default inode density

S_IFMT, S_IFDIR, S_IFREG, S_IFLNK = 0o170000, 0o040000, 0o100000, 0o120000
DT_UNKNOWN, DT_FIFO, DT_CHR, DT_DIR, DT_BLK, DT_REG, DT_LNK, DT_SOCK = 0, 1, 2, 4, 6, 8, 10, 12
DT_OF_TYPE = {0o010000: DT_FIFO, 0o020000: DT_CHR, S_IFDIR: DT_DIR, 0o060000: DT_BLK,
              S_IFREG: DT_REG, S_IFLNK: DT_LNK, 0o140000: DT_SOCK}

# superblock: field name -> offset (all u32); the rest of block 0 is zero
SB_FIELDS = ("magic", "version", "block_size", "total_blocks", "ninodes",
             "bbitmap_start", "bbitmap_blocks", "ibitmap_start", "ibitmap_blocks",
             "itable_start", "itable_blocks", "data_start", "free_blocks", "free_inodes",
             "root_ino", "orphan_head", "mkfs_time", "write_time", "state", "inode_size")
SB_STRUCT = struct.Struct("<20I32s")          # ... then a 32-byte volume label at offset 80
# inode (128 bytes)
INODE_STRUCT = struct.Struct("<HHIQIIIIII12IIIII24x")
assert INODE_STRUCT.size == INODE_SIZE
DIRENT_HDR = struct.Struct("<IHBB")    # ino, rec_len, name_len, file_type


def dirent_size(name_len: int) -> int:
    """Bytes a directory record with a name of name_len bytes needs (4-aligned)."""
    return (8 + name_len + 3) & ~3


class FsError(Exception):
    """A flashfs operation failed (the message is one line, for users)."""


@dataclass(frozen=True)
class Stat:
    ino: int
    mode: int
    nlink: int
    uid: int
    gid: int
    size: int
    blocks: int          #: allocated 512-byte sectors (st_blocks)
    atime: int
    mtime: int
    ctime: int
    rdev: int

    @property
    def is_dir(self) -> bool:
        return self.mode & S_IFMT == S_IFDIR

    @property
    def is_file(self) -> bool:
        return self.mode & S_IFMT == S_IFREG

    @property
    def is_symlink(self) -> bool:
        return self.mode & S_IFMT == S_IFLNK


@dataclass(frozen=True)
class DirEntry:
    name: str
    ino: int
    type: int            #: DT_* value


class Inode:
    """One 128-byte inode, unpacked into attributes (``pack`` writes it back)."""
    __slots__ = ("mode", "nlink", "uid", "size", "gid", "atime", "mtime", "ctime",
                 "nblocks", "flags", "direct", "ind", "dind", "next_orphan", "rdev")

    def __init__(self, raw: bytes | None = None) -> None:
        v = INODE_STRUCT.unpack(raw if raw is not None else bytes(INODE_SIZE))
        (self.mode, self.nlink, self.uid, self.size, self.gid, self.atime, self.mtime,
         self.ctime, self.nblocks, self.flags) = v[:10]
        self.direct = list(v[10:22])
        self.ind, self.dind, self.next_orphan, self.rdev = v[22:26]

    def pack(self) -> bytes:
        return INODE_STRUCT.pack(self.mode, self.nlink, self.uid, self.size, self.gid, self.atime,
                                 self.mtime, self.ctime, self.nblocks, self.flags, *self.direct,
                                 self.ind, self.dind, self.next_orphan, self.rdev)

    @property
    def is_dir(self) -> bool:
        return self.mode & S_IFMT == S_IFDIR


# a fixed clock for images a simulated guest reads (fixed_clock): innermost last
_CLOCK: list[int] = []


def now() -> int:
    """Timestamp for new inodes and the superblock: the fixed clock when one is set, else
    SOURCE_DATE_EPOCH when set, else the host's time."""
    if _CLOCK:
        return _CLOCK[-1]
    return int(os.environ.get("SOURCE_DATE_EPOCH") or time.time()) & 0xFFFFFFFF


def file_time(mtime: int) -> int:
    """A host file's mtime as stored: no later than the fixed clock when one is set."""
    return min(mtime, _CLOCK[-1]) if _CLOCK else mtime


@contextmanager
def fixed_clock(t: int) -> Iterator[None]:
    """Within: images get time `t` for what they create and no host mtime later than `t`,
    so a guest whose clock starts at `t` sees the same disk whenever and wherever it was built
    (and no file from its future, which `make` would warn about)."""
    _CLOCK.append(t & 0xFFFFFFFF)
    try:
        yield
    finally:
        _CLOCK.pop()


def split_path(path: str) -> list[str]:
    """Components of a guest path ('/a//b/' -> ['a', 'b']); '..' is refused."""
    parts = [p for p in str(path).split("/") if p not in ("", ".")]
    for p in parts:
        if p == "..":
            raise FsError(f"'..' is not allowed in a guest path: {path!r}")
        if len(p.encode()) > NAME_MAX:
            raise FsError(f"name too long ({len(p.encode())} > {NAME_MAX} bytes): {p[:40]}... in {path!r}")
        if "\0" in p:
            raise FsError(f"NUL byte in guest path {path!r}")
    return parts
