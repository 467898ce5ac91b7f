"""Open files of a guest process: the host objects behind its fds, the fd
table, and the o32 `struct stat64` / `struct statx` packing.

An `OpenFile` is an open file description (shared by dup'ed fds, counted by
`refs`); `HostFile` wraps a host fd opened on the guest's behalf, `StreamFile`
one of the Python streams (or host fd numbers) given as stdin/stdout/stderr.
"""
from __future__ import annotations

import os
import stat as _stat
import struct

from flashvm.process.abi import MAX_FDS, O_ACCMODE, PAGE, E, s32
from flashvm.process.errors import SyscallError


class OpenFile:
    """An open file description shared by dup'ed fds."""
    kind = "file"

    def __init__(self, flags: int):
        self.flags = flags          # guest (MIPS) status flags and access mode
        self.refs = 0

    readable = property(lambda self: (self.flags & O_ACCMODE) in (0, 2))
    writable = property(lambda self: (self.flags & O_ACCMODE) in (1, 2))

    def read(self, n: int) -> bytes:
        raise SyscallError(E.EINVAL)

    def write(self, data: bytes) -> int:
        raise SyscallError(E.EINVAL)

    def pread(self, n: int, off: int) -> bytes:
        raise SyscallError(E.ESPIPE)

    def pwrite(self, data: bytes, off: int) -> int:
        raise SyscallError(E.ESPIPE)

    def lseek(self, off: int, whence: int) -> int:
        raise SyscallError(E.ESPIPE)

    def host_fd(self) -> int | None:
        return None

    def fstat(self):
        return None

    def close(self) -> None:
        pass


class HostFile(OpenFile):
    """A host file descriptor opened (or made, for pipes) on the guest's behalf."""
    kind = "host"

    def __init__(self, hfd: int, flags: int, path: bytes = b""):
        super().__init__(flags)
        self.hfd = hfd
        self.path = path
        self.dir_entries: list | None = None
        self.dir_pos = 0
        try:
            self.isdir = _stat.S_ISDIR(os.fstat(hfd).st_mode)
        except OSError:
            self.isdir = False

    def read(self, n):
        return os.read(self.hfd, n)

    def write(self, data):
        return os.write(self.hfd, data)

    def pread(self, n, off):
        return os.pread(self.hfd, n, off)

    def pwrite(self, data, off):
        return os.pwrite(self.hfd, data, off)

    def lseek(self, off, whence):
        if whence not in (0, 1, 2, 3, 4):
            raise SyscallError(E.EINVAL)
        r = os.lseek(self.hfd, off, whence)
        if self.dir_entries is not None and whence == 0 and off == 0:
            self.dir_pos = 0
            self.dir_entries = None
        return r

    def host_fd(self):
        return self.hfd

    def fstat(self):
        return os.fstat(self.hfd)

    def close(self):
        try:
            os.close(self.hfd)
        except OSError:
            pass

    # a checkpoint (docs/checkpoints.md) keeps the file's path and offset, not the host fd:
    # a resumed run opens the path again (it sees the host file as it is then)
    def __getstate__(self) -> dict:
        path = os.fsdecode(self.path)
        try:
            offset = os.lseek(self.hfd, 0, os.SEEK_CUR)
        except OSError:
            offset = None
        if not os.path.isabs(path) or offset is None or not os.path.exists(path):
            raise TypeError(f"process mode: the program's open file {path or f'(host fd {self.hfd})'} "
                            "cannot be reopened from a checkpoint (a pipe, a relative or deleted path)")
        state = dict(self.__dict__)
        state["hfd"] = -1
        state["offset"] = offset
        return state

    def __setstate__(self, state: dict) -> None:
        from flashvm.process.abi import O_CLOEXEC
        from flashvm.process.syscalls.fd import host_open_flags
        offset = state.pop("offset")
        self.__dict__.update(state)
        self.hfd = os.open(self.path, host_open_flags(self.flags & ~O_CLOEXEC) | os.O_CLOEXEC)
        os.lseek(self.hfd, offset, os.SEEK_SET)


class StreamFile(OpenFile):
    """fd 0/1/2: a Python stream (binary or text) or a host fd number."""
    kind = "stream"

    def __init__(self, stream, flags: int):
        super().__init__(flags)
        self.stream = stream

    def host_fd(self):
        s = self.stream
        if isinstance(s, int):
            return s
        try:
            return s.fileno()
        except (AttributeError, OSError, ValueError):
            return None

    def read(self, n):
        s = self.stream
        if s is None:
            return b""
        if isinstance(s, int):
            return os.read(s, n)
        buf = getattr(s, "buffer", None)
        if buf is not None:
            s = buf
        r1 = getattr(s, "read1", None)
        data = r1(n) if r1 is not None else s.read(n)
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        return data or b""

    def write(self, data):
        s = self.stream
        if s is None:
            return len(data)
        if isinstance(s, int):
            return os.write(s, data)
        try:
            s.write(data)
        except TypeError:                      # a text stream
            buf = getattr(s, "buffer", None)
            if buf is not None:
                s.flush()
                buf.write(data)
                buf.flush()
                return len(data)
            s.write(data.decode("utf-8", "surrogateescape"))
        flush = getattr(s, "flush", None)
        if flush is not None:
            flush()
        return len(data)

    def fstat(self):
        hfd = self.host_fd()
        return os.fstat(hfd) if hfd is not None else None


