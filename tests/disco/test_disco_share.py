"""Memory shared between Disco's VMs (paper §4.2.5, Fig. 6): the global disk cache
maps one machine page into every VM that reads the same block of the shared root
disk; a write by any VM gives it a private copy; a VM that writes wildly cannot
change what another sees; the footprint counts it all (flashvm/disco/share.py,
diskcache.py, footprint.py)."""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np

from flashvm.disco import Disco, VmSpec
from flashvm.disco.footprint import Footprint, footprint_line
from flashvm.disco.osvm import run_os_vms
from flashvm.elf import load_elf
from flashvm.guestos import build_kernel
from flashvm.kernels import state as S
from flashvm.toolchain import build_bare, build_user

GUEST = Path(__file__).parents[1] / "guest"
BLOB = bytes(np.random.default_rng(5).integers(0, 256, 64 << 10, dtype=np.uint8))   # 16 pages


def share_read() -> Path:
    return build_user([GUEST / "os" / "share_read.c"])


def two_vms(writer_wait: int = 300_000, reader_wait: int = 3_000_000):
    """VM 0 reads /data/blob, then writes over its start; VM 1 reads it, waits, reads it again."""
    files = {"/bin/share_read": share_read(), "/data/blob": BLOB}
    argv = [["/bin/share_read", "/data/blob", str(writer_wait), "0"],
            ["/bin/share_read", "/data/blob", "-1", str(reader_wait)]]
    return run_os_vms(files, argv[0], argv_per_vm=argv, vms=2, machine="flash8", mem_mb=16, hal=True, share=True)


def fnv(data: bytes) -> str:
    h = 2166136261
    for b in data:
        h = ((h ^ b) * 16777619) & 0xFFFFFFFF
    return f"{h:08x}"


