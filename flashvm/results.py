"""Run results as HDF5: one file per run, written atomically.

Schema (version 1; see docs/results.md for the full description):

    /                      attrs: schema_version, flashvm_version, created (ISO time),
                                  command, workload, mode, status, host_seconds,
                                  config_json (the resolved configuration, JSON)
    /cpu/<counter>         int64[ncpu]   one dataset per per-CPU counter (instructions,
                                          cycles, idle_cycles, tlb_refills, tc_misses,
                                          syscalls, interrupts)
    /cpu/exceptions        int64[ncpu, 32]  exceptions taken, by Cause.ExcCode
                           attrs: names (the 32 ExcCode mnemonics)
    /cpu/exits             int64[ncpu, NEXITS]  exits from the JIT loop to Python, by reason
                           attrs: names
    /process/syscalls      int64[n, 2]   (o32 number, calls), process mode only
    /process/unknown_syscalls int64[n, 2] syscalls answered ENOSYS
    /stdout, /stderr       uint8[...]    what the guest printed (bytes), when captured

Every dataset has a `description` attribute (and `unit` where one applies).
The file is written under a temporary name and renamed when complete, so a
reader never sees half a file.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
from pathlib import Path
from typing import Any, Mapping

import h5py
import numpy as np

from flashvm import __version__
from flashvm.kernels import state as S

SCHEMA_VERSION = 1

CPU_COUNTERS = {
    # name: (source, index, unit, description)
    "instructions": ("stats", S.S_INSNS, "instructions", "instructions retired"),
    "cycles": ("cpu", S.CYCLES, "cycles", "simulated cycles, including idle time"),
    "idle_cycles": ("stats", S.S_IDLE_CYCLES, "cycles", "cycles spent in WAIT with nothing to run"),
    "tlb_refills": ("stats", S.S_TLB_REFILL, "events", "TLB refill exceptions taken"),
    "tc_misses": ("stats", S.S_TC_MISS, "events",
                  "translation-cache misses (the simulator's soft TLB, refilled from the TLB or page table)"),
    "syscalls": ("stats", S.S_SYSCALL, "events", "syscall exceptions"),
    "interrupts": ("stats", S.S_INTERRUPT, "events", "interrupts taken"),
}


def exc_names() -> list[str]:
    return [S.EXC_NAMES.get(i, f"exc{i}") for i in range(32)]


def default_path(results_dir: Path, name: str) -> Path:
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    return results_dir / f"{name}-{stamp}.h5"


def _dataset(g: h5py.Group, name: str, data, description: str, unit: str | None = None, **attrs) -> None:
    d = g.create_dataset(name, data=data)
    d.attrs["description"] = description
    if unit:
        d.attrs["unit"] = unit
    for k, v in attrs.items():
        d.attrs[k] = v


def write_run(path: Path, m: S.Machine, *, config: Mapping[str, Any], attrs: Mapping[str, Any],
              syscalls: Mapping[int, int] | None = None, unknown_syscalls: Mapping[int, int] | None = None,
              stdout: bytes | None = None, stderr: bytes | None = None) -> Path:
    """Write one run's counters to `path` (atomically).  Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    try:
        with h5py.File(tmp, "w") as f:
            f.attrs["schema_version"] = SCHEMA_VERSION
            f.attrs["flashvm_version"] = __version__
            f.attrs["created"] = _dt.datetime.now().isoformat(timespec="seconds")
            f.attrs["config_json"] = json.dumps(config, sort_keys=True, default=str)
            for k, v in attrs.items():
                f.attrs[k] = v if v is not None else ""
            g = f.create_group("cpu")
            g.attrs["description"] = "per-CPU counters, indexed by CPU number"
            for name, (src, idx, unit, desc) in CPU_COUNTERS.items():
                arr = m.stats[:, idx] if src == "stats" else m.cpu[:, idx]
                _dataset(g, name, np.asarray(arr, np.int64), desc, unit)
            _dataset(g, "exceptions", m.stats[:, S.S_EXC_BASE:S.S_EXC_BASE + 32].astype(np.int64),
                     "exceptions taken, by Cause.ExcCode", "events", names=exc_names())
            _dataset(g, "exits", m.stats[:, S.S_EXIT_BASE:S.S_EXIT_BASE + S.NEXITS].astype(np.int64),
                     "exits from the JIT loop to Python, by reason", "events", names=S.EXIT_NAMES)
            if syscalls is not None:
                p = f.create_group("process")
                p.attrs["description"] = "process mode: the Linux system calls the program made"
                for name, table, desc in (("syscalls", syscalls, "o32 system calls served: (number, calls)"),
                                          ("unknown_syscalls", unknown_syscalls or {},
                                           "system calls answered -ENOSYS: (number, calls)")):
                    rows = np.array(sorted(table.items()), np.int64).reshape(-1, 2)
                    _dataset(p, name, rows, desc, columns=["number", "calls"])
            for name, data in (("stdout", stdout), ("stderr", stderr)):
                if data is not None:
                    _dataset(f, name, np.frombuffer(data, np.uint8), f"bytes the guest wrote to {name}")
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def read_run(path: Path) -> dict[str, Any]:
    """Load a result file into plain Python/numpy values (for tests and analysis)."""
    out: dict[str, Any] = {}
    with h5py.File(path, "r") as f:
        out["attrs"] = {k: (v.decode() if isinstance(v, bytes) else v) for k, v in f.attrs.items()}
        out["config"] = json.loads(out["attrs"]["config_json"])

        def visit(name, obj):
            if isinstance(obj, h5py.Dataset):
                out[name] = obj[()]
        f.visititems(visit)
    return out
