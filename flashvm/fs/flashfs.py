"""flashfs images from the host side: :class:`FlashFS`, an open image that can be
read, written and checked.

The on-disk format is described in ``docs/fs.md`` (and in layout.py); the
guest kernel's C library (``flashvm/guest/os/fs/flashfs.c``) implements the
same format.  This is a plain-Python implementation meant for host tools and
tests, not for speed: reading is :class:`ImageReader`'s; this class adds block
and inode allocation, file and directory updates, and ``fsck``.  The two
bitmaps live in memory and are written back by :meth:`FlashFS.flush` /
``close``.
"""
from __future__ import annotations

import os
import struct

from .fsck import check
from .layout import (
    BLOCK_SIZE, DIND_START, DIRENT_HDR, DT_DIR, DT_OF_TYPE, IND_START, INODE_SIZE, INODES_PER_BLOCK,
    MAX_FILE_BLOCKS, MAX_FILE_SIZE, NDIRECT, NLINK_MAX, PTRS, ROOT_INO, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG,
    SB_FIELDS, SB_STRUCT, FsError, Inode, dirent_size, file_time, now, split_path,
)
from .reader import ImageReader

__all__ = ["FlashFS"]


class FlashFS(ImageReader):
    """An open flashfs image.

    Paths are guest paths ("/bin/sh"; a leading slash is optional).  Reads go
    straight to the image file; modifications are written at once except for
    the bitmaps and superblock counters, which :meth:`flush` (and
    :meth:`close`, and leaving a ``with`` block) write back.
    """

    def __init__(self, image_path: str | os.PathLike, *, writable: bool = True) -> None:
        self._dirty = False
        super().__init__(image_path, writable=writable)
        self._bhint = self.data_start
        self._ihint = ROOT_INO

    # ---------------------------------------------------------- plumbing
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
        sb["write_time"] = now()
        raw = SB_STRUCT.pack(*(sb[k] for k in SB_FIELDS), self.label.encode()[:32])
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

    # ---------------------------------------------------------- bitmaps
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

    def _ialloc(self, mode: int) -> tuple[int, Inode]:
        if self.sb["free_inodes"] == 0:
            raise FsError(f"{self.path}: no free inodes left on the image (ENOSPC)")
        ino = self._find_clear(self.ibitmap, self.ninodes, self._ihint)
        if ino <= 0:
            raise FsError(f"{self.path}: corrupt inode bitmap")
        self._setbit(self.ibitmap, ino, True)
        self.sb["free_inodes"] -= 1
        self._ihint = ino + 1
        self._dirty = True
        ind = Inode()
        ind.mode = mode
        ind.atime = ind.mtime = ind.ctime = now()
        return ino, ind

    # ---------------------------------------------------------- inodes
    def _iwrite(self, ino: int, ind: Inode) -> None:
        self._wblock(self.sb["itable_start"] + ino // INODES_PER_BLOCK, ind.pack(),
                     (ino % INODES_PER_BLOCK) * INODE_SIZE)

    def _set_ptr(self, blk: int, idx: int, value: int) -> None:
        self._wblock(blk, struct.pack("<I", value), 4 * idx)

    def _bmap(self, ind: Inode, fbn: int, alloc: bool = False) -> int:
        """Device block of file block fbn (0 = hole); with alloc, the missing
        data and indirect blocks on the way are allocated."""
        if not alloc:
            return super()._bmap(ind, fbn)
        if fbn < NDIRECT:
            if not ind.direct[fbn]:
                ind.direct[fbn] = self._balloc()
                ind.nblocks += 1
            return ind.direct[fbn]
        path: tuple[int, ...]
        if fbn < DIND_START:
            attr, path = "ind", (fbn - IND_START,)
        elif fbn < MAX_FILE_BLOCKS:
            f = fbn - DIND_START
            attr, path = "dind", (f // PTRS, f % PTRS)
        else:
            raise FsError(f"file too large (block {fbn} > {MAX_FILE_BLOCKS})")
        blk = getattr(ind, attr)
        if not blk:
            blk = self._balloc()
            setattr(ind, attr, blk)
            ind.nblocks += 1
        for idx in path:
            nxt = self._ptr(blk, idx)
            if not nxt:
                nxt = self._balloc()
                ind.nblocks += 1
                self._set_ptr(blk, idx, nxt)
            blk = nxt
        return blk

    def _free_all(self, ind: Inode) -> None:
        for _, b in list(self._blocks_of(ind)):
            self._bfree(b)
        ind.direct = [0] * NDIRECT
        ind.ind = ind.dind = 0
        ind.nblocks = 0

    # ---------------------------------------------------------- data
    def _write_data(self, ind: Inode, data: bytes) -> None:
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
        ind.mtime = ind.ctime = now()

    # ---------------------------------------------------------- directories
    def _dir_add(self, dir_ino: int, name: str, ino: int, typ: int) -> None:
        raw = name.encode(errors="surrogateescape")
        need = dirent_size(len(raw))
        dind = self._iread(dir_ino)
        for bno, off, dino, rl, _, nm in self._dir_records(dind):
            used = dirent_size(len(nm)) if dino else 0
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
        rec = DIRENT_HDR.pack(ino, rl, len(raw), typ) + raw
        self._wblock(bno, rec.ljust(need, b"\0"), off)
        dind.mtime = dind.ctime = now()
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
                dind.mtime = dind.ctime = now()
                self._iwrite(dir_ino, dind)
                return dino
            prev = (bno, off, rl)
        raise FsError(f"no such entry: {name}")

    # ---------------------------------------------------------- paths
    def _parent(self, path: str, create: bool) -> tuple[int, str]:
        parts = split_path(path)
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
        dot = DIRENT_HDR.pack(ino, 12, 1, DT_DIR) + b".\0\0\0"
        dotdot = DIRENT_HDR.pack(parent, BLOCK_SIZE - 12, 2, DT_DIR) + b"..\0\0"
        self._wblock(bno, dot + dotdot)
        ind.size = BLOCK_SIZE
        if mtime is not None:
            ind.mtime = file_time(mtime)
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
    def write(self, path: str, data: bytes, mode: int = 0o644, *, mtime: int | None = None) -> None:
        """Create or replace a regular file (parent directories are made as needed)."""
        self._make(path, S_IFREG | (mode & 0o7777), bytes(data), mtime)

    def symlink(self, path: str, target: str) -> None:
        raw = target.encode(errors="surrogateescape")
        if not raw or len(raw) >= BLOCK_SIZE:
            raise FsError(f"bad symlink target length ({len(raw)}) for {path}")
        self._make(path, S_IFLNK | 0o777, raw, None)

    def link(self, existing: str, new: str) -> None:
        """Make `new` a hard link to the non-directory `existing` (parents of `new` made as needed)."""
        ino = self._resolve(existing)
        ind = self._iread(ino)
        if ind.is_dir:
            raise FsError(f"is a directory (no hard links to directories): {existing}")
        if ind.nlink >= NLINK_MAX:
            raise FsError(f"too many links to {existing}")
        parent, name = self._parent(new, create=True)
        if self._lookup(parent, name) is not None:
            raise FsError(f"already exists: {new}")
        self._dir_add(parent, name, ino, DT_OF_TYPE[ind.mode & S_IFMT])
        ind.nlink += 1
        ind.ctime = now()
        self._iwrite(ino, ind)

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
            ind.mtime = file_time(mtime)
        self._iwrite(ino, ind)
        if existing is None:
            try:
                self._dir_add(parent, name, ino, DT_OF_TYPE[mode & S_IFMT])
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

    def _free_inode(self, ino: int, ind: Inode) -> None:
        self._free_all(ind)
        self._release_ino(ino)

    def _release_ino(self, ino: int) -> None:
        self._iwrite(ino, Inode())
        self._setbit(self.ibitmap, ino, False)
        self.sb["free_inodes"] += 1
        self._dirty = True

    # ---------------------------------------------------------- fsck
    def fsck(self) -> list[str]:
        """Check the whole image; returns the problems found (empty when clean)."""
        return check(self)
