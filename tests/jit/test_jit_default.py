"""The JIT tier is on by default: `--no-jit`, FLASHVM_JIT=0 and FLASHVM_NO_JIT=1 turn it off (`--jit`
wins over FLASHVM_JIT=0, FLASHVM_NO_JIT over everything); and the disk cache survives another
process pruning it under a reader's feet."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from flashvm.kernels import jit, jitnative

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def no_env(monkeypatch):
    for name in ("FLASHVM_JIT", "FLASHVM_NO_JIT"):
        monkeypatch.delenv(name, raising=False)
    jit.set_enabled(None)
    yield monkeypatch
    jit.set_enabled(None)


def test_on_unless_turned_off(no_env):
    assert jit.enabled()
    no_env.setenv("FLASHVM_JIT", "0")
    assert not jit.enabled()
    jit.set_enabled(True)                                # --jit wins over FLASHVM_JIT=0
    assert jit.enabled()
    no_env.setenv("FLASHVM_NO_JIT", "1")                 # wins over everything
    assert not jit.enabled()
    no_env.delenv("FLASHVM_NO_JIT")
    no_env.setenv("FLASHVM_JIT", "1")
    jit.set_enabled(False)                               # --no-jit wins over FLASHVM_JIT=1
    assert not jit.enabled()


def test_a_plain_command_runs_with_the_tier():
    """Without a flag or the variable, the CLI's run of a long program books region entries."""
    env = {k: v for k, v in os.environ.items() if k not in ("FLASHVM_JIT", "FLASHVM_NO_JIT")}
    env["PYTHONPATH"] = str(ROOT)
    code = ("from flashvm.kernels import jit; from flashvm.session import options; "
            "options.jit_option(None); print(jit.enabled())")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "True"
    env["FLASHVM_JIT"] = "0"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize("flag", [False, True])
def test_the_switch_reaches_the_processes_a_run_starts(no_env, flag):
    """`flashvm --no-jit experiment ...` runs its runs in dask worker processes: they must see it."""
    from flashvm.session import options
    options.jit_option(flag)
    code = "from flashvm.kernels import jit; print(jit.enabled())"
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(flag)


def test_pruning_tolerates_files_another_process_removed(tmp_path, monkeypatch):
    for k in range(4):
        (tmp_path / f"n{k:024x}.o").write_bytes(b"x")
    gone = tmp_path / ("n" + "f" * 24 + ".o")            # listed, then removed by someone else
    real_glob = Path.glob
    monkeypatch.setattr(Path, "glob", lambda self, pat: [*real_glob(self, pat), gone])
    monkeypatch.setattr(jit, "CACHE_OBJECTS", 2)
    jit._prune_objects(tmp_path)
    assert len(list(real_glob(tmp_path, "n*.o"))) == 2


def test_the_cache_is_pruned_at_the_first_new_object_then_every_prune_every(tmp_path, monkeypatch):
    """A prune stats every object file: a long translating run must not pay for one per batch,
    and the cache must stay bounded however short the processes writing to it."""
    monkeypatch.setattr(jit, "CACHE_OBJECTS", 4)
    monkeypatch.setattr(jit, "PRUNE_EVERY", 3)
    monkeypatch.setattr(jit, "_unpruned", -1)
    files = iter(range(100))

    def write(n: int) -> int:
        for _ in range(n):
            (tmp_path / f"n{next(files):024x}.o").write_bytes(b"x")
        jit._wrote(tmp_path, n)
        return len(list(tmp_path.glob("n*.o")))
    assert write(6) == 4            # the process's first new files: pruned at once
    assert write(1) == 5            # then left alone ...
    assert write(1) == 6
    assert write(1) == 4            # ... until PRUNE_EVERY more have come
    assert write(2) == 6 and write(1) == 4


def test_a_region_pruned_between_lookup_and_load_is_compiled(tmp_path, monkeypatch):
    words = [0x24420001, 0x03E00008, 0x00000000]           # addiu v0,v0,1; jr ra; nop
    assert not jitnative.cached([words], tmp_path)
    jitnative._loaded.clear()
    addrs, size, hit = jitnative.compile_batch([words], tmp_path)
    assert addrs[0] and size > 0 and not hit
    name = jitnative.key([words])
    (tmp_path / f"{name}.o").unlink()                     # pruned by another process
    jitnative._loaded.pop(name)
    monkeypatch.setattr(Path, "exists", lambda self: True)     # it was there when looked up
    addrs, size, hit = jitnative.compile_batch([words], tmp_path)
    assert addrs[0] and not hit and (tmp_path / f"{name}.o").exists()


def test_the_region_cache_follows_flashvm_cache(monkeypatch, tmp_path):
    monkeypatch.delenv("FLASHVM_JIT_CACHE", raising=False)
    monkeypatch.setenv("FLASHVM_CACHE", str(tmp_path / "c"))
    assert jit.cache_dir() == tmp_path / "c" / "jit"
    monkeypatch.setenv("FLASHVM_JIT_CACHE", str(tmp_path / "j"))
    assert jit.cache_dir() == tmp_path / "j"


def test_a_queue_left_waiting_for_the_budget_is_not_looked_at_again_until_it_grows(monkeypatch):
    """Over its translation allowance a run leaves hot regions queued; it must not rescan the
    whole queue at every slice (a cold pmake spent 94 % of its time doing that)."""
    from types import SimpleNamespace
    seen = []
    monkeypatch.setattr(jit, "backend", lambda: "llvm")
    monkeypatch.setattr(jit, "_translate_native", lambda m, t, k, early: seen.append(k))
    monkeypatch.setattr(jit, "TRANSLATE_SHARE", 1.0)
    monkeypatch.setattr(jit, "TRANSLATE_FREE_S", 20.0)
    m = SimpleNamespace(stats=np.full((1, 64), jit.MIN_INSNS_NATIVE, dtype=np.int64))
    t = jit.Tier()
    t.jq[0] = 5
    t.deferred = 5                      # all five waited at the last look
    t.cpu_translate, t.cpu_run = 30.0, 5.0
    jit.translate(m, t)
    assert seen == []                   # still over: 30 s > 20 s + 1.0 x 5 s
    t.cpu_run = 15.0
    jit.translate(m, t)
    assert seen == [5]                  # the run has earned more: looked at again
    t.jq[0] = 6
    t.cpu_run = 5.0
    jit.translate(m, t)
    assert seen == [5, 6]               # a new target came: looked at
