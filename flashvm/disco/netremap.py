"""The Disco subnet's page remapping (paper §4.2.5): a frame whose pages are
page-aligned in both the sender's transmit buffer and the receiver's receive
buffer reaches the receiver by mapping the sender's machine page into it,
copy-on-write, instead of by a copy.  The rest of the frame (the header, a
partial last page) is copied as before.

The life of a remapped page:

* at TX the sender's whole pages are marked shared (the frame on the wire
  holds a reference): a sender that writes them before delivery gets a
  private copy, the frame keeps the bytes it had when sent;
* at delivery the receiver's guest page is repointed at that machine page
  (its old machine page goes back to the monitor's free list unless someone
  else still maps it) and its cached translations are shot down;
* a write by any mapper while the page is shared (`break_cow`, called from
  the monitor's write-protection fault and from guest-physical DMA) gives
  that mapper a private copy; the others keep the original;
* a page left with one mapper and no frame in flight is private again.

The sharing records live here (`SubnetRemap.sharers`), one set of (VM, guest
page) per shared machine page; `sharers_of`, `shared_pages` and `mapped_by`
are the query API the footprint accounting can use.  Writes are caught by the
monitor's write protection of machine pages (flashvm/disco/wprot.py, owner
"netremap"): a guest's store, a device's DMA, a HAL zero-page call.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from flashvm.kernels.cache import dma_coherence_nb
from flashvm.machine.devhost import DmaError, dma_range_ok
from flashvm.machine.net import MAX_FRAME, Nic, Subnet

if TYPE_CHECKING:
    from flashvm.disco.monitor import Disco
    from flashvm.disco.vdevices import VmHost
    from flashvm.disco.vm import VirtualMachine
    from flashvm.disco.wprot import WriteFault

PAGE = 4096
WIRE = -1            # the VM number of a frame in flight in a share set
OWNER = "netremap"   # our name for the monitor's write protection


class WireFrame(bytes):
    """A frame's bytes plus where its whole pages were on the sender: [(offset in frame, machine page)]."""
    pages: list[tuple[int, int]]
    token: int


