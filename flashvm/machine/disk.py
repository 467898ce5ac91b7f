"""DISK k: a DMA block device with 512-byte sectors backed by a host file.

Register block (docs/machine.md, "DISK k"), all registers 32-bit:

    0x00 SECTOR    r/w  first sector
    0x04 COUNT     r/w  sectors, 1..256
    0x08 ADDR      r/w  physical address of the buffer
    0x0C CMD       w    1 READ (disk -> memory), 2 WRITE (memory -> disk), 3 FLUSH
    0x10 STATUS    r    bit 0 BUSY, bit 1 DONE, bit 2 ERROR, bits 15..8 error code
    0x14 ACK       w    clear DONE, ERROR and the error code; lower the interrupt
    0x18 CAPACITY  r    sectors on the disk (file size // 512)
    0x1C IRQ_CPU   r/w  CPU that receives HW2

Behaviour, including the choices the spec leaves open:

* A CMD write is checked at once, in this order: 5 busy (a request is in
  flight), 1 bad command, 6 WRITE on a read-only disk, 4 COUNT not in 1..256,
  2 SECTOR+COUNT beyond CAPACITY, 3 buffer [ADDR, ADDR+COUNT*512) not inside
  RAM.  A failing command sets ERROR and its code, raises HW2, and touches
  neither memory nor the disk.  A busy error leaves the request in flight
  alone (it still completes and sets DONE).  FLUSH ignores SECTOR/COUNT/ADDR.
* An accepted command sets BUSY; it completes at
  now + latency_ns + ns_per_byte * COUNT*512 (FLUSH: now + latency_ns).
  **Data moves at completion, in both directions**: READ copies the file to
  memory then, and WRITE captures the guest's buffer then (a guest that
  changes its buffer while the write is BUSY writes the changed bytes).
  Completion clears BUSY, sets DONE and raises HW2.
* DONE and ERROR are sticky: only ACK clears them (a new command does not),
  and HW2 is high on IRQ_CPU while either is set.  Writing IRQ_CPU while the
  line is high moves it to the new CPU.
* Writes go through to the host file at completion; FLUSH and `close()`
  flush the Python file buffer, so a completed WRITE is in the file after
  `close()`.  `close()` with a request in flight completes it at once.
* `overlay=True`: the base file is opened read-only and written sectors live
  in a dict (copy-on-write); `close()` discards them.  `readonly=True` makes
  WRITE fail with error 6 (overlay or not).
* Register misuse (size other than 4, unaligned or unknown offset, reading a
  write-only or writing a read-only register, CMD on a closed disk) counts a
  guest error; reads return 0, writes are ignored.
* DMA goes through the host (`dma_read`/`dma_write`, one call per request);
  a host that refuses a transfer with `DmaError` at completion turns it into
  error 3 (nothing moved; BUSY clears, ERROR set).
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import BinaryIO

import numpy as np

from flashvm.machine.devhost import DeviceHost, DmaError, IrqPin, dma_range_ok, word_access
from flashvm.machine.devices import Device
from flashvm.machine.layout import DISK_BASE, DISK_STRIDE

DISK_IRQ_LINE = 2               # HW2 = Cause.IP4
SECTOR_BYTES = 512
MAX_COUNT = 256

class ArrayFile:
    """A byte array read and written as a file (the calls Disk makes): a resumed disk's contents."""

    def __init__(self, data: np.ndarray):
        self.data = data
        self.pos = 0

    def seek(self, offset: int, whence: int = os.SEEK_SET) -> int:
        base = {os.SEEK_SET: 0, os.SEEK_CUR: self.pos, os.SEEK_END: len(self.data)}[whence]
        self.pos = max(0, base + offset)
        return self.pos

    def tell(self) -> int:
        return self.pos

    def read(self, n: int = -1) -> bytes:
        end = len(self.data) if n < 0 else min(len(self.data), self.pos + n)
        out = self.data[self.pos:end].tobytes()
        self.pos = max(self.pos, end)
        return out

    def write(self, b: bytes) -> int:
        end = self.pos + len(b)
        if end > len(self.data):
            grown = np.zeros(end, np.uint8)
            grown[:len(self.data)] = self.data
            self.data = grown
        self.data[self.pos:end] = np.frombuffer(bytes(b), np.uint8)
        self.pos = end
        return len(b)

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


# registers
DISK_SECTOR = 0x00
DISK_COUNT = 0x04
DISK_ADDR = 0x08
DISK_CMD = 0x0C
DISK_STATUS = 0x10
DISK_ACK = 0x14
DISK_CAPACITY = 0x18
DISK_IRQ_CPU = 0x1C

