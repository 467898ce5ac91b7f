"""Write protection of machine pages (flashvm/disco/wprot.py): the owner hears of every write by a
guest store, a device's DMA or the monitor, and the write then happens; and the monitor's WAIT
ends at a pending interrupt that Status.IM lets through even with IE off."""
from __future__ import annotations

import io
from pathlib import Path

import numpy as np

from flashvm.disco import Disco, VmSpec
from flashvm.disco.wprot import WriteFault
from flashvm.kernels import state as S
from flashvm.elf import load_elf
from flashvm.kernels.disco import emulate_nb
from flashvm.kernels.l2index import l2_index_put_nb
from flashvm.toolchain import build_bare

ROOT = Path(__file__).parents[1]

ARRAY = (16 << 20) >> 12          # smp_numa.c's slices start at guest-physical 16 MB


def ksseg(prog: str):
    return load_elf(build_bare([ROOT / "guest" / "bare" / prog],
                               linker_script=ROOT.parent / "flashvm" / "guest" / "bare" / "link-ksseg.ld",
                               extra_flags=["-DBARE_KSSEG"], name=Path(prog).stem + "_ksseg"))


class ProtectingDisco(Disco):
    """Protects pages of the array being filled once the guest runs; the owner unprotects on a write."""

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.seen: list[tuple[int, str, int]] = []
        self.write_protection.register("test", self._on_write)
        self.armed = False

    def _on_write(self, f: WriteFault) -> None:
        self.seen.append((f.gpage, f.kind, f.cpu))
        self.write_protection.unprotect(f.mpage)

    def between_chunks(self) -> None:
        super().between_chunks()
        if not self.armed and self.m.params[S.P_ROUND_START] > 0:
            self.armed = True
            for k in range(4):                  # one page in each VCPU's slice, before it is filled
                self.write_protection.protect(int(self.m.pmap[0, ARRAY + 64 * k + 3]), "test")


def test_stores_dma_and_zeroing_reach_the_owner_first():
    out = io.BytesIO()
    d = ProtectingDisco("flash8", [VmSpec(ncpu=4, mem=24 << 20)], out=out)
    vm = d.vms[0]
    d.boot(vm, ksseg("smp_numa.c"), ["smp"])
    d.fm.chunk_cycles = 200_000
    d.run(max_insns=200_000_000)
    assert vm.status == 0 and b"ok" in bytes(vm.out), bytes(vm.out)
    stores = sorted(g for g, kind, cpu in d.seen if kind == "store")
    assert stores == [ARRAY + 64 * k + 3 for k in range(4)]
    assert all(cpu >= 0 for _, kind, cpu in d.seen)
    assert not d.write_protection.protected_pages().size
    # a device's write (guest_write is DMA through the VM's pmap) asks the owner too
    mp = int(d.m.pmap[0, 100])
    d.write_protection.protect(mp, "test")
    d.guest_write(vm, (100 << 12) + 8, b"abcd")
    assert d.seen[-1] == (100, "dma", -1) and d.guest_read(vm, (100 << 12) + 8, 4) == b"abcd"


def test_protect_drops_d_from_cached_translations():
    d = ProtectingDisco("flash1", [VmSpec(ncpu=1, mem=8 << 20)], out=io.BytesIO())
    mp = int(d.m.pmap[0, 5])
    lo = (mp << 6) | 0x1F                        # C=3, D, V, G
    d.m.l2tlb[0, 7] = [(9 << 9) | 0x100, lo, 0]
    l2_index_put_nb(d.m, 0, 7, lo, 0)          # an entry the monitor writes is indexed by its page
    d.m.tlb[0, 3, S.TLB_LO1] = lo
    assert d.write_protection.drop_write_permission(mp) == 2
    assert d.m.l2tlb[0, 7, S.L2_LO0] == lo & ~4 and d.m.tlb[0, 3, S.TLB_LO1] == lo & ~4


def test_wait_ends_at_an_unmasked_pending_interrupt_with_ie_off():
    d = Disco("flash1", [VmSpec(ncpu=1, mem=8 << 20)], out=io.BytesIO())
    m = d.m
    c, v = 0, 0
    m.cpu[c, S.VCPU] = 1 + v
    m.vcp0[v, S.CP0_Status, 0] = (1 << 12)               # IM4 on, IE off
    m.vcp0[v, S.CP0_Cause, 0] = (1 << 12)                # line 2 pending
    m.cpu[c, S.WAITING] = 0
    emulate_nb(m, c, v, np.int64(0x42000020), np.int64(0xC0001000), np.int64(0xC0001004), np.int64(-1))
    assert m.cpu[c, S.WAITING] == 0 and m.cpu[c, S.PC] == 0xC0001004
    m.vcp0[v, S.CP0_Cause, 0] = 0                        # nothing pending: it waits
    emulate_nb(m, c, v, np.int64(0x42000020), np.int64(0xC0001000), np.int64(0xC0001004), np.int64(-1))
    assert m.cpu[c, S.WAITING] == 1
