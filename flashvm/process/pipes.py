"""Pipes inside the simulation: a byte buffer between a read end and a write
end, so that a parent and the children it forks can talk without the host
ever blocking (a host pipe would stop the whole simulation on a read).

A read of an empty pipe whose write end is still open blocks the thread (it
retries when there are bytes or no writer left); a write to a full pipe
blocks likewise and writes what fits when there is room; a write with no
reader left is EPIPE and raises SIGPIPE, as in Linux.  O_NONBLOCK ends give
EAGAIN instead of blocking.
"""
from __future__ import annotations

import os
import stat

from flashvm.process.abi import O_NONBLOCK, E
from flashvm.process.errors import Blocked, SyscallError
from flashvm.process.files import OpenFile

PIPE_CAPACITY = 65536


class Pipe:
    def __init__(self) -> None:
        self.buf = bytearray()
        self.readers_open = True
        self.writers_open = True


class PipeStat:
    """What fstat says of a pipe end (S_IFIFO, the guest's uid and gid)."""

    def __init__(self, uid: int, gid: int):
        self.st_dev = self.st_rdev = self.st_ino = 0
        self.st_mode = stat.S_IFIFO | 0o600
        self.st_nlink = 1
        self.st_uid, self.st_gid = uid, gid
        self.st_size = 0
        self.st_atime_ns = self.st_mtime_ns = self.st_ctime_ns = 0
        self.st_blksize = 4096
        self.st_blocks = 0


class PipeEnd(OpenFile):
    """One end of a `Pipe` (flags: O_RDONLY or O_WRONLY, and O_NONBLOCK)."""
    kind = "pipe"

    def __init__(self, pipe: Pipe, flags: int):
        super().__init__(flags)
        self.pipe = pipe

    def read(self, n: int) -> bytes:
        p = self.pipe
        if not p.buf:
            if not p.writers_open:
                return b""
            if self.flags & O_NONBLOCK:
                raise SyscallError(E.EAGAIN)
            raise Blocked(ready=lambda: bool(p.buf) or not p.writers_open, what="reading a pipe")
        data = bytes(p.buf[:n])
        del p.buf[:n]
        return data

    def write(self, data: bytes) -> int:
        p = self.pipe
        if not p.readers_open:
            raise BrokenPipeError          # the writer gets SIGPIPE, then EPIPE
        room = PIPE_CAPACITY - len(p.buf)
        if room <= 0 or (len(data) <= 4096 and room < len(data)):   # PIPE_BUF writes are atomic
            if self.flags & O_NONBLOCK:
                raise SyscallError(E.EAGAIN)
            need = min(len(data), 4096)
            raise Blocked(ready=lambda: PIPE_CAPACITY - len(p.buf) >= need or not p.readers_open,
                          what="writing a full pipe")
        p.buf += data[:room]
        return min(room, len(data))

    def fstat(self):
        return PipeStat(os.getuid(), os.getgid())

    def close(self) -> None:
        if self.writable:
            self.pipe.writers_open = False
        else:
            self.pipe.readers_open = False
