"""Memory system calls: brk, mmap/mmap2, munmap, mprotect, mremap, msync,
madvise, mlock, mincore (the page bookkeeping itself: flashvm.process.memory)."""
from __future__ import annotations

import os

import numpy as np

from flashvm.process.abi import (
    MAP_ANONYMOUS, MAP_FIXED, MAP_FIXED_NOREPLACE, MAP_PRIVATE, MAP_SHARED, MAP_SHARED_VALIDATE,
    MREMAP_FIXED, MREMAP_MAYMOVE, PAGE, PAGE_SHIFT, PROT_READ, PROT_WRITE, TASK_SIZE, E, page_up,
    s32,
)
from flashvm.process.errors import SyscallError
from flashvm.process.files import HostFile
from flashvm.process.memory import MMAP_MIN, VM_MAPPED
from flashvm.process.syscalls.table import syscall


@syscall("brk", nargs=1)
def sys_brk(p, new):
    mem = p.mem
    if new < mem.brk_start:
        return mem.brk_cur
    old_end, new_end = page_up(mem.brk_cur), page_up(new)
    if new_end > TASK_SIZE:
        return mem.brk_cur
    if new_end > old_end:
        v0, v1 = old_end >> PAGE_SHIFT, new_end >> PAGE_SHIFT
        if mem.vm[v0:v1].any():
            return mem.brk_cur            # would run into a mapping: refuse
        mem.reserve(old_end, new_end - old_end, PROT_READ | PROT_WRITE)
    elif new_end < old_end:
        mem.unmap_range(new_end >> PAGE_SHIFT, old_end >> PAGE_SHIFT)
    mem.brk_cur = new
    return new


def do_mmap(p, addr: int, length: int, prot: int, flags: int, fd: int, offset: int) -> int:
    """Linux mmap semantics (MIPS flag values); returns the address or raises SyscallError.
    Placement: the hint if free, else top-down below MMAP_BASE; file pages are read at once."""
    mem = p.mem
    if length == 0 or length > TASK_SIZE:
        raise SyscallError(E.EINVAL)
    if offset & (PAGE - 1):
        raise SyscallError(E.EINVAL)
    mtype = flags & 0xF
    if mtype not in (MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE):
        raise SyscallError(E.EINVAL)
    npages = page_up(length) >> PAGE_SHIFT
    anon = bool(flags & MAP_ANONYMOUS)
    f: HostFile | None = None                     # the file mapped (None: anonymous memory)
    if not anon:
        of = p.files.get(fd)
        if not isinstance(of, HostFile) or not of.readable:
            raise SyscallError(E.EACCES if isinstance(of, HostFile) else E.ENODEV)
        if mtype != MAP_PRIVATE and prot & PROT_WRITE and not of.writable:
            raise SyscallError(E.EACCES)
        f = of
    if flags & (MAP_FIXED | MAP_FIXED_NOREPLACE):
        if addr & (PAGE - 1):
            raise SyscallError(E.EINVAL)
        vpn = addr >> PAGE_SHIFT
        if addr + npages * PAGE > TASK_SIZE or addr < MMAP_MIN:
            raise SyscallError(E.ENOMEM if addr else E.EPERM)
        if flags & MAP_FIXED_NOREPLACE and not flags & MAP_FIXED:
            if mem.vm[vpn:vpn + npages].any():
                raise SyscallError(E.EEXIST)
        else:
            mem.unmap_range(vpn, vpn + npages)
    else:
        vpn = mem.find_free(npages, addr & ~(PAGE - 1))
    va = vpn << PAGE_SHIFT
    mem.reserve(va, npages * PAGE, prot)
    if f is not None:
        data = f.pread(npages * PAGE, offset)
        try:
            mem.fill(vpn, data)
        except MemoryError:
            mem.unmap_range(vpn, vpn + npages)
            raise SyscallError(E.ENOMEM) from None
        if mtype != MAP_PRIVATE and prot & PROT_WRITE:
            mem.shared_maps.append([vpn, npages, os.dup(f.hfd), offset])
    return va


@syscall("mmap2", nargs=6)
def sys_mmap2(p, addr, length, prot, flags, fd, pgoff):
    return do_mmap(p, addr, length, prot, flags, s32(fd), pgoff * PAGE)


@syscall("mmap", nargs=6)
def sys_mmap(p, addr, length, prot, flags, fd, off):
    return do_mmap(p, addr, length, prot, flags, s32(fd), off)


@syscall("munmap", nargs=2)
def sys_munmap(p, addr, length):
    if length == 0:
        raise SyscallError(E.EINVAL)
    v0, v1 = p.mem.page_range(addr, length)
    p.mem.unmap_range(v0, v1)
    return 0


@syscall("mprotect", nargs=3)
def sys_mprotect(p, addr, length, prot):
    if prot & ~7:
        raise SyscallError(E.EINVAL)
    v0, v1 = p.mem.page_range(addr, length)
    p.mem.protect(v0, v1, prot)
    return 0


@syscall("madvise", nargs=3)
def sys_madvise(p, addr, length, advice):
    if addr & (PAGE - 1):
        raise SyscallError(E.EINVAL)
    return 0


@syscall("mremap", nargs=5)
def sys_mremap(p, old, old_len, new_len, flags, new_addr):
    mem = p.mem
    if flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED) or old & (PAGE - 1) or new_len == 0:
        raise SyscallError(E.EINVAL)
    if flags & MREMAP_FIXED:
        raise SyscallError(E.EINVAL)      # not needed by musl
    v0 = old >> PAGE_SHIFT
    n_old, n_new = page_up(old_len) >> PAGE_SHIFT, page_up(new_len) >> PAGE_SHIFT
    if not (mem.vm[v0:v0 + n_old] & VM_MAPPED).all():
        raise SyscallError(E.EFAULT)
    if n_new <= n_old:
        mem.unmap_range(v0 + n_new, v0 + n_old)
        return old
    prot = int(mem.vm[v0]) & 7
    if not mem.vm[v0 + n_old:v0 + n_new].any() and v0 + n_new <= TASK_SIZE >> PAGE_SHIFT:
        mem.reserve((v0 + n_old) << PAGE_SHIFT, (n_new - n_old) * PAGE, prot)
        return old
    if not flags & MREMAP_MAYMOVE:
        raise SyscallError(E.ENOMEM)
    nv = mem.find_free(n_new)
    mem.move(v0, n_old, nv, n_new, prot)
    return nv << PAGE_SHIFT


@syscall("msync", nargs=3)
def sys_msync(p, addr, length, flags):
    v0, v1 = p.mem.page_range(addr, length)
    p.mem.writeback_shared(v0, v1, drop=False)
    return 0


@syscall("mlock", "munlock", nargs=2)
def sys_mlock(p, addr, length):
    return 0


@syscall("mincore", nargs=3)
def sys_mincore(p, addr, length, vec):
    v0, v1 = p.mem.page_range(addr, length)
    if not (p.mem.vm[v0:v1] & VM_MAPPED).all():
        raise SyscallError(E.ENOMEM)
    p.write(vec, (p.mem.frame[v0:v1] >= 0).astype(np.uint8).tobytes())
    return 0
