"""NET k and subnet register-level tests (docs/machine.md), with FakeHosts: no kernels, no guest."""
from __future__ import annotations

import hashlib

import pytest

from flashvm.machine.devhost import DmaError, FakeClock, FakeHost
from flashvm.machine.net import (
    BROADCAST, MAX_FRAME, NET_ACK, NET_IRQ_CPU, NET_IRQ_LINE, NET_MAC_HI, NET_MAC_LO, NET_RX_ADDR,
    NET_RX_CAP, NET_RX_CMD, NET_RX_LEN, NET_STATUS, NET_TX_ADDR, NET_TX_LEN,
    NET_TX_CMD, ST_ERROR, ST_RX_DONE, ST_RX_PENDING, ST_TX_DONE, Nic, Subnet, format_mac, net_base,
)

RAM = 1 << 20
LAT = 5_000
TXBUF = 0x1000
RXBUF = 0x20000


def w(n: Nic, off: int, v: int) -> None:
    n.write(off, 4, v)


def r(n: Nic, off: int) -> int:
    return n.read(off, 4)


def ramhash(h: FakeHost) -> str:
    return hashlib.sha256(h.ram8.tobytes()).hexdigest()


def frame(dst: bytes, src: bytes, payload: bytes) -> bytes:
    return dst + src + b"\x08\x00" + payload


def send(n: Nic, data: bytes, addr: int = TXBUF) -> None:
    n.host.poke(addr, data)
    w(n, NET_TX_ADDR, addr)
    w(n, NET_TX_LEN, len(data))
    w(n, NET_TX_CMD, 1)


def arm(n: Nic, addr: int = RXBUF, cap: int = 2048) -> None:
    w(n, NET_RX_ADDR, addr)
    w(n, NET_RX_CAP, cap)
    w(n, NET_RX_CMD, 1)


def received(n: Nic, addr: int = RXBUF) -> bytes:
    return n.host.peek(addr, r(n, NET_RX_LEN))


@pytest.fixture
def clock():
    return FakeClock()


def two(clock, **kw):
    """Two NICs on two hosts that share one clock (two machines / two VMs)."""
    s = Subnet()
    ha, hb = FakeHost(RAM, clock, "A"), FakeHost(RAM, clock, "B")
    return s, Nic(net_base(0), ha, s, **kw), Nic(net_base(0), hb, s, **kw)


# ---------------------------------------------------------------- MACs and registers

def test_macs_in_attach_order_and_registers(clock):
    h = FakeHost(RAM, clock)
    s = Subnet()
    a, b = Nic(net_base(0), h, s), Nic(net_base(1), h, s)
    c = Nic(net_base(2), h, s, mac="12:34:56:78:9a:bc")
    d = Nic(net_base(3), h, s)
    assert [format_mac(n.mac) for n in (a, b, c, d)] == [
        "02:00:00:00:00:01", "02:00:00:00:00:02", "12:34:56:78:9a:bc", "02:00:00:00:00:04"]
    assert b.base == 0x1F003100
    assert r(a, NET_MAC_LO) == 0x00000002 and r(a, NET_MAC_HI) == 0x0100
    assert r(c, NET_MAC_LO) == 0x78563412 and r(c, NET_MAC_HI) == 0xBC9A
    assert s.attach(a) == a.mac and len(s.nics) == 4          # attaching twice is harmless
    with pytest.raises(ValueError):
        Nic(0, h, s, mac="12:34:56:78:9a:bc")                   # duplicate
    with pytest.raises(ValueError):
        Nic(0, h, s, mac=BROADCAST)                             # group address
    s2 = Subnet()
    e = Nic(0, h, s2, mac=bytes([2, 0, 0, 0, 0, 1]))
    f = Nic(0, h, s2)                                           # 02:..:01 is taken: the next one
    assert format_mac(e.mac) == "02:00:00:00:00:01" and format_mac(f.mac) == "02:00:00:00:00:02"


