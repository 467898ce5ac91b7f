"""File-system system calls: stat and statx, access, the working directory,
readlink, unlink/rmdir/mkdir/rename, chmod, truncate, fsync, getdents64.

Paths are host paths, absolute ones looked up in the sysroot first when the
process has one (`flashvm.process.sysroot`); relative ones are resolved
against the process's private working directory (chdir does not touch the
host process), and /proc/self/exe names the executable.
"""
from __future__ import annotations

import os
import stat as _stat
import struct

from flashvm.process.abi import (
    AT_EMPTY_PATH, AT_FDCWD, AT_REMOVEDIR, AT_SYMLINK_NOFOLLOW, E, s32, s64,
)
from flashvm.process.errors import SyscallError
from flashvm.process.files import DIRENT_TYPE, FakeStat, OpenFile, is_dir, stat64_bytes, statx_bytes
from flashvm.process.syscalls.table import syscall
from flashvm.process.sysroot import guest_to_host


def host_path(p, dirfd: int, path: bytes, follow: bool = True) -> tuple[bytes, int | None]:
    """Host path and dir_fd for a guest (dirfd, path): absolute paths are host paths
    (in the sysroot if there, its links followed; the last one only when `follow`),
    relative ones are resolved against the process's own working directory."""
    if path.startswith(b"/"):
        return guest_to_host(p.sysroot, path, follow), None
    dirfd = s32(dirfd)
    if dirfd == AT_FDCWD:
        return os.path.join(p.cwd, path), None
    f = p.files.get(dirfd)
    hfd = f.host_fd()
    if hfd is None:
        raise SyscallError(E.ENOTDIR)
    return path, hfd


def _stat_path(p, dirfd, path, flags) -> os.stat_result | FakeStat:
    name = p.read_cstr(path)
    if not name:
        if flags & AT_EMPTY_PATH:
            return _fstat_file(p, p.files.get(dirfd)) if s32(dirfd) != AT_FDCWD else \
                os.stat(p.cwd)
        raise SyscallError(E.ENOENT)
    if name == b"/proc/self/exe":
        name = os.fsencode(p.exe_path)
    follow = not flags & AT_SYMLINK_NOFOLLOW
    hpath, dir_fd = host_path(p, dirfd, name, follow)
    return os.stat(hpath, dir_fd=dir_fd, follow_symlinks=follow)


def _fstat_file(p, f: OpenFile):
    st = f.fstat()
    return st if st is not None else FakeStat(p.uid, p.gid)


@syscall("fstat64", nargs=2)
def sys_fstat64(p, fd, buf):
    p.write(buf, stat64_bytes(_fstat_file(p, p.files.get(fd))))
    return 0


@syscall("stat64", nargs=2)
def sys_stat64(p, path, buf):
    p.write(buf, stat64_bytes(_stat_path(p, AT_FDCWD, path, 0)))
    return 0


@syscall("lstat64", nargs=2)
def sys_lstat64(p, path, buf):
    p.write(buf, stat64_bytes(_stat_path(p, AT_FDCWD, path, AT_SYMLINK_NOFOLLOW)))
    return 0


@syscall("fstatat64", nargs=4)
def sys_fstatat64(p, dirfd, path, buf, flags):
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | 0x800):
        raise SyscallError(E.EINVAL)
    p.write(buf, stat64_bytes(_stat_path(p, dirfd, path, flags)))
    return 0


@syscall("statx", nargs=5)
def sys_statx(p, dirfd, path, flags, mask, buf):
    if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | 0x800 | 0x6000):
        raise SyscallError(E.EINVAL)
    p.write(buf, statx_bytes(_stat_path(p, dirfd, path, flags), mask))
    return 0


@syscall("access", nargs=2)
def sys_access(p, path, mode):
    return _faccessat(p, AT_FDCWD, path, mode, 0)


