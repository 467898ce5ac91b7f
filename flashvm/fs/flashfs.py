"""flashfs images from the host side: build (mkfs), read, write and check (fsck).

The on-disk format is described in ``docs/fs.md``; the guest kernel's C
library (``flashvm/guest/os/fs/flashfs.c``) implements the same format.  This
module is a plain-Python implementation meant for host tools and tests, not
for speed: it reads and writes the image file block by block, keeping only the
two bitmaps in memory (written back by :meth:`FlashFS.flush` / ``close``).
"""
from __future__ import annotations

import logging
import os
import stat as stat_mod
import struct
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Mapping, Union

__all__ = [
    "BLOCK_SIZE", "ROOT_INO", "NAME_MAX", "VERSION", "MAGIC", "MAX_FILE_SIZE",
    "FsError", "Stat", "DirEntry", "FlashFS", "mkfs", "parse_size",
]

log = logging.getLogger(__name__)

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
_DT_OF_TYPE = {0o010000: DT_FIFO, 0o020000: DT_CHR, S_IFDIR: DT_DIR, 0o060000: DT_BLK,
               S_IFREG: DT_REG, S_IFLNK: DT_LNK, 0o140000: DT_SOCK}

# superblock: field name -> offset (all u32); the rest of block 0 is zero
_SB_FIELDS = ("magic", "version", "block_size", "total_blocks", "ninodes",
              "bbitmap_start", "bbitmap_blocks", "ibitmap_start", "ibitmap_blocks",
              "itable_start", "itable_blocks", "data_start", "free_blocks", "free_inodes",
              "root_ino", "orphan_head", "mkfs_time", "write_time", "state", "inode_size")
_SB = struct.Struct("<20I32s")          # ... then a 32-byte volume label at offset 80
# inode (128 bytes)
_INODE = struct.Struct("<HHIQIIIIII12IIIII24x")
assert _INODE.size == INODE_SIZE
_DIRENT_HDR = struct.Struct("<IHBB")    # ino, rec_len, name_len, file_type


def _dirent_size(name_len: int) -> int:
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


class _Inode:
    __slots__ = ("mode", "nlink", "uid", "size", "gid", "atime", "mtime", "ctime",
                 "nblocks", "flags", "direct", "ind", "dind", "next_orphan", "rdev")

    def __init__(self, raw: bytes | None = None) -> None:
        v = _INODE.unpack(raw if raw is not None else bytes(INODE_SIZE))
        (self.mode, self.nlink, self.uid, self.size, self.gid, self.atime, self.mtime,
         self.ctime, self.nblocks, self.flags) = v[:10]
        self.direct = list(v[10:22])
        self.ind, self.dind, self.next_orphan, self.rdev = v[22:26]

    def pack(self) -> bytes:
        return _INODE.pack(self.mode, self.nlink, self.uid, self.size, self.gid, self.atime,
                           self.mtime, self.ctime, self.nblocks, self.flags, *self.direct,
                           self.ind, self.dind, self.next_orphan, self.rdev)

    @property
    def is_dir(self) -> bool:
        return self.mode & S_IFMT == S_IFDIR


def _now() -> int:
    return int(os.environ.get("SOURCE_DATE_EPOCH") or time.time()) & 0xFFFFFFFF


def _split(path: str) -> list[str]:
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


