"""The Disco subnet's copy-on-write page remapping (flashvm/disco/netremap.py),
driven from the host: frames written into one VM's memory, sent through its
NIC's registers, delivered into the others by the machine's event queue."""
from __future__ import annotations

import numpy as np

from flashvm.disco import Disco, VmSpec
from flashvm.disco.netremap import RemapNic
from flashvm.machine.net import Subnet, net_base

PAGE = 4096
TX, RX = 0x100000, 0x200000          # page-aligned guest-physical buffers


def _disco(vms=3, enabled=True):
    d = Disco("flash8", [VmSpec(ncpu=1, mem=4 << 20) for _ in range(vms)])
    d.netremap.enabled = enabled
    sub = Subnet()
    nics = [d.add_device(vm, RemapNic(net_base(0), vm.host, sub, d.netremap)) for vm in d.vms]
    for n in nics:
        n.write(0x14, 4, RX)           # RX_ADDR
        n.write(0x18, 4, 65536)        # RX_CAP
        n.write(0x1C, 4, 1)            # RX_CMD
    return d, nics


def _send(d, nic, vm, dst: bytes, body: bytes, addr=TX):
    frame = dst + nic.mac + body
    d.guest_write(vm, addr, frame)
    nic.write(0x08, 4, addr)
    nic.write(0x0C, 4, len(frame))
    nic.write(0x10, 4, 1)
    d.fm._fire_events(1 << 62)
    return frame


def _payload(seed: int, n: int) -> bytes:
    return np.random.default_rng(seed).integers(0, 256, n, dtype=np.uint8).tobytes()


def test_page_aligned_payload_is_remapped_not_copied():
    d, nics = _disco(2)
    a, b = d.vms
    frame = _send(d, nics[0], a, nics[1].mac, _payload(1, 3 * PAGE - 12 + 100))
    st = d.netremap.stats()
    assert st["remapped_pages"] == 3 and st["copied_bytes"] == 100 and st["copied_frames"] == 0
    assert d.guest_read(b, RX, len(frame)) == frame
    for k in range(3):     # the receiver's buffer pages ARE the sender's machine pages
        assert d.m.pmap[b.index, (RX >> 12) + k] == d.m.pmap[a.index, (TX >> 12) + k]
    assert st["shared_pages"] == 3 and st["freed_pages"] == 3
    mp = int(d.m.pmap[a.index, TX >> 12])
    assert d.netremap.sharers_of(mp) == [(a.index, TX >> 12), (b.index, RX >> 12)]


def test_unaligned_frame_is_copied():
    d, nics = _disco(2)
    frame = _send(d, nics[0], d.vms[0], nics[1].mac, _payload(2, 2 * PAGE), addr=TX + 8)
    st = d.netremap.stats()
    assert st["remapped_pages"] == 0 and st["copied_frames"] == 1 and st["copied_bytes"] == len(frame)
    assert d.guest_read(d.vms[1], RX, len(frame)) == frame


def test_receiver_write_gets_private_copy_sender_unchanged():
    d, nics = _disco(2)
    a, b = d.vms
    frame = _send(d, nics[0], a, nics[1].mac, _payload(3, 2 * PAGE))
    shared = int(d.m.pmap[a.index, (TX >> 12) + 1])
    assert d.netremap.stats()["shared_pages"] == 2
    d.guest_write(b, RX + PAGE + 5, b"receiver was here")
    st = d.netremap.stats()
    assert st["cow_copies"] == 1 and st["shared_pages"] == 1 and st["shared_pages_peak"] == 2
    assert not d.netremap.is_shared(b.index, (RX >> 12) + 1) and d.netremap.is_shared(b.index, RX >> 12)
    assert int(d.m.pmap[b.index, (RX >> 12) + 1]) != shared
    assert int(d.m.pmap[a.index, (TX >> 12) + 1]) == shared
    assert d.guest_read(a, TX, len(frame)) == frame
    assert d.guest_read(b, RX + PAGE + 5, 17) == b"receiver was here"
    # the sender's page is private again (one mapper left): its writes copy nothing
    d.guest_write(a, TX + PAGE, b"x")
    assert d.netremap.stats()["cow_copies"] == 1


