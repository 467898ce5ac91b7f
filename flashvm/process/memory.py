"""Guest memory of a process: the address-space layout, the RAM page allocator,
the per-page state behind the CPU's flat page table, and guest reads/writes.

Each of the 2**20 virtual pages has a state byte (`vm`: PROT_* bits |
VM_MAPPED) and a frame (`frame`: physical address, -1 = not present yet).
Anonymous memory is demand-zero: a mapped page gets its frame on first touch
(a TLBL/TLBS exit from the CPU, or a system call copying to or from it).  Each
address space has its own flat page table (`ptab`), kept equal to
(frame | PTE bits) for every present page; the machine's `m.ptab` is the one
of the process on the CPU (the scheduler swaps it).  Removing or weakening a
mapping also flushes the CPU's translation cache (`m.tc_tag`).

All processes of a simulation share one `PageAllocator` over the machine's
RAM.  When its frames run out it grows the RAM (doubling, up to `MAX_RAM`),
as qemu-user's guest memory is only bounded by the host: the machine's
arrays are replaced, so everyone reads the machine from the allocator (`.m`).
"""
from __future__ import annotations

import os
import struct

import numpy as np

from flashvm.kernels.state import (
    P_LSHIFT, P_NLINES, P_RAM_SIZE, P_ROM_HOST, P_ROM_SIZE, P_TIMING, PTE_R, PTE_W, PTE_X, Machine,
)
from flashvm.process.abi import (
    PAGE, PAGE_SHIFT, PROT_EXEC, PROT_READ, PROT_WRITE, TASK_SIZE, E, page_up,
)
from flashvm.process.errors import GuestFault, SyscallError

NPAGES_VA = 1 << 20              # 4 GiB of 4 KiB pages
STACK_TOP = 0x7FFF0000
STACK_SIZE = 8 << 20             # RLIMIT_STACK default
MMAP_BASE = STACK_TOP - (128 << 20)
MMAP_MIN = 0x10000               # vm.mmap_min_addr
VM_MAPPED = 8                    # in a page's state byte, beside the PROT_* bits
MAX_RAM = 3 << 30                # the RAM grows up to this (a 32-bit guest cannot map much more)


