"""The JIT tier made eager for a short test program: translating from the first instruction, with
no translation budget, in short slices (so code is translated early), into a disk cache of the
test's own."""
from __future__ import annotations

from pathlib import Path

from flashvm.kernels import jit


def eager_tier(monkeypatch, tmp_path: Path, *, threshold: int = 200, first_slice: int = 1 << 15,
               slice_: int = 1 << 16) -> None:
    monkeypatch.setattr(jit, "THRESHOLD", threshold)
    monkeypatch.setattr(jit, "MIN_INSNS_NATIVE", 0)
    monkeypatch.setattr(jit, "TRANSLATE_SHARE", None)
    monkeypatch.setattr(jit, "FIRST_SLICE", first_slice)
    monkeypatch.setattr(jit, "SLICE", slice_)
    monkeypatch.setenv("FLASHVM_JIT_CACHE", str(tmp_path / "jitcache"))
