"""File-descriptor system calls: read/write and their vector and positioned
forms, lseek, open/creat/openat, close, dup*, fcntl, ioctl (the terminal
queries musl makes), pipes, and sockets (refused: no network)."""
from __future__ import annotations

import fcntl
import os
import stat as _stat
import struct
import termios

from flashvm.process.abi import (
    AT_FDCWD, F_DUPFD, F_DUPFD_CLOEXEC, F_GETFD, F_GETFL, F_GETLK, F_SETFD, F_SETFL, F_SETLK,
    F_SETLKW, FD_CLOEXEC, FIONREAD, MAX_FDS, O_ACCMODE, O_APPEND, O_ASYNC, O_CLOEXEC, O_CREAT,
    O_DIRECT, O_DIRECTORY, O_EXCL, O_LARGEFILE, O_NOATIME, O_NOCTTY, O_NOFOLLOW, O_NONBLOCK, O_PATH,
    O_SYNC, O_TRUNC, OFLAG_MAP, SIGPIPE, TCGETS, TIOCGWINSZ, E, s32, s64,
)
from flashvm.process.errors import SyscallError
from flashvm.process.files import HostFile, OpenFile, host_isatty, is_dir
from flashvm.process.pipes import Pipe, PipeEnd
from flashvm.process.signals import send_signal
from flashvm.process.syscalls.fs import host_path
from flashvm.process.syscalls.table import syscall


@syscall("read", nargs=3)
def sys_read(p, fd, buf, count):
    f = p.files.get(fd)
    if not f.readable:
        raise SyscallError(E.EBADF)
    count = min(count, 1 << 26)
    if is_dir(f):
        raise SyscallError(E.EISDIR)
    data = f.read(count)
    p.write(buf, data)
    return len(data)


@syscall("write", nargs=3)
def sys_write(p, fd, buf, count):
    f = p.files.get(fd)
    if not f.writable:
        raise SyscallError(E.EBADF)
    data = p.read(buf, min(count, 1 << 26))
    return write_data(p, f, data)


def write_data(p, f: OpenFile, data: bytes) -> int:
    """Write to f; a broken pipe raises SIGPIPE (which terminates) and returns EPIPE."""
    try:
        return f.write(data)
    except BrokenPipeError:
        send_signal(p, SIGPIPE)            # default action: terminate
        raise SyscallError(E.EPIPE)


def iovecs(p, iov, cnt) -> list[tuple[int, int]]:
    """The (base, length) pairs of a guest struct iovec array."""
    if cnt > 1024:
        raise SyscallError(E.EINVAL)
    if cnt == 0:
        return []
    words = struct.unpack(f"<{2 * cnt}I", p.read(iov, 8 * cnt))
    vecs = list(zip(words[0::2], words[1::2]))
    if sum(n for _, n in vecs) > 0x7FFFFFFF:
        raise SyscallError(E.EINVAL)
    return vecs


@syscall("writev", nargs=3)
def sys_writev(p, fd, iov, cnt):
    f = p.files.get(fd)
    if not f.writable:
        raise SyscallError(E.EBADF)
    data = b"".join(p.read(b, n) for b, n in iovecs(p, iov, cnt))
    return write_data(p, f, data)


def scatter(p, vecs, data: bytes) -> int:
    """Spread data over the iovecs; return the bytes stored."""
    pos = 0
    for b, n in vecs:
        if pos >= len(data):
            break
        chunk = data[pos:pos + n]
        p.write(b, chunk)
        pos += len(chunk)
    return pos


@syscall("readv", nargs=3)
def sys_readv(p, fd, iov, cnt):
    f = p.files.get(fd)
    if not f.readable:
        raise SyscallError(E.EBADF)
    vecs = iovecs(p, iov, cnt)
    if is_dir(f):
        raise SyscallError(E.EISDIR)
    return scatter(p, vecs, f.read(sum(n for _, n in vecs)))


@syscall("pread64", nargs=6)
def sys_pread64(p, fd, buf, count, _pad, lo, hi):
    f = p.files.get(fd)
    off = s64(lo, hi)
    if off < 0:
        raise SyscallError(E.EINVAL)
    data = f.pread(min(count, 1 << 26), off)
    p.write(buf, data)
    return len(data)


