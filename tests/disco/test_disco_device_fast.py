"""The monitor's kernel serves the guest kernel's IPIs and timer reads itself
(kernels/disco.py `_device_fast`): the same machine, to the last bit, as when
every such access exits to Python's devices (vdevices.VSmp, devices.Timer)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from flashvm.disco.osvm import run_os_vms
from flashvm.disco.vdevices import VirtualDevices
from flashvm.kernels import state as S
from flashvm.toolchain import build_user

OSG = Path(__file__).parents[1] / "guest" / "os"
HOST_SIDE = (S.DS_HOST, S.DS_DEVICE_FAST)          # what differs: where the accesses were served
INIT_DEVICES = VirtualDevices._init_devices


def _run(monkeypatch, mode: str, fast: bool):
    def init(self):
        INIT_DEVICES(self)
        if not fast:
            self.m.params[S.P_SMP_PA] = 0
            self.m.params[S.P_TIMER_PA] = 0
    monkeypatch.setattr(VirtualDevices, "_init_devices", init)
    exe = build_user([OSG / "threads.c"])
    res, disco, _ = run_os_vms({"/bin/threads": exe}, ["/bin/threads"], vms=2, cpus_per_vm=4,
                               machine="flash8", mode=mode, hal=True)
    assert all(vm.ok and vm.status == 0 for vm in res), [(vm.failure, vm.klog[-300:]) for vm in res]
    return res, disco.m


@pytest.mark.parametrize("mode", ["functional", "timing"])
def test_ipis_and_timer_reads_in_the_kernel_change_nothing(monkeypatch, mode):
    res_py, py = _run(monkeypatch, mode, fast=False)
    res_k, k = _run(monkeypatch, mode, fast=True)
    assert [vm.stdout for vm in res_k] == [vm.stdout for vm in res_py]
    served = k.dstats[:, S.DS_DEVICE_FAST].sum()
    assert py.dstats[:, S.DS_DEVICE_FAST].sum() == 0 and served > 100
    # each access the kernel served is one exit to Python less
    assert py.dstats[:, S.DS_HOST].sum() - k.dstats[:, S.DS_HOST].sum() == served
    keep = [i for i in range(S.NDSTATS) if i not in HOST_SIDE]
    assert np.array_equal(k.dstats[:, keep], py.dstats[:, keep])
    exits = slice(S.S_EXIT_BASE, S.S_EXIT_BASE + S.NEXITS)
    for name in S.Machine._fields:
        a, b = getattr(k, name), getattr(py, name)
        if name == "stats":
            a, b = np.delete(a, np.r_[exits], axis=1), np.delete(b, np.r_[exits], axis=1)
        elif name == "params":       # the switch itself
            a, b = np.delete(a, [S.P_SMP_PA, S.P_TIMER_PA]), np.delete(b, [S.P_SMP_PA, S.P_TIMER_PA])
        elif name in ("dstats", "exitrec"):
            continue
        assert np.array_equal(a, b), name
