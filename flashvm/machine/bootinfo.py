"""The boot info block (docs/machine.md): what the host tells software before
reset.  One builder for every caller: the bare machine and the guest OS boot
(`FlashMachine.write_bootinfo`) and Disco's virtual machines (`Disco.boot`).

    block = BootInfo(ncpu=2, ram_bytes=64 << 20, nnodes=1, node_bytes=64 << 20,
                     clock_hz=200_000_000, argv=["init"]).pack()

The layout (offsets, magic, flags) is the table in flashvm/machine/layout.py.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

from flashvm.machine.layout import (
    BOOT_HALT_ON_EXIT, BOOTINFO_FIELDS, BOOTINFO_MAGIC, BOOTINFO_SIZE, BOOTINFO_STRINGS, BOOTINFO_VERSION,
)


class BootInfoTooLarge(ValueError):
    """The command line and environment do not fit the block."""

    def __init__(self, need: int, room: int):
        super().__init__(f"the command line and environment take {need} bytes; the boot info block holds {room}")
        self.need = need
        self.room = room


@dataclass(frozen=True)
class OsWords:
    """The words the guest OS keeps in the block's OS area (0x40..): the
    machine does not read them."""
    initrd_pa: int = 0          # the in-RAM file blob (0: none)
    initrd_size: int = 0
    console_mode: int = 0       # layout.CONSOLE_FRAMED: the stream-framed console
    verbose: int = 0            # kernel log level


@dataclass(frozen=True)
class BootInfo:
    """The contents of one boot info block (magic, version, argc and envc are derived)."""
    ncpu: int
    ram_bytes: int
    nnodes: int
    node_bytes: int             # RAM per node; 0 if pages are interleaved
    clock_hz: int
    interleave: int = 0         # interleave bytes; 0 if node-contiguous
    ndisks: int = 0
    nnets: int = 0
    flags: int = BOOT_HALT_ON_EXIT
    vmnum: int = 0
    argv: tuple[str, ...] | list[str] = ()
    envp: tuple[str, ...] | list[str] = ()
    os: OsWords = field(default_factory=OsWords)

    def strings(self) -> bytes:
        """argv then envp, each NUL-terminated."""
        return b"".join(s.encode() + b"\0" for s in [*self.argv, *self.envp])

    def pack(self) -> bytes:
        """The whole block (BOOTINFO_SIZE bytes); raises BootInfoTooLarge."""
        strings = self.strings()
        room = BOOTINFO_SIZE - BOOTINFO_STRINGS
        if len(strings) > room:
            raise BootInfoTooLarge(len(strings), room)
        words = {"magic": BOOTINFO_MAGIC, "version": BOOTINFO_VERSION,
                 "argc": len(self.argv), "envc": len(self.envp)}
        block = bytearray(BOOTINFO_SIZE)
        for f in BOOTINFO_FIELDS:
            v = getattr(self.os, f.name) if f.os_private else words.get(f.name, None)
            if v is None:
                v = getattr(self, f.name)
            struct.pack_into("<I", block, f.offset, v)
        block[BOOTINFO_STRINGS:BOOTINFO_STRINGS + len(strings)] = strings
        return bytes(block)
