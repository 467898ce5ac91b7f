"""The guest OS's framed console, host side.

The kernel sends every chunk as ``0x00, stream, len_lo, len_hi, bytes``
(stream 1 = stdout, 2 = stderr, 3 = kernel log) so the host can keep the
streams apart on the single UART; bytes outside a frame (early boot) count
as kernel log.
"""
from __future__ import annotations

import sys
from typing import Mapping

from flashvm.machine.devices import ByteSink


class ConsoleDemux:
    """A byte sink for the UART that splits the kernel's framed console output.

    `live`: False, True (stream 1 to stdout, 2 and 3 to stderr as they come) or
    a mapping {stream: binary sink} (streams not in it are only collected)."""

    def __init__(self, live: bool | Mapping[int, ByteSink] = False):
        self.streams = {1: bytearray(), 2: bytearray(), 3: bytearray()}
        self.raw = bytearray()
        if live is True:
            live = {1: sys.stdout.buffer, 2: sys.stderr.buffer, 3: sys.stderr.buffer}
        self.live: dict = dict(live or {})
        self._hdr: list[int] = []
        self._left = 0
        self._stream = 0

    def write(self, b: bytes) -> int:
        for byte in b:
            self._byte(byte)
        return len(b)

    def flush(self) -> None:
        pass

    def _byte(self, byte: int) -> None:
        if self._left:
            self.streams.setdefault(self._stream, bytearray()).append(byte)
            self._left -= 1
            s = self.live.get(self._stream)
            if s is not None:
                s.write(bytes([byte]))
                if not self._left:
                    s.flush()
            return
        if not self._hdr and byte != 0:
            self.raw.append(byte)          # unframed (early boot) output
            self.streams[3].append(byte)
            return
        self._hdr.append(byte)
        if len(self._hdr) == 4:
            _, self._stream, lo, hi = self._hdr
            self._left = lo | (hi << 8)
            self._hdr = []
