"""Machine configurations: frozen dataclasses composed in Python (gem5-style).

    from flashvm.machine.config import FLASH8, machine_config
    cfg = FLASH8                                   # 8 nodes, 256 MB, the paper's multiprocessor
    cfg = machine_config("flash1")                 # by name
    cfg = machine_config("my.toml")                # or from a file
    cfg = dataclasses.replace(FLASH8, l2=CacheConfig(256 << 10, 2))

A config file is TOML with the field names below; `base = "flash8"` starts
from a ready-made config, sizes may be written "32M" / "256K", and the cache
and latency tables are `[l1i]`, `[l1d]`, `[l2]`, `[latency]`:

    base = "flash8"
    nodes = 16
    [l2]
    size = "256K"

Every field carries its documentation (`describe(cfg)` lists them), and
`cfg.to_dict()` is what result files record.
"""
from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from flashvm.machine.layout import DEV_BASE
from flashvm.tomltypes import describe_value, field_types, type_problem

if TYPE_CHECKING:      # flashvm.kernels imports Numba: a config is read without it
    from flashvm.kernels.state import CacheShape

MB = 1 << 20
KB = 1 << 10
MAX_RAM = DEV_BASE        # RAM must end below the device window
MAX_CLOCK_MHZ = 1_000_000       # limits that keep cycle counts well inside the kernels' int64 words
MAX_LATENCY_NS = 1_000_000_000
MAX_QUANTUM = 1_000_000_000_000


class ConfigError(ValueError):
    """A machine configuration that cannot be built; the message names the field."""


def _type_problems(obj: Any, prefix: str = "") -> list[tuple[str, str]]:
    """(field, "<given>; expected <type>") for each field of a config dataclass
    whose value has the wrong type, nested tables as "l2.ways"."""
    out = []
    cls: type = type(obj)                         # a plain `type` is Hashable to mypy (type[Any] is not)
    for name, tp in field_types(cls).items():
        v = getattr(obj, name)
        problem = type_problem(v, tp)
        if problem is not None:
            out.append((prefix + name, problem))
        elif dataclasses.is_dataclass(v):
            out.extend(_type_problems(v, f"{prefix}{name}."))
    return out