def test_registers_read_back_and_status_starts_clear(clock):
    h = FakeHost(RAM, clock)
    n = Nic(net_base(0), h, Subnet(), irq_cpu=1)
    assert r(n, NET_IRQ_CPU) == 1 and r(n, NET_STATUS) == 0 and r(n, NET_RX_LEN) == 0
    for off, v in ((NET_TX_ADDR, 0x1234), (NET_TX_LEN, 60), (NET_RX_ADDR, 0x8000), (NET_RX_CAP, 1514),
                   (NET_IRQ_CPU, 2), (NET_TX_ADDR, -4)):
        w(n, off, v)
        assert r(n, off) == v & 0xFFFFFFFF
    assert n.guest_errors == 0


def test_register_misuse_is_counted_and_harmless(clock):
    h = FakeHost(RAM, clock)
    s = Subnet()
    n, m = Nic(net_base(0), h, s), Nic(net_base(1), h, s)
    mac = n.mac
    k = 0
    for off, size in ((NET_STATUS, 1), (NET_MAC_LO, 2), (0x03, 4), (0x30, 4), (0xFC, 4),
                      (NET_TX_CMD, 4), (NET_RX_CMD, 4), (NET_ACK, 4)):
        assert n.read(off, size) == 0
        k += 1
        assert n.guest_errors == k
    for off, size, v in ((NET_MAC_LO, 4, 0), (NET_MAC_HI, 4, 0), (NET_RX_LEN, 4, 9), (NET_STATUS, 4, 7),
                         (0x30, 4, 1), (NET_TX_CMD, 4, 2), (NET_RX_CMD, 4, 0), (NET_TX_CMD, 1, 1),
                         (NET_TX_LEN, 2, 5)):
        n.write(off, size, v)
        k += 1
        assert n.guest_errors == k
    assert n.mac == mac and r(n, NET_RX_LEN) == 0 and r(n, NET_STATUS) == 0 and r(n, NET_TX_LEN) == 0
    assert n.tx_frames == 0 and not n.armed and clock.pending() == 0 and m.guest_errors == 0
    assert n.stats()["guest_errors"] == k


# ---------------------------------------------------------------- exchange

def test_two_nics_exchange_frames_both_ways_with_exact_timing(clock):
    s, a, b = two(clock)
    arm(b)
    clock.advance(1000)
    f1 = frame(b.mac, a.mac, b"hello B" * 10)
    send(a, f1)
    assert r(a, NET_STATUS) == ST_TX_DONE and a.host.irq(0, NET_IRQ_LINE)   # TX_DONE at once
    t1 = 1000 + LAT + len(f1)
    clock.advance(t1 - 1)
    assert r(b, NET_STATUS) == 0 and not b.host.irq(0, NET_IRQ_LINE)
    clock.advance(t1)
    assert r(b, NET_STATUS) == ST_RX_DONE and b.host.irq(0, NET_IRQ_LINE)
    assert r(b, NET_RX_LEN) == len(f1) and received(b) == f1
    assert b.host.dma_log == [(t1, "w", RXBUF, len(f1))]
    assert a.host.ram8[RXBUF:RXBUF + 64].sum() == 0                 # A's memory is A's
    w(a, NET_ACK, ST_TX_DONE)
    w(b, NET_ACK, ST_RX_DONE)
    assert not a.host.irq(0, NET_IRQ_LINE) and not b.host.irq(0, NET_IRQ_LINE)
    # and back
    arm(a, 0x30000, 256)
    f2 = frame(a.mac, b.mac, b"hi A")
    send(b, f2, 0x5000)
    clock.advance(t1 + LAT + len(f2))
    assert r(a, NET_STATUS) == ST_RX_DONE and received(a, 0x30000) == f2
    assert r(b, NET_STATUS) == ST_TX_DONE
    assert a.stats() == {"tx_frames": 1, "rx_frames": 1, "tx_bytes": len(f1), "rx_bytes": len(f2),
                         "dropped": 0, "errors": 0, "rx_queued": 0, "guest_errors": 0}
    assert b.tx_frames == b.rx_frames == 1 and b.tx_bytes == len(f2) and b.rx_bytes == len(f1)
    assert a.host.irq_log == [(1000, "net", 0, NET_IRQ_LINE, True), (t1, "net", 0, NET_IRQ_LINE, False),
                              (t1 + LAT + len(f2), "net", 0, NET_IRQ_LINE, True)]
    assert s.stats() == {"nics": 2, "frames": 2, "deliveries": 2, "dropped": 0}


