"""Building the guest OS kernel (flashvm/guest/os) in its link variants.

The kernel is built with :func:`flashvm.toolchain.build_bare` (its own start
code and linker script, no bare runtime) and cached like every other build.
"""
from __future__ import annotations

import os
from pathlib import Path

from flashvm.toolchain import build_bare

OS_DIR = Path(__file__).resolve().parent.parent / "guest" / "os"

# link variant -> linker script; "hal" (the mapped kernel with the HAL) runs only in Disco's VMs
VARIANTS = {"kseg0": "link.ld", "mapped": "link-mapped.ld", "hal": "link-mapped.ld"}


def flashfs_dir() -> Path | None:
    """Where the flashfs C library is: flashvm/guest/os/fs, or
    $FLASHVM_FLASHFS_DIR (a directory holding flashfs.c/.h) for testing."""
    env = os.environ.get("FLASHVM_FLASHFS_DIR")
    for d in ([Path(env)] if env else []) + [OS_DIR / "fs"]:
        if (d / "flashfs.c").is_file() and (d / "flashfs.h").is_file():
            return d.resolve()
    return None


def _kernel_sources() -> list[Path]:
    srcs = [OS_DIR / "start.S"] + sorted(p for p in OS_DIR.glob("*.c"))
    fsd = flashfs_dir()
    if fsd is not None:
        srcs.append(fsd / "flashfs.c")
    return srcs


def build_kernel(variant: str = "kseg0", opt: str = "-O2") -> Path:
    """Build (or fetch from the cache) the kernel ELF for a link variant."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown kernel variant {variant!r} (choose from {sorted(VARIANTS)})")
    flags = ["-fno-builtin", "-Wall", "-Wno-unused-function", f"-I{OS_DIR}"]
    fsd = flashfs_dir()
    if fsd is not None:        # the kernel includes "fs/flashfs.h"
        flags += ["-DHAVE_FLASHFS=1", f"-I{fsd.parent}"]
    if variant in ("mapped", "hal"):
        flags.append("-DKERNEL_MAPPED=1")
    if variant == "hal":
        flags.append("-DKERNEL_HAL=1")
    return build_bare(_kernel_sources(), opt=opt, extra_flags=flags, runtime=False,
                      linker_script=OS_DIR / VARIANTS[variant], name=f"flashvm-kernel-{variant}")
