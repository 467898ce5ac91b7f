"""Measures: one function per number an experiment takes from a run's HDF5 file.

Each reads HDF5 names only (docs/results.md) and returns a float, or None when
the file lacks what it needs (a piece of the simulator this tree does not have
yet: /disco/numa, /disco/memory, /services).  Counters are the region of
interest's (/roi/NAME, flashvm/experiments/runspec.py's `regions`): the
workload, not the boot.  Under Disco the guest kernel runs in supervisor mode and
the monitor in kernel mode, so cycles_by_mode splits user / kernel / monitor.
"""
from __future__ import annotations

from typing import Callable

import h5py
import numpy as np

from flashvm.disco.footprint import KINDS as FOOTPRINT_KINDS
from flashvm.experiments.model import Run
from flashvm.experiments.runspec import regions

Measure = Callable[[h5py.File, Run], "float | None"]
MB = 1 << 20


def _region(f: h5py.File, run: Run) -> h5py.Group | None:
    names = [n for n in regions(run) if f"roi/{n}" in f]
    return f[f"roi/{names[0]}"] if names else None


def _cpu(f: h5py.File, run: Run, name: str) -> np.ndarray | None:
    g = _region(f, run)
    if g is None or f"cpu/{name}" not in g:
        return None
    return np.asarray(g[f"cpu/{name}"][...], dtype=np.int64)


def time_cycles(f: h5py.File, run: Run) -> float | None:
    """The region's simulated time: the longest of its regions on any CPU (cycles)."""
    times = [int(np.max(f[f"roi/{n}/cpu/cycles"][...])) for n in regions(run) if f"roi/{n}/cpu/cycles" in f]
    return float(max(times)) if times else None


def _split(f: h5py.File, run: Run) -> dict[str, float] | None:
    by_mode, idle = _cpu(f, run, "cycles_by_mode"), _cpu(f, run, "idle_cycles")
    if by_mode is None or idle is None:
        return None
    k, s, u = (float(x) for x in by_mode.sum(axis=0))
    total = k + s + u + float(idle.sum())
    if total <= 0:
        return None
    if run.system == "os":
        parts = {"user": u, "kernel": k + s, "monitor": 0.0}
    else:
        parts = {"user": u, "kernel": s, "monitor": k}
    parts["idle"] = float(idle.sum())
    return {name: v / total for name, v in parts.items()}


def _share(part: str) -> Measure:
    def measure(f: h5py.File, run: Run) -> float | None:
        s = _split(f, run)
        return None if s is None else s[part]
    measure.__doc__ = f"the {part} share of all CPUs' cycles in the region (0..1)"
    return measure


def local_miss_pct(f: h5py.File, run: Run) -> float | None:
    """L2 misses served by the requester's own node, percent of all L2 misses."""
    loc, rem, dirty = (_cpu(f, run, n) for n in ("misses_local", "misses_remote", "misses_remote_dirty"))
    if loc is None or rem is None or dirty is None:
        return None
    total = int(loc.sum() + rem.sum() + dirty.sum())
    if run.machine.startswith("uma"):
        return 100.0 if total else None      # a UMA machine has no remote memory: every miss costs the local latency
    return 100.0 * int(loc.sum()) / total if total else None


def dirty_miss_pct(f: h5py.File, run: Run) -> float | None:
    """L2 misses to a line held dirty in another node's cache, percent of all L2 misses (sharing, locks)."""
    loc, rem, dirty = (_cpu(f, run, n) for n in ("misses_local", "misses_remote", "misses_remote_dirty"))
    if loc is None or rem is None or dirty is None:
        return None
    total = int(loc.sum() + rem.sum() + dirty.sum())
    return 100.0 * int(dirty.sum()) / total if total else None


def hot_node_pct(f: h5py.File, run: Run) -> float | None:
    """The busiest node's share of the directory operations, percent (8 nodes evenly used: 12.5)."""
    g = _region(f, run)
    if g is None or "node/directory_ops" not in g:
        return None
    ops = np.asarray(g["node/directory_ops"][...], dtype=np.float64)
    return 100.0 * float(ops.max()) / float(ops.sum()) if ops.sum() else None


def stall_share(f: h5py.File, run: Run) -> float | None:
    """The part of the busy cycles stalled on cache misses (0..1)."""
    stall, by_mode = _cpu(f, run, "stall_by_mode"), _cpu(f, run, "cycles_by_mode")
    if stall is None or by_mode is None or by_mode.sum() == 0:
        return None
    return float(stall.sum()) / float(by_mode.sum())


def instructions(f: h5py.File, run: Run) -> float | None:
    v = _cpu(f, run, "instructions")
    return None if v is None else float(v.sum())


def tlb_refills_per_minsn(f: h5py.File, run: Run) -> float | None:
    """TLB refills per million instructions.  Under Disco the real TLB's misses all trap into the
    monitor (the machine's refill counter stays 0): the refills it made from its second-level TLB or
    the guest's TLB (as the run's summary counts them)."""
    insns = _cpu(f, run, "instructions")
    if insns is None or insns.sum() == 0:
        return None
    if run.system != "os":
        parts = [_disco(f, run, n) for n in ("vtlb_hits", "l2tlb_hits")]
        if any(v is None for v in parts):
            return None
        return 1e6 * sum(v for v in parts if v is not None) / float(insns.sum())
    refills = _cpu(f, run, "tlb_refills")
    return None if refills is None else 1e6 * float(refills.sum()) / float(insns.sum())