def pages_holding(disco: Disco, vm: int, block: bytes) -> set[int]:
    """Machine pages backing guest pages of VM `vm` whose contents are `block`."""
    m = disco.m
    rows = m.pmap[vm, : disco.vms[vm].mem >> 12]
    pages = m.ram8[: m.ram8.size // 4096 * 4096].reshape(-1, 4096)
    want = np.frombuffer(block, np.uint8)
    return {int(mp) for mp in rows if np.array_equal(pages[mp], want)}


def test_two_vms_share_a_page_and_a_write_stays_private():
    res, disco, _ = two_vms()
    assert all(v.ok for v in res), [(v.failure, v.klog[-400:]) for v in res]
    orig = fnv(BLOB)
    changed = fnv(b"written by this VM only\n" + BLOB[24:])
    assert res[0].stdout.decode() == f"first {orig}\nwrote\nagain {changed}\n"
    assert res[1].stdout.decode() == f"first {orig}\nagain {orig}\n"      # never sees VM 0's write
    st = disco.share_stats()
    assert st["disk_cache_hits"] > 0 and st["cow_copies"] > 0
    # a block neither wrote: one machine page in both VMs' buffer caches
    common = pages_holding(disco, 0, BLOB[4096:8192]) & pages_holding(disco, 1, BLOB[4096:8192])
    assert common, "the two VMs do not share the block's machine page"
    mp = common.pop()
    assert sorted({vm for vm, _ in disco.sharers(mp)}) == [0, 1]
    assert disco.write_protection.is_protected(mp)
    # the written block: VM 0 has its own page, VM 1 the original
    first0 = pages_holding(disco, 0, b"written by this VM only\n" + BLOB[24:4096])
    first1 = pages_holding(disco, 1, BLOB[:4096])
    assert first0 and first1 and not first0 & first1


def test_footprint_counts_shared_pages_once():
    res, disco, _ = two_vms()
    rep = disco.footprint.report()
    assert rep["guest_pages_total"] == int(rep["guest_pages"].sum())
    assert rep["machine_pages_total"] < rep["guest_pages_total"]
    assert rep["machine_pages_total_peak"] < rep["guest_pages_total_peak"]
    assert rep["sharing"][2] > 0 and rep["sharing"][2] == rep["machine_pages_total"] - rep["sharing"][1]
    # recount from the pmaps and the in-use bits: distinct machine pages behind the pages in use
    fp = disco.footprint
    used = [disco.m.pmap[v, np.nonzero(fp.inuse[v])[0]] for v in range(2)]
    assert rep["machine_pages_total"] == len(np.unique(np.concatenate(used)))
    assert list(rep["machine_pages"]) == [len(np.unique(u)) for u in used]
    assert "machine" in footprint_line(rep)


def test_footprint_arithmetic():
    fp = Footprint(nvm=2, vm_pages=8, ram_pages=32)
    fp.use(0, 1, 10, True)
    fp.use(1, 1, 11, True)
    fp.remap(1, 1, 11, 10)                       # VM 1's page now shares VM 0's machine page
    assert (fp.guest_total, fp.machine_total) == (2, 1)
    assert (fp.guest_total_peak, fp.machine_total_peak) == (2, 2)
    fp.use(0, 1, 10, False)                      # freed in VM 0: still used by VM 1
    assert (fp.guest_total, fp.machine_total) == (1, 1)
    assert list(fp.sharing()) == [0, 1, 0]


def test_footprint_by_kind_follows_pages_and_is_taken_at_the_peaks():
    from flashvm.disco.footprint import BUFFER_CACHE, KERNEL_DATA, KERNEL_TEXT, USER
    fp = Footprint(nvm=2, vm_pages=8, ram_pages=32)
    fp.use(0, 0, 5, True, KERNEL_TEXT)
    fp.use(1, 0, 5, True, KERNEL_TEXT)               # the shared text: one machine page for two guest pages
    fp.use(0, 1, 10, True, BUFFER_CACHE)
    fp.use(1, 1, 11, True, BUFFER_CACHE)
    fp.remap(1, 1, 11, 10)                           # the disk cache shares the block: its kind goes along
    fp.use(0, 2, 12, True, USER)
    # machine pages peaked (3) before the remap, when VM 1's block had a page of its own
    assert list(fp.guest_kind_at_peak) == [2, 0, 2, 1] and list(fp.machine_kind_at_peak) == [1, 0, 2, 0]
    fp.use(0, 2, 12, False)                          # freed: the user page leaves its kind, not the peaks
    fp.use(1, 3, 13, True)                           # said nothing: kernel data
    assert list(fp.guest_kind) == [2, 1, 2, 0] and list(fp.machine_kind) == [1, 1, 1, 0]
    assert list(fp.guest_kind_at_peak) == [2, 0, 2, 1] and fp.guest_total_peak == 5
    assert fp.guest_kind_at_peak.sum() == fp.guest_total_peak
    assert fp.machine_kind_at_peak.sum() == fp.machine_total_peak == 3
    assert fp.kind[1, 3] == KERNEL_DATA


def test_the_hal_kernel_says_what_its_pages_hold():
    """Two VMs reading the same file: at the peak every kind is there, kernel text and the file's
    pages shared (machine < virtual), and the kinds add up to the totals."""
    from flashvm.disco.footprint import BUFFER_CACHE, KERNEL_DATA, KERNEL_TEXT, USER
    res, disco, _ = two_vms()
    rep = disco.footprint.report()
    g, m = rep["guest_kinds_at_peak"], rep["machine_kinds_at_peak"]
    assert g.sum() == rep["guest_pages_total_peak"] and m.sum() >= rep["machine_pages_total_peak"]
    assert min(g[KERNEL_TEXT], g[KERNEL_DATA], g[BUFFER_CACHE], g[USER]) > 0, g
    assert m[KERNEL_TEXT] * 2 <= g[KERNEL_TEXT] + 2 and m[BUFFER_CACHE] < g[BUFFER_CACHE]
    assert g[BUFFER_CACHE] >= 2 * 16                  # the 16-page file, in each VM's page cache
    assert "kernel text" in footprint_line(rep) and "buffer cache" in footprint_line(rep)


def _os_pages_hash(d: Disco, vms: list[int]) -> str:
    h = hashlib.sha256()
    for v in vms:
        for mp in d.m.pmap[v, : d.vms[v].mem >> 12]:
            h.update(d.m.ram8[mp << 12:(mp + 1) << 12].tobytes())
    return h.hexdigest()


def test_hostile_vm_cannot_change_a_shared_page():
    """Two guest OS VMs share their kernel text; a third VM has those machine pages mapped all over
    the memory it writes wildly: it gets copies, and the OS VMs' memory is unchanged."""
    hostile = load_elf(build_bare([GUEST / "bare" / "share_hostile_bare.c"],
                                  linker_script=GUEST.parents[1] / "flashvm" / "guest" / "bare" / "link-ksseg.ld",
                                  extra_flags=["-DBARE_KSSEG"], name="share_hostile_ksseg"))
    kernel = load_elf(build_kernel("hal"))
    out = io.BytesIO()
    d = Disco("flash8", [VmSpec(ncpu=1, mem=16 << 20), VmSpec(ncpu=1, mem=16 << 20, hal=True),
                         VmSpec(ncpu=1, mem=16 << 20, hal=True)], out=out, share=True, watchdog_ms=20)
    d.boot(d.vms[0], hostile, ["hostile"])
    for vm in d.vms[1:]:
        d.boot(vm, kernel, ["/nonexistent"])       # no disk: the kernel boots, finds no init, halts
    text = sorted({mp for mp, s in ((mp, d.sharers(mp)) for mp in np.unique(d.m.pmap[1, :1024]))
                   if {v for v, _ in s} == {1, 2}})
    assert len(text) > 20, "the two kernels' text is not shared"
    for i in range((12 << 20) >> 12):              # hostile guest-physical [4 MB, 16 MB): the shared pages
        d.share_page(d.vms[0], (4 << 20 >> 12) + i, text[i % len(text)])
    before = {mp: d.m.ram8[mp << 12:(mp + 1) << 12].tobytes() for mp in text}
    snapshots = []
    orig = d._stop

    def stop(vm):
        if vm.index in (1, 2) and all(v.done or v is vm for v in d.vms[1:]):
            snapshots.append(_os_pages_hash(d, [1, 2]))
        orig(vm)
    d._stop = stop
    d.run(max_insns=300_000_000)
    assert b"hostile done" in bytes(d.vms[0].out), bytes(d.vms[0].out)
    assert all(d.m.ram8[mp << 12:(mp + 1) << 12].tobytes() == before[mp] for mp in text)
    assert snapshots and snapshots[0] == _os_pages_hash(d, [1, 2])
    assert d.cow_copies > 100
    hostile_pages = set(int(p) for p in d.m.pmap[0, (4 << 20) >> 12:(16 << 20) >> 12])
    assert len(hostile_pages & set(text)) < len(text)      # the pages it wrote are its own copies now


def test_sharing_is_deterministic():
    a = two_vms(100_000, 1_000_000)[1]
    b = two_vms(100_000, 1_000_000)[1]
    assert np.array_equal(a.m.stats, b.m.stats) and np.array_equal(a.m.dstats, b.m.dstats)
    assert np.array_equal(a.m.pmap, b.m.pmap)
    ra, rb = a.footprint.report(), b.footprint.report()
    assert all(np.array_equal(ra[k], rb[k]) for k in ra)
    assert a.share_stats() == b.share_stats()
    assert S.DS_NAMES


def test_result_file_and_summary_have_the_footprint(tmp_path):
    from rich.console import Console

    from flashvm.machine.config import machine_config
    from flashvm.results import read_run, write_report
    from flashvm.session import run
    from flashvm.session.summary import summary
    from flashvm.spec import RunSpec
    exe = share_read()
    spec = RunSpec("disco", program=exe, machine=machine_config("flash8"), argv=("/bin/share_read", "/data/blob",
                   "-1", "0"), files={"/bin/share_read": exe, "/data/blob": BLOB}, vms=2, vm_mem_mb=16, hal=True,
                   share=True)
    report = run(spec)
    assert all(v.ok for v in report.vms or [])
    got = read_run(write_report(report, tmp_path))
    mem = report.memory
    assert mem is not None
    for name in ("guest_pages", "machine_pages", "guest_pages_peak", "machine_pages_peak"):
        assert list(got[f"disco/memory/{name}"]) == list(mem[name]) and len(mem[name]) == 2
    with __import__("h5py").File(next(tmp_path.glob("*.h5"))) as f:
        a = dict(f["disco/memory"].attrs)
    for k in ("guest_pages_total", "machine_pages_total", "guest_pages_total_peak", "machine_pages_total_peak"):
        assert a[k] == mem[k]
    for k in ("guest_kinds_at_peak", "machine_kinds_at_peak"):
        assert list(got[f"disco/memory/{k}"]) == list(mem[k]) and len(mem[k]) == 4
    assert a["machine_pages_total"] < a["guest_pages_total"] == sum(mem["guest_pages"])
    con = Console(record=True, width=200)
    summary(report, con)
    assert "memory footprint (Fig. 6)" in con.export_text()


def test_a_vm_that_does_not_report_pages_counts_them_all():
    fp = Footprint(nvm=2, vm_pages=4, ram_pages=16)
    fp.use_all(0, np.array([3, 4, 5, 5]))
    fp.use_all(1, np.array([6, 7, -1, -1]))
    assert list(fp.guest) == [4, 2] and list(fp.machine) == [3, 2]
    assert (fp.guest_total, fp.machine_total, fp.machine_total_peak) == (6, 5, 5)


def test_the_kinds_the_kernel_stores_are_the_ones_the_monitor_reads():
    import re

    from flashvm.disco.footprint import KINDS
    from flashvm.disco.share import HAL_KINDS
    text = (Path(__file__).parents[2] / "flashvm" / "guest" / "os" / "mips.h").read_text()
    said = {m.group(1).lower(): int(m.group(2)) for m in re.finditer(r"#define HAL_KIND_(\w+)\s+(\d+)", text)}
    assert said == {"data": 0, "cache": 1, "user": 2}
    assert {code: KINDS[k] for code, k in HAL_KINDS.items()} == {0: "kernel_data", 1: "buffer_cache", 2: "user"}
