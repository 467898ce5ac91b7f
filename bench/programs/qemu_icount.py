"""Count the guest instructions a mipsel program executes under qemu-mipsel.

usage: python bench/programs/qemu_icount.py ELF [args...]

qemu (7.x, no TCG plugins needed) is run with ``-d in_asm,exec,nochain``: the
``IN:`` blocks give the number of instructions of every translation block
(keyed by guest pc), and with chaining disabled every execution of a block
logs one ``Trace`` line.  The log is streamed through a FIFO, so nothing big
is written to disk.  The count is exact for blocks that run to their end
(blocks cut short by an exception are counted whole).  It runs ~20-50x
slower than plain qemu; meant for sizing benchmarks, not for tests.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
import threading
from collections import Counter

_TRACE = re.compile(rb"^Trace \d+: 0x[0-9a-f]+ \[[0-9a-f]+/([0-9a-f]+)/", re.M)
_BLOCK = re.compile(rb"^IN:[^\n]*\n((?:0x[0-9a-f]+:[^\n]*\n)+)", re.M)


def count(argv: list[str], qemu: str = "qemu-mipsel") -> tuple[int, int, bytes]:
    """Return (instructions, qemu exit status, guest stdout) for running *argv*."""
    with tempfile.TemporaryDirectory() as d:
        fifo = os.path.join(d, "log")
        os.mkfifo(fifo)
        sizes: dict[bytes, int] = {}
        execs: Counter[bytes] = Counter()

        def reader() -> None:
            rest = b""
            with open(fifo, "rb") as f:
                while True:
                    data = f.read(1 << 22)
                    if not data:
                        break
                    data = rest + data
                    cut = data.rfind(b"\nTrace")
                    if cut < 0:
                        rest = data
                        continue
                    chunk, rest = data[:cut + 1], data[cut + 1:]
                    for m in _BLOCK.finditer(chunk):
                        body = m.group(1)
                        pc = body[2:body.index(b":")].lstrip(b"0") or b"0"
                        sizes[pc] = body.count(b"\n")
                    execs.update(_TRACE.findall(chunk))
                for m in _BLOCK.finditer(rest):
                    body = m.group(1)
                    pc = body[2:body.index(b":")].lstrip(b"0") or b"0"
                    sizes[pc] = body.count(b"\n")
                execs.update(_TRACE.findall(rest))

        t = threading.Thread(target=reader)
        t.start()
        proc = subprocess.run([qemu, "-d", "in_asm,exec,nochain", "-D", fifo, *argv],
                              stdout=subprocess.PIPE)
        t.join()
        total = sum(n * sizes.get(pc.lstrip(b"0") or b"0", 0) for pc, n in execs.items())
        return total, proc.returncode, proc.stdout


def main() -> int:
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    n, rc, out = count(sys.argv[1:])
    sys.stdout.write(out.decode(errors="replace"))
    print(f"instructions: {n} ({n / 1e6:.1f} M), exit status {rc}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
