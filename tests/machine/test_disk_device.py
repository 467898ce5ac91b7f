"""DISK k register-level tests (docs/machine.md), with a FakeHost: no kernels, no guest."""
from __future__ import annotations

import hashlib
import os

import pytest

from flashvm.machine.devhost import DeviceHost, DmaError, FakeHost
from flashvm.machine.disk import (
    CMD_FLUSH, CMD_READ, CMD_WRITE, DISK_ACK, DISK_ADDR, DISK_CAPACITY, DISK_CMD, DISK_COUNT,
    DISK_IRQ_CPU, DISK_IRQ_LINE, DISK_SECTOR, DISK_STATUS, ERR_BAD_CMD, ERR_BUSY, ERR_COUNT, ERR_DMA,
    ERR_RANGE, ERR_READONLY, SECTOR_BYTES, ST_BUSY, ST_DONE, ST_ERROR, Disk, disk_base,
)

NSECT = 64
RAM = 1 << 20
LAT = 100_000
NSB = 10


def pattern(sector: int) -> bytes:
    """Sector `sector` of the test image: its number then a byte ramp."""
    return sector.to_bytes(4, "little") + bytes((sector * 7 + i) & 0xFF for i in range(SECTOR_BYTES - 4))


@pytest.fixture
def image(tmp_path):
    p = tmp_path / "disk.img"
    p.write_bytes(b"".join(pattern(s) for s in range(NSECT)))
    return p


@pytest.fixture
def host():
    return FakeHost(RAM)


def ramhash(h: FakeHost) -> str:
    return hashlib.sha256(h.ram8.tobytes()).hexdigest()


def filehash(p) -> str:
    return hashlib.sha256(open(p, "rb").read()).hexdigest()


def w(d: Disk, off: int, v: int) -> None:
    d.write(off, 4, v)


def r(d: Disk, off: int) -> int:
    return d.read(off, 4)


def request(d: Disk, cmd: int, sector: int = 0, count: int = 1, addr: int = 0x1000) -> None:
    w(d, DISK_SECTOR, sector)
    w(d, DISK_COUNT, count)
    w(d, DISK_ADDR, addr)
    w(d, DISK_CMD, cmd)


def done_at(start: int, count: int) -> int:
    return start + LAT + NSB * count * SECTOR_BYTES


def code(d: Disk) -> int:
    return (r(d, DISK_STATUS) >> 8) & 0xFF


# ---------------------------------------------------------------- registers

def test_fakehost_is_a_devicehost(host):
    assert isinstance(host, DeviceHost)


def test_registers_read_back(host, image):
    d = Disk(disk_base(3), host, image)
    assert d.base == 0x1F002300 and d.size == 0x100
    assert r(d, DISK_CAPACITY) == NSECT
    assert r(d, DISK_STATUS) == 0
    assert r(d, DISK_IRQ_CPU) == 0
    for off, v in ((DISK_SECTOR, 17), (DISK_COUNT, 3), (DISK_ADDR, 0x2000), (DISK_IRQ_CPU, 5)):
        w(d, off, v)
        assert r(d, off) == v
    w(d, DISK_SECTOR, -1)            # values are 32-bit (the kernel may hand over sign-extended words)
    assert r(d, DISK_SECTOR) == 0xFFFFFFFF
    assert d.guest_errors == 0
    assert Disk(0, host, image, irq_cpu=2).read(DISK_IRQ_CPU, 4) == 2


def test_register_misuse_is_counted_and_harmless(host, image):
    d = Disk(disk_base(0), host, image)
    w(d, DISK_SECTOR, 5)
    before = ramhash(host)
    n = 0
    for off, size in ((DISK_SECTOR, 1), (DISK_SECTOR, 2), (DISK_SECTOR, 8), (0x02, 4), (0x20, 4), (0xFC, 4),
                      (DISK_CMD, 4), (DISK_ACK, 4)):
        assert d.read(off, size) == 0
        n += 1
        assert d.guest_errors == n
    for off, size in ((DISK_SECTOR, 1), (DISK_SECTOR, 2), (0x01, 4), (0x20, 4), (DISK_STATUS, 4),
                      (DISK_CAPACITY, 4), (DISK_CMD, 2)):
        d.write(off, size, 0x77)
        n += 1
        assert d.guest_errors == n
    assert r(d, DISK_SECTOR) == 5 and r(d, DISK_CAPACITY) == NSECT and r(d, DISK_STATUS) == 0
    assert host.clock.pending() == 0 and ramhash(host) == before
    assert d.stats()["guest_errors"] == n


