"""The JIT tier looks at its queue often enough that code which gets hot is soon translated:
bench/programs/intloop.c runs five phases a round, each new code; with slices of up to 16 M
cycles its first round ran nearly all in the interpreter (58 % of a 2-round run in regions),
with 2 M slices 73 % when cold (85 % warm)."""
from __future__ import annotations

from pathlib import Path

import pytest

from flashvm.kernels import jit
from flashvm.machine.config import machine_config
from flashvm.session import run
from flashvm.spec import RunSpec
from flashvm.toolchain import build_user

INTLOOP = Path(__file__).resolve().parents[2] / "bench" / "programs" / "intloop.c"


@pytest.fixture()
def spec(monkeypatch, tmp_path) -> RunSpec:
    monkeypatch.setattr(jit, "TRANSLATE_SHARE", None)
    monkeypatch.setenv("FLASHVM_JIT_CACHE", str(tmp_path / "jitcache"))
    yield RunSpec("process", Path(build_user([INTLOOP])), machine_config("flash1"), argv=("intloop", "2"))
    jit.set_enabled(None)


def test_hot_code_of_each_phase_is_translated_within_the_round(spec):
    jit.set_enabled(True)
    got = run(spec)
    assert got.stdout.strip().endswith(b"intloop scale 2 checksum bcc572cb")     # qemu-mipsel's
    assert got.jit["regions"] > 20
    assert got.jit["jit_insns"] > 0.68 * got.instructions      # 73 % (16 M slices: 58 %)
