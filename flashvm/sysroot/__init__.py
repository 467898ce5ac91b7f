"""Root file systems made of Debian 12 (bookworm) mipsel packages (docs/sysroot.md).

    from flashvm.sysroot import build_sysroot, Sysroot
    root = build_sysroot(Path("r"), ["sqlite3"])   # r/usr/bin/sqlite3, r/lib/ld.so.1, ...
    Sysroot.load(Path("r")).packages               # {"libc6": "2.36-9+deb12u14", ...}

The packages come from the machine's own apt sources through a private apt
configuration (apt.py), are unpacked in Python (ar.py, deb.py), finished the
way an install would be (finish.py), and the result is cached (build.py).
"""
from .build import MANIFEST, Sysroot, SysrootError, build_sysroot, sysroot_cache
from .source import fetch_source, source_cache

__all__ = ["MANIFEST", "Sysroot", "SysrootError", "build_sysroot", "fetch_source", "source_cache", "sysroot_cache"]
