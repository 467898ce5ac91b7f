"""flashfs: the guest OS's file system, host side.

* :func:`mkfs` builds an image from a host directory and/or a mapping
  guest path -> contents;
* :class:`FlashFS` reads, writes and checks (:meth:`FlashFS.fsck`) an image;
* ``flashvm.fs.cli.app`` is the ``flashvm fs ...`` command line.

Modules: layout (the on-disk format), reader (ImageReader: reading),
flashfs (FlashFS: reading plus writing), mkfs (building images), fsck
(checking), cli.

The on-disk format and the guest kernel's C library
(``flashvm/guest/os/fs/flashfs.[ch]``) are documented in ``docs/fs.md``.
"""
from __future__ import annotations

from .flashfs import FlashFS
from .layout import BLOCK_SIZE, MAGIC, MAX_FILE_SIZE, NAME_MAX, ROOT_INO, VERSION, DirEntry, FsError, Stat
from .mkfs import mkfs, parse_size

#: directory holding the C library (flashfs.h, flashfs.c)
from pathlib import Path as _Path

C_DIR = _Path(__file__).resolve().parent.parent / "guest" / "os" / "fs"
C_SOURCES = (C_DIR / "flashfs.c",)

__all__ = ["BLOCK_SIZE", "MAGIC", "MAX_FILE_SIZE", "NAME_MAX", "ROOT_INO", "VERSION", "DirEntry",
           "FlashFS", "FsError", "Stat", "mkfs", "parse_size", "C_DIR", "C_SOURCES"]
