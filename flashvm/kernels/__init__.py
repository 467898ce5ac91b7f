"""Numba kernels of the simulated machine.

Numba's on-disk cache (cache=True) is keyed on each function's own source
file only, so a cached interpreter would survive a change in a helper it
inlines.  Pointing the cache at a directory named by a hash of every kernel
source makes any change to any kernel start from a fresh cache.  jit.py and
jittiming.py (the JIT tier's policy) and jitnative.py (its LLVM machine-code
loader) are plain Python no compiled function depends on: left out.

Numba's array-math module probes for a BLAS by importing scipy.linalg (about 0.25 s of every
start, when the first kernel is loaded).  No kernel uses linear algebra, so the probe is answered
"none" here, while this package is imported, and scipy stays importable as before.
"""
import hashlib
import os
import sys
from pathlib import Path

import numba


def _kernel_cache_dir() -> str:
    h = hashlib.sha256(numba.__version__.encode())
    for p in sorted(Path(__file__).parent.glob("*.py")):
        if p.name in ("jit.py", "jitnative.py", "jittiming.py"):
            continue
        h.update(p.name.encode())
        h.update(p.read_bytes())
    root = Path(os.environ.get("FLASHVM_CACHE", Path.home() / ".cache" / "flashvm"))
    return str(root / "numba" / h.hexdigest()[:16])


if not os.environ.get("NUMBA_CACHE_DIR"):
    numba.config.CACHE_DIR = _kernel_cache_dir()


def _skip_blas_probe() -> None:
    """Import numba.np.arraymath with scipy's BLAS module hidden (its probe then finds no BLAS)."""
    if "numba.np.arraymath" in sys.modules:
        return
    blas = "scipy.linalg.cython_blas"
    hidden = blas not in sys.modules
    if hidden:
        sys.modules[blas] = None          # type: ignore[assignment]  # an import of it raises ImportError
    try:
        import numba.np.arraymath  # noqa: F401
    finally:
        if hidden:
            del sys.modules[blas]


_skip_blas_probe()