def test_ack_clears_only_the_bits_written(clock):
    s, a, b = two(clock)
    send(a, frame(a.mac, a.mac, b"loop"))                      # loopback to itself
    w(a, NET_TX_LEN, 0)
    w(a, NET_TX_CMD, 1)                                        # error
    arm(a)
    clock.run_all()
    assert r(a, NET_STATUS) == ST_TX_DONE | ST_RX_DONE | ST_ERROR
    w(a, NET_ACK, ST_TX_DONE | ST_RX_PENDING | 0xFFFFFF00)
    assert r(a, NET_STATUS) == ST_RX_DONE | ST_ERROR and a.host.irq(0, NET_IRQ_LINE)
    w(a, NET_ACK, ST_ERROR)
    assert a.host.irq(0, NET_IRQ_LINE)
    w(a, NET_ACK, ST_RX_DONE)
    assert r(a, NET_STATUS) == 0 and not a.host.irq(0, NET_IRQ_LINE)
    assert len(a.host.irq_log) == 2


def test_broadcast_reaches_every_other_nic(clock):
    s = Subnet()
    hosts = [FakeHost(RAM, clock, f"h{i}") for i in range(4)]
    nics = [Nic(net_base(0), h, s) for h in hosts]
    for n in nics:
        arm(n)
    f = frame(BROADCAST, nics[0].mac, b"who is there?")
    send(nics[0], f)
    clock.run_all()
    assert r(nics[0], NET_STATUS) == ST_TX_DONE and nics[0].rx_frames == 0
    for n in nics[1:]:
        assert r(n, NET_STATUS) == ST_RX_DONE and received(n) == f and n.host.irq(0, NET_IRQ_LINE)
        assert n.host.dma_log[0][0] == LAT + len(f)
    assert s.deliveries == 3 and s.dropped == 0


def test_unknown_unicast_and_runts_are_dropped_by_the_subnet(clock):
    s, a, b = two(clock)
    arm(b)
    send(a, frame(bytes([2, 0, 0, 0, 0, 99]), a.mac, b"nobody"))
    send(a, b"\x02\x00\x00")                                     # runt: no destination
    clock.run_all()
    assert s.dropped == 2 and s.deliveries == 0
    assert r(a, NET_STATUS) == ST_TX_DONE and a.tx_frames == 2  # the sender cannot tell
    assert r(b, NET_STATUS) == 0 and b.rx_frames == 0


def test_detached_nic_gets_nothing(clock):
    s, a, b = two(clock)
    arm(b)
    send(a, frame(b.mac, a.mac, b"x"))
    s.detach(b)                                                  # frame already on its way
    clock.run_all()
    assert b.rx_frames == 0 and b.dropped == 1 and r(b, NET_STATUS) == 0
    send(a, frame(b.mac, a.mac, b"y"))
    assert s.dropped == 1


# ---------------------------------------------------------------- RX queue

def test_rx_queue_and_pending_bit(clock):
    s, a, b = two(clock)
    frames = [frame(b.mac, a.mac, bytes([i]) * (10 + i)) for i in range(3)]
    for f in frames:
        send(a, f)
    clock.run_all()
    assert r(b, NET_STATUS) == ST_RX_PENDING and not b.host.irq(0, NET_IRQ_LINE)  # pending alone: no irq
    assert b.stats()["rx_queued"] == 3 and b.host.dma_log == []
    for i, f in enumerate(frames):
        arm(b)                                                   # delivers at once
        assert received(b) == f
        assert r(b, NET_STATUS) == ST_RX_DONE | (ST_RX_PENDING if i < 2 else 0)
        assert b.host.irq(0, NET_IRQ_LINE)
        w(b, NET_ACK, ST_RX_DONE)
        assert not b.host.irq(0, NET_IRQ_LINE)
    assert b.rx_frames == 3 and b.rx_bytes == sum(map(len, frames))
    arm(b)                                                       # armed, nothing queued
    assert b.armed and r(b, NET_STATUS) == 0
    send(a, frames[0])
    clock.run_all()
    assert r(b, NET_STATUS) == ST_RX_DONE and not b.armed      # one RX_CMD, one frame
    send(a, frames[1])
    clock.run_all()
    assert r(b, NET_STATUS) == ST_RX_DONE | ST_RX_PENDING and received(b) == frames[0]