class PageAllocator:
    """Hands out 4 KiB pages of the machine's RAM, zeroed, growing the RAM when
    they run out.  `m` is the current machine (growing replaces its arrays)."""

    def __init__(self, m: Machine, reserved_low: int = 1, max_bytes: int = MAX_RAM):
        self.m = m
        self.npages = int(m.params[P_RAM_SIZE]) // PAGE     # RAM only: not the MMIO spare page
        self.max_pages = max(max_bytes // PAGE, self.npages)
        # a stack whose top is the lowest free page
        self._free = list(range(self.npages - 1, reserved_low - 1, -1))

    @property
    def ram8(self) -> np.ndarray:
        return self.m.ram8

    @property
    def free_pages(self) -> int:
        return len(self._free)

    def alloc(self) -> int:
        """Physical address of a fresh zeroed page; MemoryError when RAM is full at max_pages."""
        if not self._free:
            self.grow()
        pa = self._free.pop() << PAGE_SHIFT
        self.m.ram8[pa:pa + PAGE] = 0
        return pa

    def grow(self) -> None:
        """Double the RAM (at most to max_pages): a new host buffer laid out as
        new_machine lays it out, [RAM][MMIO spare page][ROM], and, in timing
        mode, directory and MAGIC entries for the new lines and pages."""
        old, new = self.npages, min(self.npages * 2, self.max_pages)
        if new <= old:
            raise MemoryError("simulated RAM exhausted")
        m, params = self.m, self.m.params
        ob, nb = old * PAGE, new * PAGE
        tail = PAGE + int(params[P_ROM_SIZE])
        ram8 = np.zeros(nb + tail, np.uint8)
        ram8[:ob] = m.ram8[:ob]
        ram8[nb:] = m.ram8[ob:ob + tail]
        fields: dict[str, np.ndarray] = dict(ram8=ram8, ram16=ram8.view(np.uint16), ram32=ram8.view(np.uint32))
        if params[P_TIMING]:
            nlines = nb >> int(params[P_LSHIFT])
            more = nlines - len(m.dir_sharers)
            fields["dir_sharers"] = np.concatenate((m.dir_sharers, np.zeros(more, np.int64)))
            fields["dir_owner"] = np.concatenate((m.dir_owner, np.full(more, -1, np.int8)))
            extra = np.zeros((new - len(m.magic), m.magic.shape[1]), m.magic.dtype)
            fields["magic"] = np.concatenate((m.magic, extra))
            params[P_NLINES] = nlines
        params[P_RAM_SIZE] = nb
        params[P_ROM_HOST] = nb + PAGE
        self.m = m._replace(**fields)
        self._free = list(range(new - 1, old - 1, -1)) + self._free
        self.npages = new

    def free(self, pa: int) -> None:
        self._free.append(pa >> PAGE_SHIFT)


def pte_bits(prot: int) -> int:
    """The flat page table's permission bits for PROT_* (W implies R, as on MIPS)."""
    b = 0
    if prot & (PROT_READ | PROT_WRITE):
        b |= PTE_R
    if prot & PROT_WRITE:
        b |= PTE_W
    if prot & PROT_EXEC:
        b |= PTE_X
    return b


class GuestMemory:
    """The virtual address space of one process: its pages, frames and flat page
    table, over the RAM of `pages` (if not given, a new allocator over machine `m`
    whose RAM may grow to `max_bytes`)."""

    def __init__(self, m: Machine | None = None, pages: PageAllocator | None = None,
                 max_bytes: int = MAX_RAM):
        first = pages is None
        if pages is None:
            if m is None:
                raise TypeError("GuestMemory needs a machine or a page allocator")
            pages = PageAllocator(m, max_bytes=max_bytes)
        self.pages = pages
        # the first address space uses the machine's page table; others get their own
        self.ptab = self.m.ptab if first else np.zeros(NPAGES_VA, np.int64)
        self.vm = np.zeros(NPAGES_VA, np.uint8)          # PROT_* | VM_MAPPED per page
        self.frame = np.full(NPAGES_VA, -1, np.int64)    # physical address, -1 = not present
        self.shared_maps: list[list] = []                # [start_vpn, npages, host fd, file offset]
        self.brk_start = self.brk_cur = 0                # the program break (set by the loader)

    @property
    def m(self) -> Machine:
        return self.pages.m

    def copy(self) -> GuestMemory:
        """A private copy of this address space for fork: every present page gets
        a new frame holding the same bytes (an eager copy; MAP_SHARED file
        mappings become private in the child)."""
        child = GuestMemory(pages=self.pages)
        child.vm[:] = self.vm
        child.brk_start, child.brk_cur = self.brk_start, self.brk_cur
        for vpn in np.flatnonzero(self.frame >= 0).tolist():
            pa = self.pages.alloc()
            src = int(self.frame[vpn])
            ram = self.m.ram8                     # read after alloc: the RAM may have grown
            ram[pa:pa + PAGE] = ram[src:src + PAGE]
            child.frame[vpn] = pa
            child.set_pte(vpn)
        return child

    def release(self) -> None:
        """Give every frame back (the process exited or replaced its image)."""
        self.writeback_shared(0, NPAGES_VA, drop=True)
        for pa in self.frame[self.frame >= 0].tolist():
            self.pages.free(pa)
        self.frame[:] = -1
        self.vm[:] = 0
        self.ptab[:] = 0
        self.m.tc_tag.fill(-1)

    # ----------------------------------------------------------- page table
    def set_pte(self, vpn: int) -> None:
        f = int(self.frame[vpn])
        bits = pte_bits(int(self.vm[vpn]))
        self.ptab[vpn] = (f | bits) if (f >= 0 and bits) else 0

    def populate(self, vpn: int) -> int:
        """Give the mapped-but-absent page vpn a zeroed frame; return its physical address."""
        pa = self.pages.alloc()
        self.frame[vpn] = pa
        self.set_pte(vpn)      # a new mapping: no translation-cache flush needed
        return pa

    def fault_in(self, va: int, need: int) -> bool:
        """After a TLB exception at va: give a demand-zero page its frame if the
        access (needing one of the PROT_* bits in `need`) is allowed; True when the
        instruction can be retried.  MemoryError when RAM is full."""
        vpn = (va & 0xFFFFFFFF) >> PAGE_SHIFT
        st = int(self.vm[vpn])
        if st & VM_MAPPED and st & need and self.frame[vpn] < 0:
            self.populate(vpn)
            return bool(self.ptab[vpn])
        return False

    def reserve(self, va: int, length: int, prot: int) -> None:
        """Mark [va, va+length) mapped with prot, demand-zero (pages must be free)."""
        v0, v1 = va >> PAGE_SHIFT, page_up(va + length) >> PAGE_SHIFT
        self.vm[v0:v1] = (prot & 7) | VM_MAPPED

    def fill(self, vpn: int, data: bytes) -> None:
        """Back the pages from vpn on with fresh frames holding `data` (zero past its end)."""
        for i in range(0, len(data), PAGE):
            pa = self.pages.alloc()
            self.frame[vpn + i // PAGE] = pa
            chunk = data[i:i + PAGE]
            self.m.ram8[pa:pa + len(chunk)] = np.frombuffer(chunk, np.uint8)
            self.set_pte(vpn + i // PAGE)

    def unmap_range(self, v0: int, v1: int) -> None:
        """Remove pages [v0, v1): free frames, clear PTEs, flush the translation cache."""
        if v1 <= v0:
            return
        self.writeback_shared(v0, v1, drop=True)
        present = np.flatnonzero(self.frame[v0:v1] >= 0)
        for i in present:
            self.pages.free(int(self.frame[v0 + i]))
        had_pte = bool(self.ptab[v0:v1].any())
        self.frame[v0:v1] = -1
        self.vm[v0:v1] = 0
        self.ptab[v0:v1] = 0
        if had_pte:
            self.m.tc_tag.fill(-1)

    def protect(self, v0: int, v1: int, prot: int) -> None:
        """Give the mapped pages [v0, v1) protection prot (ENOMEM if one is unmapped)."""
        if not (self.vm[v0:v1] & VM_MAPPED).all():
            raise SyscallError(E.ENOMEM)
        self.vm[v0:v1] = prot | VM_MAPPED
        for vpn in np.flatnonzero(self.frame[v0:v1] >= 0) + v0:
            self.set_pte(int(vpn))
        self.m.tc_tag.fill(-1)

    def move(self, v0: int, n_old: int, nv: int, n_new: int, prot: int) -> None:
        """Move n_old pages from v0 to nv and extend them to n_new pages: the frames
        keep their contents, only the mapping changes."""
        self.vm[nv:nv + n_old] = self.vm[v0:v0 + n_old]
        self.frame[nv:nv + n_old] = self.frame[v0:v0 + n_old]
        self.vm[nv + n_old:nv + n_new] = prot | VM_MAPPED
        for vpn in range(nv, nv + n_old):
            self.set_pte(vpn)
        self.frame[v0:v0 + n_old] = -1
        self.vm[v0:v0 + n_old] = 0
        self.ptab[v0:v0 + n_old] = 0
        self.m.tc_tag.fill(-1)

    def find_free(self, npages: int, hint: int = 0) -> int:
        """Lowest vpn of a free run of npages: the hint if free, else top-down below MMAP_BASE."""
        if hint:
            h = hint >> PAGE_SHIFT
            if MMAP_MIN >> PAGE_SHIFT <= h and h + npages <= TASK_SIZE >> PAGE_SHIFT and \
                    not self.vm[h:h + npages].any():
                return h
        for lo, hi in ((MMAP_MIN >> PAGE_SHIFT, MMAP_BASE >> PAGE_SHIFT),
                       (MMAP_BASE >> PAGE_SHIFT, TASK_SIZE >> PAGE_SHIFT)):
            used = np.flatnonzero(self.vm[lo:hi]) + lo
            bounds = np.concatenate(([lo - 1], used, [hi]))
            gaps = np.diff(bounds) - 1
            ok = np.flatnonzero(gaps >= npages)
            if len(ok):
                k = int(ok[-1])
                return int(bounds[k + 1]) - npages
        raise SyscallError(E.ENOMEM)

    @staticmethod
    def page_range(addr: int, length: int) -> tuple[int, int]:
        """The vpns [v0, v1) of a page-aligned guest range (EINVAL if not aligned or past 4 GiB)."""
        if addr & (PAGE - 1):
            raise SyscallError(E.EINVAL)
        end = page_up(addr + length)
        if end > 1 << 32 or end < addr:
            raise SyscallError(E.EINVAL)
        return addr >> PAGE_SHIFT, end >> PAGE_SHIFT

    def writeback_shared(self, v0: int, v1: int, drop: bool) -> None:
        """Copy pages [v0, v1) of writable MAP_SHARED file mappings back to their files
        (and forget the mappings wholly inside the range when `drop`)."""
        keep = []
        for ent in self.shared_maps:
            s, n, hfd, off = ent
            a, b = max(s, v0), min(s + n, v1)
            if a < b:
                try:
                    size = os.fstat(hfd).st_size
                    for vpn in range(a, b):
                        pa = int(self.frame[vpn])
                        foff = off + (vpn - s) * PAGE
                        if pa < 0 or foff >= size:
                            continue
                        k = min(PAGE, size - foff)
                        os.pwrite(hfd, self.m.ram8[pa:pa + k].tobytes(), foff)
                except OSError:
                    pass
                if drop and a == s and b == s + n:
                    os.close(hfd)
                    continue
            keep.append(ent)
        self.shared_maps = keep

    # ----------------------------------------------------------- guest reads and writes
    def _frame_for(self, vpn: int, write: bool) -> int:
        st = int(self.vm[vpn])
        if not st & VM_MAPPED or not st & (PROT_WRITE if write else (PROT_READ | PROT_WRITE)):
            raise GuestFault(vpn << PAGE_SHIFT)
        pa = int(self.frame[vpn])
        if pa < 0:
            try:
                pa = self.populate(vpn)
            except MemoryError:
                raise SyscallError(E.ENOMEM) from None
        return pa

    def phys_addr(self, va: int) -> int:
        """The physical address behind readable guest address va (its page brought in)."""
        va &= 0xFFFFFFFF
        try:
            return self._frame_for(va >> PAGE_SHIFT, False) + (va & (PAGE - 1))
        except GuestFault:
            raise GuestFault(va) from None

    def read(self, va: int, n: int) -> bytes:
        """n bytes of guest memory at virtual address va."""
        out = bytearray()
        ram = self.m.ram8
        va &= 0xFFFFFFFF
        while n > 0:
            if va >= 1 << 32:
                raise GuestFault(va)
            off = va & (PAGE - 1)
            k = min(n, PAGE - off)
            try:
                pa = self._frame_for(va >> PAGE_SHIFT, False)
            except GuestFault:
                raise GuestFault(va) from None
            out += ram[pa + off:pa + off + k].tobytes()
            va += k
            n -= k
        return bytes(out)

    def write(self, va: int, data) -> None:
        """Store bytes at guest virtual address va."""
        data = memoryview(bytes(data))
        ram = self.m.ram8
        va &= 0xFFFFFFFF
        pos, n = 0, len(data)
        while pos < n:
            if va >= 1 << 32:
                raise GuestFault(va)
            off = va & (PAGE - 1)
            k = min(n - pos, PAGE - off)
            try:
                pa = self._frame_for(va >> PAGE_SHIFT, True)
            except GuestFault:
                raise GuestFault(va) from None
            ram[pa + off:pa + off + k] = np.frombuffer(data, np.uint8, k, pos)
            va += k
            pos += k

    def read_u32(self, va: int) -> int:
        return struct.unpack("<I", self.read(va, 4))[0]

    def write_u32(self, va: int, v: int) -> None:
        self.write(va, struct.pack("<I", v & 0xFFFFFFFF))

    def read_cstr(self, va: int, limit: int = 4096) -> bytes:
        """The NUL-terminated string at va (without the NUL); ENAMETOOLONG past limit."""
        out = bytearray()
        va &= 0xFFFFFFFF
        while True:
            off = va & (PAGE - 1)
            k = PAGE - off
            chunk = self.read(va, k)
            z = chunk.find(b"\0")
            if z >= 0:
                out += chunk[:z]
                if len(out) >= limit:
                    raise SyscallError(E.ENAMETOOLONG)
                return bytes(out)
            out += chunk
            if len(out) >= limit:
                raise SyscallError(E.ENAMETOOLONG)
            va += k

    def is_mapped(self, va: int) -> bool:
        return bool(self.vm[(va & 0xFFFFFFFF) >> PAGE_SHIFT] & VM_MAPPED)