@syscall("pwrite64", nargs=6)
def sys_pwrite64(p, fd, buf, count, _pad, lo, hi):
    f = p.files.get(fd)
    off = s64(lo, hi)
    if off < 0:
        raise SyscallError(E.EINVAL)
    return f.pwrite(p.read(buf, min(count, 1 << 26)), off)


@syscall("preadv", nargs=5)
def sys_preadv(p, fd, iov, cnt, lo, hi):
    f = p.files.get(fd)
    vecs = iovecs(p, iov, cnt)
    return scatter(p, vecs, f.pread(sum(n for _, n in vecs), s64(lo, hi)))


@syscall("pwritev", nargs=5)
def sys_pwritev(p, fd, iov, cnt, lo, hi):
    f = p.files.get(fd)
    data = b"".join(p.read(b, n) for b, n in iovecs(p, iov, cnt))
    return f.pwrite(data, s64(lo, hi))


@syscall("lseek", nargs=3)
def sys_lseek(p, fd, off, whence):
    r = p.files.get(fd).lseek(s32(off), whence)
    if r > 0x7FFFFFFF:
        raise SyscallError(E.EOVERFLOW)
    return r


@syscall("_llseek", nargs=5)
def sys_llseek(p, fd, hi, lo, result, whence):
    f = p.files.get(fd)
    r = f.lseek(s64(lo, hi), whence)
    p.write(result, struct.pack("<q", r))
    return 0


def host_open_flags(flags: int) -> int:
    """The host os.open flags for guest (MIPS) O_* flags."""
    host = flags & O_ACCMODE
    for g, h in OFLAG_MAP:
        if flags & g:
            host |= h
    if flags & O_SYNC == O_SYNC:
        host |= getattr(os, "O_SYNC", 0)
    return host


@syscall("open", nargs=3)
def sys_open(p, path, flags, mode):
    return _openat(p, AT_FDCWD, path, flags, mode)


@syscall("creat", nargs=2)
def sys_creat(p, path, mode):
    return _openat(p, AT_FDCWD, path, O_CREAT | 1 | O_TRUNC, mode)


@syscall("openat", nargs=4)
def sys_openat(p, dirfd, path, flags, mode):
    return _openat(p, dirfd, path, flags, mode)


def _openat(p, dirfd, path, flags, mode):
    name = p.read_cstr(path)
    if not name:
        raise SyscallError(E.ENOENT)
    if flags & O_PATH:
        flags = (flags & ~O_ACCMODE) & (O_PATH | O_CLOEXEC | O_DIRECTORY | O_NOFOLLOW)
    fd = p.files.lowest()
    if name == b"/proc/self/exe":
        name = os.fsencode(p.exe_path)
    hpath, dir_fd = host_path(p, dirfd, name, not flags & O_NOFOLLOW)
    hflags = host_open_flags(flags) | os.O_CLOEXEC
    if flags & O_PATH and hasattr(os, "O_PATH"):
        hflags = os.O_PATH | (hflags & (os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC))
    hfd = os.open(hpath, hflags, mode & ~p.umask_value & 0o7777, dir_fd=dir_fd)
    f = HostFile(hfd, flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC),
                 os.path.join(p.cwd, hpath) if dir_fd is None else hpath)
    p.files.install(fd, f)
    if flags & O_CLOEXEC:
        p.files.cloexec.add(fd)
    return fd


@syscall("close", nargs=1)
def sys_close(p, fd):
    p.files.close(fd)
    return 0


@syscall("dup", nargs=1)
def sys_dup(p, fd):
    return p.files.install(p.files.lowest(), p.files.get(fd))


@syscall("dup2", nargs=2)
def sys_dup2(p, old, new):
    f = p.files.get(old)
    if s32(new) < 0 or new >= MAX_FDS:
        raise SyscallError(E.EBADF)
    if old == new:
        return new
    return p.files.install(new, f)


@syscall("dup3", nargs=3)
def sys_dup3(p, old, new, flags):
    if old == new or flags & ~O_CLOEXEC:
        raise SyscallError(E.EINVAL)
    r = sys_dup2(p, old, new)
    if flags & O_CLOEXEC:
        p.files.cloexec.add(new)
    return r


