"""NET k: a network interface on a simulated subnet (a hub shared by every interface of the run).

Register block (docs/machine.md, "NET k"), all registers 32-bit:

    0x00 MAC_LO   r    MAC bytes 0..3, byte 0 in bits 7..0 (a `sw` of it stores the bytes in order)
    0x04 MAC_HI   r    MAC bytes 4..5 in bits 15..0
    0x08 TX_ADDR  r/w  physical address of the frame to send
    0x0C TX_LEN   r/w  its length in bytes, 1..65536
    0x10 TX_CMD   w    1: send
    0x14 RX_ADDR  r/w  physical address of the receive buffer
    0x18 RX_CAP   r/w  its size in bytes
    0x1C RX_CMD   w    1: arm the receiver for one frame
    0x20 RX_LEN   r    length of the last frame received
    0x24 STATUS   r    bit 0 TX_DONE, bit 1 RX_DONE, bit 2 ERROR, bit 3 RX_PENDING
    0x28 ACK      w    bits to clear in STATUS (TX_DONE, RX_DONE, ERROR; RX_PENDING is not a latch)
    0x2C IRQ_CPU  r/w  CPU that receives HW3

Behaviour, including the choices the spec leaves open:

* Frames: the first 6 bytes are the destination MAC, the next 6 the source;
  the NIC sends the bytes as the guest wrote them (it does not fill in the
  source).  ff:ff:ff:ff:ff:ff is broadcast (every other attached NIC); any
  other destination is unicast to the NIC with that MAC (the sender itself
  included: loopback).  Unknown unicast and runt frames (< 6 bytes) are
  dropped by the subnet and counted in `Subnet.dropped`.
* TX_CMD=1 copies the frame at once: TX_LEN must be 1..65536 and
  [TX_ADDR, TX_ADDR+TX_LEN) inside RAM, else ERROR (+ HW3) and nothing is
  sent.  On success TX_DONE is set (+ HW3) immediately; the frame reaches
  its destination(s) at now + latency_ns + ns_per_byte * len (the SENDER's
  parameters).  A NIC's frames arrive in the order it sent them: a frame
  never arrives before the one sent before it (its time is raised to it).
* Delivery is scheduled on the DESTINATION's `host.schedule`.  NICs of a
  subnet may live on different hosts (machines, Disco VMs); all those hosts
  must share one global simulated clock, so a time computed from the
  sender's `now_ns()` means the same instant to the receiver.
* RX: an arriving frame joins the NIC's queue (at most `rx_queue` frames,
  default 256; overflow drops the new frame and counts it).  RX_CMD=1 checks
  the buffer (RX_CAP >= 1 and [RX_ADDR, RX_ADDR+RX_CAP) inside RAM, else
  ERROR and the receiver stays disarmed) and arms the receiver.  While armed
  and a frame is queued, the head frame is DMA'd to RX_ADDR (at once if one is
  already queued when RX_CMD is written), RX_LEN is set, RX_DONE is set
  (+ HW3) and the receiver disarms: one RX_CMD, one frame.
* A frame longer than RX_CAP is NOT truncated: it is dropped (counted in
  `dropped`), ERROR is set (+ HW3), and the receiver stays armed for the
  next queued frame.
* RX_PENDING reads 1 while frames wait in the queue.  It does not raise HW3:
  the line is high exactly while STATUS & (TX_DONE|RX_DONE|ERROR) != 0.  A
  driver's receive path is therefore: copy the frame out, ACK RX_DONE, then
  RX_CMD=1 again (which immediately delivers the next pending frame).
* Register misuse (size other than 4, unaligned or unknown offset, reading a
  write-only or writing a read-only register, TX_CMD/RX_CMD values other
  than 1) counts a guest error; reads return 0, writes are ignored.
* DMA goes through the host, one `dma_read`/`dma_write` per frame; a host
  that refuses a transfer with `DmaError` gives ERROR (the frame is not sent
  / is dropped and counted).
"""
from __future__ import annotations

import functools
from collections import deque

from flashvm.machine.devhost import DeviceHost, DmaError, IrqPin, dma_range_ok, word_access
from flashvm.machine.devices import Device
from flashvm.machine.layout import NET_BASE, NET_STRIDE

NET_IRQ_LINE = 3                # HW3 = Cause.IP5
MAX_FRAME = 65536
RX_QUEUE_FRAMES = 256
BROADCAST = b"\xff" * 6

# registers
NET_MAC_LO = 0x00
NET_MAC_HI = 0x04
NET_TX_ADDR = 0x08
NET_TX_LEN = 0x0C
NET_TX_CMD = 0x10
NET_RX_ADDR = 0x14
NET_RX_CAP = 0x18
NET_RX_CMD = 0x1C
NET_RX_LEN = 0x20
NET_STATUS = 0x24
NET_ACK = 0x28
NET_IRQ_CPU = 0x2C