# commands
CMD_READ = 1
CMD_WRITE = 2
CMD_FLUSH = 3

# STATUS bits
ST_BUSY = 1
ST_DONE = 2
ST_ERROR = 4

# error codes (STATUS bits 15..8)
ERR_BAD_CMD = 1
ERR_RANGE = 2
ERR_DMA = 3
ERR_COUNT = 4
ERR_BUSY = 5
ERR_READONLY = 6


def disk_base(k: int) -> int:
    return DISK_BASE + DISK_STRIDE * k


@dataclass
class _Request:
    cmd: int
    sector: int
    count: int
    addr: int
    start_ns: int
    done_ns: int


class Disk(Device):
    """A DMA disk controller on `host`, backed by the file at `path`."""
    name = "disk"

    def __init__(self, base: int, host: DeviceHost, path: str | os.PathLike, *, readonly: bool = False,
                 latency_ns: int = 100_000, ns_per_byte: int = 10, irq_cpu: int = 0,
                 create_size: int | None = None, overlay: bool = False):
        super().__init__(base)
        self.host = host
        self.path = os.fspath(path)
        self.readonly = readonly
        self.overlay = overlay
        self.latency_ns = int(latency_ns)
        self.ns_per_byte = int(ns_per_byte)
        if create_size is not None and not os.path.exists(self.path):
            with open(self.path, "wb") as f:      # sparse: no data blocks until written
                f.truncate(create_size)
        self._file: BinaryIO | ArrayFile = open(self.path, "rb" if (readonly or overlay) else "r+b")
        self._file.seek(0, os.SEEK_END)
        self.capacity = self._file.tell() // SECTOR_BYTES
        self._cow: dict[int, bytes] = {}          # overlay: sector -> 512 bytes
        self._closed = False
        self.irq = IrqPin(host, self, DISK_IRQ_LINE, irq_cpu)
        # registers
        self.sector = 0
        self.count = 0
        self.addr = 0
        self._done = False
        self._error = False
        self._code = 0
        self._inflight: _Request | None = None
        # counters
        self.reads = 0
        self.writes = 0
        self.flushes = 0
        self.sectors_read = 0
        self.sectors_written = 0
        self.errors = 0
        self.busy_ns = 0

    # ------------------------------------------------------------ registers
    @property
    def status(self) -> int:
        return ((ST_BUSY if self._inflight is not None else 0) | (ST_DONE if self._done else 0)
                | (ST_ERROR if self._error else 0) | (self._code << 8))

    @property
    def irq_cpu(self) -> int:
        return self.irq.cpu

    def read(self, offset: int, size: int) -> int:
        if word_access(offset, size):
            if offset == DISK_SECTOR:
                return self.sector
            if offset == DISK_COUNT:
                return self.count
            if offset == DISK_ADDR:
                return self.addr
            if offset == DISK_STATUS:
                return self.status
            if offset == DISK_CAPACITY:
                return self.capacity & 0xFFFFFFFF
            if offset == DISK_IRQ_CPU:
                return self.irq.cpu
        self.guest_errors += 1                  # unknown, write-only (CMD, ACK) or badly sized
        return 0

    def write(self, offset: int, size: int, value: int) -> None:
        value &= 0xFFFFFFFF
        if word_access(offset, size):
            if offset == DISK_SECTOR:
                self.sector = value
                return
            if offset == DISK_COUNT:
                self.count = value
                return
            if offset == DISK_ADDR:
                self.addr = value
                return
            if offset == DISK_CMD and not self._closed:
                self._command(value)
                return
            if offset == DISK_ACK:
                self._done = self._error = False
                self._code = 0
                self.irq.drive(False)
                return
            if offset == DISK_IRQ_CPU:
                self.irq.cpu = value
                return
        self.guest_errors += 1                  # unknown, read-only (STATUS, CAPACITY) or badly sized

    # ------------------------------------------------------------ requests
    def _fail(self, code: int) -> None:
        self._error = True
        self._code = code
        self.errors += 1
        self.irq.drive(True)

    def _command(self, cmd: int) -> None:
        if self._inflight is not None:
            return self._fail(ERR_BUSY)
        if cmd not in (CMD_READ, CMD_WRITE, CMD_FLUSH):
            return self._fail(ERR_BAD_CMD)
        nbytes = 0
        if cmd != CMD_FLUSH:
            if cmd == CMD_WRITE and self.readonly:
                return self._fail(ERR_READONLY)
            if not 1 <= self.count <= MAX_COUNT:
                return self._fail(ERR_COUNT)
            if self.sector + self.count > self.capacity:
                return self._fail(ERR_RANGE)
            nbytes = self.count * SECTOR_BYTES
            if not dma_range_ok(self.host, self.addr, nbytes):
                return self._fail(ERR_DMA)
        now = self.host.now_ns()
        req = _Request(cmd, self.sector, self.count, self.addr, now,
                       now + self.latency_ns + self.ns_per_byte * nbytes)
        self._inflight = req
        self.host.schedule(req.done_ns, lambda: self._complete(req))

    def _complete(self, req: _Request) -> None:
        if self._inflight is not req:          # already completed (by close())
            return
        self._inflight = None
        self.busy_ns += max(0, self.host.now_ns() - req.start_ns)
        nbytes = req.count * SECTOR_BYTES
        try:
            if req.cmd == CMD_READ:
                self._dma_in(req.addr, req.sector, req.count)
                self.reads += 1
                self.sectors_read += req.count
            elif req.cmd == CMD_WRITE:
                data = self.host.dma_read(req.addr, nbytes)
                self._write_sectors(req.sector, data)
                self.writes += 1
                self.sectors_written += req.count
            else:
                self.flush()
                self.flushes += 1
        except DmaError:
            return self._fail(ERR_DMA)
        self._done = True
        self.irq.drive(True)

    def _dma_in(self, addr: int, sector: int, count: int) -> None:
        """A READ's data into memory (a subclass may map pages instead: Disco's disk cache)."""
        self.host.dma_write(addr, self._read_sectors(sector, count))

    # ------------------------------------------------------------ backing store
    def overlaid(self, sector: int, count: int) -> bool:
        """Whether any of these sectors was written (lives in the overlay, not in the base file)."""
        return bool(self._cow) and any(sector + i in self._cow for i in range(count))

    def _read_sectors(self, sector: int, count: int) -> bytes:
        n = count * SECTOR_BYTES
        self._file.seek(sector * SECTOR_BYTES)
        data = self._file.read(n)
        if len(data) < n:
            data += bytes(n - len(data))
        if self._cow:
            buf = bytearray(data)
            for i in range(count):
                s = self._cow.get(sector + i)
                if s is not None:
                    buf[i * SECTOR_BYTES:(i + 1) * SECTOR_BYTES] = s
            data = bytes(buf)
        return data

    def _write_sectors(self, sector: int, data: bytes) -> None:
        if self.overlay:
            for i in range(len(data) // SECTOR_BYTES):
                self._cow[sector + i] = bytes(data[i * SECTOR_BYTES:(i + 1) * SECTOR_BYTES])
        else:
            self._file.seek(sector * SECTOR_BYTES)
            self._file.write(data)

    def flush(self) -> None:
        if not self._closed and not (self.readonly or self.overlay):
            self._file.flush()

    def close(self) -> None:
        """Finish any request in flight, flush and close the file; an overlay's writes are discarded."""
        if self._closed:
            return
        if self._inflight is not None:
            self._complete(self._inflight)
        self.flush()
        self._file.close()
        self._cow.clear()
        self._closed = True

    # ------------------------------------------------------------ checkpoints
    def __getstate__(self) -> dict:
        """A checkpoint holds the disk's contents as they are now (the base file and, apart,
        the overlay), not the host file: the file may change or vanish before a resume."""
        state = dict(self.__dict__)
        f = state.pop("_file")
        if isinstance(f, ArrayFile):
            state["_contents"] = f.data          # a resumed disk: its contents are already an array
            return state
        data = b""
        if not self._closed:
            where = f.tell()
            f.seek(0)
            data = f.read()
            f.seek(where)
        state["_contents"] = np.frombuffer(data, np.uint8)
        return state

    def __setstate__(self, state: dict) -> None:
        """A resumed disk reads and writes a private in-memory copy: the host file is left alone.
        The copy is the restored array itself (no second copy of a disk of many MB)."""
        contents = state.pop("_contents")
        self.__dict__.update(state)
        self._file = ArrayFile(contents if contents.flags.writeable else contents.copy())

    def __enter__(self) -> "Disk":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ statistics
    def stats(self) -> dict[str, int]:
        return {
            "reads": self.reads,
            "writes": self.writes,
            "flushes": self.flushes,
            "sectors_read": self.sectors_read,
            "sectors_written": self.sectors_written,
            "errors": self.errors,
            "busy_ns": self.busy_ns,
            "guest_errors": self.guest_errors,
            "overlay_sectors": len(self._cow),
        }
