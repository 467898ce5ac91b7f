"""A resumed disk's contents: ArrayFile behaves as the in-memory file it replaces, without
copying the restored array (flashvm/machine/disk.py)."""
from __future__ import annotations

import io
import os
import pickle
import random

import numpy as np

from flashvm.machine.disk import ArrayFile, Disk


def test_array_file_reads_and_writes_like_bytesio():
    rng = random.Random(5)
    start = bytes(rng.randrange(256) for _ in range(4096))
    a, b = ArrayFile(np.frombuffer(start, np.uint8).copy()), io.BytesIO(start)
    for _ in range(300):
        op = rng.randrange(3)
        if op == 0:
            off = rng.randrange(5000)
            assert a.seek(off) == b.seek(off)
        elif op == 1:
            n = rng.randrange(-1, 700)
            assert a.read(n) == b.read(n)
        else:
            data = bytes(rng.randrange(256) for _ in range(rng.randrange(600)))
            assert a.write(data) == b.write(data)
        assert a.tell() == b.tell()
    a.seek(0, os.SEEK_END)
    assert a.tell() == len(b.getvalue())
    assert a.data.tobytes() == b.getvalue()


class _Host:
    """Stands in for the machine (the disk only keeps it)."""


def test_restored_disk_uses_the_array_itself(tmp_path):
    img = tmp_path / "d.img"
    img.write_bytes(bytes(range(256)) * 8)
    d = Disk(0x1000, _Host(), img, overlay=True)  # type: ignore[arg-type]
    restored = pickle.loads(pickle.dumps(d))
    assert isinstance(restored._file, ArrayFile)
    data = restored._file.data
    again = restored.__getstate__()["_contents"]
    assert again is data                      # a checkpoint of a resumed run copies nothing either
    assert restored._read_sectors(1, 2) == (bytes(range(256)) * 8)[512:1536]
