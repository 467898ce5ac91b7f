"""The guest kernel's console: one write() is one whole piece of the output, even
with other processes writing at the same time on other CPUs."""
from __future__ import annotations

from pathlib import Path

from flashvm.guestos import boot_os
from flashvm.toolchain import build_user

OSG = Path(__file__).parents[1] / "guest" / "os"


def test_concurrent_console_writes_stay_whole():
    exe = build_user([OSG / "conswrite.c"])
    r = boot_os({"/bin/conswrite": exe}, ["/bin/conswrite", "4", "20"], ncpu=4, max_insns=100_000_000)
    assert r.status == 0
    lines = r.stdout.split(b"\n")
    assert lines[-1] == b"" and len(lines) == 4 * 20 + 1
    for line in lines[:-1]:
        assert len(line) == 999 and line == line[:1] * 999, line[:80]
    assert sorted(set(r.stdout) - {10}) == [ord(c) for c in "abcd"]