def _disco(f: h5py.File, run: Run, name: str) -> float | None:
    g = _region(f, run)
    if g is None or "disco_vcpu_counters" not in g or "disco/vcpu_counters" not in f:
        return None
    names = [str(n) for n in f["disco/vcpu_counters"].attrs["names"]]
    if name not in names:
        return None
    return float(g["disco_vcpu_counters"][:, names.index(name)].sum())


def l2tlb_hit_pct(f: h5py.File, run: Run) -> float | None:
    """Disco: the monitor's TLB refills its second-level TLB served (the rest came from the guest's
    TLB, through the pmap), percent."""
    hits, vtlb = _disco(f, run, "l2tlb_hits"), _disco(f, run, "vtlb_hits")
    if hits is None or vtlb is None or hits + vtlb == 0:
        return None
    return 100.0 * hits / (hits + vtlb)


def emulated_per_minsn(f: h5py.File, run: Run) -> float | None:
    """Disco: privileged instructions the monitor emulated per million instructions."""
    emulated, insns = _disco(f, run, "emulated"), instructions(f, run)
    if emulated is None or not insns:
        return None
    return 1e6 * emulated / insns


def _attr(path: str, name: str, scale: float = 1.0) -> Measure:
    def measure(f: h5py.File, run: Run) -> float | None:
        if path not in f or name not in f[path].attrs:
            return None
        return float(f[path].attrs[name]) * scale
    measure.__doc__ = f"attribute {name} of /{path}"
    return measure


def shared_by_all_mb(f: h5py.File, run: Run) -> float | None:
    """MB of machine pages every VM uses at the run's end (/disco/memory/sharing's last entry)."""
    if "disco/memory/sharing" not in f or run.vms < 2:
        return None
    return float(f["disco/memory/sharing"][-1]) * 4096 / MB


def footprint_kind_mb(which: str, kind: str) -> Measure:
    """MB of one kind of page (flashvm.disco.footprint.KINDS) in the virtual ("guest") or machine
    footprint when its total peaked (/disco/memory/{which}_kinds_at_peak)."""
    path = f"disco/memory/{which}_kinds_at_peak"

    def measure(f: h5py.File, run: Run) -> float | None:
        if path not in f:
            return None
        return float(f[path][FOOTPRINT_KINDS.index(kind)]) * 4096 / MB
    measure.__doc__ = f"/{path}[{kind}] in MB"
    return measure


def numa_rate(name: str) -> Measure:
    """NUMA policy actions per simulated second (/disco/numa attrs, the policy's branch)."""
    count = _attr("disco/numa", name)

    def measure(f: h5py.File, run: Run) -> float | None:
        n, t = count(f, run), time_cycles(f, run)
        if n is None or not t:
            return None
        mhz = float(_machine_mhz(f))
        return n / (t / (mhz * 1e6))
    return measure


def numa_policy_pct(f: h5py.File, run: Run) -> float | None:
    """The NUMA policy's own cycles (decisions, page copies, shootdowns: /disco/numa monitor_cycles)
    as a percentage of all CPUs' cycles in the region."""
    cycles = _cpu(f, run, "cycles")
    if cycles is None or "disco/numa" not in f or "monitor_cycles" not in f["disco/numa"].attrs:
        return None
    total = float(cycles.sum())
    return 100.0 * float(f["disco/numa"].attrs["monitor_cycles"]) / total if total else None


def _machine_mhz(f: h5py.File) -> float:
    import json
    return float(json.loads(f.attrs["machine_json"]).get("clock_mhz", 400.0))


CALLS_ONLY = ("utlb_miss",)    # its handler has no room for a marker: calls counted, its time is in `outside`


def _service(f: h5py.File, service: str, column: str) -> tuple[float, float] | None:
    """(the service's `column`, the sum of `column` over the kernel's services) from /services;
    None for a column other than calls of a service that counts calls only."""
    if "services/counters" not in f or (service in CALLS_ONLY and column != "calls"):
        return None
    names = [str(n) for n in f["services"].attrs["names"]]
    cols = [str(n) for n in f["services/counters"].attrs["names"]]
    if service not in names:
        return None
    table = np.asarray(f["services/counters"][...], dtype=np.float64)
    kernel = [i for i, n in enumerate(names) if n != "outside"]
    return float(table[names.index(service), cols.index(column)]), float(table[kernel, cols.index(column)].sum())


def service_share(service: str) -> Measure:
    """A kernel service's share of the time in the kernel's marked services (/services, 0..1)."""
    def measure(f: h5py.File, run: Run) -> float | None:
        got = _service(f, service, "cycles")
        return None if got is None or not got[1] else got[0] / got[1]
    return measure


