"""The HAL build of the guest kernel when VCPUs time-share CPUs.

The guest keeps privileged registers (Status, EPC, EntryLo) in its VCPU's
special page between traps; a VCPU switched out or in must neither lose
what the guest stored there nor leave the page older than the monitor's
copy (a reflected interrupt at switch-in changes Status).  Threaded programs
in several VMs sharing CPUs caught both (status 139, kernel panics).
"""
from __future__ import annotations

import pytest

from flashvm.disco.osvm import run_os_vms
from flashvm.toolchain import build_user
from support import OS_PROGRAMS


@pytest.mark.parametrize("machine, vms, cpus", [("flash1", 2, 1), ("flash1", 3, 1), ("flash1", 2, 2),
                                                ("flash8", 3, 4), ("flash8", 2, 8)])
def test_hal_threads_with_vcpus_sharing_cpus(machine, vms, cpus):
    exe = build_user([OS_PROGRAMS / "threads.c"])
    res, _, _ = run_os_vms({"/bin/threads": exe}, ["/bin/threads"], vms=vms, cpus_per_vm=cpus,
                           machine=machine, hal=True, mem_mb=16)
    want = (OS_PROGRAMS / "expected" / "threads.stdout").read_bytes()
    for vm in res:
        assert vm.ok and vm.status == 0, (vm.name, vm.status, vm.failure, vm.klog[-400:])
        assert vm.stdout == want, vm.name
