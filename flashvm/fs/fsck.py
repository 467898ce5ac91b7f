"""Consistency check of a flashfs image (read-only).

Checks, in order: bitmap padding and reserved bits; every inode reachable
from the root (directory record structure, "." and "..", duplicate names,
entry types, hard links to directories); every block pointer (range,
blocks claimed twice, data past end of file, the inode's block count); the
orphan list; link counts; the inode bitmap against the inodes in use; the
block bitmap against the blocks in use; the superblock's free counts.
"""
from __future__ import annotations

from collections import Counter, deque

from .layout import (BLOCK_SIZE, DIND_START, DT_OF_TYPE, IND_START, NDIRECT, PTRS, ROOT_INO, S_IFDIR, S_IFMT,
                     FsError, Inode)
from .reader import ImageReader

__all__ = ["check"]

_MAX_PROBLEMS = 200


def check(fs: ImageReader) -> list[str]:
    problems: list[str] = []

    def bad(msg: str) -> None:
        if len(problems) < _MAX_PROBLEMS:
            problems.append(msg)

    bit = fs._bit
    total, ninodes, ds = fs.total_blocks, fs.ninodes, fs.data_start

    # --- reserved bits
    for i in range(ds):
        if not bit(fs.bbitmap, i):
            bad(f"block bitmap: metadata block {i} marked free")
    for i in range(total, len(fs.bbitmap) * 8):
        if not bit(fs.bbitmap, i):
            bad(f"block bitmap: padding bit {i} (past the last block) clear")
            break
    if not bit(fs.ibitmap, 0):
        bad("inode bitmap: bit 0 (reserved) clear")
    for i in range(ninodes, len(fs.ibitmap) * 8):
        if not bit(fs.ibitmap, i):
            bad(f"inode bitmap: padding bit {i} (past the last inode) clear")
            break

    inodes: dict[int, Inode] = {}
    refs: Counter[int] = Counter()
    owner: dict[int, int] = {}         # device block -> inode that claims it

    def load(ino: int) -> Inode | None:
        if ino in inodes:
            return inodes[ino]
        if not 0 < ino < ninodes:
            return None
        ind = fs._iread(ino)
        inodes[ino] = ind
        check_blocks(ino, ind)
        return ind

    def check_blocks(ino: int, ind: Inode) -> None:
        count = 0
        nb = -(-ind.size // BLOCK_SIZE)
        try:
            for fbn, b in _walk_blocks(fs, ind, bad, ino):
                count += 1
                if not ds <= b < total:
                    bad(f"inode {ino}: block pointer {b} outside the data area")
                    continue
                if b in owner:
                    bad(f"block {b} claimed by inode {owner[b]} and inode {ino}")
                owner[b] = ino
                if fbn is not None and fbn >= nb:
                    bad(f"inode {ino}: data block {fbn} past end of file (size {ind.size})")
        except FsError as e:
            bad(f"inode {ino}: {e}")
        if count != ind.nblocks:
            bad(f"inode {ino}: block count {ind.nblocks}, but {count} blocks allocated")

    # --- the tree
    root = load(ROOT_INO)
    if root is None or root.mode & S_IFMT != S_IFDIR:
        bad("root inode is not a directory")
        return problems
    parent_of: dict[int, int] = {ROOT_INO: ROOT_INO}
    queue = deque([ROOT_INO])
    while queue:
        d = queue.popleft()
        dind = inodes[d]
        if dind.size % BLOCK_SIZE:
            bad(f"directory inode {d}: size {dind.size} not a multiple of {BLOCK_SIZE}")
        try:
            recs = [(dino, typ, name) for _, _, dino, _, typ, name in fs._dir_records(dind) if dino]
        except FsError as e:
            bad(f"directory inode {d}: {e}")
            continue
        if len(recs) < 2 or recs[0][2] != b"." or recs[1][2] != b"..":
            bad(f"directory inode {d}: does not start with '.' and '..'")
        seen: set[bytes] = set()
        for dino, typ, name in recs:
            label = f"directory inode {d}: entry {name.decode(errors='replace')!r}"
            if name in seen:
                bad(f"{label}: duplicate name")
            seen.add(name)
            if b"/" in name or b"\0" in name:
                bad(f"{label}: bad character in name")
            ind = load(dino)
            if ind is None:
                bad(f"{label}: inode number {dino} out of range")
                continue
            if ind.mode == 0:
                bad(f"{label}: refers to free inode {dino}")
                continue
            refs[dino] += 1
            if typ != DT_OF_TYPE.get(ind.mode & S_IFMT, -1):
                bad(f"{label}: type {typ} does not match inode {dino} mode {ind.mode:o}")
            if name == b".":
                if dino != d:
                    bad(f"{label}: '.' points to inode {dino}")
            elif name == b"..":
                if dino != parent_of[d]:
                    bad(f"{label}: '..' points to inode {dino}, parent is {parent_of[d]}")
            elif ind.mode & S_IFMT == S_IFDIR:
                if dino in parent_of:
                    bad(f"{label}: directory inode {dino} linked twice")
                    continue
                parent_of[dino] = d
                queue.append(dino)

    # --- orphans (unlinked but still open when last synced)
    orphans: set[int] = set()
    o = fs.sb["orphan_head"]
    while o:
        if o in orphans or not 0 < o < ninodes:
            bad(f"orphan list: bad or looping inode number {o}")
            break
        orphans.add(o)
        ind = load(o)
        assert ind is not None
        if ind.mode == 0 or ind.nlink != 0:
            bad(f"orphan list: inode {o} is {'free' if ind.mode == 0 else 'still linked'}")
        o = ind.next_orphan

    # --- link counts
    for ino, ind in inodes.items():
        if ind.mode == 0:
            continue
        if ino in orphans:
            if refs[ino]:
                bad(f"inode {ino}: on the orphan list but linked {refs[ino]} times")
            continue
        if ind.nlink != refs[ino]:
            bad(f"inode {ino}: link count {ind.nlink}, but {refs[ino]} references")

    # --- inode bitmap vs inodes in use; stray inodes
    used = {i for i, ind in inodes.items() if ind.mode}
    for blk in range(fs.sb["itable_blocks"]):
        raw = fs._rblock(fs.sb["itable_start"] + blk)
        for k in range(BLOCK_SIZE // 128):
            ino = blk * (BLOCK_SIZE // 128) + k
            if ino == 0 or ino >= ninodes:
                continue
            allocated = bit(fs.ibitmap, ino)
            has_mode = raw[k * 128:k * 128 + 2] != b"\0\0"
            if ino in used:
                if not allocated:
                    bad(f"inode {ino}: in use but free in the inode bitmap")
            elif allocated:
                bad(f"inode {ino}: allocated in the bitmap but unreachable"
                    + ("" if has_mode else " (and zero)"))
            elif has_mode:
                bad(f"inode {ino}: free in the bitmap but has a mode")
    free_inodes = sum(1 for i in range(1, ninodes) if not bit(fs.ibitmap, i))
    if free_inodes != fs.sb["free_inodes"]:
        bad(f"superblock: free inode count {fs.sb['free_inodes']}, bitmap says {free_inodes}")

    # --- block bitmap vs blocks in use
    for b in range(ds, total):
        inuse = bit(fs.bbitmap, b)
        if b in owner and not inuse:
            bad(f"block {b}: used by inode {owner[b]} but free in the bitmap")
        elif inuse and b not in owner:
            bad(f"block {b}: allocated in the bitmap but not used")
    free_blocks = sum(1 for b in range(total) if not bit(fs.bbitmap, b))
    if free_blocks != fs.sb["free_blocks"]:
        bad(f"superblock: free block count {fs.sb['free_blocks']}, bitmap says {free_blocks}")
    if len(problems) >= _MAX_PROBLEMS:
        problems.append("too many problems; stopped listing")
    return problems


def _walk_blocks(fs: ImageReader, ind: Inode, bad, ino: int):
    """Like ImageReader._blocks_of, but skipping (and reporting) bad indirect pointers."""
    def ok(b: int) -> bool:
        if not fs.data_start <= b < fs.total_blocks:
            bad(f"inode {ino}: indirect block pointer {b} outside the data area")
            return False
        return True

    for i in range(NDIRECT):
        if ind.direct[i]:
            yield i, ind.direct[i]
    if ind.ind:
        yield None, ind.ind
        if ok(ind.ind):
            for i, b in enumerate(fs._ptrs(ind.ind)):
                if b:
                    yield IND_START + i, b
    if ind.dind:
        yield None, ind.dind
        if ok(ind.dind):
            for i, mid in enumerate(fs._ptrs(ind.dind)):
                if mid:
                    yield None, mid
                    if ok(mid):
                        for j, b in enumerate(fs._ptrs(mid)):
                            if b:
                                yield DIND_START + i * PTRS + j, b

