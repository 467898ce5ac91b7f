"""Processes that find the interpreter's cache cold at once take turns (flashvm/session/warmup.py):
one compiles while the others wait, then they load what it cached."""
from __future__ import annotations

import threading
import time

import numba

from flashvm.session import warmup


def test_a_cold_start_waits_for_the_compile_under_way_then_loads(monkeypatch, tmp_path):
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path))
    cache = {"warm": False}
    monkeypatch.setattr(warmup, "interpreter_cached", lambda: cache["warm"])
    said, compiled = [], []
    monkeypatch.setattr(warmup, "_compile", lambda m: compiled.append(m))
    with warmup.compile_lock():                 # another process is compiling
        t = threading.Thread(target=warmup.warm_up, args=("machine", said.append, None))
        t.start()
        time.sleep(0.5)
        assert t.is_alive() and compiled == []
        cache["warm"] = True                    # ... and has filled the cache
    t.join(10)
    assert not t.is_alive() and compiled == ["machine"]
    assert said == []                           # nothing was compiled here: no "compiling" line


def test_a_cold_start_alone_compiles_and_says_so(monkeypatch, tmp_path):
    monkeypatch.setattr(numba.config, "CACHE_DIR", str(tmp_path))
    monkeypatch.setattr(warmup, "interpreter_cached", lambda: False)
    said, compiled = [], []
    monkeypatch.setattr(warmup, "_compile", lambda m: compiled.append(m))
    warmup.warm_up("machine", said.append, None)
    assert compiled == ["machine"] and len(said) == 1 and "compiling" in said[0]
    assert (tmp_path / "compile.lock").exists()