def host_isatty(f: OpenFile) -> bool:
    hfd = f.host_fd()
    if hfd is None:
        return False
    try:
        return os.isatty(hfd)
    except OSError:
        return False


def new_encode_dev(major: int, minor: int) -> int:
    return ((minor & 0xFF) | ((major & 0xFFF) << 8) | ((minor & ~0xFF) << 12)) & 0xFFFFFFFF


_STAT64 = struct.Struct("<I12xQIIIII12xqiIiIiIII q")   # o32 struct stat64, 104 bytes
assert _STAT64.size == 104


def stat64_bytes(st) -> bytes:
    """The o32 `struct stat64` (arch/mips/include/uapi/asm/stat.h) for an os.stat_result."""
    def ts(sec_f, ns):
        return int(ns // 1_000_000_000) & 0xFFFFFFFF, int(ns % 1_000_000_000)
    a, an = ts(None, st.st_atime_ns)
    mt, mn = ts(None, st.st_mtime_ns)
    c, cn = ts(None, st.st_ctime_ns)
    return _STAT64.pack(
        new_encode_dev(os.major(st.st_dev), os.minor(st.st_dev)),
        st.st_ino & (2**64 - 1), st.st_mode & 0xFFFFFFFF, st.st_nlink & 0xFFFFFFFF,
        st.st_uid & 0xFFFFFFFF, st.st_gid & 0xFFFFFFFF,
        new_encode_dev(os.major(st.st_rdev), os.minor(st.st_rdev)),
        st.st_size, s32(a), an, s32(mt), mn, s32(c), cn,
        st.st_blksize & 0xFFFFFFFF, 0, st.st_blocks)


_STATX_HEAD = struct.Struct("<IIQIIIHHQQQQ")   # up to stx_attributes_mask, 64 bytes
_STATX_TS = struct.Struct("<qIi")


def statx_bytes(st, mask: int = 0x7FF) -> bytes:
    """The 256-byte `struct statx` for an os.stat_result (STATX_BASIC_STATS)."""
    out = bytearray(256)
    _STATX_HEAD.pack_into(out, 0, 0x7FF, st.st_blksize, 0, st.st_nlink, st.st_uid,
                          st.st_gid, st.st_mode & 0xFFFF, 0, st.st_ino, st.st_size,
                          st.st_blocks, 0)
    for off, ns in ((64, st.st_atime_ns), (96, st.st_ctime_ns), (112, st.st_mtime_ns)):
        _STATX_TS.pack_into(out, off, ns // 1_000_000_000, ns % 1_000_000_000, 0)
    struct.pack_into("<IIII", out, 128, os.major(st.st_rdev), os.minor(st.st_rdev),
                     os.major(st.st_dev), os.minor(st.st_dev))
    return bytes(out)


class FakeStat:
    """What fstat reports for a stream without a host fd: a pipe."""
    st_dev = st_ino = st_rdev = st_size = st_blocks = 0
    st_nlink = 1
    st_mode = _stat.S_IFIFO | 0o600
    st_blksize = PAGE
    st_atime_ns = st_mtime_ns = st_ctime_ns = 0

    def __init__(self, uid, gid):
        self.st_uid, self.st_gid = uid, gid


DIRENT_TYPE = {_stat.S_IFREG: 8, _stat.S_IFDIR: 4, _stat.S_IFLNK: 10, _stat.S_IFCHR: 2,
               _stat.S_IFBLK: 6, _stat.S_IFIFO: 1, _stat.S_IFSOCK: 12}   # file type -> d_type


class FdTable:
    """The process's fd numbers -> open file descriptions, and its close-on-exec set."""

    def __init__(self) -> None:
        self.fds: dict[int, OpenFile] = {}
        self.cloexec: set[int] = set()

    def __len__(self) -> int:
        return len(self.fds)

    def install(self, fd: int, f: OpenFile) -> int:
        """Make fd refer to f (closing what it referred to); return fd."""
        f.refs += 1
        old = self.fds.get(fd)
        self.fds[fd] = f
        self.cloexec.discard(fd)
        if old is not None:
            self.release(old)
        return fd

    @staticmethod
    def release(f: OpenFile) -> None:
        f.refs -= 1
        if f.refs == 0:
            f.close()

    def lowest(self, start: int = 0) -> int:
        """The lowest free fd number >= start (EMFILE past MAX_FDS)."""
        fd = start
        while fd in self.fds:
            fd += 1
        if fd >= MAX_FDS:
            raise SyscallError(E.EMFILE)
        return fd

    def get(self, fd: int) -> OpenFile:
        """The file behind guest fd (a register word); EBADF if none."""
        f = self.fds.get(s32(fd))
        if f is None:
            raise SyscallError(E.EBADF)
        return f

    def close(self, fd: int) -> None:
        f = self.get(fd)
        del self.fds[s32(fd)]
        self.cloexec.discard(s32(fd))
        self.release(f)

    def close_all(self) -> None:
        for fd in list(self.fds):
            self.release(self.fds.pop(fd))

    def fork(self) -> FdTable:
        """The child's table after fork: the same open file descriptions."""
        t = FdTable()
        for fd, f in self.fds.items():
            f.refs += 1
            t.fds[fd] = f
        t.cloexec = set(self.cloexec)
        return t

    def close_on_exec(self) -> None:
        for fd in sorted(self.cloexec):
            if fd in self.fds:
                self.close(fd)


def is_dir(f: OpenFile) -> bool:
    """Whether f is an open directory (read and readv refuse it with EISDIR)."""
    return isinstance(f, HostFile) and f.isdir