@syscall("fcntl", "fcntl64", nargs=3)
def sys_fcntl(p, fd, cmd, arg):
    f = p.files.get(fd)
    fd = s32(fd)
    if cmd in (F_DUPFD, F_DUPFD_CLOEXEC):
        if arg >= MAX_FDS:
            raise SyscallError(E.EINVAL)
        nfd = p.files.install(p.files.lowest(arg), f)
        if cmd == F_DUPFD_CLOEXEC:
            p.files.cloexec.add(nfd)
        return nfd
    if cmd == F_GETFD:
        return FD_CLOEXEC if fd in p.files.cloexec else 0
    if cmd == F_SETFD:
        (p.files.cloexec.add if arg & FD_CLOEXEC else p.files.cloexec.discard)(fd)
        return 0
    if cmd == F_GETFL:
        return f.flags | (O_LARGEFILE if f.kind == "host" else 0)
    if cmd == F_SETFL:
        settable = O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME
        f.flags = (f.flags & ~settable) | (arg & settable)
        hfd = f.host_fd() if f.kind == "host" else None
        if hfd is not None:
            hf = fcntl.fcntl(hfd, fcntl.F_GETFL)
            hf = (hf & ~(os.O_APPEND | os.O_NONBLOCK)) | \
                (os.O_APPEND if arg & O_APPEND else 0) | (os.O_NONBLOCK if arg & O_NONBLOCK else 0)
            fcntl.fcntl(hfd, fcntl.F_SETFL, hf)
        return 0
    if cmd in (F_SETLK, F_SETLKW):
        return 0
    if cmd == F_GETLK:
        # struct flock64 on o32: short l_type; ... l_type = F_UNLCK (2): no conflict
        p.write(arg, struct.pack("<h", 2))
        return 0
    raise SyscallError(E.EINVAL)


@syscall("ioctl", nargs=3)
def sys_ioctl(p, fd, req, arg):
    f = p.files.get(fd)
    tty = host_isatty(f)
    if req == TIOCGWINSZ:
        if not tty:
            raise SyscallError(E.ENOTTY)
        ws = fcntl.ioctl(f.host_fd(), termios.TIOCGWINSZ, bytes(8))
        p.write(arg, ws)
        return 0
    if req == TCGETS:
        if not tty:
            raise SyscallError(E.ENOTTY)
        # a plausible cooked-mode o32 struct termios (iflag oflag cflag lflag line cc[23])
        p.write(arg, struct.pack("<IIIIB23s", 0x2D02, 0x5, 0x8BD, 0x8A3B, 0, bytes(23)))
        return 0
    if req == FIONREAD:
        if f.kind == "host":
            st = os.fstat(f.hfd)
            if _stat.S_ISREG(st.st_mode):
                avail = max(0, st.st_size - os.lseek(f.hfd, 0, os.SEEK_CUR))
                p.write_u32(arg, avail)
                return 0
        raise SyscallError(E.ENOTTY)
    p.unknown_ioctls[req] += 1
    raise SyscallError(E.ENOTTY)


@syscall("pipe", nargs=0)
def sys_pipe(p):
    r, w = _make_pipe(p, 0)
    return (r, w)


@syscall("pipe2", nargs=2)
def sys_pipe2(p, fds, flags):
    if flags & ~(O_CLOEXEC | O_NONBLOCK):
        raise SyscallError(E.EINVAL)
    p.read(fds, 8)
    r, w = _make_pipe(p, flags)
    p.write(fds, struct.pack("<ii", r, w))
    return 0


def _make_pipe(p, flags: int) -> tuple[int, int]:
    if len(p.files) + 2 > MAX_FDS:
        raise SyscallError(E.EMFILE)
    pipe = Pipe()                # inside the simulation: a read that must wait blocks the thread
    r = p.files.install(p.files.lowest(), PipeEnd(pipe, 0 | (flags & O_NONBLOCK)))
    w = p.files.install(p.files.lowest(), PipeEnd(pipe, 1 | (flags & O_NONBLOCK)))
    if flags & O_CLOEXEC:
        p.files.cloexec.update((r, w))
    return r, w


@syscall("socket", nargs=3)
def sys_socket(p, domain, type_, protocol):
    """No sockets in process mode: EAFNOSUPPORT, which glibc's nscd and syslog
    clients take as "no daemon here" (they then read the files themselves)."""
    raise SyscallError(E.EAFNOSUPPORT)