# ---------------------------------------------------------------- READ / WRITE / FLUSH

def test_read_timing_dma_and_irq_sequence(host, image):
    d = Disk(disk_base(0), host, image)
    host.advance(1234)
    request(d, CMD_READ, sector=5, count=3, addr=0x4000)
    t = done_at(1234, 3)
    assert r(d, DISK_STATUS) == ST_BUSY
    assert host.peek(0x4000, 3 * SECTOR_BYTES) == bytes(3 * SECTOR_BYTES)   # nothing moved yet
    host.advance(t - 1)
    assert r(d, DISK_STATUS) == ST_BUSY and not host.irq(0, DISK_IRQ_LINE)
    host.advance(t)
    assert r(d, DISK_STATUS) == ST_DONE
    assert host.irq(0, DISK_IRQ_LINE)
    assert host.peek(0x4000, 3 * SECTOR_BYTES) == pattern(5) + pattern(6) + pattern(7)
    assert host.peek(0x4000 + 3 * SECTOR_BYTES, 16) == bytes(16)
    assert host.dma_log == [(t, "w", 0x4000, 3 * SECTOR_BYTES)]
    w(d, DISK_ACK, 0)
    assert r(d, DISK_STATUS) == 0 and not host.irq(0, DISK_IRQ_LINE)
    assert host.irq_log == [(t, "disk", 0, DISK_IRQ_LINE, True), (t, "disk", 0, DISK_IRQ_LINE, False)]
    assert d.stats() == {"reads": 1, "writes": 0, "flushes": 0, "sectors_read": 3, "sectors_written": 0,
                         "errors": 0, "busy_ns": t - 1234, "guest_errors": 0, "overlay_sectors": 0}


