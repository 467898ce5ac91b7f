"""Experiments as data: a run (`Run`), a paper number (`Paper`) and an experiment
(`Experiment`): its runs at the quick and full sizes, the paper's numbers, the
measures to take from each run's HDF5 file, the plot and the direction checks.

A `Run` says what to run in the experiment's own words (workload, size, system,
machine, CPUs, VMs, NUMA policy); flashvm/experiments/runspec.py is the one
place that turns it into a session RunSpec.  A `Run` is plain JSON-able data:
its hash (with the simulator's fingerprint) names its cached result file.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Callable, Mapping, Sequence

SYSTEMS = ("os", "disco", "splashos")


@dataclass(frozen=True)
class Run:
    """One run of an experiment.  `label` names it in the tables ("raytrace/disco")."""
    label: str
    workload: str                    # a folder under workloads/ (pmake, database: when present)
    system: str = "os"               # "os" (the guest OS alone), "disco" (in `vms` VMs), "splashos"
    size: str = "quick"              # "quick" (a minutes-long form), "uni" or "mp" (workload.toml's)
    threads: int = 1                 # the workload's threads or simultaneous programs
    machine: str = "flash1"          # a preset (flash1, flash8, uma8) or flash16 (16 nodes)
    cpus: int = 1                    # os: CPUs the guest OS boots on; disco: VCPUs per VM
    vms: int = 1                     # disco: virtual machines
    l2_kb: int | None = None         # the L2 size (None: the machine's)
    numa: str | None = None          # disco: NUMA policy: off, migrate, replicate, "migrate+replicate"
                                     # (None: the machine's default, both on a NUMA machine in timing mode)
    sim_mode: str = "timing"         # the region of interest's level of detail
    group: str = ""                  # a plot group (the workload's bars side by side)
    services: bool = False           # the guest kernel marks its services (/services; costs a trap per marker)
    share: bool = False              # disco: memory shared between VMs (HAL kernel, global disk cache; Fig. 6)
    hal: bool = False                # disco: the guest kernel's HAL build (the paper's IRIX had its HAL changes)
    whole_memory: bool = False       # disco: the VMs split all the machine's memory equally (§5.3-5.4: four
                                     # 2-CPU VMs of 64 MB on 256 MB), not half of it (runspec.vm_mem_mb)

    def __post_init__(self) -> None:
        if self.system not in SYSTEMS:
            raise ValueError(f"run {self.label}: system {self.system!r}: use one of {', '.join(SYSTEMS)}")

    def key(self, fingerprint: str) -> str:
        """The cache key: a hash of the run and of the simulator's fingerprint."""
        text = json.dumps({"run": asdict(self), "sim": fingerprint}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def file_name(self, fingerprint: str) -> str:
        plain = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in self.label)
        return f"{plain}-{self.key(fingerprint)}.h5"


@dataclass(frozen=True)
class Paper:
    """One number of the paper's (../shared/DISCO.md): run label, measure, value."""
    label: str
    measure: str
    value: float


@dataclass(frozen=True)
class Check:
    """A direction the paper's result has and flashvm's must have: `holds(table)`
    with table[(label, measure)] -> measured value."""
    says: str
    holds: Callable[[Mapping[tuple[str, str], float]], bool]
    needs: tuple[str, ...] = ()      # run labels it reads (skipped when one is missing)
    # when it does not hold: why, from the table's counters (one paragraph; KeyError: nothing said)
    why_not: Callable[[Mapping[tuple[str, str], float]], str] | None = None


@dataclass(frozen=True)
class Experiment:
    """A named set of runs with what to take from them and what the paper found."""
    name: str
    title: str
    runs: Callable[[bool], Sequence[Run]]          # quick -> the runs
    measures: tuple[str, ...]                      # names in flashvm.experiments.measures.MEASURES
    paper: tuple[Paper, ...] = ()
    checks: tuple[Check, ...] = ()
    plot: Callable[..., None] | None = None        # (results, png path): a figure of its own
    notes: tuple[str, ...] = ()                    # what the setup differs in from the paper's
    full_host_time: str = ""                       # expected host time at the full sizes
    baselines: Mapping[str, str] = field(default_factory=dict)   # run label -> the label its time is normalised to
    segments: tuple[str, ...] = ()                 # shares drawn stacked in the run's normalised time
    # (table, run label, measure) -> the paragraph explaining a difference from the paper, or None: the generic one
    explain: Callable[[Mapping[tuple[str, str], float], str, str], str | None] | None = None