def test_rx_queue_overflow_drops_new_frames(clock):
    s = Subnet()
    ha, hb = FakeHost(RAM, clock), FakeHost(RAM, clock)
    a, b = Nic(0, ha, s), Nic(0, hb, s, rx_queue=4)
    for i in range(6):
        send(a, frame(b.mac, a.mac, bytes([i])))
    clock.run_all()
    assert b.dropped == 2 and len(b.rxq) == 4 and b.rxq[-1][-1] == 3
    assert Nic(0, ha, s).rx_queue_max == 256


def test_frames_from_one_sender_arrive_in_order(clock):
    s, a, b = two(clock)
    big = frame(b.mac, a.mac, b"B" * 5000)
    small = frame(b.mac, a.mac, b"s")
    send(a, big)
    send(a, small, 0x9000)                                       # sent later, would be faster
    assert clock.next_time() == LAT + len(big)                  # not LAT + len(small)
    clock.advance(LAT + len(big) - 1)
    assert not b.rxq
    clock.advance(LAT + len(big))
    assert list(b.rxq) == [big, small]


def test_oversized_frame_is_dropped_with_error_and_receiver_stays_armed(clock):
    s, a, b = two(clock)
    big = frame(b.mac, a.mac, b"L" * 200)
    ok = frame(b.mac, a.mac, b"fits")
    b.host.ram8[:] = 0x11
    arm(b, RXBUF, 100)
    send(a, big)
    clock.run_all()
    assert r(b, NET_STATUS) == ST_ERROR and b.host.irq(0, NET_IRQ_LINE)
    assert b.dropped == 1 and b.rx_frames == 0 and b.armed and b.host.dma_log == []
    assert "RX_CAP" in b.last_error
    send(a, ok)
    clock.run_all()
    assert r(b, NET_STATUS) == ST_ERROR | ST_RX_DONE and received(b) == ok
    assert b.host.peek(RXBUF + len(ok), 4) == b"\x11" * 4


def test_frame_exactly_rx_cap_and_max_frame(clock):
    s, a, b = two(clock)
    f = frame(b.mac, a.mac, bytes(range(256)) * 255 + bytes(MAX_FRAME - 14 - 256 * 255))
    assert len(f) == MAX_FRAME
    arm(b, RXBUF, MAX_FRAME)
    send(a, f, 0x40000)
    clock.run_all()
    assert r(b, NET_STATUS) == ST_RX_DONE and r(b, NET_RX_LEN) == MAX_FRAME and received(b) == f
    assert b.host.dma_log[0][0] == LAT + MAX_FRAME


# ---------------------------------------------------------------- TX / RX errors

@pytest.mark.parametrize("addr,length", [
    (TXBUF, 0), (TXBUF, MAX_FRAME + 1), (TXBUF, 0xFFFFFFFF), (RAM, 1), (RAM - 10, 11), (0xFFFFFFF0, 64),
])
def test_tx_errors_send_nothing(clock, addr, length):
    s, a, b = two(clock)
    arm(b)
    before_a, before_b = ramhash(a.host), ramhash(b.host)
    w(a, NET_TX_ADDR, addr)
    w(a, NET_TX_LEN, length)
    w(a, NET_TX_CMD, 1)
    assert r(a, NET_STATUS) == ST_ERROR and a.host.irq(0, NET_IRQ_LINE)
    clock.run_all()
    assert s.frames == 0 and a.tx_frames == 0 and a.errors == 1 and b.rx_frames == 0
    assert a.host.dma_log == [] and ramhash(a.host) == before_a and ramhash(b.host) == before_b


def test_tx_ending_exactly_at_ram_end(clock):
    s, a, b = two(clock)
    f = frame(b.mac, a.mac, b"end")
    send(a, f, RAM - len(f))
    assert r(a, NET_STATUS) == ST_TX_DONE and s.frames == 1


