"""Sysroots of Debian packages for the guest OS tests, made with
flashvm.sysroot.build_sysroot (cached under $FLASHVM_CACHE/sysroot, so only a
first run needs the package registry), and the two ways of running a program
of one: on the guest OS (its root image, flashvm.guestos.sysrun) and under the
oracle, qemu-mipsel -L on the same binaries."""
from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Sequence

import pytest
from support import QEMU

from flashvm.disco.osvm import run_os_vms
from flashvm.guestos import boot_os
from flashvm.guestos.sysrun import SYSROOT_ENV, sysroot_boot
from flashvm.machine.config import machine_with_cpus
from flashvm.sysroot import Sysroot, SysrootError, build_sysroot, sysroot_cache
from flashvm.sysroot.apt import AptError, PrivateApt

_built: dict[tuple[str, ...], Sysroot] = {}


def sysroot(packages: Sequence[str]) -> Sysroot:
    """A sysroot of `packages` (built once per test session); the test skips,
    saying why, when the registry cannot be reached and nothing is cached."""
    key = tuple(packages)
    if key not in _built:
        dest = sysroot_cache() / "test-roots" / "-".join(key)
        try:
            PrivateApt(sysroot_cache() / "apt").update(timeout=60)
            _built[key] = build_sysroot(dest, list(packages))
        except (AptError, SysrootError) as e:
            pytest.skip(f"Debian packages {' '.join(packages)} not available: {e}")
    return _built[key]


def guest(root: Sysroot, argv: Sequence[str], *, files=None, stdin: bytes = b"", cpus: int = 1,
          vms: int | None = None, mode: str = "functional", max_insns: int = 20_000_000_000):
    """Run argv on the guest OS over `root`: (status, stdout, stderr, result); with
    `vms`, in that many Disco VMs (a list of (status, stdout, stderr), the run's result)."""
    init_files, argv0, env, image = sysroot_boot(root, [list(argv)], files)
    if vms:
        outs, _, r = run_os_vms(init_files, argv0, vms=vms, cpus_per_vm=cpus, mem_mb=112, machine="flash8",
                                mode=mode, env=[f"{k}={v}" for k, v in env.items()], stdin=stdin,
                                max_insns=max_insns, root_image=image)
        for o in outs:
            assert not o.panicked and o.failure is None, (o.failure, o.klog.decode(errors="replace")[-2000:])
        return [(o.status, o.stdout, o.stderr) for o in outs], r
    machine = machine_with_cpus("flash8", cpus) if cpus > 1 else None
    r = boot_os(init_files, argv0, env=env, stdin=stdin, machine=machine, mode=mode, max_insns=max_insns,
                ram_mb=128, root_image=image)
    assert not r.panicked, r.klog.decode(errors="replace")[-2000:]
    return r.status, r.stdout, r.stderr, r


def oracle(root: Sysroot, argv: Sequence[str], *, cwd: Path, stdin: bytes = b"") -> tuple[int, bytes] | None:
    """qemu-mipsel -L ROOT on the same binary (None without qemu); relative paths are from `cwd`."""
    if QEMU is None:
        return None
    # the program by its own name (links are relative, so the host follows them inside the root):
    # busybox looks at the name it is called by
    q = subprocess.run([QEMU, "-L", str(root.root), str(root.root) + argv[0], *argv[1:]], input=stdin,
                       capture_output=True, env={**SYSROOT_ENV, "PYTHONDONTWRITEBYTECODE": "1"},   # the root stays as it is
                       cwd=cwd, timeout=600)
    return q.returncode, q.stdout