@syscall("faccessat", nargs=3)
def sys_faccessat(p, dirfd, path, mode):
    return _faccessat(p, dirfd, path, mode, 0)


@syscall("faccessat2", nargs=4)
def sys_faccessat2(p, dirfd, path, mode, flags):
    return _faccessat(p, dirfd, path, mode, flags)


def _faccessat(p, dirfd, path, mode, flags):
    if mode & ~7:
        raise SyscallError(E.EINVAL)
    hpath, dir_fd = host_path(p, dirfd, p.read_cstr(path), not flags & AT_SYMLINK_NOFOLLOW)
    if not os.path.lexists(hpath if dir_fd is None else os.path.join(b"/proc/self/fd/%d" % dir_fd, hpath)):
        raise SyscallError(E.ENOENT)
    if not os.access(hpath, mode, dir_fd=dir_fd,
                     follow_symlinks=not flags & AT_SYMLINK_NOFOLLOW):
        raise SyscallError(E.EACCES)
    return 0


@syscall("getcwd", nargs=2)
def sys_getcwd(p, buf, size):
    out = p.cwd + b"\0"
    if size < len(out):
        raise SyscallError(E.ERANGE)
    p.write(buf, out)
    return len(out)


@syscall("chdir", nargs=1)
def sys_chdir(p, path):
    hpath, _ = host_path(p, AT_FDCWD, p.read_cstr(path))
    return _set_cwd(p, hpath)


@syscall("fchdir", nargs=1)
def sys_fchdir(p, fd):
    f = p.files.get(fd)
    if f.kind != "host" or not f.path:
        raise SyscallError(E.ENOTDIR)
    return _set_cwd(p, f.path)


def _set_cwd(p, hpath: bytes) -> int:
    st = os.stat(hpath)
    if not _stat.S_ISDIR(st.st_mode):
        raise SyscallError(E.ENOTDIR)
    p.cwd = os.path.normpath(os.path.join(p.cwd, hpath))
    return 0


@syscall("readlink", nargs=3)
def sys_readlink(p, path, buf, size):
    return _readlinkat(p, AT_FDCWD, path, buf, size)


@syscall("readlinkat", nargs=4)
def sys_readlinkat(p, dirfd, path, buf, size):
    return _readlinkat(p, dirfd, path, buf, size)


def _readlinkat(p, dirfd, path, buf, size):
    if s32(size) <= 0:
        raise SyscallError(E.EINVAL)
    name = p.read_cstr(path)
    if name == b"/proc/self/exe":
        target = os.fsencode(p.exe_path)
    else:
        hpath, dir_fd = host_path(p, dirfd, name, follow=False)
        target = os.readlink(hpath, dir_fd=dir_fd)
    target = target[:size]
    p.write(buf, target)
    return len(target)


@syscall("unlink", nargs=1)
def sys_unlink(p, path):
    os.unlink(host_path(p, AT_FDCWD, p.read_cstr(path), False)[0])
    return 0


@syscall("unlinkat", nargs=3)
def sys_unlinkat(p, dirfd, path, flags):
    hpath, dir_fd = host_path(p, dirfd, p.read_cstr(path), False)
    if flags & AT_REMOVEDIR:
        os.rmdir(hpath, dir_fd=dir_fd)
    else:
        os.unlink(hpath, dir_fd=dir_fd)
    return 0


@syscall("rmdir", nargs=1)
def sys_rmdir(p, path):
    os.rmdir(host_path(p, AT_FDCWD, p.read_cstr(path), False)[0])
    return 0


@syscall("mkdir", nargs=2)
def sys_mkdir(p, path, mode):
    os.mkdir(host_path(p, AT_FDCWD, p.read_cstr(path))[0], mode & ~p.umask_value & 0o7777)
    return 0


@syscall("mkdirat", nargs=3)
def sys_mkdirat(p, dirfd, path, mode):
    hpath, dir_fd = host_path(p, dirfd, p.read_cstr(path))
    os.mkdir(hpath, mode & ~p.umask_value & 0o7777, dir_fd=dir_fd)
    return 0


