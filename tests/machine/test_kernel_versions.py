"""The kernels compile once per argument types (flashvm/kernels/dispatch.py), and loading them
imports no more than a run needs (flashvm/kernels/__init__.py)."""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
from numba import njit as numba_njit

from flashvm.kernels.cp0 import enter_exception_nb
from flashvm.kernels.dispatch import njit

ROOT = Path(__file__).resolve().parents[2]


def test_constants_at_call_sites_share_one_version():
    @njit(_nrt=False)
    def add(a, b):
        return a + b

    @njit(_nrt=False, error_model="numpy", forceinline=True)
    def pick(a, flag):
        return a * 2 if flag else a

    @numba_njit
    def caller(x):
        return add(x, 0) + add(x, 1) + add(-1, x) + pick(x, True) + pick(x, False) + add(x, 7)

    assert caller(5) == 5 + 6 + 4 + 10 + 5 + 12
    assert [str(s) for s in add.signatures] == ["(int64, int64)"]
    assert [str(s) for s in pick.signatures] == ["(int64, bool)"]


def test_numba_default_would_specialise():
    """What the dispatcher prevents: Numba's own njit compiles a callee per literal argument."""
    @numba_njit
    def add(a, b):
        return a + b

    @numba_njit
    def caller(x):
        return add(x, 0) + add(x, 1)

    assert caller(5) == 11
    assert len(add.signatures) == 2


def test_a_kernel_called_with_different_constants_compiles_once():
    @numba_njit
    def raise_two(regs, pc):
        return enter_exception_nb(regs, 0, pc, -1, 0, 0) + enter_exception_nb(regs, 10, pc, -1, 0, 0)

    before = set(enter_exception_nb.signatures)
    regs = np.zeros((32, 8), np.int64)
    raise_two(regs, 0x400000)
    added = set(enter_exception_nb.signatures) - before
    assert len(added) <= 1
    assert not any("Literal" in str(s) for s in enter_exception_nb.signatures)


def test_kernel_load_does_not_import_scipy_linalg():
    code = textwrap.dedent("""
        import sys
        from flashvm.kernels.bits import clz32
        assert clz32(1) == 31                       # a kernel loaded: Numba's registries are in
        print("scipy.linalg" in sys.modules)
        import scipy.linalg                         # still importable afterwards
        print(scipy.linalg.cython_blas is not None)
    """)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                         check=True, timeout=600).stdout.split()
    assert out == ["False", "True"]
