"""The NUMA policy moves pages shared between VMs too (flashvm/disco/numa.py `migrate_shared`,
share.py `move_shared`): a read-only page several VMs map, hot for one remote node, migrates there
with every mapper re-pointed, and stays copy-on-write for each of them."""
from __future__ import annotations

import io

from flashvm.disco import Disco, VmSpec


def two_vms() -> Disco:
    return Disco("flash8", [VmSpec(ncpu=1, mem=16 << 20, hal=True) for _ in range(2)], mode="timing",
                 out=io.BytesIO(), share=True)


def test_a_hot_shared_page_migrates_with_all_its_mappers():
    d = two_vms()
    v0, v1 = d.vms
    g = 1000
    d.guest_write(v0, g << 12, b"shared page!" * 300)
    old = int(d.m.pmap[0, g])
    d.share_page(v1, g + 5, old)
    assert d.sharers(old) == [(0, g), (1, g + 5)] and d.write_protection.owner(old) == "share"
    node = (d.numa.node_of(old) + 3) % 8
    d.m.magic[old, node] = 40                        # misses from one remote node only
    d.numa.on_hot_page(old, node, 40)
    new = int(d.m.pmap[0, g])
    assert new != old and int(d.m.pmap[1, g + 5]) == new and d.numa.node_of(new) == node
    assert d.sharers(new) == [(0, g), (1, g + 5)] and d.write_protection.owner(new) == "share"
    assert not d.m.wprot[old] and d.owner_of(old) is None
    st = d.numa.summary()
    assert st["migrations"] == st["shared_migrations"] == 1
    assert d.guest_read(v1, (g + 5) << 12, 12) == b"shared page!"
    # still copy-on-write: VM 1's write gives it a private copy, VM 0 keeps reading the original
    d.guest_write(v1, (g + 5) << 12, b"mine")
    assert d.guest_read(v0, g << 12, 12) == b"shared page!" and d.guest_read(v1, (g + 5) << 12, 4) == b"mine"
    assert int(d.m.pmap[0, g]) == new and int(d.m.pmap[1, g + 5]) != new


def test_a_shared_page_read_by_several_nodes_is_not_replicated():
    d = two_vms()
    v0, v1 = d.vms
    g = 1200
    d.guest_write(v0, g << 12, b"x" * 4096)
    mp = int(d.m.pmap[0, g])
    d.share_page(v1, g, mp)
    home = d.numa.node_of(mp)
    a, b = (home + 1) % 8, (home + 2) % 8
    d.m.magic[mp, a] = 40
    d.m.magic[mp, b] = 40
    d.numa.on_hot_page(mp, a, 40)
    assert int(d.m.pmap[0, g]) == int(d.m.pmap[1, g]) == mp and (d.m.replica[mp] < 0).all()
    assert d.numa.summary()["replications"] == 0


def test_pages_of_zeros_share_one_machine_page_until_written():
    from flashvm.machine.layout import HAL_MC_ALLOC, HAL_MC_RESERVE
    d = two_vms()
    v0, v1 = d.vms
    d.guest_write(v0, 300 << 12, b"junk" * 1024)
    for vm, g in ((v0, 300), (v1, 301), (v1, 302)):
        d._page_call(vm, 0, HAL_MC_ALLOC, g << 12)           # allocated: zeros, not yet written
    d._page_call(v0, 0, HAL_MC_RESERVE, 900 << 12)           # reserved and all zeros (a table, bss)
    z = d.zero_page
    assert z >= 0 and d.write_protection.owner(z) == "share"
    assert {int(d.m.pmap[i, g]) for i, g in ((0, 300), (1, 301), (1, 302), (0, 900))} == {z}
    assert d.guest_read(v0, 300 << 12, 8) == bytes(8)        # the junk is gone: zeros
    fp = d.footprint
    assert fp.guest_total == 4 and fp.machine_total == 1
    d.guest_write(v1, (301 << 12) + 16, b"data")             # the writer gets its own page
    assert int(d.m.pmap[1, 301]) != z and d.guest_read(v1, (301 << 12) + 12, 8) == bytes(4) + b"data"
    assert d.guest_read(v1, 302 << 12, 4096) == bytes(4096) and d.guest_read(v0, 300 << 12, 4096) == bytes(4096)
    assert fp.machine_total == 2 and d.share_stats()["zero_maps"] == 3
