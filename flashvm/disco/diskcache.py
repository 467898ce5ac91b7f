"""Disco's global disk cache (paper §4.2.5): a page-sized, page-aligned read of a
block of a shared copy-on-write disk that some VM has already read maps that
VM's page onto the machine page holding the block, read-only, instead of
copying the data by DMA.  The first reader's page becomes the cached copy.  A
write by any VM to such a page gives it a private copy (flashvm/disco/share.py).

Blocks a VM wrote (in its overlay) are private to it and never shared; the index
is keyed by the base image and the block's first sector, so VMs booting the same
root image share its blocks whatever their overlays hold.

    disk = disco.disk_cache.disk(vm, base_image)     # a Disk whose reads go through the cache
"""
from __future__ import annotations

import os
from typing import TYPE_CHECKING

from flashvm.disco.vm import VirtualMachine
from flashvm.machine.disk import SECTOR_BYTES, Disk, disk_base

if TYPE_CHECKING:
    from flashvm.disco.share import PageSharing

PAGE_SECTORS = 4096 // SECTOR_BYTES


class DiskCache:
    """(base image, first sector) -> the machine page holding that 4 KB block."""

    def __init__(self, disco: PageSharing):
        self.disco = disco
        self._index: dict[tuple[tuple[int, int], int], int] = {}
        self._key_of: dict[int, tuple[tuple[int, int], int]] = {}
        self.hits = 0            # pages mapped from the cache instead of copied
        self.fills = 0           # pages read by DMA that became cached copies
        self.copied = 0          # pages copied by DMA (not page-sized and aligned, or in an overlay)

    def disk(self, vm: VirtualMachine, base: str | os.PathLike, k: int = 0) -> CachedDisk:
        """VM `vm`'s disk k: a non-persistent (overlay) disk over `base` whose reads use the cache."""
        return CachedDisk(disk_base(k), vm.host, base, overlay=True, cache=self, vm=vm)

    def holds(self, mpage: int) -> bool:
        return mpage in self._key_of

    def forget(self, mpage: int) -> None:
        """`mpage` is to be written or freed: it no longer holds its block."""
        key = self._key_of.pop(mpage, None)
        if key is not None:
            del self._index[key]

    def move(self, old: int, new: int) -> None:
        """The block `old` holds is now held by machine page `new` (the NUMA policy moved it)."""
        key = self._key_of.pop(old, None)
        if key is not None:
            self._key_of[new] = key
            self._index[key] = new

    def read_page(self, vm: VirtualMachine, gpa: int, image: tuple[int, int], sector: int, data: bytes) -> None:
        """A whole page of base-image block `sector` for guest-physical `gpa` of `vm`."""
        d = self.disco
        key = (image, sector)
        g = gpa >> 12
        have = self._index.get(key)
        if have is not None:
            d.share_page(vm, g, have)
            self.hits += 1
            return
        vm.host.dma_write(gpa, data)                     # a shared page of the VM's gets its own copy first
        mp = int(d.m.pmap[vm.index, g])
        self._index[key] = mp
        self._key_of[mp] = key
        if not d.write_protection.is_protected(mp):
            d.write_protection.protect(mp, "share")
        self.fills += 1

    def stats(self) -> dict[str, int]:
        return {"disk_cache_hits": self.hits, "disk_cache_fills": self.fills,
                "disk_cache_copied": self.copied, "disk_cache_pages": len(self._key_of)}


class CachedDisk(Disk):
    """A VM's overlay disk whose page-sized, page-aligned reads of base-image blocks go through
    the global disk cache; everything else is the plain Disk (docs/machine.md, DISK k)."""

    def __init__(self, *a, cache: DiskCache, vm: VirtualMachine, **kw):
        super().__init__(*a, **kw)
        self.cache = cache
        self.vm = vm
        st = os.stat(self.path)
        self.image = (st.st_dev, st.st_ino)

    def _dma_in(self, addr: int, sector: int, count: int) -> None:
        data = self._read_sectors(sector, count)
        for i in range(0, count, PAGE_SECTORS):
            n = min(PAGE_SECTORS, count - i)
            pa = addr + i * SECTOR_BYTES
            piece = data[i * SECTOR_BYTES:(i + n) * SECTOR_BYTES]
            if n == PAGE_SECTORS and not pa & 0xFFF and not self.overlaid(sector + i, n):
                self.cache.read_page(self.vm, pa, self.image, sector + i, piece)
            else:
                self.host.dma_write(pa, piece)
                self.cache.copied += 1


__all__ = ["CachedDisk", "DiskCache"]