def service_avg_us(service: str) -> Measure:
    """A kernel service's average time per invocation, microseconds (/services)."""
    def measure(f: h5py.File, run: Run) -> float | None:
        cycles, calls = _service(f, service, "cycles"), _service(f, service, "calls")
        if cycles is None or calls is None or not calls[0]:
            return None
        return cycles[0] / calls[0] / _machine_mhz(f)
    return measure


PARTS = ("tlbw", "priv", "mcall", "ktlb")     # /services/monitor's columns, as Table 2 orders them


def service_per_call(service: str, column: str) -> Measure:
    """A kernel service's calls (column "calls") or its `column` per call (/services)."""
    def measure(f: h5py.File, run: Run) -> float | None:
        calls = _service(f, service, "calls")
        if column == "calls" or calls is None:
            return None if calls is None else calls[0]
        got = _service(f, service, column)
        return None if got is None or not calls[0] else got[0] / calls[0]
    return measure


def service_part(service: str, part: str) -> Measure:
    """Disco: the share of a service's time that is guest kernel execution ("kernel") or one
    of the monitor's parts (PARTS), 0..1 (/services)."""
    def measure(f: h5py.File, run: Run) -> float | None:
        cycles = _service(f, service, "cycles")
        if cycles is None or not cycles[0] or "services/monitor" not in f:
            return None
        if part == "kernel":
            kernel = _service(f, service, "kernel_cycles")
            return None if kernel is None else kernel[0] / cycles[0]
        names = [str(n) for n in f["services"].attrs["names"]]
        mon = np.asarray(f["services/monitor"][...], dtype=np.float64)
        return float(mon[names.index(service), PARTS.index(part)]) / cycles[0]
    return measure


def service_events(service: str, event: str) -> Measure:
    """Disco: the monitor's `event` (a /disco events name: "pages_zeroed", "traps", ...) per call of a
    kernel service (/services/events)."""
    def measure(f: h5py.File, run: Run) -> float | None:
        calls = _service(f, service, "calls")
        if calls is None or not calls[0] or "services/events" not in f:
            return None
        names = [str(n) for n in f["services"].attrs["names"]]
        d = f["services/events"]
        events = [str(n) for n in d.attrs["names"]]
        return float(d[names.index(service), events.index(event)]) / calls[0]
    return measure


MEASURES: dict[str, Measure] = {
    "time": time_cycles,
    "user": _share("user"),
    "kernel": _share("kernel"),
    "monitor": _share("monitor"),
    "idle": _share("idle"),
    "local_pct": local_miss_pct,
    "stall": stall_share,
    "dirty_pct": dirty_miss_pct,
    "hot_node_pct": hot_node_pct,
    "instructions": instructions,
    "tlb_refills_per_minsn": tlb_refills_per_minsn,
    "l2tlb_hit_pct": l2tlb_hit_pct,
    "emulated_per_minsn": emulated_per_minsn,
    "virtual_mb": _attr("disco/memory", "guest_pages_total_peak", 4096 / MB),    # Fig. 6 draws the peak
    "machine_mb": _attr("disco/memory", "machine_pages_total_peak", 4096 / MB),
    "virtual_end_mb": _attr("disco/memory", "guest_pages_total", 4096 / MB),
    "machine_end_mb": _attr("disco/memory", "machine_pages_total", 4096 / MB),
    "shared_by_all_mb": shared_by_all_mb,
    **{f"{side}_{kind}_mb": footprint_kind_mb(which, kind) for side, which in (("virtual", "guest"), ("machine", "machine"))
       for kind in FOOTPRINT_KINDS},
    "migrations": _attr("disco/numa", "migrations"),
    "replications": _attr("disco/numa", "replications"),
    "migrations_per_s": numa_rate("migrations"),
    "policy_pct": numa_policy_pct,
    "copy_mcycles": _attr("disco/numa", "copy_cycles", 1e-6),
    "frozen_pages": _attr("disco/numa", "frozen_pages"),
    "replications_per_s": numa_rate("replications"),
}
SERVICES = ("demand_zero", "quick_fault", "other_fault", "utlb_miss", "open", "read", "write", "execve",
            "other_syscall")
for _s in SERVICES:
    MEASURES[f"{_s}_share"] = service_share(_s)
    MEASURES[f"{_s}_us"] = service_avg_us(_s)
    MEASURES[f"{_s}_calls"] = service_per_call(_s, "calls")
    MEASURES[f"{_s}_insns"] = service_per_call(_s, "instructions")       # per call
    MEASURES[f"{_s}_l2miss"] = service_per_call(_s, "cache_misses")      # per call
    for _p in ("kernel", *PARTS):
        MEASURES[f"{_s}_{_p}"] = service_part(_s, _p)
    MEASURES[f"{_s}_zeroed"] = service_events(_s, "pages_zeroed")       # per call, Disco (HAL calls)
    MEASURES[f"{_s}_traps"] = service_events(_s, "traps")               # per call, Disco


def take(path: str, run: Run, names: tuple[str, ...]) -> dict[str, float | None]:
    """The measures `names` of the run whose file is `path`."""
    with h5py.File(path, "r") as f:
        return {n: MEASURES[n](f, run) for n in names}
