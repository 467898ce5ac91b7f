"""Reading a flashfs image: the superblock, inodes, block maps, directories and
the read-only half of the path API.

:class:`ImageReader` is the base of :class:`flashvm.fs.flashfs.FlashFS` (which
adds writing) and all that :func:`flashvm.fs.fsck.check` needs.  It reads the
image file block by block, keeping only the two bitmaps in memory.
"""
from __future__ import annotations

import logging
import os
import struct
from pathlib import Path
from typing import Iterator, TypeVar

from .layout import (
    BITS_PER_BLOCK, BLOCK_SIZE, DIND_START, DIRENT_HDR, IND_START, INODE_SIZE, INODES_PER_BLOCK, MAGIC,
    MAX_FILE_BLOCKS, NDIRECT, PTRS, ROOT_INO, S_IFLNK, S_IFMT, SB_FIELDS, SB_STRUCT, SECTOR_SIZE, VERSION,
    DirEntry, FsError, Inode, Stat, dirent_size, split_path,
)

__all__ = ["ImageReader"]

# the logger keeps the name it had when all of this was flashfs.py
log = logging.getLogger("flashvm.fs.flashfs")

_R = TypeVar("_R", bound="ImageReader")


class ImageReader:
    """An open flashfs image, read side.

    Paths are guest paths ("/bin/sh"; a leading slash is optional).
    ``writable`` opens the file for update as well (for the FlashFS subclass).
    """

    def __init__(self, image_path: str | os.PathLike, *, writable: bool = False) -> None:
        self.path = Path(image_path)
        try:
            self._f = open(self.path, "r+b" if writable else "rb")
        except OSError as e:
            raise FsError(f"cannot open image {self.path}: {e.strerror}") from None
        self.writable = writable
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
        vals = SB_STRUCT.unpack_from(raw)
        self.sb = dict(zip(SB_FIELDS, vals[:20]))
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

    def _rblocks(self, start: int, n: int) -> bytes:
        return os.pread(self._f.fileno(), n * BLOCK_SIZE, start * BLOCK_SIZE)

    def _rblock(self, bno: int, check: bool = True) -> bytes:
        if check and not 0 <= bno < self.total_blocks:
            raise FsError(f"{self.path}: corrupt: block number {bno} out of range")
        return os.pread(self._f.fileno(), BLOCK_SIZE, bno * BLOCK_SIZE)

    def close(self) -> None:
        if not self._f.closed:
            self._f.close()

    def __enter__(self: _R) -> _R:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---------------------------------------------------------- bitmaps
    @staticmethod
    def _bit(bm: bytearray, i: int) -> bool:
        return bool(bm[i >> 3] & (1 << (i & 7)))

    # ---------------------------------------------------------- inodes
    def _iread(self, ino: int) -> Inode:
        if not 0 < ino < self.ninodes:
            raise FsError(f"{self.path}: corrupt: inode number {ino} out of range")
        off = (self.sb["itable_start"] + ino // INODES_PER_BLOCK) * BLOCK_SIZE + (ino % INODES_PER_BLOCK) * INODE_SIZE
        return Inode(os.pread(self._f.fileno(), INODE_SIZE, off))

    def _ptr(self, blk: int, idx: int) -> int:
        return struct.unpack_from("<I", os.pread(self._f.fileno(), 4, blk * BLOCK_SIZE + 4 * idx))[0]

    def _bmap(self, ind: Inode, fbn: int) -> int:
        """Device block of file block fbn (0 = hole)."""
        if fbn < NDIRECT:
            return ind.direct[fbn]
        path: tuple[int, ...]
        if fbn < DIND_START:
            blk, path = ind.ind, (fbn - IND_START,)
        elif fbn < MAX_FILE_BLOCKS:
            f = fbn - DIND_START
            blk, path = ind.dind, (f // PTRS, f % PTRS)
        else:
            raise FsError(f"file too large (block {fbn} > {MAX_FILE_BLOCKS})")
        for idx in path:
            if not blk:
                return 0
            blk = self._ptr(blk, idx)
        return blk

    def _blocks_of(self, ind: Inode) -> Iterator[tuple[int | None, int]]:
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

    # ---------------------------------------------------------- data
    def _read_data(self, ind: Inode) -> bytes:
        out = bytearray(ind.size)
        nb = -(-ind.size // BLOCK_SIZE)
        for fbn, b in self._blocks_of(ind):
            if fbn is not None and fbn < nb:
                chunk = self._rblock(b)
                lo = fbn * BLOCK_SIZE
                out[lo:lo + BLOCK_SIZE] = chunk[:max(0, min(BLOCK_SIZE, ind.size - lo))]
        return bytes(out)

    # ---------------------------------------------------------- directories
    def _dir_records(self, ind: Inode) -> Iterator[tuple[int, int, int, int, int, bytes]]:
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
                dino, rl, nl, typ = DIRENT_HDR.unpack_from(blk, off)
                if rl < 8 or rl % 4 or off + rl > BLOCK_SIZE or (dino and (nl == 0 or dirent_size(nl) > rl)):
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

    # ---------------------------------------------------------- paths
    def _resolve(self, path: str) -> int:
        ino = ROOT_INO
        for comp in split_path(path):
            ind = self._iread(ino)
            if not ind.is_dir:
                raise FsError(f"not a directory on the way to {path!r}")
            nxt = self._lookup(ino, comp)
            if nxt is None:
                raise FsError(f"no such file or directory: {path}")
            ino = nxt
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

    def walk(self, path: str = "/") -> Iterator[tuple[str, Stat]]:
        """(guest path, stat) of `path` and everything below it, depth first."""
        st = self.stat(path)
        base = "/" + "/".join(split_path(path))
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
            rel = gpath[len("/" + "/".join(split_path(guest_dir))):].lstrip("/")
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