@dataclass(frozen=True)
class CacheConfig:
    """One cache: size and associativity (the line size is the machine's)."""
    size: int = field(default=32 * KB, metadata={"doc": "capacity in bytes"})
    ways: int = field(default=2, metadata={"doc": "associativity (LRU replacement)"})

    def shape(self, line_bytes: int) -> CacheShape:
        from flashvm.kernels.state import CacheShape
        return CacheShape(self.size // (line_bytes * self.ways), self.ways)


@dataclass(frozen=True)
class LatencyConfig:
    """Latencies of the memory system in ns, without contention (DISCO.md §1)."""
    l2_hit_ns: float = field(default=50.0, metadata={"doc": "L1 miss served by the L2"})
    local_ns: float = field(default=300.0, metadata={
        "doc": "L2 miss served by the memory of the requester's own node"})
    remote_ns: float = field(default=900.0, metadata={
        "doc": "L2 miss served by a remote home's memory, or any miss involving two nodes"})
    remote_dirty_ns: float = field(default=1200.0, metadata={
        "doc": "L2 miss to a line held exclusive by a cache on a third node (3 hops)"})
    dir_occupancy_ns: float = field(default=30.0, metadata={
        "doc": "home directory time per invalidation it sends, added to the requester's latency"})
    uma_ns: float = field(default=300.0, metadata={
        "doc": "in UMA mode, the one latency of every L2 miss"})
    io_ns: float = field(default=500.0, metadata={
        "doc": "an uncached access to a device register (charged in both modes: it is what makes "
               "a driver's polling loop take time)"})


@dataclass(frozen=True)
class MachineConfig:
    """A FLASH machine: nodes of CPUs, caches, memory and a MAGIC controller."""
    name: str = field(default="custom", metadata={"doc": "name of the configuration"})
    nodes: int = field(default=1, metadata={"doc": "FLASH nodes (1-64)"})
    cpus_per_node: int = field(default=1, metadata={"doc": "processors on each node"})
    mem_per_node: int = field(default=32 * MB, metadata={"doc": "bytes of memory on each node (a power of two)"})
    clock_mhz: float = field(default=400.0, metadata={
        "doc": "CPU clock; the paper simulated simple in-order CPUs at twice the R10000's clock"})
    line_bytes: int = field(default=128, metadata={"doc": "cache line size of the L1s and the L2"})
    l1i: CacheConfig = field(default_factory=lambda: CacheConfig(32 * KB, 2),
                             metadata={"doc": "L1 instruction cache"})
    l1d: CacheConfig = field(default_factory=lambda: CacheConfig(32 * KB, 2),
                             metadata={"doc": "L1 data cache"})
    l2: CacheConfig = field(default_factory=lambda: CacheConfig(1 * MB, 2),
                            metadata={"doc": "unified L2 (the paper: 1 MB; 256 KB for raytrace migration runs)"})
    latency: LatencyConfig = field(default_factory=LatencyConfig, metadata={"doc": "memory latencies"})
    interleave: int = field(default=0, metadata={
        "doc": "bytes per interleave unit when memory is spread round-robin over nodes; 0: each node's "
               "memory is one contiguous slice"})
    uma: bool = field(default=False, metadata={
        "doc": "a bus-based UMA machine: every L2 miss costs latency.uma_ns, wherever the data lives"})
    tlb_entries: int = field(default=64, metadata={"doc": "TLB entries per CPU (pairs of pages)"})
    quantum: int = field(default=1000, metadata={
        "doc": "cycles each CPU runs before the next one, in CPU order (deterministic interleaving)"})
    hot_page_threshold: int = field(default=0, metadata={
        "doc": "MAGIC: misses from one node to one page that make it hot (0: no hot-page events)"})

    # ------------------------------------------------------------- derived
    @property
    def ncpu(self) -> int:
        return self.nodes * self.cpus_per_node

    @property
    def ram_bytes(self) -> int:
        return self.nodes * self.mem_per_node

    def cycles(self, ns: float) -> int:
        return int(round(ns * self.clock_mhz / 1000.0))

    def cpu_node(self) -> list[int]:
        return [c // self.cpus_per_node for c in range(self.ncpu)]

    def home_shift(self) -> int:
        """Physical address pa is homed on node (pa >> home_shift) % nodes."""
        if self.nodes == 1:
            return 31
        unit = self.interleave or self.mem_per_node
        return unit.bit_length() - 1

    def validate(self, where: str | None = None) -> "MachineConfig":
        """This config, if every field has its type and a value the machine can
        model; else a one-line ConfigError naming the field, prefixed with `where`
        (default: the machine's name; a config file gives its path)."""
        def bad(msg: str) -> None:
            raise ConfigError(f"{where or f'machine {self.name!r}'}: {msg}")
        for key, problem in _type_problems(self):
            bad(f"{key} is {problem}")
        if not 1 <= self.nodes <= 64:
            bad(f"nodes = {self.nodes}: must be 1..64")
        if self.cpus_per_node < 1 or self.ncpu > 64:
            bad(f"{self.ncpu} CPUs: must be 1..64 in all (the directory's sharer set)")
        if self.line_bytes <= 0 or self.line_bytes & (self.line_bytes - 1):
            bad(f"line_bytes = {self.line_bytes}: must be a power of two")
        if self.nodes > 1 and self.mem_per_node & (self.mem_per_node - 1):
            bad(f"mem_per_node = {self.mem_per_node}: must be a power of two with several nodes")
        if self.mem_per_node < 1 * MB or self.mem_per_node % 4096:
            bad(f"mem_per_node = {self.mem_per_node}: a multiple of 4 KB, at least 1 MB")
        if self.ram_bytes > MAX_RAM:
            bad(f"{self.ram_bytes >> 20} MB of RAM: at most {MAX_RAM >> 20} MB (RAM ends below the devices "
                "at 0x1F000000); use fewer nodes or less mem_per_node")
        if not 16 <= self.line_bytes <= 4096:
            bad(f"line_bytes = {self.line_bytes}: must be 16..4096")
        if self.interleave < 0 or self.interleave and (self.interleave & (self.interleave - 1)
                                                       or self.interleave < 4096):
            bad(f"interleave = {self.interleave}: 0, or a power of two of at least one 4 KB page")
        for nm in ("l1i", "l1d", "l2"):
            cc: CacheConfig = getattr(self, nm)
            if cc.size <= 0:
                bad(f"{nm}.size = {cc.size}: must be positive")
            if cc.ways < 1:
                bad(f"{nm}.ways = {cc.ways}: must be at least 1")
            if cc.size % (cc.ways * self.line_bytes):
                bad(f"{nm}: {cc.size} bytes is not a whole number of {cc.ways}-way sets of {self.line_bytes}-byte lines")
            sets = cc.size // (cc.ways * self.line_bytes)
            if sets & (sets - 1):
                bad(f"{nm}: {sets} sets: size / (ways * line) must be a power of two")
        if self.l2.size < max(self.l1i.size, self.l1d.size):
            bad("the L2 must be at least as large as each L1 (it includes them)")
        if not 0 < self.clock_mhz <= MAX_CLOCK_MHZ:
            bad(f"clock_mhz = {self.clock_mhz}: must be above 0 and at most {MAX_CLOCK_MHZ}")
        if not 1 <= self.quantum <= MAX_QUANTUM:
            bad(f"quantum = {self.quantum}: must be 1..{MAX_QUANTUM} cycles")
        if not 1 <= self.tlb_entries <= 64:
            bad(f"tlb_entries = {self.tlb_entries}: must be 1..64")
        if self.hot_page_threshold < 0:
            bad(f"hot_page_threshold = {self.hot_page_threshold}: must be >= 0 (0: no hot-page events)")
        for f in dataclasses.fields(LatencyConfig):
            ns = getattr(self.latency, f.name)
            if not 0 <= ns <= MAX_LATENCY_NS:     # also refuses nan
                bad(f"latency.{f.name} = {ns}: must be 0..{MAX_LATENCY_NS} ns")
        return self

    def latencies_cycles(self) -> dict[str, int]:
        """The latencies the kernels use, in cycles."""
        lat = self.latency
        if self.uma:
            flat = self.cycles(lat.uma_ns)
            return {"l2": self.cycles(lat.l2_hit_ns), "local": flat, "remote": flat, "dirty": flat,
                    "inval": self.cycles(lat.dir_occupancy_ns), "io": self.cycles(lat.io_ns)}
        return {"l2": self.cycles(lat.l2_hit_ns), "local": self.cycles(lat.local_ns),
                "remote": self.cycles(lat.remote_ns), "dirty": self.cycles(lat.remote_dirty_ns),
                "inval": self.cycles(lat.dir_occupancy_ns), "io": self.cycles(lat.io_ns)}

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["ncpu"] = self.ncpu
        d["ram_bytes"] = self.ram_bytes
        d["latency_cycles"] = self.latencies_cycles()
        return d


FLASH1 = MachineConfig(name="flash1", nodes=1, mem_per_node=64 * MB).validate()
FLASH8 = MachineConfig(name="flash8", nodes=8, mem_per_node=32 * MB).validate()
UMA8 = MachineConfig(name="uma8", nodes=8, mem_per_node=32 * MB, uma=True).validate()
PRESETS = {c.name: c for c in (FLASH1, FLASH8, UMA8)}

_SIZE_UNITS = {"": 1, "K": KB, "KB": KB, "M": MB, "MB": MB, "G": 1 << 30, "GB": 1 << 30}


def parse_size(v: Any, what: str) -> int:
    """An int, or a string like "32M", "256K", "4096"."""
    if isinstance(v, bool):
        raise ConfigError(f"{what}: expected a size, got {v!r}")
    if isinstance(v, int):
        return v
    if isinstance(v, str):
        s = v.strip().upper().replace("IB", "B")
        num = s.rstrip("KMGB")
        unit = s[len(num):]
        if num.isdigit() and unit in _SIZE_UNITS:
            return int(num) * _SIZE_UNITS[unit]
    raise ConfigError(f"{what}: {v!r} is not a size (write e.g. 32768, \"32K\" or \"1M\")")


def _sub(cls, base, table: Any, where: str, say: str):
    fs = field_types(cls)
    if not isinstance(table, dict):
        raise ConfigError(f"{say}{where} is {describe_value(table)}; expected a table: "
                          f"[{where}] with keys {', '.join(fs)}")
    kw = {}
    for k, v in table.items():
        if k not in fs:
            raise ConfigError(f"{say}{where}: unknown key {k!r} (known: {', '.join(fs)})")
        kw[k] = parse_size(v, f"{say}{where}.{k}") if k == "size" else v
    return dataclasses.replace(base, **kw)


def config_from_dict(d: dict, *, name: str = "custom", source: str | Path | None = None) -> MachineConfig:
    """The MachineConfig a TOML table describes (module doc); errors are one line,
    prefixed with `source` (the file it came from) when given."""
    say = f"{source}: " if source is not None else ""
    d = dict(d)
    base_name = d.pop("base", None)
    if base_name is not None and (not isinstance(base_name, str) or base_name not in PRESETS):
        raise ConfigError(f"{say}base = {base_name!r}: unknown (known: {', '.join(PRESETS)})")
    cfg = PRESETS[base_name] if base_name else MachineConfig()
    fs = field_types(MachineConfig)
    kw: dict[str, Any] = {"name": d.pop("name", name)}
    for k, v in d.items():
        if k not in fs:
            raise ConfigError(f"{say}unknown key {k!r} (known: {', '.join(fs)})")
        if k in ("l1i", "l1d", "l2"):
            kw[k] = _sub(CacheConfig, getattr(cfg, k), v, k, say)
        elif k == "latency":
            kw[k] = _sub(LatencyConfig, cfg.latency, v, k, say)
        elif k in ("mem_per_node", "interleave", "line_bytes"):
            kw[k] = parse_size(v, f"{say}{k}")
        else:
            kw[k] = v
    try:
        cfg = dataclasses.replace(cfg, **kw)
    except TypeError as e:
        raise ConfigError(f"{say}{e}") from None
    return cfg.validate(str(source) if source is not None else None)


def machine_config(spec: str | Path | MachineConfig) -> MachineConfig:
    """A config by preset name (flash1, flash8, uma8), from a TOML file, or as given."""
    if isinstance(spec, MachineConfig):
        return spec.validate()
    s = str(spec)
    if s in PRESETS:
        return PRESETS[s]
    p = Path(s)
    if not p.exists():
        raise ConfigError(f"machine {s!r}: neither a preset ({', '.join(PRESETS)}) nor a config file")
    if not p.is_file():
        raise ConfigError(f"machine {s!r}: not a file; give a preset ({', '.join(PRESETS)}) "
                          "or a machine TOML file")
    try:
        data = tomllib.loads(p.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{p}: not valid TOML: {e}") from None
    except OSError as e:
        raise ConfigError(f"{p}: cannot be read ({e.strerror})") from None
    return config_from_dict(data, name=p.stem, source=p)


def machine_with_cpus(machine: str | Path | MachineConfig, cpus: int) -> MachineConfig:
    """The MachineConfig of `machine` (a name, TOML path or MachineConfig) cut down
    to its first `cpus` CPUs: fewer CPUs than one node has make a one-node machine
    of that many CPUs, otherwise whole nodes (with their memory) are kept."""
    cfg = machine_config(machine)
    if isinstance(cpus, bool) or not isinstance(cpus, int) or cpus < 1:
        raise ValueError(f"{cpus!r} CPUs: must be a whole number, at least 1")
    if cpus > cfg.ncpu:
        raise ValueError(f"{cpus} CPUs asked for, but machine {cfg.name} has {cfg.ncpu} "
                         f"CPU{'s' if cfg.ncpu > 1 else ''}")
    if cpus == cfg.ncpu:
        return cfg
    per = cfg.cpus_per_node
    if cpus < per:
        nodes, per = 1, cpus
    elif cpus % per:
        raise ValueError(f"{cpus} CPUs: machine {cfg.name} has {per} CPUs per node; "
                         f"use fewer than {per} or a multiple of {per}")
    else:
        nodes = cpus // per
    return dataclasses.replace(cfg, nodes=nodes, cpus_per_node=per).validate()


def one_line(cfg: MachineConfig) -> str:
    """A machine in one line: nodes, memory, L2, UMA/NUMA miss latencies, clock."""
    lat = cfg.latencies_cycles()
    return (f"{cfg.name:8s} {cfg.nodes} node(s) x {cfg.cpus_per_node} CPU, {cfg.ram_bytes >> 20} MB, "
            f"L2 {cfg.l2.size >> 10} KB, {'UMA' if cfg.uma else 'NUMA'} miss {lat['local']}/{lat['remote']} "
            f"cycles at {cfg.clock_mhz:g} MHz")


def describe(cfg: MachineConfig) -> list[tuple[str, str, str]]:
    """(field, value, documentation) rows, nested tables flattened."""
    rows = []
    for f in dataclasses.fields(cfg):
        v = getattr(cfg, f.name)
        if dataclasses.is_dataclass(v):
            for g in dataclasses.fields(v):
                rows.append((f"{f.name}.{g.name}", str(getattr(v, g.name)), g.metadata.get("doc", "")))
        else:
            rows.append((f.name, str(v), f.metadata.get("doc", "")))
    return rows


__all__ = ["CacheConfig", "LatencyConfig", "MachineConfig", "ConfigError", "FLASH1", "FLASH8", "UMA8",
           "PRESETS", "machine_config", "config_from_dict", "describe", "parse_size"]