# STATUS bits
ST_TX_DONE = 1
ST_RX_DONE = 2
ST_ERROR = 4
ST_RX_PENDING = 8
ST_LATCHED = ST_TX_DONE | ST_RX_DONE | ST_ERROR


def net_base(k: int) -> int:
    return NET_BASE + NET_STRIDE * k


def parse_mac(mac: bytes | str) -> bytes:
    """b'\\x02...' (6 bytes) or '02:00:00:00:00:01' -> 6 bytes."""
    if isinstance(mac, str):
        parts = mac.replace("-", ":").split(":")
        if len(parts) != 6:
            raise ValueError(f"bad MAC {mac!r}")
        mac = bytes(int(p, 16) for p in parts)
    mac = bytes(mac)
    if len(mac) != 6:
        raise ValueError(f"a MAC has 6 bytes, not {len(mac)}")
    return mac


def format_mac(mac: bytes) -> str:
    return ":".join(f"{b:02x}" for b in mac)


class Subnet:
    """A hub: frames go to the NIC owning the destination MAC, or to every other NIC for broadcast."""

    def __init__(self) -> None:
        self.nics: list[Nic] = []
        self._by_mac: dict[bytes, Nic] = {}
        self._attached = 0                  # attaches so far: numbers the automatic MACs
        self.frames = 0                     # frames handed to the hub
        self.deliveries = 0                 # frame copies scheduled to receivers
        self.dropped = 0                    # unknown unicast and runt frames

    def attach(self, nic: "Nic", mac: bytes | str | None = None) -> bytes:
        """Connect `nic`; give it `mac`, its own `nic.mac`, or 02:00:00:00:00:NN (NN = attach order, from 1)."""
        if nic in self.nics:
            return nic.mac
        self._attached += 1
        if mac is None:
            mac = nic.mac
        if mac is None:
            n = self._attached
            while True:
                mac = bytes([2, 0, 0, 0, (n >> 8) & 0xFF, n & 0xFF])
                if mac not in self._by_mac:
                    break
                n += 1
        mac = parse_mac(mac)
        if mac[0] & 1:
            raise ValueError(f"{format_mac(mac)} is a group address, not an interface's")
        if mac in self._by_mac:
            raise ValueError(f"MAC {format_mac(mac)} is already on this subnet")
        nic.mac = mac
        nic.subnet = self
        self.nics.append(nic)
        self._by_mac[mac] = nic
        return mac

    def detach(self, nic: "Nic") -> None:
        """Disconnect `nic`; frames already on their way to it are dropped on arrival."""
        if nic in self.nics:
            self.nics.remove(nic)
            del self._by_mac[nic.mac]
            nic.subnet = None

    def send(self, src: "Nic", frame: bytes, at_ns: int) -> int:
        """Deliver `frame` from `src` at simulated time `at_ns`; returns the number of receivers."""
        self.frames += 1
        dst = frame[:6]
        if len(frame) < 6:
            targets = []
        elif dst == BROADCAST:
            targets = [n for n in self.nics if n is not src]
        else:
            n = self._by_mac.get(dst)
            targets = [n] if n is not None else []
        if not targets and dst != BROADCAST:
            self.dropped += 1
        for n in targets:
            n.host.schedule(at_ns, functools.partial(n._arrive, frame))
        self.deliveries += len(targets)
        return len(targets)

    def stats(self) -> dict[str, int]:
        return {"nics": len(self.nics), "frames": self.frames, "deliveries": self.deliveries,
                "dropped": self.dropped}


