"""The GDB remote serial protocol's framing: `$data#cc` packets with a modulo-256
checksum, `}`-escaping of `#$}*`, run-length encoding (`X*n`, decoded only: we
never send it), `+`/`-` acknowledgements and the out-of-band 0x03 interrupt.

    conn = PacketConn(sock)
    data = conn.receive()        # one packet's payload (bytes), INTERRUPT, or None at EOF
    conn.send(b"OK")
"""
from __future__ import annotations

import select
import socket

INTERRUPT = b"\x03"           # gdb's Ctrl-C, sent outside any packet
ESCAPE = 0x7D                 # '}': the next byte is XORed with 0x20
MUST_ESCAPE = frozenset(b"#$}*")


def checksum(data: bytes) -> int:
    """The packet checksum: the sum of the payload's bytes modulo 256."""
    return sum(data) & 0xFF


def escape(data: bytes) -> bytes:
    """`data` with '#', '$', '}' and '*' escaped, as a binary payload must be."""
    out = bytearray()
    for b in data:
        if b in MUST_ESCAPE:
            out += bytes((ESCAPE, b ^ 0x20))
        else:
            out.append(b)
    return bytes(out)


def unescape(data: bytes) -> bytes:
    """The binary payload of an `X` packet: undo escape()."""
    out = bytearray()
    it = iter(data)
    for b in it:
        out.append(next(it) ^ 0x20 if b == ESCAPE else b)
    return bytes(out)


def decode_rle(data: bytes) -> bytes:
    """Expand run-length encoding: `c*N` repeats c (N - 29) more times (N a printable byte)."""
    out = bytearray()
    i = 0
    while i < len(data):
        if data[i] == 0x2A and out and i + 1 < len(data):     # '*'
            out += out[-1:] * (data[i + 1] - 29)
            i += 2
        else:
            out.append(data[i])
            i += 1
    return bytes(out)


def frame(data: bytes) -> bytes:
    """`data` as a packet on the wire (data must already be escaped where needed)."""
    return b"$" + data + b"#" + b"%02x" % checksum(data)


class PacketConn:
    """One gdb connection: packets in and out, with acknowledgements until gdb
    asks for no-ack mode (QStartNoAckMode)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buf = bytearray()
        self.ack = True
        self.closed = False

    def _fill(self, block: bool) -> bool:
        """Read what the socket has (waiting for something when `block`); False at EOF."""
        if not block and not select.select([self.sock], [], [], 0)[0]:
            return True
        try:
            more = self.sock.recv(65536)
        except OSError:
            more = b""
        if not more:
            self.closed = True
            return False
        self.buf += more
        return True

    def interrupted(self) -> bool:
        """Without waiting: has gdb sent Ctrl-C (or hung up)?  Consumes the 0x03."""
        if not self._fill(block=False):
            return True
        i = self.buf.find(INTERRUPT)
        if i < 0:
            return False
        del self.buf[i]
        return True

    def receive(self) -> bytes | None:
        """The next packet's payload (checksum checked, `-` sent back on a bad one),
        INTERRUPT for a Ctrl-C, None when gdb has hung up."""
        while True:
            while self.buf and self.buf[0] not in b"$\x03":    # acks of what we sent, noise
                del self.buf[0]
            if self.buf[:1] == INTERRUPT:
                del self.buf[0]
                return INTERRUPT
            end = self.buf.find(b"#")
            if self.buf and end >= 0 and len(self.buf) >= end + 3:
                data = bytes(self.buf[1:end])
                sent = bytes(self.buf[end + 1:end + 3])
                del self.buf[:end + 3]
                if self.ack:
                    ok = sent.lower() == b"%02x" % checksum(data)
                    self._write(b"+" if ok else b"-")
                    if not ok:
                        continue
                return decode_rle(data)
            if not self._fill(block=True):
                return None

    def send(self, data: bytes) -> None:
        """Send one packet (escaped by the caller where binary) and, in ack mode, wait for its '+'."""
        for _ in range(8):
            self._write(frame(data))
            if not self.ack:
                return
            while not self.buf and self._fill(block=True):
                pass
            if not self.buf:
                return
            if self.buf[0] == ord("-"):               # gdb asks again
                del self.buf[0]
                continue
            if self.buf[0] == ord("+"):
                del self.buf[0]
            return

    def _write(self, raw: bytes) -> None:
        try:
            self.sock.sendall(raw)
        except OSError:
            self.closed = True

    def close(self) -> None:
        self.closed = True
        try:
            self.sock.close()
        except OSError:
            pass


__all__ = ["INTERRUPT", "PacketConn", "checksum", "decode_rle", "escape", "frame", "unescape"]
