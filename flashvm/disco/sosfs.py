"""sosfs: the flat file layout SPLASHOS's files live in on a VM's virtual disk
(flashvm/guest/splashos/files.c; docs/splashos.md, "Files").

    sectors 0..7  header: b"SOSFS1\\0\\0", file count (u32), first free sector (u32),
                  then 63 entries of 64 bytes: name (48, NUL-padded), first sector,
                  size in bytes, capacity in bytes, flags (u32 each, little-endian)
    then          each file's bytes from its first sector, whole sectors

    make_image(path, {"input.txt": b"..."}, size_mb=8)   # before the run
    read_files(path)  -> {"input.txt": b"...", "result.txt": b"..."}   # after it
"""
from __future__ import annotations

import struct
from collections.abc import Mapping
from pathlib import Path

SECTOR = 512
HDR_SECTORS = 8
NENT = 63
NAME = 48
MAGIC = b"SOSFS1\0\0"


def make_image(path: str | Path, files: Mapping[str, bytes], size_mb: int = 8) -> Path:
    """Write a disk image holding `files` (names without a leading /, at most 47 bytes),
    with the rest of its `size_mb` MB free for the files the program creates."""
    path = Path(path)
    if len(files) > NENT:
        raise ValueError(f"sosfs holds at most {NENT} files, not {len(files)}")
    header = bytearray(HDR_SECTORS * SECTOR)
    body = bytearray()
    sector = HDR_SECTORS
    entries = []
    for name, data in files.items():
        name = name.lstrip("/")
        raw = name.encode()
        if not raw or len(raw) >= NAME:
            raise ValueError(f"sosfs: file name {name!r} must have 1..{NAME - 1} bytes")
        cap = -(-len(data) // SECTOR) * SECTOR
        entries.append(struct.pack("<48s4I", raw, sector, len(data), cap, 0))
        body += bytes(data) + bytes(cap - len(data))
        sector += cap // SECTOR
    total = max(size_mb << 20, (sector + 1) * SECTOR)
    header[:16] = MAGIC + struct.pack("<2I", len(files), sector)
    header[16:16 + 64 * len(entries)] = b"".join(entries)
    with open(path, "wb") as f:
        f.write(header)
        f.write(body)
        f.truncate(-(-total // SECTOR) * SECTOR)
    return path


def read_files(path: str | Path) -> dict[str, bytes]:
    """The files of a sosfs image, by name (in the order they were made)."""
    raw = Path(path).read_bytes()
    if raw[:8] != MAGIC:
        raise ValueError(f"{path}: not a sosfs image")
    n, _ = struct.unpack_from("<2I", raw, 8)
    out = {}
    for i in range(min(n, NENT)):
        name, start, size, _cap, _flags = struct.unpack_from("<48s4I", raw, 16 + 64 * i)
        out[name.rstrip(b"\0").decode(errors="replace")] = raw[start * SECTOR:start * SECTOR + size]
    return out


__all__ = ["make_image", "read_files"]