@pytest.mark.parametrize("addr,cap", [(RAM, 1), (RAM - 100, 101), (RXBUF, 0), (0xFFFFFF00, 0x1000)])
def test_bad_rx_buffer_refused_at_arm_with_memory_untouched(clock, addr, cap):
    s, a, b = two(clock)
    send(a, frame(b.mac, a.mac, b"payload"))
    clock.run_all()
    before = ramhash(b.host)
    arm(b, addr, cap)
    assert r(b, NET_STATUS) == ST_ERROR | ST_RX_PENDING and b.host.irq(0, NET_IRQ_LINE)
    assert not b.armed and ramhash(b.host) == before and b.host.dma_log == [] and len(b.rxq) == 1


def test_host_refusing_dma(clock):
    class PickyHost(FakeHost):
        def dma_read(self, pa: int, n: int) -> bytes:
            raise DmaError("unmapped")

        def dma_write(self, pa: int, data: bytes) -> None:
            raise DmaError("unmapped")

    s = Subnet()
    p, q = PickyHost(RAM, clock), FakeHost(RAM, clock)
    a, b = Nic(0, p, s), Nic(0, q, s)
    send(a, frame(b.mac, a.mac, b"x"))
    assert r(a, NET_STATUS) == ST_ERROR and s.frames == 0
    arm(a)
    send(b, frame(a.mac, b.mac, b"y"))
    clock.run_all()
    assert r(a, NET_STATUS) == ST_ERROR and a.dropped == 1 and not a.armed and a.errors == 2


# ---------------------------------------------------------------- interrupts

def test_irq_cpu_routing(clock):
    s, a, b = two(clock, irq_cpu=2)
    send(a, frame(b.mac, a.mac, b"z"))
    assert a.host.irq(2, NET_IRQ_LINE) and not a.host.irq(0, NET_IRQ_LINE)
    w(a, NET_IRQ_CPU, 1)
    assert a.host.irq(1, NET_IRQ_LINE) and not a.host.irq(2, NET_IRQ_LINE)
    w(a, NET_ACK, 0xF)
    assert not a.host.irq(1, NET_IRQ_LINE)
    assert [(c, lv) for _, _, c, _, lv in a.host.irq_log] == [(2, True), (2, False), (1, True), (1, False)]


def test_nics_on_one_host_share_the_line(clock):
    h = FakeHost(RAM, clock)
    s = Subnet()
    a, b = Nic(net_base(0), h, s), Nic(net_base(1), h, s)
    send(a, frame(b.mac, a.mac, b"1"))
    send(b, frame(a.mac, b.mac, b"2"), 0x2000)
    w(a, NET_ACK, ST_TX_DONE)
    assert h.irq(0, NET_IRQ_LINE)
    w(b, NET_ACK, ST_TX_DONE)
    assert not h.irq(0, NET_IRQ_LINE)


# ---------------------------------------------------------------- determinism

def _script() -> tuple:
    clock = FakeClock()
    s = Subnet()
    hosts = [FakeHost(1 << 16, clock, f"h{i}") for i in range(3)]
    nics = [Nic(0, h, s, latency_ns=100 + 10 * i, ns_per_byte=1 + i) for i, h in enumerate(hosts)]
    log = []
    for step in range(60):
        src = nics[step % 3]
        dst = BROADCAST if step % 7 == 0 else nics[(step * 5 + 1) % 3].mac
        send(src, frame(dst, src.mac, bytes([step]) * (step % 50)), 0x100)
        clock.advance(clock.now + 37 * (step % 4))
        for i, n in enumerate(nics):
            st = r(n, NET_STATUS)
            log.append((clock.now, i, st))
            if st & ST_RX_DONE:
                log.append(received(n, 0x4000))
            w(n, NET_ACK, st)
            if step % 3 != i:
                arm(n, 0x4000, 40)
    clock.run_all()
    return (log, [h.irq_log for h in hosts], [h.dma_log for h in hosts], [n.stats() for n in nics],
            s.stats(), [ramhash(h) for h in hosts])


def test_same_sequence_same_events():
    a, b = _script(), _script()
    assert a == b
    assert sum(st["dropped"] for st in a[3]) > 0 and sum(st["rx_frames"] for st in a[3]) > 10