def test_sender_write_after_send_leaves_frame_intact():
    d, nics = _disco(2)
    a, b = d.vms
    frame = dst = nics[1].mac
    frame = dst + nics[0].mac + _payload(4, 2 * PAGE)
    d.guest_write(a, TX, frame)
    nics[0].write(0x08, 4, TX)
    nics[0].write(0x0C, 4, len(frame))
    nics[0].write(0x10, 4, 1)
    d.guest_write(a, TX + PAGE, b"\0" * PAGE)      # before delivery
    d.fm._fire_events(1 << 62)
    assert d.guest_read(b, RX, len(frame)) == frame
    assert d.netremap.stats()["cow_copies"] == 1


def test_broadcast_shares_one_machine_page_among_three_vms():
    d, nics = _disco(3)
    frame = _send(d, nics[0], d.vms[0], b"\xff" * 6, _payload(5, 4 * PAGE))
    st = d.netremap.stats()
    assert st["remapped_pages"] == 8 and st["shared_pages"] == 4 and st["shared_mappings"] == 12
    assert st["shared_pages_peak"] == 4
    for vm in d.vms[1:]:
        assert d.guest_read(vm, RX, len(frame)) == frame


def test_disabled_copies_everything():
    d, nics = _disco(2, enabled=False)
    frame = _send(d, nics[0], d.vms[0], nics[1].mac, _payload(6, 2 * PAGE))
    st = d.netremap.stats()
    assert st["remapped_pages"] == 0 and st["copied_bytes"] == len(frame) and not d.netremap.sharers


def test_remap_is_deterministic():
    def once():
        d, nics = _disco(3)
        for i in range(4):
            _send(d, nics[i % 3], d.vms[i % 3], nics[(i + 1) % 3].mac, _payload(i, 2 * PAGE + 40 * i))
            d.guest_write(d.vms[(i + 1) % 3], RX + PAGE, b"w")
        return d.netremap.stats(), d.m.pmap.copy()
    s1, p1 = once()
    s2, p2 = once()
    assert s1 == s2 and np.array_equal(p1, p2)


# ------------------------------------------------------------ the file service in running guests

import pytest  # noqa: E402

SUMFILE = r'''
#include <stdio.h>
#include <stdint.h>
int main(int argc, char **argv) {
    int first = 1;
    if (argc > 2 && argv[1][0] == '-' && argv[1][1] == 'w') {   /* -w FILE: write into it first */
        FILE *w = fopen(argv[2], "r+b");
        if (!w) { perror(argv[2]); return 1; }
        fseek(w, 2 * 4096 + 10, SEEK_SET);
        fwrite("written by a client", 1, 19, w);
        fclose(w);
        first = 2;
    }
    for (int i = first; i < argc; i++) {
        FILE *f = fopen(argv[i], "rb");
        if (!f) { perror(argv[i]); return 1; }
        static unsigned char buf[8192];
        uint32_t c = 0; long n = 0; size_t k;
        while ((k = fread(buf, 1, sizeof buf, f)) > 0) {
            for (size_t j = 0; j < k; j++) c = c * 31 + buf[j];
            n += k;
        }
        printf("%s %ld %08x\n", argv[i], n, c);
    }
    return 0;
}
'''


def _expected(name: str, data: bytes) -> str:
    c = 0
    for b in data:
        c = (c * 31 + b) & 0xFFFFFFFF
    return f"{name} {len(data)} {c:08x}\n"


def _nfs_run(tmp_path, vms=3):
    from flashvm.disco.nfs import run_nfs
    from flashvm.toolchain import build_user
    src = tmp_path / "nfssum.c"
    src.write_text(SUMFILE)
    exe = build_user([src], name="nfssum")
    data = _payload(42, 5 * 15 * PAGE + 1234)          # 5 whole replies and a partial one
    small = b"hello over the subnet\n"
    files = {"/srv/bin/sum": exe, "/srv/d/big": data, "/srv/d/small": small}
    res, d, _ = run_nfs(files, ["/nfs/bin/sum", "/nfs/d/big", "/nfs/d/small"], vms=vms)
    return res, d, data, small