class Nic(Device):
    """A network interface on `host`, attached to `subnet` at construction."""
    name = "net"

    def __init__(self, base: int, host: DeviceHost, subnet: Subnet, *, mac: bytes | str | None = None,
                 irq_cpu: int = 0, latency_ns: int = 5_000, ns_per_byte: int = 1,
                 rx_queue: int = RX_QUEUE_FRAMES):
        super().__init__(base)
        self.host = host
        self.latency_ns = int(latency_ns)
        self.ns_per_byte = int(ns_per_byte)
        self.rx_queue_max = rx_queue
        self.irq = IrqPin(host, self, NET_IRQ_LINE, irq_cpu)
        self.mac: bytes = parse_mac(mac) if mac is not None else None  # type: ignore[assignment]
        self.subnet: Subnet | None = None
        # registers
        self.tx_addr = 0
        self.tx_len = 0
        self.rx_addr = 0
        self.rx_cap = 0
        self.rx_len = 0
        self._latched = 0                   # TX_DONE | RX_DONE | ERROR
        self.armed = False
        self.rxq: deque[bytes] = deque()
        self._last_arrival = 0              # keeps this NIC's frames in order on the wire
        self.last_error = ""
        # counters
        self.tx_frames = 0
        self.rx_frames = 0
        self.tx_bytes = 0
        self.rx_bytes = 0
        self.dropped = 0
        self.errors = 0
        subnet.attach(self)

    # ------------------------------------------------------------ registers
    @property
    def status(self) -> int:
        return self._latched | (ST_RX_PENDING if self.rxq else 0)

    @property
    def irq_cpu(self) -> int:
        return self.irq.cpu

    def read(self, offset: int, size: int) -> int:
        if word_access(offset, size):
            if offset == NET_MAC_LO:
                return int.from_bytes(self.mac[0:4], "little")
            if offset == NET_MAC_HI:
                return int.from_bytes(self.mac[4:6], "little")
            if offset == NET_TX_ADDR:
                return self.tx_addr
            if offset == NET_TX_LEN:
                return self.tx_len
            if offset == NET_RX_ADDR:
                return self.rx_addr
            if offset == NET_RX_CAP:
                return self.rx_cap
            if offset == NET_RX_LEN:
                return self.rx_len
            if offset == NET_STATUS:
                return self.status
            if offset == NET_IRQ_CPU:
                return self.irq.cpu
        self.guest_errors += 1              # unknown, write-only (TX_CMD, RX_CMD, ACK) or badly sized
        return 0

    def write(self, offset: int, size: int, value: int) -> None:
        value &= 0xFFFFFFFF
        if word_access(offset, size):
            if offset == NET_TX_ADDR:
                self.tx_addr = value
                return
            if offset == NET_TX_LEN:
                self.tx_len = value
                return
            if offset == NET_RX_ADDR:
                self.rx_addr = value
                return
            if offset == NET_RX_CAP:
                self.rx_cap = value
                return
            if offset == NET_TX_CMD and value == 1:
                self._transmit()
                return
            if offset == NET_RX_CMD and value == 1:
                self._arm()
                return
            if offset == NET_ACK:
                self._latched &= ~value & ST_LATCHED
                self._update_irq()
                return
            if offset == NET_IRQ_CPU:
                self.irq.cpu = value
                return
        self.guest_errors += 1              # unknown, read-only (MAC, RX_LEN, STATUS), bad value or size

    # ------------------------------------------------------------ behaviour
    def _update_irq(self) -> None:
        self.irq.drive(self._latched != 0)

    def _error(self, why: str) -> None:
        self._latched |= ST_ERROR
        self.errors += 1
        self.last_error = why
        self._update_irq()

    def _transmit(self) -> None:
        n = self.tx_len
        if not 1 <= n <= MAX_FRAME:
            return self._error(f"TX_LEN {n} not in 1..{MAX_FRAME}")
        if not dma_range_ok(self.host, self.tx_addr, n):
            return self._error(f"TX buffer {self.tx_addr:#x}+{n} outside RAM")
        try:
            frame = bytes(self.host.dma_read(self.tx_addr, n))
        except DmaError as e:
            return self._error(f"TX DMA refused: {e}")
        self.tx_frames += 1
        self.tx_bytes += n
        self._latched |= ST_TX_DONE
        self._update_irq()
        at = self.host.now_ns() + self.latency_ns + self.ns_per_byte * n
        at = max(at, self._last_arrival)
        self._last_arrival = at
        if self.subnet is not None:
            self.subnet.send(self, frame, at)

    def _arm(self) -> None:
        if self.rx_cap < 1 or not dma_range_ok(self.host, self.rx_addr, self.rx_cap):
            self.armed = False
            return self._error(f"RX buffer {self.rx_addr:#x}+{self.rx_cap} outside RAM or empty")
        self.armed = True
        self._deliver()

    def _arrive(self, frame: bytes) -> None:
        """A frame reaches this NIC (called from the host's event queue)."""
        if self.subnet is None or len(self.rxq) >= self.rx_queue_max:
            self.dropped += 1
            return
        self.rxq.append(frame)
        self._deliver()

    def _deliver(self) -> None:
        while self.armed and self.rxq:
            frame = self.rxq.popleft()
            if len(frame) > self.rx_cap:
                self.dropped += 1
                self._error(f"frame of {len(frame)} bytes > RX_CAP {self.rx_cap}: dropped")
                continue
            try:
                self.host.dma_write(self.rx_addr, frame)
            except DmaError as e:
                self.dropped += 1
                self.armed = False
                return self._error(f"RX DMA refused: {e}")
            self.armed = False
            self.rx_len = len(frame)
            self.rx_frames += 1
            self.rx_bytes += len(frame)
            self._latched |= ST_RX_DONE
            self._update_irq()

    # ------------------------------------------------------------ statistics
    def stats(self) -> dict[str, int]:
        return {
            "tx_frames": self.tx_frames,
            "rx_frames": self.rx_frames,
            "tx_bytes": self.tx_bytes,
            "rx_bytes": self.rx_bytes,
            "dropped": self.dropped,
            "errors": self.errors,
            "rx_queued": len(self.rxq),
            "guest_errors": self.guest_errors,
        }
