"""The guest OS's root file system, packed by the host: an initrd blob in RAM
or a flashfs disk image (docs/fs.md).

Initrd format (little-endian): ``b"FVRD"``, u32 count, then per entry u32 mode,
u32 size, u32 name length, the name padded to 4 bytes, the data padded to 4.
"""
from __future__ import annotations

import struct
from pathlib import Path
from typing import Mapping

from flashvm.fs import FlashFS, mkfs
from flashvm.fs.layout import fixed_clock
from flashvm.guestos.build import flashfs_dir
from flashvm.spec import GuestFile

S_IFREG = 0o100000
S_IFDIR = 0o040000
ROOTS = ("initrd", "disk")          # where the guest's root file system can be


def make_initrd(files: Mapping[str, GuestFile]) -> bytes:
    """Pack guest files ({"/bin/prog": bytes or host path, "/dir": None}) into an initrd blob."""
    out = bytearray(b"FVRD" + struct.pack("<I", len(files)))
    for name, data in files.items():
        if data is None:
            mode, blob = S_IFDIR | 0o755, b""
        else:
            blob = Path(data).read_bytes() if isinstance(data, (str, Path)) else bytes(data)
            mode = S_IFREG | 0o755
        nm = name.encode()
        out += struct.pack("<III", mode, len(blob), len(nm))
        out += nm + bytes(-len(nm) % 4)
        out += blob + bytes(-len(blob) % 4)
    return bytes(out)


# the guest kernel's clock starts here (CLOCK_REALTIME at boot, flashvm/guest/os/fsglue.c): its
# disks are stamped with it, whenever and wherever they are built, so runs are reproducible
GUEST_EPOCH = 1_700_000_000


def have_flashfs() -> bool:
    """The flashfs C library (the kernel's side) is there; the host side is flashvm.fs."""
    return flashfs_dir() is not None


def make_disk_image(image: str | Path, files: Mapping[str, GuestFile], *,
                    size: int | str = 32 << 20, source_dir: str | Path | None = None) -> Path:
    """A flashfs root disk holding `files` ({guest path: bytes or host path}; None
    entries make directories) and the tree of `source_dir`, via flashvm.fs.mkfs."""
    plain = {k: v for k, v in files.items() if v is not None}
    with fixed_clock(GUEST_EPOCH):
        mkfs(image, size, source_dir=source_dir, files={k: (Path(v) if isinstance(v, str) else v)
                                                          for k, v in plain.items()})
        dirs = [k for k, v in files.items() if v is None]
        if dirs:
            with FlashFS(image) as fs:
                for d in dirs:
                    fs.mkdir(d)
    return Path(image)


def root_disk_image(image: str | Path, files: Mapping[str, GuestFile]) -> Path:
    """A root disk for `files` with room to spare: 4x their size, at least 32 MB."""
    size = sum(Path(v).stat().st_size if isinstance(v, (str, Path)) else len(v or b"")
               for v in files.values())
    return make_disk_image(image, files, size=max(32 << 20, 4 * size))