def test_nfs_clients_read_files_and_share_machine_pages(tmp_path):
    res, d, data, small = _nfs_run(tmp_path)
    assert [v.status for v in res] == [0, 0, 0], [v.verdict or v.stderr for v in res]
    want = _expected("/nfs/d/big", data) + _expected("/nfs/d/small", small)
    assert res[1].stdout.decode() == want and res[2].stdout.decode() == want
    st = d.netremap.stats()
    # every whole page of the big file is one machine page mapped by the server and both clients
    by_all = [mp for mp, n in d.netremap.shared_pages().items()
              if {v for v, _ in d.netremap.sharers_of(mp)} == {0, 1, 2}]
    assert len(by_all) >= len(data) // PAGE
    pages = {d.m.ram8[mp << 12:(mp + 1) << 12].tobytes() for mp in by_all}
    assert sum(data[i:i + PAGE] in pages for i in range(0, len(data) - PAGE + 1, PAGE)) == len(data) // PAGE
    assert st["remapped_pages"] >= 2 * (len(data) // PAGE) and st["cow_copies"] == 0
    assert st["copied_bytes"] < len(data) // 4          # headers, listings, tails: not the data


def test_nfs_client_write_gets_a_private_copy(tmp_path):
    """A client that writes into a file page it shares with the server and the other client
    gets a private copy (the write traps: the page is write-protected); the others keep the original."""
    from flashvm.disco.nfs import NFS_PROGRAM, nfs_program
    from flashvm.disco.osvm import run_os_vms
    from flashvm.toolchain import build_user
    src = tmp_path / "nfssum.c"
    src.write_text(SUMFILE)
    data = _payload(9, 4 * PAGE)
    files = {"/srv/bin/sum": build_user([src], name="nfssum"), "/srv/d/f": data, NFS_PROGRAM: nfs_program()}
    client = [NFS_PROGRAM, "mount", "/nfs", "--", "/nfs/bin/sum"]
    argvs = [[NFS_PROGRAM, "serve", "/srv", "2"], client + ["-w", "/nfs/d/f"], client + ["/nfs/d/f"]]
    res, d, _ = run_os_vms(files, argvs[0], vms=3, argv_per_vm=argvs, nets=True, remap=True)
    assert [v.status for v in res] == [0, 0, 0], [v.verdict or v.stderr for v in res]
    changed = bytearray(data)
    changed[2 * PAGE + 10:2 * PAGE + 29] = b"written by a client"
    assert res[1].stdout.decode() == _expected("/nfs/d/f", bytes(changed))
    assert res[2].stdout.decode() == _expected("/nfs/d/f", data)
    assert d.netremap.stats()["cow_copies"] >= 1
    assert d.write_protection.faults >= 1


@pytest.mark.slow
def test_nfs_run_is_deterministic(tmp_path):
    a = _nfs_run(tmp_path)
    b = _nfs_run(tmp_path)
    assert a[1].netremap.stats() == b[1].netremap.stats()
    assert np.array_equal(a[1].m.pmap, b[1].m.pmap)
    assert np.array_equal(a[1].m.stats, b[1].m.stats)
    assert [v.stdout for v in a[0]] == [v.stdout for v in b[0]]


def test_exec_nfs_command_line(tmp_path):
    """`exec --os --vms 3 --nfs`: the clients run the program and read the file from /nfs; the
    result file has /disco/subnet; --nfs with one VM is a one-line error."""
    import subprocess
    import sys
    from pathlib import Path

    import h5py

    from flashvm.toolchain import build_user
    src = tmp_path / "nfssum.c"
    src.write_text(SUMFILE)
    exe = build_user([src], name="nfssum")
    data = _payload(77, 3 * PAGE + 100)
    (tmp_path / "blob").write_bytes(data)
    root = Path(__file__).parents[2]

    def cli(*args):
        return subprocess.run([sys.executable, "-m", "flashvm.cli", "exec", *args], capture_output=True,
                              timeout=600, cwd=root)
    p = cli("--os", "--vms", "3", "--nfs", "--machine", "flash8", "--results", str(tmp_path / "res"),
            "--file", f"/data/blob={tmp_path / 'blob'}", str(exe), "/nfs/data/blob")
    assert p.returncode == 0, p.stderr[-2000:]
    line = _expected("/nfs/data/blob", data).encode()
    assert b"[vm1] " + line in p.stdout and b"[vm2] " + line in p.stdout
    assert b"pages remapped" in p.stderr
    with h5py.File(next((tmp_path / "res").glob("*.h5"))) as f:
        a = f["disco/subnet"].attrs
        assert a["remapped_pages"] > 0 and a["shared_pages"] > 0 and a["cow_copies"] == 0
        assert "copied_frames" in a and "copied_bytes" in a
    p = cli("--os", "--vms", "1", "--nfs", str(exe))
    assert p.returncode != 0 and b"--nfs" in p.stderr and b"Traceback" not in p.stderr