@syscall("rename", nargs=2)
def sys_rename(p, old, new):
    os.rename(host_path(p, AT_FDCWD, p.read_cstr(old), False)[0],
              host_path(p, AT_FDCWD, p.read_cstr(new), False)[0])
    return 0


@syscall("renameat", nargs=4)
def sys_renameat(p, olddir, old, newdir, new):
    a, da = host_path(p, olddir, p.read_cstr(old), False)
    b, db = host_path(p, newdir, p.read_cstr(new), False)
    os.rename(a, b, src_dir_fd=da, dst_dir_fd=db)
    return 0


@syscall("renameat2", nargs=5)
def sys_renameat2(p, olddir, old, newdir, new, flags):
    if flags:
        raise SyscallError(E.EINVAL)
    return sys_renameat(p, olddir, old, newdir, new)


@syscall("chmod", nargs=2)
def sys_chmod(p, path, mode):
    os.chmod(host_path(p, AT_FDCWD, p.read_cstr(path))[0], mode & 0o7777)
    return 0


@syscall("fchmod", nargs=2)
def sys_fchmod(p, fd, mode):
    hfd = p.files.get(fd).host_fd()
    if hfd is None:
        raise SyscallError(E.EINVAL)
    os.fchmod(hfd, mode & 0o7777)
    return 0


@syscall("fchmodat", nargs=3)
def sys_fchmodat(p, dirfd, path, mode):
    hpath, dir_fd = host_path(p, dirfd, p.read_cstr(path))
    os.chmod(hpath, mode & 0o7777, dir_fd=dir_fd)
    return 0


@syscall("ftruncate64", nargs=4)
def sys_ftruncate64(p, fd, _pad, lo, hi):
    f = p.files.get(fd)
    if f.kind != "host" or not f.writable:
        raise SyscallError(E.EINVAL)
    os.ftruncate(f.hfd, s64(lo, hi))
    return 0


@syscall("truncate64", nargs=4)
def sys_truncate64(p, path, _pad, lo, hi):
    os.truncate(host_path(p, AT_FDCWD, p.read_cstr(path))[0], s64(lo, hi))
    return 0


@syscall("fsync", "fdatasync", "syncfs", nargs=1)
def sys_fsync(p, fd):
    p.files.get(fd)
    return 0


@syscall("fadvise64", nargs=7)
def sys_fadvise64(p, fd, *_):
    p.files.get(fd)
    return 0


@syscall("getdents64", nargs=3)
def sys_getdents64(p, fd, buf, count):
    f = p.files.get(fd)
    if f.kind != "host" or not is_dir(f):
        raise SyscallError(E.ENOTDIR)
    if f.dir_entries is None:
        ents = []
        for nm in (b".", b".."):
            st = os.stat(nm, dir_fd=f.hfd)
            ents.append((st.st_ino, 4, nm))
        with os.scandir(f.hfd) as it:
            for de in it:
                try:
                    mode = de.stat(follow_symlinks=False).st_mode
                except OSError:
                    mode = 0
                ents.append((de.inode(), DIRENT_TYPE.get(_stat.S_IFMT(mode), 0), os.fsencode(de.name)))
        f.dir_entries = ents
        f.dir_pos = 0
    out = bytearray()
    while f.dir_pos < len(f.dir_entries):
        ino, dt, nm = f.dir_entries[f.dir_pos]
        reclen = (19 + len(nm) + 1 + 7) & ~7
        if len(out) + reclen > count:
            break
        rec = struct.pack("<QqHB", ino, f.dir_pos + 1, reclen, dt) + nm
        out += rec.ljust(reclen, b"\0")
        f.dir_pos += 1
    if not out and f.dir_pos < len(f.dir_entries):
        raise SyscallError(E.EINVAL)
    p.write(buf, bytes(out))
    return len(out)