def test_write_captures_memory_at_completion(host, image):
    d = Disk(disk_base(0), host, image)
    host.poke(0x8000, b"A" * 1024)
    request(d, CMD_WRITE, sector=10, count=2, addr=0x8000)
    t = done_at(0, 2)
    host.advance(t // 2)
    host.poke(0x8000, b"B" * 4)                      # changed while BUSY: the new bytes are written
    assert open(image, "rb").read()[10 * 512: 10 * 512 + 4] == pattern(10)[:4]
    host.advance(t)
    assert r(d, DISK_STATUS) == ST_DONE and host.irq(0, DISK_IRQ_LINE)
    assert host.dma_log == [(t, "r", 0x8000, 1024)]
    w(d, DISK_ACK, 0)
    # read back through the device
    request(d, CMD_READ, sector=9, count=4, addr=0x10000)
    host.advance(host.now_ns() + LAT + NSB * 4 * 512)
    assert host.peek(0x10000, 4 * 512) == pattern(9) + b"BBBB" + b"A" * 1020 + pattern(12)
    assert d.writes == 1 and d.sectors_written == 2 and d.reads == 1 and d.sectors_read == 4


def test_persistence_across_close_and_reopen(host, image):
    d = Disk(disk_base(0), host, image)
    host.poke(0x3000, bytes(range(256)) * 2)
    request(d, CMD_WRITE, sector=NSECT - 1, count=1, addr=0x3000)
    host.run_all()
    assert r(d, DISK_STATUS) == ST_DONE
    d.close()
    raw = open(image, "rb").read()
    assert len(raw) == NSECT * 512
    assert raw[(NSECT - 1) * 512:] == bytes(range(256)) * 2
    assert raw[:(NSECT - 1) * 512] == b"".join(pattern(s) for s in range(NSECT - 1))
    h2 = FakeHost(RAM)
    d2 = Disk(disk_base(0), h2, image, readonly=True)
    request(d2, CMD_READ, sector=NSECT - 1, count=1, addr=0)
    h2.run_all()
    assert h2.peek(0, 512) == bytes(range(256)) * 2
    d2.close()


def test_close_completes_a_request_in_flight(host, image):
    d = Disk(disk_base(0), host, image)
    host.poke(0, b"Z" * 512)
    request(d, CMD_WRITE, sector=0, count=1, addr=0)
    d.close()
    assert open(image, "rb").read(512) == b"Z" * 512
    host.run_all()                                   # the stale completion event is a no-op
    assert d.writes == 1
    w(d, DISK_CMD, CMD_READ)                         # a closed disk takes no commands
    assert d.guest_errors == 1 and d.reads == 0


def test_flush(host, image):
    d = Disk(disk_base(0), host, image, latency_ns=777)
    w(d, DISK_SECTOR, 999999)                        # FLUSH ignores SECTOR, COUNT and ADDR
    w(d, DISK_COUNT, 0)
    w(d, DISK_ADDR, 0xFFFFFFFF)
    host.advance(50)
    w(d, DISK_CMD, CMD_FLUSH)
    assert r(d, DISK_STATUS) == ST_BUSY
    host.advance(50 + 776)
    assert r(d, DISK_STATUS) == ST_BUSY
    host.advance(50 + 777)
    assert r(d, DISK_STATUS) == ST_DONE and host.irq(0, DISK_IRQ_LINE)
    assert d.flushes == 1 and d.busy_ns == 777 and d.errors == 0


def test_max_count_and_last_sector(host, tmp_path):
    p = tmp_path / "big.img"
    d = Disk(disk_base(0), host, p, create_size=300 * 512, latency_ns=0, ns_per_byte=0)
    assert p.stat().st_size == 300 * 512 and r(d, DISK_CAPACITY) == 300
    host.poke(0, b"\x5a" * 256 * 512)
    request(d, CMD_WRITE, sector=300 - 256, count=256, addr=0)
    host.run_all()
    assert r(d, DISK_STATUS) == ST_DONE and d.sectors_written == 256
    d.close()
    assert open(p, "rb").read()[(300 - 256) * 512:] == b"\x5a" * 256 * 512


def test_create_size_makes_a_sparse_file_only_if_missing(host, tmp_path, image):
    p = tmp_path / "new.img"
    d = Disk(disk_base(0), host, p, create_size=1 << 30)
    assert r(d, DISK_CAPACITY) == (1 << 30) // 512
    st = os.stat(p)
    assert st.st_size == 1 << 30
    if hasattr(st, "st_blocks"):
        assert st.st_blocks * 512 < (1 << 20)        # sparse
    request(d, CMD_READ, sector=(1 << 21) - 1, count=1, addr=0)
    host.run_all()
    assert r(d, DISK_STATUS) == ST_DONE and host.peek(0, 512) == bytes(512)
    d.close()
    d2 = Disk(disk_base(0), host, image, create_size=4096)   # exists: untouched
    assert r(d2, DISK_CAPACITY) == NSECT
    d2.close()


# ---------------------------------------------------------------- errors

@pytest.mark.parametrize("cmd,sector,count,addr,err", [
    (0, 0, 1, 0, ERR_BAD_CMD),
    (4, 0, 1, 0, ERR_BAD_CMD),
    (0xFFFFFFFF, 0, 1, 0, ERR_BAD_CMD),
    (CMD_READ, NSECT, 1, 0, ERR_RANGE),
    (CMD_READ, NSECT - 2, 3, 0, ERR_RANGE),
    (CMD_WRITE, 0xFFFFFFFF, 1, 0, ERR_RANGE),
    (CMD_READ, 0, 1, RAM, ERR_DMA),
    (CMD_READ, 0, 2, RAM - 512, ERR_DMA),
    (CMD_WRITE, 0, 1, 0xFFFFFE00, ERR_DMA),
    (CMD_READ, 0, 0, 0, ERR_COUNT),
    (CMD_WRITE, 0, 257, 0, ERR_COUNT),
    (CMD_READ, 0, 0xFFFFFFFF, 0, ERR_COUNT),
])
def test_errors_are_immediate_and_touch_nothing(host, image, cmd, sector, count, addr, err):
    d = Disk(disk_base(0), host, image)
    host.ram8[:] = 0xEE
    before_ram, before_file = ramhash(host), filehash(image)
    host.advance(500)
    request(d, cmd, sector, count, addr)
    assert r(d, DISK_STATUS) == ST_ERROR | (err << 8)
    assert host.irq(0, DISK_IRQ_LINE)
    assert host.irq_log == [(500, "disk", 0, DISK_IRQ_LINE, True)]
    assert host.clock.pending() == 0
    host.run_all()
    assert ramhash(host) == before_ram and filehash(image) == before_file and host.dma_log == []
    assert d.errors == 1 and d.reads == d.writes == 0 and d.guest_errors == 0
    w(d, DISK_ACK, 0)
    assert r(d, DISK_STATUS) == 0 and not host.irq(0, DISK_IRQ_LINE)
    request(d, CMD_READ, 0, 1, 0)                     # the controller still works
    host.run_all()
    assert r(d, DISK_STATUS) == ST_DONE and host.peek(0, 512) == pattern(0)


def test_buffer_ending_exactly_at_ram_end_is_fine(host, image):
    d = Disk(disk_base(0), host, image)
    request(d, CMD_READ, 1, 2, RAM - 1024)
    host.run_all()
    assert r(d, DISK_STATUS) == ST_DONE and host.peek(RAM - 1024, 1024) == pattern(1) + pattern(2)


def test_busy_error_leaves_the_request_in_flight(host, image):
    d = Disk(disk_base(0), host, image)
    request(d, CMD_READ, 2, 1, 0x100)
    t = done_at(0, 1)
    host.advance(10)
    request(d, CMD_WRITE, 3, 1, 0x100)               # while BUSY
    assert r(d, DISK_STATUS) == ST_BUSY | ST_ERROR | (ERR_BUSY << 8)
    assert host.irq(0, DISK_IRQ_LINE)
    w(d, DISK_ACK, 0)                                 # ACK clears ERROR, not BUSY
    assert r(d, DISK_STATUS) == ST_BUSY and not host.irq(0, DISK_IRQ_LINE)
    host.advance(t)
    assert r(d, DISK_STATUS) == ST_DONE and host.peek(0x100, 512) == pattern(2)
    assert d.reads == 1 and d.writes == 0 and d.errors == 1
    assert [e[0] for e in host.irq_log] == [10, 10, t]


def test_readonly_refuses_writes_but_reads(host, image):
    before = filehash(image)
    d = Disk(disk_base(0), host, image, readonly=True)
    host.poke(0, b"X" * 512)
    request(d, CMD_WRITE, 0, 1, 0)
    assert r(d, DISK_STATUS) == ST_ERROR | (ERR_READONLY << 8)
    w(d, DISK_ACK, 0)
    request(d, CMD_READ, 0, 1, 0)
    request(d, CMD_FLUSH)                             # busy
    assert code(d) == ERR_BUSY
    w(d, DISK_ACK, 0)
    host.run_all()
    assert r(d, DISK_STATUS) == ST_DONE and host.peek(0, 512) == pattern(0)
    w(d, DISK_ACK, 0)
    request(d, CMD_FLUSH)
    host.run_all()
    assert r(d, DISK_STATUS) == ST_DONE
    d.close()
    assert filehash(image) == before


def test_host_refusing_dma_at_completion_is_error_3(image):
    class PickyHost(FakeHost):
        def dma_write(self, pa: int, data: bytes) -> None:
            raise DmaError("unmapped page")

    h = PickyHost(RAM)
    d = Disk(disk_base(0), h, image)
    request(d, CMD_READ, 0, 1, 0)
    h.run_all()
    assert r(d, DISK_STATUS) == ST_ERROR | (ERR_DMA << 8)
    assert h.irq(0, DISK_IRQ_LINE) and d.reads == 0 and d.errors == 1
    assert not h.ram8.any()


def test_error_code_is_replaced_by_the_latest_error(host, image):
    d = Disk(disk_base(0), host, image)
    request(d, 9)
    request(d, CMD_READ, 0, 0, 0)
    assert r(d, DISK_STATUS) == ST_ERROR | (ERR_COUNT << 8)
    assert len(host.irq_log) == 1                     # the line was already high
    assert d.errors == 2


# ---------------------------------------------------------------- interrupt routing

def test_irq_cpu_routes_and_moves_a_raised_line(host, image):
    d = Disk(disk_base(0), host, image)
    w(d, DISK_IRQ_CPU, 1)
    request(d, CMD_READ, 0, 1, 0)
    host.run_all()
    assert host.irq(1, DISK_IRQ_LINE) and not host.irq(0, DISK_IRQ_LINE)
    w(d, DISK_IRQ_CPU, 3)
    assert host.irq(3, DISK_IRQ_LINE) and not host.irq(1, DISK_IRQ_LINE)
    w(d, DISK_ACK, 0)
    assert not any(host.irq(c, DISK_IRQ_LINE) for c in range(4))
    assert [(c, lv) for _, _, c, _, lv in host.irq_log] == [(1, True), (1, False), (3, True), (3, False)]


def test_two_disks_share_the_line(host, image, tmp_path):
    p2 = tmp_path / "d2.img"
    p2.write_bytes(bytes(4096))
    d0 = Disk(disk_base(0), host, image)
    d1 = Disk(disk_base(1), host, p2, latency_ns=10)
    request(d0, CMD_READ, 0, 1, 0)
    request(d1, CMD_READ, 0, 1, 0x1000)
    host.run_all()
    w(d1, DISK_ACK, 0)
    assert host.irq(0, DISK_IRQ_LINE)                 # d0 still drives it
    w(d0, DISK_ACK, 0)
    assert not host.irq(0, DISK_IRQ_LINE)


# ---------------------------------------------------------------- overlay

def test_overlay_keeps_writes_in_memory_and_discards_them(host, image):
    before = filehash(image)
    d = Disk(disk_base(0), host, image, overlay=True)
    host.poke(0, b"O" * 1024)
    request(d, CMD_WRITE, 4, 2, 0)
    host.run_all()
    assert r(d, DISK_STATUS) == ST_DONE
    w(d, DISK_ACK, 0)
    assert filehash(image) == before and d.stats()["overlay_sectors"] == 2
    request(d, CMD_READ, 3, 4, 0x2000)               # mixes base and overlay sectors
    host.run_all()
    assert host.peek(0x2000, 4 * 512) == pattern(3) + b"O" * 1024 + pattern(6)
    w(d, DISK_ACK, 0)
    request(d, CMD_FLUSH)
    host.run_all()
    assert r(d, DISK_STATUS) == ST_DONE
    d.close()
    assert filehash(image) == before
    d2 = Disk(disk_base(0), host, image, overlay=True)
    request(d2, CMD_READ, 4, 1, 0x4000)
    host.run_all()
    assert host.peek(0x4000, 512) == pattern(4)


def test_overlay_on_a_readonly_file(host, image):
    os.chmod(image, 0o444)
    try:
        d = Disk(disk_base(0), host, image, overlay=True)
        request(d, CMD_WRITE, 0, 1, 0)
        host.run_all()
        assert r(d, DISK_STATUS) == ST_DONE
        d.close()
        dr = Disk(disk_base(0), host, image, overlay=True, readonly=True)
        request(dr, CMD_WRITE, 0, 1, 0)
        assert code(dr) == ERR_READONLY
        dr.close()
    finally:
        os.chmod(image, 0o644)


# ---------------------------------------------------------------- determinism

def _script(image_path) -> tuple:
    h = FakeHost(1 << 16)
    d = Disk(disk_base(0), h, image_path, overlay=True, latency_ns=1000, ns_per_byte=3)
    events = []
    orig = h.schedule
    h.schedule = lambda at, fn: (events.append(at), orig(at, fn))  # type: ignore[method-assign]
    for i in range(20):
        h.advance(h.now_ns() + 137 * i)
        if r(d, DISK_STATUS) & ST_BUSY:
            request(d, CMD_READ, i, 1, 0)              # busy error
            continue
        w(d, DISK_ACK, 0)
        h.poke(i * 512, bytes([i]) * 512)
        request(d, (CMD_READ, CMD_WRITE, CMD_FLUSH)[i % 3], i % NSECT, 1 + i % 5, i * 512)
    h.run_all()
    return events, h.irq_log, h.dma_log, d.stats(), hashlib.sha256(h.ram8.tobytes()).hexdigest()


def test_same_sequence_same_events(image):
    a, b = _script(image), _script(image)
    assert a == b
    assert len(a[0]) > 5 and a[3]["errors"] > 0
