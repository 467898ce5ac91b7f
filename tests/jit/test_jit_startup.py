"""What the JIT tier costs a short run: nothing of the translator is imported (the ISA generator
behind jitgen/llvmgen, ~45 ms) and no region is loaded, even from the disk cache, before
MIN_INSNS_NATIVE instructions; and targets that got hot while the queue was full are counted
again rather than lost."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from flashvm.kernels import jit

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("flashvm.isa.gen", "flashvm.isa.jitgen", "flashvm.isa.llvmgen")

SHORT_RUN = """
import sys
from pathlib import Path
from flashvm.kernels import jit
from flashvm.machine.config import machine_config
from flashvm.session import run
from flashvm.spec import RunSpec
from flashvm.toolchain import build_user
jit.set_enabled(True)
exe = build_user([Path("tests/guest/exitcode.c")])
r = run(RunSpec("process", exe, machine_config("flash1"), argv=("exitcode",)))
assert r.jit["regions"] == 0, r.jit
print(sorted(m for m in %r if m in sys.modules))
"""


def test_a_short_run_with_the_tier_imports_no_translator():
    env = dict(os.environ, PYTHONPATH=str(ROOT), FLASHVM_JIT="1")
    got = subprocess.run([sys.executable, "-c", SHORT_RUN % (HEAVY,)], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=600)
    assert got.returncode == 0, got.stderr
    assert got.stdout.strip().splitlines()[-1] == "[]"


def test_targets_hot_while_the_queue_was_full_count_again():
    t = jit.Tier()
    thr = int(t.jstat[7])
    pas = [0x10000 + 4 * i for i in range(4)]
    hs = [(pa >> 2) & (jit.TABLE_SIZE - 1) for pa in pas]
    t.jcnt[hs] = [thr + 7, thr + 1, thr, thr - 1]
    t.jt[0, hs[1]] = pas[1]                      # translated: keeps its count
    t.jq[0] = 1
    t.jq[1] = pas[2]                             # waiting in the queue: keeps its count
    jit._rearm(t)
    assert list(t.jcnt[hs]) == [0, thr + 1, thr, thr - 1]
    assert np.count_nonzero(t.jcnt) == 3
