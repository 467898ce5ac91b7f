"""The kernels serve the guest OS's IPIs and timer reads themselves
(flashvm/kernels/devfast.py): the same machine, to the last bit, as when every
such access exits to Python's devices (flash.Smp, devices.Timer)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from flashvm.guestos import boot
from flashvm.kernels import state as S
from flashvm.toolchain import build_user

OSG = Path(__file__).parents[1] / "guest" / "os"
MAKE_MACHINE = boot.make_machine
SWITCH = [S.P_SMP_PA, S.P_TIMER_PA]


def _run(monkeypatch, mode: str, fast: bool):
    def make(*a, **kw):
        bm = MAKE_MACHINE(*a, **kw)
        if not fast:
            bm.m.params[SWITCH] = 0
        return bm
    monkeypatch.setattr(boot, "make_machine", make)
    r = boot.boot_os({"/bin/threads": build_user([OSG / "threads.c"])}, ["/bin/threads"], ncpu=4,
                     machine="flash8", mode=mode)
    assert r.status == 0, r.klog[-300:]
    return r


def _exits(m, reason: int) -> int:
    return int(m.stats[:, S.S_EXIT_BASE + reason].sum())


@pytest.mark.parametrize("mode", ["functional", "timing"])
def test_ipis_and_timer_reads_in_the_kernels_change_nothing(monkeypatch, mode):
    py = _run(monkeypatch, mode, fast=False)
    k = _run(monkeypatch, mode, fast=True)
    assert k.stdout == py.stdout and k.klog == py.klog
    a, b = k.machine.m, py.machine.m
    # the exits the kernels saved: IPIs sent and acknowledged, timer words read
    assert _exits(b, S.EXIT_MMIO_STORE) - _exits(a, S.EXIT_MMIO_STORE) > 50
    assert _exits(b, S.EXIT_MMIO_LOAD) - _exits(a, S.EXIT_MMIO_LOAD) > 50
    exits = np.arange(S.S_EXIT_BASE, S.S_EXIT_BASE + S.NEXITS)
    for name in S.Machine._fields:
        x, y = getattr(a, name), getattr(b, name)
        if name == "stats":
            x, y = np.delete(x, exits, axis=1), np.delete(y, exits, axis=1)
        elif name == "params":
            x, y = np.delete(x, SWITCH), np.delete(y, SWITCH)
        elif name == "exitrec":
            continue
        assert np.array_equal(x, y), name
