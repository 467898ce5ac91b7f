"""Root file systems made of Debian 12 (bookworm) mipsel packages (docs/sysroot.md).

    from flashvm.sysroot import build_sysroot, Sysroot
    root = build_sysroot(Path("r"), ["sqlite3"])   # r/usr/bin/sqlite3, r/lib/ld.so.1, ...
    Sysroot.load(Path("r")).packages               # {"libc6": "2.36-9+deb12u14", ...}

The packages come from the machine's own apt sources through a private apt
configuration (apt.py), are unpacked in Python (ar.py, deb.py), finished the
way an install would be (finish.py), and the result is cached (build.py).
The names below are imported from their modules on first use (PEP 562): every flashvm
command registers `flashvm sysroot`, and only that command needs the package's modules.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .build import MANIFEST, Sysroot, SysrootError, build_sysroot, sysroot_cache
    from .source import fetch_source, source_cache

__all__ = ["MANIFEST", "Sysroot", "SysrootError", "build_sysroot", "fetch_source", "source_cache", "sysroot_cache"]
_HOMES = {"MANIFEST": "build", "Sysroot": "build", "SysrootError": "build", "build_sysroot": "build",
          "sysroot_cache": "build", "fetch_source": "source", "source_cache": "source"}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *_HOMES])
