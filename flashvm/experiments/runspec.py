"""The one place an experiment's `Run` becomes a session RunSpec.

Workload forms: `size` "uni"/"mp" take workload.toml's [size.NAME] table with the
thread count put in; "quick" is a small form of each workload (seconds of host
time per run in timing mode).  Every run measures the workload itself: init is
/sbin/roirun, which opens the region of interest "roi" around the workload's
command line, and the run fast-forwards in functional mode to that region
(boot) and measures it in `sim_mode`.

Pieces other branches bring (pmake and database workloads, radix under
SPLASHOS, a NUMA policy on RunSpec) are looked up here and nowhere else: a run
that needs a missing one raises `Unavailable`, which the experiment's report shows.
"""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, Callable

from flashvm.experiments.model import Run
from flashvm.machine.config import KB, MachineConfig, machine_config, machine_with_cpus
from flashvm.spec import RunSpec

WORKLOADS = Path(__file__).resolve().parents[2] / "workloads"
ROIRUN = "/sbin/roirun"
REGION = "roi"


# The guest OS alone boots from the initial RAM disk: on its flashfs disk each demand-paged read of the
# program waits for the next timer tick (10 ms) before the faulting process runs again, which adds
# idle time Disco's virtual disk does not have.  The paper's binaries came from a warm file cache.
ROOT_NOTE = ("The guest OS alone reads its programs from the initial RAM disk: on its flashfs disk each demand-paged "
             "read waits for the next 10 ms timer tick, idle time Disco's virtual disk does not have.")


class Unavailable(Exception):
    """The run needs a piece this tree does not have (a workload, a RunSpec field)."""


def _engineering(n: int, procs: str, refs: str) -> dict[str, Any]:
    return {"commands": tuple(("/bin/engineering", procs, refs, str(s)) for s in range(1, n + 1))}


# workload -> size -> threads -> the Workload fields to override (args or commands)
FORMS: dict[str, dict[str, Callable[[int], dict[str, Any]]]] = {
    # quick raytrace: a 32x16 image on one CPU; with threads, 128x128 so the parallel part outweighs the
    # serial scene build (~23 M instructions)
    "raytrace": {"quick": lambda t: {"args": (str(t), "32", "16") if t == 1 else (str(t), "128", "128")},
                 "uni": lambda t: {"args": (str(t), "200", "150")},
                 "mp": lambda t: {"args": (str(t), "400", "300")}},
    "radix": {"quick": lambda t: {"args": (str(t), "20000")},
              "uni": lambda t: {"args": (str(t), "2000000")},
              "mp": lambda t: {"args": (str(t), "4000000")}},
    "engineering": {"quick": lambda t: _engineering(t, "4", "20000"),
                    "uni": lambda t: _engineering(t, "8", "500000"),
                    "mp": lambda t: _engineering(t, "8", "500000")},
}
VM_MEM_MB = {"engineering": 48}      # memsim's arrays outgrow the default 32 MB VM at 8 processors


def vm_mem_mb(run: Run, cfg: MachineConfig, given: int | None) -> int | None:
    """Each VM's memory: on a multi-node machine an equal share of half its memory (the paper's
    VMs split the machine's memory), on one node the workload's need (VM_MEM_MB) or the default."""
    if cfg.nodes > 1:
        return max(32, (cfg.ram_bytes >> 20) // (2 * run.vms))
    return VM_MEM_MB.get(run.workload, given)


def machine(run: Run) -> MachineConfig:
    """The run's machine: a preset, flash16 (flash8's nodes doubled), its L2 resized."""
    if run.machine in ("flash16", "uma16"):     # the 8-node presets doubled (§5.5's raytrace)
        base = machine_config(run.machine.replace("16", "8"))
        cfg = dataclasses.replace(base, name=run.machine, nodes=16).validate()
    else:
        cfg = machine_config(run.machine)
    if run.l2_kb is not None:
        cfg = dataclasses.replace(cfg, l2=dataclasses.replace(cfg.l2, size=run.l2_kb * KB),
                                  name=f"{cfg.name}-l2-{run.l2_kb}k").validate()
    return cfg


def workload_dir(run: Run) -> Path:
    d = WORKLOADS / run.workload
    if not (d / "workload.toml").is_file():
        raise Unavailable(f"workload {run.workload!r} is not in this tree (no workloads/{run.workload}/workload.toml)")
    return d


def to_runspec(run: Run) -> RunSpec:
    """The RunSpec of `run` (builds the workload's program on first use; cached)."""
    from flashvm.guestos.multi import MULTI_PROGRAM, multi_program
    from flashvm.toolchain import GUEST_INCLUDE_DIR, build_user
    from flashvm.guestos.build import OS_DIR
    from flashvm.workload import load_workload
    if run.system == "splashos":
        raise Unavailable("radix under SPLASHOS as a workload (run --splashos) is not in this tree yet")
    w = load_workload(workload_dir(run), "uni" if run.size == "quick" else run.size)
    forms = FORMS.get(run.workload)
    if forms is not None and run.size in forms:
        w = dataclasses.replace(w, **forms[run.size](run.threads))
    elif run.size == "quick":
        raise Unavailable(f"workload {run.workload!r} has no quick form in flashvm/experiments/runspec.py")
    cfg = machine(run)
    if run.system == "disco":
        w = dataclasses.replace(w, vms=run.vms, vm_mem_mb=vm_mem_mb(run, cfg, w.vm_mem_mb))
    exe = w.build()
    if run.system == "os":
        cfg = machine_with_cpus(cfg, run.cpus)
    spec = w.spec(exe, machine=cfg, sim_mode=run.sim_mode, cpus=run.cpus)
    roirun = build_user([OS_DIR / "init" / "roirun.c"], opt="-Os", extra_flags=["-Wall", f"-I{GUEST_INCLUDE_DIR}"],
                        name="roirun")
    files = {**spec.files, ROIRUN: roirun}
    if len(w.commands) > 1:
        files[MULTI_PROGRAM] = multi_program()
    notes = {**spec.notes, "experiment_run": dataclasses.asdict(run)}
    more: dict[str, Any] = {}
    if run.numa is not None:        # the policy's mode (flashvm/disco/numa.py): "migrate+replicate" is "both"
        more["numa"] = {"migrate+replicate": "both"}.get(run.numa, run.numa)
    if run.hal:                     # the HAL build: privileged registers read and written in the special page
        more["hal"] = True
    if run.share:                   # the global disk cache and page sharing need the HAL kernel's page calls
        more.update(hal=True, share=True)
    if run.services:
        from flashvm.machine.layout import SVC_ENV
        key, value = SVC_ENV.split("=")
        more["env"] = {**spec.env, key: value}
    if run.system == "os" and not w.debian:
        more["root"] = "initrd"     # see ROOT_NOTE
    return dataclasses.replace(spec, argv=(ROIRUN, REGION, *spec.argv), files=files, notes=notes,
                               name=run.workload, title=run.label, timeout_s=None,
                               fast_forward="roi" if run.sim_mode == "timing" else None, **more)


def regions(run: Run) -> list[str]:
    """The names the run's measured region has in the HDF5 file (/roi/NAME)."""
    if run.system == "os":
        return [REGION]
    return [f"vm{i}.{REGION}" for i in range(run.vms)]