class SubnetRemap:
    """Copy-on-write page remapping for one Disco's subnets, and its counters."""

    def __init__(self, disco: Disco, enabled: bool = True):
        """`enabled`: remap (else every frame is copied, as on the bare machine's subnet)."""
        self.disco = disco
        self.enabled = enabled
        self.sharers: dict[int, set[tuple[int, int]]] = {}   # machine page -> {(vm, gpage) or (WIRE, token)}
        self._tokens = 0
        self.frames = 0                  # frames delivered
        self.remapped_frames = 0         # frames of which at least one page was remapped
        self.remapped_pages = 0
        self.copied_frames = 0           # frames delivered by copying only
        self.copied_bytes = 0            # bytes copied into receivers (headers, tails, unaligned frames)
        self.cow_copies = 0              # private copies made on a write to a shared page
        self.freed_pages = 0             # receivers' machine pages given back by a remap
        self.shared_peak = 0
        self._multi = 0                  # pages mapped by two or more guest pages now
        disco.write_protection.register(OWNER, self._on_write)

    # ------------------------------------------------------------ queries (for the footprint accounting)
    def sharers_of(self, mpage: int) -> list[tuple[int, int]]:
        """The (VM, guest page) that map machine page `mpage` through a remap (empty: not shared)."""
        return sorted(s for s in self.sharers.get(mpage, ()) if s[0] != WIRE)

    def shared_pages(self) -> dict[int, int]:
        """Machine page -> number of VM mappings, for every page mapped by more than one guest page."""
        out = {}
        for mp, s in self.sharers.items():
            n = sum(1 for x in s if x[0] != WIRE)
            if n > 1:
                out[mp] = n
        return out

    def is_shared(self, vm: int, gpage: int) -> bool:
        mp = int(self.disco.m.pmap[vm, gpage])
        return (vm, gpage) in self.sharers.get(mp, ())

    def stats(self) -> dict[str, int]:
        shared = self.shared_pages()
        return {"frames": self.frames, "remapped_frames": self.remapped_frames,
                "remapped_pages": self.remapped_pages, "copied_frames": self.copied_frames,
                "copied_bytes": self.copied_bytes, "cow_copies": self.cow_copies,
                "freed_pages": self.freed_pages, "shared_pages": len(shared),
                "shared_mappings": sum(shared.values()), "shared_pages_peak": self.shared_peak}

    # ------------------------------------------------------------ protection
    def _protect(self, mp: int) -> None:
        """Make every mapping of machine page `mp` read-only: a write comes to `_on_write`."""
        self.disco.write_protection.protect(mp, OWNER)

    def _unprotect(self, mp: int) -> None:
        self.disco.write_protection.unprotect(mp)

    def _on_write(self, fault: WriteFault) -> None:
        """A guest's store, a device's DMA or a zeroing to a page shared by remapping."""
        if (fault.vm.index, fault.gpage) in self.sharers.get(fault.mpage, ()):
            self.break_cow(fault.vm, fault.gpage)
        else:                   # protected for us, but not this mapping's (cannot happen): let it write
            self._unprotect(fault.mpage)

    @staticmethod
    def _mappings(s: set[tuple[int, int]]) -> int:
        return sum(1 for x in s if x[0] != WIRE)

    def _share(self, mp: int, who: tuple[int, int]) -> None:
        s = self.sharers.setdefault(mp, set())
        new = not s
        before = self._mappings(s)
        s.add(who)
        if new or who[0] != WIRE:
            self._protect(mp)
        if before == 1 and self._mappings(s) == 2:      # one more page mapped twice or more
            self._multi += 1
            self.shared_peak = max(self.shared_peak, self._multi)

    def _unshare(self, mp: int, who: tuple[int, int]) -> None:
        """`who` no longer maps `mp`; a page left with one VM mapping and no frame is private again,
        a page left with nothing goes back to the monitor."""
        s = self.sharers.get(mp)
        if s is None:
            return
        before = self._mappings(s)
        s.discard(who)
        vms = [x for x in s if x[0] != WIRE]
        if before == 2 and len(vms) == 1:
            self._multi -= 1
        if len(s) == len(vms) and len(vms) <= 1:
            del self.sharers[mp]
            self._unprotect(mp)
            if vms:
                self.disco.memmap[mp] = (vms[0][0] << 20) | vms[0][1]
            else:
                self._free(mp)
        elif who[0] != WIRE and int(self.disco.memmap[mp]) == ((who[0] << 20) | who[1]) and vms:
            self.disco.memmap[mp] = (vms[0][0] << 20) | vms[0][1]

    def _free(self, mp: int) -> None:
        d = self.disco
        d.memmap[mp] = -1
        d._free_pages[mp * PAGE // d.cfg.mem_per_node % d.cfg.nodes].append(mp)
        self.freed_pages += 1

    def _new_page(self, near: int) -> int:
        d = self.disco
        node = near * PAGE // d.cfg.mem_per_node % d.cfg.nodes
        for n in [node] + [k for k in range(d.cfg.nodes) if k != node]:
            if d._free_pages[n]:
                return d._free_pages[n].pop()
        return int(d._allocate(PAGE, node, -1)[0])

    def break_cow(self, vm: VirtualMachine, gpage: int) -> int:
        """`vm` is about to write guest page `gpage`: if it is shared, give the VM a private copy.
        Returns the guest page's machine page afterwards."""
        d = self.disco
        m = d.m
        old = int(m.pmap[vm.index, gpage])
        s = self.sharers.get(old)
        if s is None or (vm.index, gpage) not in s:
            return old
        if len(s) == 1:                      # the last mapper, no frame in flight: just unprotect
            self._unshare(old, (vm.index, gpage))
            return old
        new = self._new_page(old)
        m.ram8[new << 12:(new + 1) << 12] = m.ram8[old << 12:(old + 1) << 12]
        dma_coherence_nb(m, new << 12, PAGE)
        d.shootdown(vm, gpage)
        m.pmap[vm.index, gpage] = new
        d.footprint.remap(vm.index, gpage, old, new)          # the footprint follows (flashvm/disco/footprint.py)
        d.memmap[new] = (vm.index << 20) | gpage
        self._unshare(old, (vm.index, gpage))
        self.cow_copies += 1
        return new

    # ------------------------------------------------------------ the wire
    def capture(self, vm: VirtualMachine, tx_addr: int, frame: bytes) -> bytes:
        """At TX: note the sender's whole pages and keep them for the frame (copy-on-write)."""
        if not self.enabled:
            return frame
        first = (tx_addr + PAGE - 1) & ~(PAGE - 1)
        pages = []
        self._tokens += 1
        for a in range(first, tx_addr + len(frame) - PAGE + 1, PAGE):
            gp = a >> 12
            mp = int(self.disco.m.pmap[vm.index, gp])
            if mp < 0:
                continue
            self._share(mp, (vm.index, gp))
            self._share(mp, (WIRE, self._tokens))
            pages.append((a - tx_addr, mp))
        w = WireFrame(frame)
        w.pages = pages
        w.token = self._tokens
        return w

    def release(self, frame: bytes) -> None:
        """The frame will not be delivered again: drop its references to the sender's pages."""
        for _, mp in getattr(frame, "pages", ()):
            self._unshare(mp, (WIRE, frame.token))   # type: ignore[attr-defined]

    def deliver(self, vm: VirtualMachine, rx_addr: int, frame: bytes) -> None:
        """DMA `frame` into `vm` at `rx_addr`: remap the pages that line up, copy the rest."""
        d = self.disco
        m = d.m
        self.frames += 1
        pages = getattr(frame, "pages", [])
        remap = [(off, mp) for off, mp in pages if (rx_addr + off) & (PAGE - 1) == 0]
        done = 0
        copied = 0
        for off, mp in remap:
            if off > done:
                vm.host.dma_write(rx_addr + done, frame[done:off])
                copied += off - done
            gp = (rx_addr + off) >> 12
            old = int(m.pmap[vm.index, gp])
            other = d.write_protection.owner(old)
            if other is not None and other != OWNER:    # another part shares it: let it give the VM its own
                d.write_protection.fault(vm, gp, -1, "dma")
                old = int(m.pmap[vm.index, gp])
            if old != mp:
                d.shootdown(vm, gp)
                if old in self.sharers:
                    self._unshare(old, (vm.index, gp))
                elif d.write_protection.owner(old) is None:    # (another owner's page stays theirs)
                    self._free(old)
                m.pmap[vm.index, gp] = mp
                d.footprint.remap(vm.index, gp, old, mp)
                self._share(mp, (vm.index, gp))
            self.remapped_pages += 1
            done = off + PAGE
        if done < len(frame):
            vm.host.dma_write(rx_addr + done, frame[done:])
            copied += len(frame) - done
        self.copied_bytes += copied
        if remap:
            self.remapped_frames += 1
        else:
            self.copied_frames += 1


class RemapNic(Nic):
    """A VM's network interface on a Disco subnet: frames go through the monitor's `SubnetRemap`."""

    def __init__(self, base: int, host: VmHost, subnet: Subnet, remap: SubnetRemap, **kw: Any):
        self.remap = remap
        self.vm = host.vm
        super().__init__(base, host, subnet, **kw)

    def _transmit(self) -> None:
        n = self.tx_len
        if not 1 <= n <= MAX_FRAME or not dma_range_ok(self.host, self.tx_addr, n):
            return super()._transmit()          # the base class reports the error
        try:
            frame = bytes(self.host.dma_read(self.tx_addr, n))
        except DmaError as e:
            return self._error(f"TX DMA refused: {e}")
        wire = self.remap.capture(self.vm, self.tx_addr, frame)
        self.tx_frames += 1
        self.tx_bytes += n
        self._latched |= 1
        self._update_irq()
        at = max(self.host.now_ns() + self.latency_ns + self.ns_per_byte * n, self._last_arrival)
        self._last_arrival = at
        receivers = self.subnet.send(self, wire, at) if self.subnet is not None else 0
        wire_refs = getattr(wire, "pages", None)
        if wire_refs is not None:
            # the frame's page references are dropped after its last delivery
            wire.pending = receivers          # type: ignore[attr-defined]
            if receivers == 0:
                self.remap.release(wire)

    def _arrive(self, frame: bytes) -> None:
        if self.subnet is None or len(self.rxq) >= self.rx_queue_max:
            self.dropped += 1
            self._done_with(frame)
            return
        self.rxq.append(frame)
        self._deliver()

    def _done_with(self, frame: bytes) -> None:
        if hasattr(frame, "pending"):
            frame.pending -= 1
            if frame.pending <= 0:
                self.remap.release(frame)

    def _deliver(self) -> None:
        while self.armed and self.rxq:
            frame = self.rxq.popleft()
            if len(frame) > self.rx_cap:
                self.dropped += 1
                self._done_with(frame)
                self._error(f"frame of {len(frame)} bytes > RX_CAP {self.rx_cap}: dropped")
                continue
            try:
                self.remap.deliver(self.vm, self.rx_addr, frame)
            except DmaError as e:
                self.dropped += 1
                self.armed = False
                self._done_with(frame)
                return self._error(f"RX DMA refused: {e}")
            self._done_with(frame)
            self.armed = False
            self.rx_len = len(frame)
            self.rx_frames += 1
            self.rx_bytes += len(frame)
            self._latched |= 2
            self._update_irq()


def page_counts(remap: SubnetRemap) -> np.ndarray:
    """Histogram of sharing: element k = machine pages mapped by k VM guest pages (k >= 2)."""
    counts = list(remap.shared_pages().values())
    return np.bincount(np.array(counts, np.int64), minlength=2) if counts else np.zeros(2, np.int64)


__all__ = ["RemapNic", "SubnetRemap", "WireFrame", "page_counts"]
