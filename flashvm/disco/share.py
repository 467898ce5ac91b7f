"""Machine pages shared between VMs (paper §4.2.5): one machine page mapped
read-only into several VMs' guest-physical memory, copied on the first write
of any of them, and the guest's page-use hints that keep the count exact.

A mixin of Disco.  The sharing is general: the global disk cache
(flashvm/disco/diskcache.py), the guest kernel's text loaded at boot, and any
other part of the monitor (the subnet's page remapping) share pages through
the same calls, so the footprint (flashvm/disco/footprint.py) counts them all:

    disco.share_page(vm, gpage, mpage)    # back guest page `gpage` of `vm` by `mpage`, read-only
    disco.sharers(mpage)                  # [(vm index, guest page), ...] mapping a machine page
    disco.unshare(vm, gpage, copy=True)   # give that guest page a private copy

A shared page is write-protected (flashvm/disco/wprot.py) under the owner
"share" unless another owner protects it already: a guest store, a DMA or a
zero-page call to it comes to `_share_write`, which gives the writer a private
copy (or, when nobody else maps the page, drops it from the caches and lets
the write through), so no VM ever sees another's writes.

With sharing on, the guest kernel's HAL build (boot-info flag BOOT_SHARE) says
which pages it uses: HAL_MC_ALLOC (zero it; in use), HAL_MC_RELEASE (free: the
share, if any, is dropped and the page no longer counts) and HAL_MC_RESERVE (in
use for good: the kernel image and its tables, the initrd).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from flashvm.disco.footprint import BUFFER_CACHE, KERNEL_DATA, KERNEL_TEXT, USER, Footprint
from flashvm.disco.vm import VirtualMachine
from flashvm.elf import ElfImage
from flashvm.kernels import state as S
from flashvm.kernels.cache import dma_coherence_nb
from flashvm.kernels.pagecopy import zero_loop_cycles, zero_page_nb
from flashvm.machine.config import MachineConfig
from flashvm.machine.layout import HAL_MC_ALLOC, HAL_MC_RELEASE, HAL_MC_RESERVE, KSSEG

if TYPE_CHECKING:
    from flashvm.disco.diskcache import DiskCache
    from flashvm.disco.wprot import WriteFault, WriteProtection

SHARE_OWNER = "share"            # the write-protection owner of pages shared here
# the kind the HAL kernel stores in the low bits of a page call (flashvm/guest/os/mips.h HAL_KIND_*)
HAL_KINDS = {0: KERNEL_DATA, 1: BUFFER_CACHE, 2: USER}
COPY_CYCLES = 2048               # a copy-on-write copy: a load and a store per word
PF_W = 2


class PageSharing:
    """The sharing part of the monitor (a mixin of Disco: uses `m`, `cfg`, `vms`, the memory
    part's memmap, free pages, `_allocate` and `shootdown`, and `write_protection`)."""
    m: S.Machine
    cfg: MachineConfig
    vms: list[VirtualMachine]
    memmap: np.ndarray
    _free_pages: list[list[int]]
    write_protection: WriteProtection
    current_vcpu_index: int
    shootdown: Callable[[VirtualMachine, int], int]
    _allocate: Callable[[int, int, int], np.ndarray]
    _reports_pages: list[bool]

    def _init_share(self, share: bool, nvm: int, vm_pages: int) -> None:
        from flashvm.disco.diskcache import DiskCache
        self.share = share
        self._mappers: dict[int, set[tuple[int, int]]] = {}    # machine page -> its mappers, when 2 or more
        self._text: dict[bytes, int] = {}                       # guest kernel text page -> its machine page
        self._text_pages: set[int] = set()
        self.footprint = Footprint(nvm, vm_pages, self.cfg.ram_bytes >> 12)
        self.disk_cache: DiskCache = DiskCache(self)
        self.zero_page = -1            # the machine page of zeros shared by every page the guests have not written
        self.share_zero = share        # allocated and reserved pages of zeros map it (copy-on-write)
        self.zero_maps = 0             # pages mapped to it instead of zeroed
        self.cow_copies = 0            # private copies made for a write to a shared page
        self.cow_in_place = 0          # writes let through to a page nobody else mapped (dropped from the caches)
        self.share_unmaps = 0          # shares dropped because the guest freed or re-allocated the page
        if share:
            self.write_protection.register(SHARE_OWNER, self._share_write)

    def _footprint_start(self) -> None:
        """Before the run: a guest that does not say which pages it uses has them all in use."""
        for vm in self.vms:
            if not self._reports_pages[vm.index]:
                self.footprint.use_all(vm.index, self.m.pmap[vm.index, :vm.mem >> 12])

    # ------------------------------------------------------------ who maps what
    def sharers(self, mpage: int) -> list[tuple[int, int]]:
        """The (VM index, guest page) pairs whose pmap names machine page `mpage`, in order, whoever
        shares it (this module, the subnet's remapping)."""
        mine = self._own_sharers(mpage)
        nr = getattr(self, "netremap", None)
        if nr is None or mpage not in nr.sharers:
            return mine
        vms = {i for i in range(len(self.vms))}
        return sorted(set(mine) | {x for x in nr.sharers[mpage] if x[0] in vms})

    def _own_sharers(self, mpage: int) -> list[tuple[int, int]]:
        s = self._mappers.get(mpage)
        if s:
            return sorted(s)
        e = int(self.memmap[mpage])
        return [] if e < 0 else [(e >> 20, e & 0xFFFFF)]

    def _node_of(self, mpage: int) -> int:
        return 0 if self.cfg.interleave else (mpage << 12) // self.cfg.mem_per_node

    def _sharer_count(self, mpage: int) -> int:
        """How many guest pages map `mpage` (the shared page of zeros: thousands, so not by
        listing them)."""
        s = self._mappers.get(mpage)
        if s:
            return len(s)
        return 0 if int(self.memmap[mpage]) < 0 else 1

    # memmap[mpage] names the first of a shared page's mappers, (vm, guest page) in order: kept
    # as mappers come and go without going through all of them, but when the first one leaves
    def _add_mapper(self, mpage: int, vm: int, gpage: int) -> None:
        e = int(self.memmap[mpage])
        if e < 0:
            self.memmap[mpage] = (vm << 20) | gpage
            return
        first = (e >> 20, e & 0xFFFFF)
        s = self._mappers.get(mpage)
        if s is None:
            s = self._mappers[mpage] = {first}
        s.add((vm, gpage))
        if (vm, gpage) < first:
            self.memmap[mpage] = (vm << 20) | gpage

    def _remove_mapper(self, mpage: int, vm: int, gpage: int) -> int:
        """Forget that (vm, gpage) maps `mpage`; returns how many mappers are left.  A page left
        with none goes back to the monitor's free pages."""
        s = self._mappers.get(mpage)
        if s is not None:
            s.discard((vm, gpage))
            left = len(s)
            if left <= 1:
                del self._mappers[mpage]
            if left:
                e = int(self.memmap[mpage])
                if (e >> 20, e & 0xFFFFF) == (vm, gpage):      # the first one left
                    first = min(s)
                    self.memmap[mpage] = (first[0] << 20) | first[1]
                if left == 1 and not self._cached(mpage):
                    self._unprotect(mpage)          # nobody shares it any more and no cache holds it
                return left
        self.memmap[mpage] = -1
        self._forget(mpage)
        self._unprotect(mpage)
        self._free_pages[self._node_of(mpage)].append(mpage)
        return 0

    def _cached(self, mpage: int) -> bool:
        return mpage in self._text_pages or mpage == self.zero_page or self.disk_cache.holds(mpage)

    def _forget(self, mpage: int) -> None:
        """No cache hands out `mpage` any more (it is to be written or freed)."""
        if mpage == self.zero_page:
            self.zero_page = -1
        if mpage in self._text_pages:
            self._text_pages.discard(mpage)
            for k, v in list(self._text.items()):
                if v == mpage:
                    del self._text[k]
        self.disk_cache.forget(mpage)

    def _unprotect(self, mpage: int) -> None:
        wp = self.write_protection
        if wp.owner(mpage) == SHARE_OWNER:
            wp.unprotect(mpage)

    def _private_page(self, node: int) -> int:
        """A free machine page, from `node` first (pages given back by shares and migrations)."""
        for n in [node] + [k for k in range(len(self._free_pages)) if k != node]:
            if self._free_pages[n]:
                return self._free_pages[n].pop()
        return int(self._allocate(4096, node, -1)[0])

    # ------------------------------------------------------------ sharing and unsharing
    def share_page(self, vm: VirtualMachine, gpage: int, mpage: int) -> None:
        """Back guest page `gpage` of `vm` by machine page `mpage`, read-only (copy-on-write);
        the VM's former machine page is given up (freed when nobody else maps it)."""
        m = self.m
        old = int(m.pmap[vm.index, gpage])
        if old == mpage:
            return
        if not self.write_protection.is_protected(mpage):
            self.write_protection.protect(mpage, SHARE_OWNER)
        self.shootdown(vm, gpage)                 # translations of the old page
        m.pmap[vm.index, gpage] = mpage
        self._add_mapper(mpage, vm.index, gpage)
        self.footprint.remap(vm.index, gpage, old, mpage)
        if old >= 0:
            self._remove_mapper(old, vm.index, gpage)

    def unshare(self, vm: VirtualMachine, gpage: int, copy: bool = True) -> int:
        """Give guest page `gpage` of `vm` a private, writable machine page (a copy of its
        contents when `copy`); returns it."""
        m = self.m
        old = int(m.pmap[vm.index, gpage])
        new = self._private_page(self._node_of(old))
        if copy:
            m.ram8[new << 12:(new + 1) << 12] = m.ram8[old << 12:(old + 1) << 12]
        dma_coherence_nb(m, new << 12, 4096)
        self.shootdown(vm, gpage)
        m.pmap[vm.index, gpage] = new
        self.memmap[new] = (vm.index << 20) | gpage
        self.footprint.remap(vm.index, gpage, old, new)
        self._remove_mapper(old, vm.index, gpage)
        return new

    def move_shared(self, old: int, new: int) -> list[tuple[int, int]]:
        """Every VM mapping shared machine page `old` maps `new` instead (its copy, made by the
        caller, e.g. the NUMA policy migrating it to the node that misses it): pmaps, the
        records of who maps it, the caches that hand it out, the footprint and its protection
        follow.  The caller drops the old translations and frees `old`.  Returns the mappers."""
        m = self.m
        mappers = self._own_sharers(old)
        self.write_protection.protect(new, SHARE_OWNER)
        for vmi, g in mappers:
            m.pmap[vmi, g] = new
            self.footprint.remap(vmi, g, old, new)
        s = self._mappers.pop(old, None)
        if s is not None:
            self._mappers[new] = s
        self.memmap[new] = self.memmap[old]
        if old in self._text_pages:
            self._text_pages.discard(old)
            self._text_pages.add(new)
            for k, v in self._text.items():
                if v == old:
                    self._text[k] = new
        self.disk_cache.move(old, new)
        if old == self.zero_page:
            self.zero_page = new
        self.write_protection.unprotect(old)
        return mappers

    def _make_writable(self, vm: VirtualMachine, gpage: int, copy: bool) -> bool:
        """Before a write to guest page `gpage` of `vm`: a private copy when its machine page is
        shared, else the page leaves the caches and is unprotected.  True if a copy was made."""
        mp = int(self.m.pmap[vm.index, gpage])
        if self._sharer_count(mp) > 1:
            self.unshare(vm, gpage, copy)
            return True
        self._forget(mp)
        self._unprotect(mp)
        return False

    def _share_write(self, fault: WriteFault) -> None:
        """The write-protection owner "share": a write to a shared page (wprot.WriteFault)."""
        copied = self._make_writable(fault.vm, fault.gpage, fault.kind != "zero")
        if copied:
            self.cow_copies += 1
            if fault.cpu >= 0:
                self._charge_monitor(fault.cpu, COPY_CYCLES)
        else:
            self.cow_in_place += 1

    def _charge_monitor(self, c: int, cycles: int) -> None:
        """Monitor time spent in Python on behalf of the VCPU CPU c runs (kernel-mode cycles)."""
        m = self.m
        v = int(m.cpu[c, S.VCPU]) - 1
        m.cpu[c, S.CYCLES] += cycles
        m.stats[c, S.S_CYC_BASE] += cycles
        if v >= 0:
            m.dstats[v, S.DS_MON_CYCLES] += cycles

    def _map_zero(self, vm: VirtualMachine, g: int) -> int:
        """Back guest page `g` of `vm` by the shared page of zeros (made on first use, from the
        VM's own page, which is zeroed for it); returns that machine page."""
        m = self.m
        if self.zero_page < 0:
            mp = int(m.pmap[vm.index, g])
            m.ram8[mp << 12:(mp + 1) << 12] = 0
            dma_coherence_nb(m, mp << 12, 4096)
            self.zero_page = mp
            self.write_protection.protect(mp, SHARE_OWNER)
            return mp
        self.share_page(vm, g, self.zero_page)
        self.zero_maps += 1
        return self.zero_page

    # ------------------------------------------------------------ the guest's page-use hints
    def _page_call(self, vm: VirtualMachine, c: int, call: int, value: int) -> bool:
        """HAL_MC_ALLOC / RELEASE / RESERVE for guest page value >> 12; False if `call` is another."""
        if call not in (HAL_MC_ALLOC, HAL_MC_RELEASE, HAL_MC_RESERVE):
            return False
        g = (value & 0xFFFFFFFF) >> 12
        if g >= vm.mem >> 12:
            return True                                   # not the VM's: ignored, as the kernel's calls do
        m = self.m
        v = vm.vcpus[self.current_vcpu_index]
        mp = int(m.pmap[vm.index, g])
        # the page's kind (Fig. 6's split): the kernel's word in the low bits, the text the monitor loaded
        kind = KERNEL_TEXT if mp in self._text_pages else HAL_KINDS.get(value & 0xFFF, KERNEL_DATA)
        owner = self.write_protection.owner(mp)
        if owner is not None and owner != SHARE_OWNER:      # shared by another part: it gives the VM its own
            self.write_protection.fault(vm, g, -1, "zero" if call == HAL_MC_ALLOC else "dma")
            mp = int(m.pmap[vm.index, g])
        if call == HAL_MC_ALLOC:
            if self.write_protection.is_protected(mp) and mp != self.zero_page:
                if self._make_writable(vm, g, copy=False):
                    self.share_unmaps += 1
                mp = int(m.pmap[vm.index, g])
            if self.share_zero:                           # zeros on the shared page until written
                mp = self._map_zero(vm, g)
                cycles = int(zero_loop_cycles(m.params[S.P_LSHIFT]))   # charged as the zeroing it replaces
            else:                                         # zeroed through the caches, as the kernel's call
                cycles = int(zero_page_nb(m, c, mp))
            m.dstats[v, S.DS_ZERO_PAGES] += 1
            self._charge_monitor(c, cycles)
            self.footprint.use(vm.index, g, mp, True, kind)
        elif call == HAL_MC_RELEASE:
            m.dstats[v, S.DS_FREE_PAGES] += 1
            self.footprint.use(vm.index, g, mp, False)
            if self._sharer_count(mp) > 1:                # the share goes with the page
                self.unshare(vm, g, copy=False)
                self.share_unmaps += 1
            else:                                         # and the caches drop what nobody uses
                self._forget(mp)
                self._unprotect(mp)
        else:
            if self.share_zero and mp != self.zero_page and not m.ram8[mp << 12:(mp + 1) << 12].any():
                mp = self._map_zero(vm, g)                # a reserved page of zeros (tables, bss)
            self.footprint.use(vm.index, g, mp, True, kind)
        return True

    # ------------------------------------------------------------ the guest kernel's text
    def _share_kernel_text(self, vm: VirtualMachine, image: ElfImage) -> None:
        """The kernel's read-only pages (text, rodata) loaded at boot: one machine page for all
        VMs booting the same image (the paper's shared IRIX text)."""
        ro: set[int] = set()
        rw: set[int] = set()
        for seg in image.segments:
            gpa = seg.vaddr - KSSEG if seg.vaddr >= KSSEG else seg.vaddr & 0x1FFFFFFF
            first, last = gpa >> 12, (gpa + seg.memsz - 1) >> 12
            if seg.flags & PF_W:
                rw.update(range(first, last + 1))
            else:   # whole pages only: the segment's partial first and last pages stay private
                ro.update(range((gpa + 0xFFF) >> 12, (gpa + seg.filesz) >> 12))
        m = self.m
        for g in sorted(ro - rw):
            mp = int(m.pmap[vm.index, g])
            key = m.ram8[mp << 12:(mp + 1) << 12].tobytes()
            have = self._text.get(key)
            if have is None:
                self._text[key] = mp
                self._text_pages.add(mp)
                self.write_protection.protect(mp, SHARE_OWNER)
            else:
                self.share_page(vm, g, have)

    def share_stats(self) -> dict[str, int]:
        """What sharing did: copies on write, pages shared now, the disk cache's hits."""
        return {"cow_copies": self.cow_copies, "cow_in_place": self.cow_in_place,
                "share_unmaps": self.share_unmaps, "shared_machine_pages": len(self._mappers),
                "zero_maps": self.zero_maps,
                **self.disk_cache.stats()}


__all__ = ["PageSharing", "SHARE_OWNER"]
