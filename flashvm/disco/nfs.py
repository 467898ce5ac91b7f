"""The file service over Disco's virtual subnet (docs/disco.md, "NFS"): VM 0
serves /srv with /sbin/nfs (flashvm/guest/os/init/nfs.c), every other VM
mounts it under /nfs and then runs its command there.  File pages read by
several clients are the server's machine pages, remapped copy-on-write
(flashvm/disco/netremap.py).

    vms, disco, run = run_nfs({"/srv/prog": exe}, ["/nfs/prog", "arg"], vms=3)
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping, Sequence

from flashvm.disco.monitor import Disco
from flashvm.disco.osvm import run_os_vms
from flashvm.guestos.build import OS_DIR
from flashvm.machine.flash import RunResult
from flashvm.spec import GuestFile, VmOutcome
from flashvm.toolchain import build_user

NFS_PROGRAM = "/sbin/nfs"
EXPORT = "/srv"          # what VM 0 serves
MOUNT = "/nfs"           # where the clients see it (a ramfs the guest kernel mounts in a VM with a NIC)


def nfs_program() -> Path:
    """The ELF of /sbin/nfs (built with build_user and cached)."""
    return build_user([OS_DIR / "init" / "nfs.c"], opt="-Os", extra_flags=["-Wall"], name="nfs")


def nfs_argvs(vms: int, command: Sequence[str]) -> list[list[str]]:
    """Init's argv in each VM: the server in VM 0, a client running `command` in the others."""
    if vms < 2:
        raise ValueError("the file service needs at least 2 VMs (a server and a client)")
    return [[NFS_PROGRAM, "serve", EXPORT, str(vms - 1)]] + \
        [[NFS_PROGRAM, "mount", MOUNT, "--", *command] for _ in range(vms - 1)]


def nfs_layout(files: Mapping[str, GuestFile], argv: Sequence[str],
               vms: int) -> tuple[dict[str, GuestFile], list[list[str]]]:
    """`exec --os --vms N --nfs`: the run's files stay where they are and are also exported
    under /srv (so /bin/prog is /srv/bin/prog on the server, /nfs/bin/prog on a client),
    /sbin/nfs joins them; the clients run argv with its program taken from /nfs."""
    out = dict(files)
    out.update({EXPORT + p: f for p, f in files.items()})
    out[NFS_PROGRAM] = nfs_program()
    return out, nfs_argvs(vms, [MOUNT + argv[0], *argv[1:]])


def run_nfs(files: Mapping[str, GuestFile], command: Sequence[str], *, vms: int = 3,
            **kw: Any) -> tuple[list[VmOutcome], Disco, RunResult]:
    """`files` (paths under /srv are exported) on every VM's root disk, VM 0 serving, the
    others mounting and running `command` (e.g. /nfs/prog ...); `kw` go to run_os_vms."""
    argvs = nfs_argvs(vms, command)
    return run_os_vms({**files, NFS_PROGRAM: nfs_program()}, argvs[0], vms=vms, argv_per_vm=argvs,
                      nets=True, remap=True, **kw)


__all__ = ["EXPORT", "MOUNT", "NFS_PROGRAM", "nfs_argvs", "nfs_program", "run_nfs"]