# ------------------------------------------------------------------ FlashFS
class FlashFS:
    """An open flashfs image.

    Paths are guest paths ("/bin/sh"; a leading slash is optional).  Reads go
    straight to the image file; modifications are written at once except for
    the bitmaps and superblock counters, which :meth:`flush` (and
    :meth:`close`, and leaving a ``with`` block) write back.
    """

    def __init__(self, image_path: str | os.PathLike, *, writable: bool = True) -> None:
        self.path = Path(image_path)
        try:
            self._f = open(self.path, "r+b" if writable else "rb")
        except OSError as e:
            raise FsError(f"cannot open image {self.path}: {e.strerror}") from None
        self.writable = writable
        self._dirty = False
        try:
            self._load_super()
        except Exception:
            self._f.close()
            raise

    # ---------------------------------------------------------- plumbing
    def _load_super(self) -> None:
        raw = self._rblock(0, check=False)
        if len(raw) < BLOCK_SIZE:
            raise FsError(f"{self.path}: not a flashfs image (shorter than one block)")
        vals = _SB.unpack_from(raw)
        self.sb = dict(zip(_SB_FIELDS, vals[:20]))
        self.label = vals[20].rstrip(b"\0").decode(errors="replace")
        sb = self.sb
        if sb["magic"] != MAGIC:
            raise FsError(f"{self.path}: not a flashfs image (bad magic {sb['magic']:#x})")
        if sb["version"] != VERSION:
            raise FsError(f"{self.path}: flashfs version {sb['version']} not supported (want {VERSION})")
        if sb["block_size"] != BLOCK_SIZE or sb["inode_size"] != INODE_SIZE or sb["root_ino"] != ROOT_INO:
            raise FsError(f"{self.path}: unsupported geometry (block size {sb['block_size']}, "
                          f"inode size {sb['inode_size']}, root inode {sb['root_ino']})")
        if not (sb["bbitmap_start"] == 1
                and sb["ibitmap_start"] == 1 + sb["bbitmap_blocks"]
                and sb["itable_start"] == sb["ibitmap_start"] + sb["ibitmap_blocks"]
                and sb["data_start"] == sb["itable_start"] + sb["itable_blocks"]
                and sb["bbitmap_blocks"] * BITS_PER_BLOCK >= sb["total_blocks"] > sb["data_start"]
                and sb["ibitmap_blocks"] * BITS_PER_BLOCK >= sb["ninodes"] >= 2
                and sb["itable_blocks"] * INODES_PER_BLOCK >= sb["ninodes"]):
            raise FsError(f"{self.path}: corrupt superblock (inconsistent layout)")
        size = os.fstat(self._f.fileno()).st_size
        if size < sb["total_blocks"] * BLOCK_SIZE:
            raise FsError(f"{self.path}: image truncated ({size} bytes, superblock says "
                          f"{sb['total_blocks'] * BLOCK_SIZE})")
        self.total_blocks = sb["total_blocks"]
        self.ninodes = sb["ninodes"]
        self.data_start = sb["data_start"]
        self.bbitmap = bytearray(self._rblocks(sb["bbitmap_start"], sb["bbitmap_blocks"]))
        self.ibitmap = bytearray(self._rblocks(sb["ibitmap_start"], sb["ibitmap_blocks"]))
        self._bhint = self.data_start
        self._ihint = ROOT_INO

    def _rblocks(self, start: int, n: int) -> bytes:
        return os.pread(self._f.fileno(), n * BLOCK_SIZE, start * BLOCK_SIZE)

    def _rblock(self, bno: int, check: bool = True) -> bytes:
        if check and not 0 <= bno < self.total_blocks:
            raise FsError(f"{self.path}: corrupt: block number {bno} out of range")
        return os.pread(self._f.fileno(), BLOCK_SIZE, bno * BLOCK_SIZE)

    def _wblock(self, bno: int, data: bytes, off: int = 0) -> None:
        if not self.writable:
            raise FsError(f"{self.path}: opened read-only")
        assert 0 <= bno < self.total_blocks and off + len(data) <= BLOCK_SIZE
        os.pwrite(self._f.fileno(), data, bno * BLOCK_SIZE + off)

    def flush(self) -> None:
        """Write the bitmaps and the superblock counters back."""
        if not self._dirty:
            return
        sb = self.sb
        self._wfull(sb["bbitmap_start"], bytes(self.bbitmap))
        self._wfull(sb["ibitmap_start"], bytes(self.ibitmap))
        sb["write_time"] = _now()
        raw = _SB.pack(*(sb[k] for k in _SB_FIELDS), self.label.encode()[:32])
        self._wblock(0, raw)
        self._f.flush()
        self._dirty = False

    def _wfull(self, start: int, data: bytes) -> None:
        os.pwrite(self._f.fileno(), data, start * BLOCK_SIZE)

    def close(self) -> None:
        if self._f.closed:
            return
        try:
            if self.writable:
                self.flush()
        finally:
            self._f.close()

    def __enter__(self) -> "FlashFS":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------- bitmaps
    @staticmethod
    def _bit(bm: bytearray, i: int) -> bool:
        return bool(bm[i >> 3] & (1 << (i & 7)))

    @staticmethod
    def _setbit(bm: bytearray, i: int, v: bool) -> None:
        if v:
            bm[i >> 3] |= 1 << (i & 7)
        else:
            bm[i >> 3] &= ~(1 << (i & 7)) & 0xFF

    @staticmethod
    def _find_clear(bm: bytearray, nbits: int, hint: int) -> int:
        """First clear bit at or after hint (wrapping around), -1 if none."""
        hint = min(hint, nbits)
        for lo, hi in ((hint, nbits), (0, hint)):
            i = lo
            while i < hi:
                j = i >> 3
                if bm[j] == 0xFF:
                    i = (j + 1) << 3
                elif not bm[j] & (1 << (i & 7)):
                    return i
                else:
                    i += 1
        return -1

    def _balloc(self) -> int:
        if self.sb["free_blocks"] == 0:
            raise FsError(f"{self.path}: no space left on the image (ENOSPC)")
        bno = self._find_clear(self.bbitmap, self.total_blocks, self._bhint)
        if bno < self.data_start:
            raise FsError(f"{self.path}: corrupt block bitmap (free count says {self.sb['free_blocks']} free)")
        self._setbit(self.bbitmap, bno, True)
        self.sb["free_blocks"] -= 1
        self._bhint = bno + 1
        self._dirty = True
        self._wblock(bno, bytes(BLOCK_SIZE))
        return bno

    def _bfree(self, bno: int) -> None:
        if not self.data_start <= bno < self.total_blocks or not self._bit(self.bbitmap, bno):
            raise FsError(f"{self.path}: corrupt: freeing bad or free block {bno}")
        self._setbit(self.bbitmap, bno, False)
        self.sb["free_blocks"] += 1
        self._dirty = True

    def _ialloc(self, mode: int) -> tuple[int, _Inode]:
        if self.sb["free_inodes"] == 0:
            raise FsError(f"{self.path}: no free inodes left on the image (ENOSPC)")
        ino = self._find_clear(self.ibitmap, self.ninodes, self._ihint)
        if ino <= 0:
            raise FsError(f"{self.path}: corrupt inode bitmap")
        self._setbit(self.ibitmap, ino, True)
        self.sb["free_inodes"] -= 1
        self._ihint = ino + 1
        self._dirty = True
        ind = _Inode()
        ind.mode = mode
        ind.atime = ind.mtime = ind.ctime = _now()
        return ino, ind

    # ---------------------------------------------------------- inodes
    def _iread(self, ino: int) -> _Inode:
        if not 0 < ino < self.ninodes:
            raise FsError(f"{self.path}: corrupt: inode number {ino} out of range")
        off = (self.sb["itable_start"] + ino // INODES_PER_BLOCK) * BLOCK_SIZE + (ino % INODES_PER_BLOCK) * INODE_SIZE
        return _Inode(os.pread(self._f.fileno(), INODE_SIZE, off))

    def _iwrite(self, ino: int, ind: _Inode) -> None:
        self._wblock(self.sb["itable_start"] + ino // INODES_PER_BLOCK, ind.pack(),
                     (ino % INODES_PER_BLOCK) * INODE_SIZE)

    def _ptr(self, blk: int, idx: int) -> int:
        return struct.unpack_from("<I", os.pread(self._f.fileno(), 4, blk * BLOCK_SIZE + 4 * idx))[0]

    def _set_ptr(self, blk: int, idx: int, value: int) -> None:
        self._wblock(blk, struct.pack("<I", value), 4 * idx)

    def _bmap(self, ind: _Inode, fbn: int, alloc: bool = False) -> int:
        """Device block of file block fbn (0 = hole), allocating when asked."""
        if fbn < NDIRECT:
            if not ind.direct[fbn] and alloc:
                ind.direct[fbn] = self._balloc()
                ind.nblocks += 1
            return ind.direct[fbn]
        if fbn < DIND_START:
            path = [(None, "ind"), fbn - IND_START]
        elif fbn < MAX_FILE_BLOCKS:
            f = fbn - DIND_START
            path = [(None, "dind"), f // PTRS, f % PTRS]
        else:
            raise FsError(f"file too large (block {fbn} > {MAX_FILE_BLOCKS})")
        attr = path[0][1]
        blk = getattr(ind, attr)
        if not blk:
            if not alloc:
                return 0
            blk = self._balloc()
            setattr(ind, attr, blk)
            ind.nblocks += 1
        for idx in path[1:]:
            nxt = self._ptr(blk, idx)
            if not nxt:
                if not alloc:
                    return 0
                nxt = self._balloc()
                ind.nblocks += 1
                self._set_ptr(blk, idx, nxt)
            blk = nxt
        return blk

    def _blocks_of(self, ind: _Inode) -> Iterator[tuple[int | None, int]]:
        """(file block index or None for an indirect block, device block) of every allocated block."""
        for i, b in enumerate(ind.direct):
            if b:
                yield i, b
        if ind.ind:
            yield None, ind.ind
            for i, b in enumerate(self._ptrs(ind.ind)):
                if b:
                    yield IND_START + i, b
        if ind.dind:
            yield None, ind.dind
            for i, mid in enumerate(self._ptrs(ind.dind)):
                if mid:
                    yield None, mid
                    for j, b in enumerate(self._ptrs(mid)):
                        if b:
                            yield DIND_START + i * PTRS + j, b

    def _ptrs(self, blk: int) -> tuple[int, ...]:
        return struct.unpack(f"<{PTRS}I", self._rblock(blk))

    def _free_all(self, ind: _Inode) -> None:
        for _, b in list(self._blocks_of(ind)):
            self._bfree(b)
        ind.direct = [0] * NDIRECT
        ind.ind = ind.dind = 0
        ind.nblocks = 0

    # ---------------------------------------------------------- data
    def _read_data(self, ind: _Inode) -> bytes:
        out = bytearray(ind.size)
        nb = -(-ind.size // BLOCK_SIZE)
        for fbn, b in self._blocks_of(ind):
            if fbn is not None and fbn < nb:
                chunk = self._rblock(b)
                lo = fbn * BLOCK_SIZE
                out[lo:lo + BLOCK_SIZE] = chunk[:max(0, min(BLOCK_SIZE, ind.size - lo))]
        return bytes(out)

    def _write_data(self, ind: _Inode, data: bytes) -> None:
        """Replace the inode's contents (all-zero blocks become holes)."""
        self._free_all(ind)
        if len(data) > MAX_FILE_SIZE:
            raise FsError(f"file too large ({len(data)} > {MAX_FILE_SIZE} bytes)")
        zero = bytes(BLOCK_SIZE)
        for fbn in range(-(-len(data) // BLOCK_SIZE)):
            chunk = data[fbn * BLOCK_SIZE:(fbn + 1) * BLOCK_SIZE]
            if chunk.ljust(BLOCK_SIZE, b"\0") == zero:
                continue
            self._wblock(self._bmap(ind, fbn, alloc=True), chunk)
        ind.size = len(data)
        ind.mtime = ind.ctime = _now()

    # ---------------------------------------------------------- directories
    def _dir_records(self, ind: _Inode) -> Iterator[tuple[int, int, int, int, int, bytes]]:
        """(device block, offset, ino, rec_len, type, name) of every record, live or not."""
        for fbn in range(ind.size // BLOCK_SIZE):
            bno = self._bmap(ind, fbn)
            if not bno:
                raise FsError(f"{self.path}: corrupt directory: hole at block {fbn}")
            blk = self._rblock(bno)
            off = 0
            while off < BLOCK_SIZE:
                if off + 8 > BLOCK_SIZE:
                    raise FsError(f"{self.path}: corrupt directory block {bno} at offset {off}")
                dino, rl, nl, typ = _DIRENT_HDR.unpack_from(blk, off)
                if rl < 8 or rl % 4 or off + rl > BLOCK_SIZE or (dino and (nl == 0 or _dirent_size(nl) > rl)):
                    raise FsError(f"{self.path}: corrupt directory block {bno}: bad record at offset {off}")
                yield bno, off, dino, rl, typ, blk[off + 8:off + 8 + nl]
                off += rl

    def _entries(self, ino: int) -> list[DirEntry]:
        ind = self._iread(ino)
        if not ind.is_dir:
            raise FsError("not a directory")
        return [DirEntry(name.decode(errors="surrogateescape"), dino, typ)
                for _, _, dino, _, typ, name in self._dir_records(ind) if dino]

    def _lookup(self, dir_ino: int, name: str) -> int | None:
        want = name.encode(errors="surrogateescape")
        ind = self._iread(dir_ino)
        for _, _, dino, _, _, nm in self._dir_records(ind):
            if dino and nm == want:
                return dino
        return None

    def _dir_add(self, dir_ino: int, name: str, ino: int, typ: int) -> None:
        raw = name.encode(errors="surrogateescape")
        need = _dirent_size(len(raw))
        dind = self._iread(dir_ino)
        for bno, off, dino, rl, _, nm in self._dir_records(dind):
            used = _dirent_size(len(nm)) if dino else 0
            if rl - used >= need:
                if used:
                    self._wblock(bno, struct.pack("<H", used), off + 4)
                    off, rl = off + used, rl - used
                break
        else:
            nb = dind.size // BLOCK_SIZE
            bno = self._bmap(dind, nb, alloc=True)
            dind.size = (nb + 1) * BLOCK_SIZE
            off, rl = 0, BLOCK_SIZE
        rec = _DIRENT_HDR.pack(ino, rl, len(raw), typ) + raw
        self._wblock(bno, rec.ljust(need, b"\0"), off)
        dind.mtime = dind.ctime = _now()
        self._iwrite(dir_ino, dind)

    def _dir_remove(self, dir_ino: int, name: str) -> int:
        want = name.encode(errors="surrogateescape")
        dind = self._iread(dir_ino)
        prev: tuple[int, int, int] | None = None
        for bno, off, dino, rl, _, nm in self._dir_records(dind):
            if off == 0:
                prev = None
            if dino and nm == want:
                if prev is not None:
                    pbno, poff, prl = prev
                    self._wblock(pbno, struct.pack("<H", prl + rl), poff + 4)
                else:
                    self._wblock(bno, struct.pack("<I", 0), off)
                dind.mtime = dind.ctime = _now()
                self._iwrite(dir_ino, dind)
                return dino
            prev = (bno, off, rl)
        raise FsError(f"no such entry: {name}")

    # ---------------------------------------------------------- paths
    def _resolve(self, path: str) -> int:
        ino = ROOT_INO
        for comp in _split(path):
            ind = self._iread(ino)
            if not ind.is_dir:
                raise FsError(f"not a directory on the way to {path!r}")
            nxt = self._lookup(ino, comp)
            if nxt is None:
                raise FsError(f"no such file or directory: {path}")
            ino = nxt
        return ino

    def _parent(self, path: str, create: bool) -> tuple[int, str]:
        parts = _split(path)
        if not parts:
            raise FsError(f"not a file path: {path!r}")
        ino = ROOT_INO
        for comp in parts[:-1]:
            nxt = self._lookup(ino, comp)
            if nxt is None:
                if not create:
                    raise FsError(f"no such directory: {comp!r} in {path!r}")
                nxt = self._mkdir_in(ino, comp, 0o755)
            elif not self._iread(nxt).is_dir:
                raise FsError(f"not a directory: {comp!r} in {path!r}")
            ino = nxt
        return ino, parts[-1]

    def _mkdir_in(self, parent: int, name: str, mode: int, mtime: int | None = None) -> int:
        pind = self._iread(parent)
        if pind.nlink >= NLINK_MAX:
            raise FsError(f"too many links in the parent of {name!r}")
        ino, ind = self._ialloc(S_IFDIR | (mode & 0o7777))
        ind.nlink = 2
        try:
            bno = self._bmap(ind, 0, alloc=True)
        except FsError:
            self._release_ino(ino)
            raise
        dot = _DIRENT_HDR.pack(ino, 12, 1, DT_DIR) + b".\0\0\0"
        dotdot = _DIRENT_HDR.pack(parent, BLOCK_SIZE - 12, 2, DT_DIR) + b"..\0\0"
        self._wblock(bno, dot + dotdot)
        ind.size = BLOCK_SIZE
        if mtime is not None:
            ind.mtime = mtime
        self._iwrite(ino, ind)
        try:
            self._dir_add(parent, name, ino, DT_DIR)
        except FsError:
            self._free_inode(ino, ind)
            raise
        pind = self._iread(parent)
        pind.nlink += 1
        self._iwrite(parent, pind)
        return ino

    # ---------------------------------------------------------- public API
    def stat(self, path: str) -> Stat:
        ino = self._resolve(path)
        ind = self._iread(ino)
        return Stat(ino, ind.mode, ind.nlink, ind.uid, ind.gid, ind.size,
                    ind.nblocks * (BLOCK_SIZE // SECTOR_SIZE), ind.atime, ind.mtime, ind.ctime, ind.rdev)

    def exists(self, path: str) -> bool:
        try:
            self._resolve(path)
            return True
        except FsError:
            return False

    def listdir(self, path: str = "/") -> list[str]:
        """Names in a directory (without '.' and '..'), in on-disk order."""
        ino = self._resolve(path)
        if not self._iread(ino).is_dir:
            raise FsError(f"not a directory: {path}")
        return [e.name for e in self._entries(ino) if e.name not in (".", "..")]

    def scandir(self, path: str = "/") -> list[DirEntry]:
        """Entries of a directory, '.' and '..' included."""
        ino = self._resolve(path)
        if not self._iread(ino).is_dir:
            raise FsError(f"not a directory: {path}")
        return self._entries(ino)

    def read(self, path: str) -> bytes:
        ind = self._iread(self._resolve(path))
        if ind.is_dir:
            raise FsError(f"is a directory: {path}")
        return self._read_data(ind)

    def readlink(self, path: str) -> str:
        ind = self._iread(self._resolve(path))
        if ind.mode & S_IFMT != S_IFLNK:
            raise FsError(f"not a symbolic link: {path}")
        return self._read_data(ind).decode(errors="surrogateescape")

    def write(self, path: str, data: bytes, mode: int = 0o644, *, mtime: int | None = None) -> None:
        """Create or replace a regular file (parent directories are made as needed)."""
        self._make(path, S_IFREG | (mode & 0o7777), bytes(data), mtime)

    def symlink(self, path: str, target: str) -> None:
        raw = target.encode(errors="surrogateescape")
        if not raw or len(raw) >= BLOCK_SIZE:
            raise FsError(f"bad symlink target length ({len(raw)}) for {path}")
        self._make(path, S_IFLNK | 0o777, raw, None)

    def _make(self, path: str, mode: int, data: bytes, mtime: int | None) -> None:
        parent, name = self._parent(path, create=True)
        existing = self._lookup(parent, name)
        if existing is not None:
            ind = self._iread(existing)
            if ind.is_dir or ind.mode & S_IFMT != mode & S_IFMT:
                raise FsError(f"exists and is not the same kind of file: {path}")
            ino = existing
            ind.mode = mode
        else:
            ino, ind = self._ialloc(mode)
            ind.nlink = 1
        try:
            self._write_data(ind, data)
        except FsError:
            self._free_all(ind)
            if existing is None:
                self._release_ino(ino)
            else:
                ind.size = 0
                self._iwrite(ino, ind)
            raise
        if mtime is not None:
            ind.mtime = mtime
        self._iwrite(ino, ind)
        if existing is None:
            try:
                self._dir_add(parent, name, ino, _DT_OF_TYPE[mode & S_IFMT])
            except FsError:
                self._free_inode(ino, ind)
                raise

    def mkdir(self, path: str, mode: int = 0o755, *, exist_ok: bool = True, mtime: int | None = None) -> None:
        """Make a directory and any missing parents."""
        parent, name = self._parent(path, create=True)
        existing = self._lookup(parent, name)
        if existing is not None:
            if not self._iread(existing).is_dir:
                raise FsError(f"exists and is not a directory: {path}")
            if not exist_ok:
                raise FsError(f"already exists: {path}")
            return
        self._mkdir_in(parent, name, mode, mtime)

    def unlink(self, path: str) -> None:
        """Remove a non-directory."""
        parent, name = self._parent(path, create=False)
        ino = self._lookup(parent, name)
        if ino is None:
            raise FsError(f"no such file: {path}")
        ind = self._iread(ino)
        if ind.is_dir:
            raise FsError(f"is a directory: {path}")
        self._dir_remove(parent, name)
        ind.nlink -= 1
        if ind.nlink == 0:
            self._free_inode(ino, ind)
        else:
            self._iwrite(ino, ind)

    def rmdir(self, path: str) -> None:
        parent, name = self._parent(path, create=False)
        ino = self._lookup(parent, name)
        if ino is None:
            raise FsError(f"no such directory: {path}")
        ind = self._iread(ino)
        if not ind.is_dir:
            raise FsError(f"not a directory: {path}")
        if any(e.name not in (".", "..") for e in self._entries(ino)):
            raise FsError(f"directory not empty: {path}")
        self._dir_remove(parent, name)
        pind = self._iread(parent)
        pind.nlink -= 1
        self._iwrite(parent, pind)
        self._free_inode(ino, ind)

    def _free_inode(self, ino: int, ind: _Inode) -> None:
        self._free_all(ind)
        self._release_ino(ino)

    def _release_ino(self, ino: int) -> None:
        self._iwrite(ino, _Inode())
        self._setbit(self.ibitmap, ino, False)
        self.sb["free_inodes"] += 1
        self._dirty = True

    def walk(self, path: str = "/") -> Iterator[tuple[str, Stat]]:
        """(guest path, stat) of `path` and everything below it, depth first."""
        st = self.stat(path)
        base = "/" + "/".join(_split(path))
        yield base, st
        if st.is_dir:
            for name in self.listdir(path):
                yield from self.walk(base.rstrip("/") + "/" + name)

    def extract(self, guest_dir: str, host_dir: str | os.PathLike) -> None:
        """Copy the guest tree at guest_dir into host_dir (created if missing),
        keeping permission bits and mtimes."""
        host = Path(host_dir)
        root = self.stat(guest_dir)
        if not root.is_dir:
            raise FsError(f"not a directory: {guest_dir}")
        host.mkdir(parents=True, exist_ok=True)
        dirs: list[tuple[Path, Stat]] = []
        for gpath, st in self.walk(guest_dir):
            rel = gpath[len("/" + "/".join(_split(guest_dir))):].lstrip("/")
            dst = host / rel if rel else host
            if st.is_dir:
                dst.mkdir(exist_ok=True)
                dirs.append((dst, st))
            elif st.is_symlink:
                if dst.is_symlink() or dst.exists():
                    dst.unlink()
                os.symlink(self.readlink(gpath), dst)
            elif st.is_file:
                dst.write_bytes(self.read(gpath))
                os.chmod(dst, st.mode & 0o7777)
                os.utime(dst, (st.atime, st.mtime))
            else:
                log.warning("not extracting special file %s (mode %o)", gpath, st.mode)
        for dst, st in reversed(dirs):
            os.chmod(dst, (st.mode & 0o7777) | 0o700)
            os.utime(dst, (st.atime, st.mtime))

    # ---------------------------------------------------------- fsck
    def fsck(self) -> list[str]:
        """Check the whole image; returns the problems found (empty when clean)."""
        from .fsck import check
        return check(self)


# --------------------------------------------------------------------- mkfs
def _layout(total_blocks: int, ninodes: int) -> dict[str, int]:
    bb = -(-total_blocks // BITS_PER_BLOCK)
    ib = -(-ninodes // BITS_PER_BLOCK)
    it = ninodes // INODES_PER_BLOCK
    return dict(bbitmap_start=1, bbitmap_blocks=bb, ibitmap_start=1 + bb, ibitmap_blocks=ib,
                itable_start=1 + bb + ib, itable_blocks=it, data_start=1 + bb + ib + it)


def _format(f, total_blocks: int, ninodes: int, label: str) -> None:
    lay = _layout(total_blocks, ninodes)
    ds = lay["data_start"]
    root_block = ds
    bbm = bytearray(lay["bbitmap_blocks"] * BLOCK_SIZE)
    for i in list(range(ds + 1)) + list(range(total_blocks, len(bbm) * 8)):
        bbm[i >> 3] |= 1 << (i & 7)
    ibm = bytearray(lay["ibitmap_blocks"] * BLOCK_SIZE)
    for i in [0, ROOT_INO] + list(range(ninodes, len(ibm) * 8)):
        ibm[i >> 3] |= 1 << (i & 7)
    t = _now()
    sb = dict(magic=MAGIC, version=VERSION, block_size=BLOCK_SIZE, total_blocks=total_blocks,
              ninodes=ninodes, free_blocks=total_blocks - ds - 1, free_inodes=ninodes - 2,
              root_ino=ROOT_INO, orphan_head=0, mkfs_time=t, write_time=t, state=1,
              inode_size=INODE_SIZE, **lay)
    fd = f.fileno()
    os.ftruncate(fd, total_blocks * BLOCK_SIZE)
    os.pwrite(fd, _SB.pack(*(sb[k] for k in _SB_FIELDS), label.encode()[:32]), 0)
    os.pwrite(fd, bytes(bbm), lay["bbitmap_start"] * BLOCK_SIZE)
    os.pwrite(fd, bytes(ibm), lay["ibitmap_start"] * BLOCK_SIZE)
    # zero the inode table (the file may be sparse already; be explicit)
    os.pwrite(fd, bytes(lay["itable_blocks"] * BLOCK_SIZE), lay["itable_start"] * BLOCK_SIZE)
    root = _Inode()
    root.mode = S_IFDIR | 0o755
    root.nlink = 2
    root.size = BLOCK_SIZE
    root.atime = root.mtime = root.ctime = t
    root.direct[0] = root_block
    root.nblocks = 1
    os.pwrite(fd, root.pack(), lay["itable_start"] * BLOCK_SIZE + ROOT_INO * INODE_SIZE)
    dot = _DIRENT_HDR.pack(ROOT_INO, 12, 1, DT_DIR) + b".\0\0\0"
    dotdot = _DIRENT_HDR.pack(ROOT_INO, BLOCK_SIZE - 12, 2, DT_DIR) + b"..\0\0"
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
    need = _layout(total_blocks, ninodes)["data_start"] + 1
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
    for e in entries:
        _add_one(fs, f"{base}/{e.name}", Path(e.path))
