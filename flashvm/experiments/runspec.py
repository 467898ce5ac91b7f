"""The one place an experiment's `Run` becomes a session RunSpec.

Workload forms: `size` "uni"/"mp" take workload.toml's [size.NAME] table with the
thread count put in; "quick" is a small form of each workload (seconds of host
time per run in timing mode).  Every run measures the workload itself: init is
/sbin/roirun, which opens the region of interest "roi" around the workload's
command line, and the run fast-forwards in functional mode to that region
(boot) and measures it in `sim_mode`.

A program that marks its own region (radix: "radix", around its sort) is
measured over that region instead, so that its runs on the guest OS and on
SPLASHOS (system "splashos": the program linked with SPLASHOS in one Disco VM,
without the guest OS) cover the same work.

Pieces other branches bring are looked up here and nowhere else: a run that
needs a missing one raises `Unavailable`, which the experiment's report shows.
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
SYSROOT_ROIRUN = "/.flashvm/roirun"
REGION = "roi"
# programs that open a region of their own around their work (the measured region then): radix around
# its sort; database's run.sh around the measured sqlite3 process, after a warm-up pass (warm_db)
OWN_REGION = {"radix": "radix", "database": "queries"}


class Unavailable(Exception):
    """The run needs a piece this tree does not have (a workload, a RunSpec field)."""


def _pmake(n: int, asm: bool = False) -> dict[str, Any]:
    """n builds (workloads/pmake/quick.sh), each in its own directory: two of figlet's files by make -j2
    and gcc; with `asm` (the 8-CPU machines' runs, eight builds at once), make -j2 assembling two small
    files, forty times shorter (gcc's cc1 alone takes ~0.14 G instructions to start)."""
    files = {"/src/quick.sh": "quick.sh"}
    if asm:
        files.update({f"/src/quick/{f}": f"quick/{f}" for f in ("Makefile", "crc.s", "utf8.s")})
    return {"workload_files": files,
            "commands": tuple(("/bin/sh", "/src/quick.sh", f"/w{i}", *(("asm",) if asm else ()))
                              for i in range(1, n + 1)),
            "stdout_contains": tuple(f"/w{i}: built" for i in range(1, n + 1))}


def _pmake_full(n: int) -> dict[str, Any]:
    """n of workload.toml's eight full builds (build.sh /wI buildI), each checked by figlet's own tests:
    the eight builds split between the VMs (fig6, fig7: 8 // VMs each), as the paper's pmake workload
    was eight builds over the whole machine, not eight in every VM."""
    return {"commands": tuple(("/bin/sh", "/src/build.sh", f"/w{i}", f"build{i}") for i in range(1, n + 1)),
            "stdout_contains": tuple(f"/w{i}: All tests passed." for i in range(1, n + 1))}


TINY_DB = ("--scale", "0.0001", "--seed", "1997")     # a 1.2 MB TPC-H database (the quick form's)


def warm_db(n: int, tiny: bool = True) -> dict[str, Any]:
    """n sqlite3 processes (directories /tmp/rN; one: /tmp/r) answering the eight queries, each measured
    over its region "queries" after a first pass has brought the database and sqlite3 into memory: the
    paper's database server answered from memory (no idle time in its Fig. 5 bars), while a cold run
    here waits a fifth of its time on the disk.  `tiny`: over the 1.2 MB database, the check then the
    host's SQLite's answers on the same file (workloads/database/expected.py)."""
    dirs = ["/tmp/r"] if n == 1 and not tiny else [f"/tmp/r{i}" for i in range(1, n + 1)]
    out: dict[str, Any] = {"commands": tuple(("/bin/sh", "/queries/run.sh", d, OWN_REGION["database"], "warm")
                                             for d in dirs)}
    if tiny:
        out["generate_args"] = TINY_DB
    return out


ENGINEERING_QUICK_MP_REFS = "100000"      # the full form's 500,000 a fifth


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
    # quick pmake: two of figlet's files per build (~0.55 G instructions); on a multiprocessor
    # machine ("quick-mp": eight builds at once) two small assembly files per build (~40 M)
    "pmake": {"quick": _pmake, "quick-mp": lambda t: _pmake(t, asm=True), "mp": _pmake_full},
    # quick database: the eight queries over a 1.2 MB database; uni: over the 12 MB one
    "database": {"quick": warm_db, "uni": lambda t: warm_db(t, tiny=False)},
    # quick engineering: on one CPU (fig5) two short simulations; on the 8-CPU machines (fig8) the full
    # form's simulations a fifth as long, long enough for the NUMA policy's moves to pay back as they do
    # at full size (with 20,000 references the run ended before they could)
    "engineering": {"quick": lambda t: _engineering(t, "4", "20000"),
                    "quick-mp": lambda t: _engineering(t, "8", ENGINEERING_QUICK_MP_REFS),
                    "uni": lambda t: _engineering(t, "8", "500000"),
                    "mp": lambda t: _engineering(t, "8", "500000")},
}
VM_MEM_MB = {"engineering": 48}      # memsim's arrays outgrow the default 32 MB VM at 8 processors


def vm_mem_mb(run: Run, cfg: MachineConfig, given: int | None) -> int | None:
    """Each VM's memory: with `run.whole_memory` an equal share of all the room the machine has for
    VMs (the paper's §5.3-5.4: 256 MB split between the VMs, 248/124/62/31 MB for 1/2/4/8 VMs of
    flash8; two full pmake builds at once do not fit in 32 MB); else on a multi-node machine an equal
    share of half its memory; on one node the workload's need (VM_MEM_MB, run.vm_mem_mb), else all
    the room the machine has for VMs, as `flashvm run --vms` gives (the guest OS alone has the whole
    machine's memory: a smaller VM would cache fewer files)."""
    from flashvm.session.options import vm_share_mb
    if run.whole_memory:
        return vm_share_mb(cfg, run.vms)
    if cfg.nodes > 1:       # at least 32 MB, but no more than the machine has room for (8 VMs: 31 MB)
        return min(max(32, (cfg.ram_bytes >> 20) // (2 * run.vms)), vm_share_mb(cfg, run.vms))
    return VM_MEM_MB.get(run.workload) or given or vm_share_mb(cfg, run.vms)


ROUND_ROBIN = 4096      # the OS-alone runs' memory on a NUMA machine: spread page by page over the nodes


def machine(run: Run) -> MachineConfig:
    """The run's machine: a preset, flash16 (flash8's nodes doubled), its L2 resized.  The guest OS alone
    on a NUMA machine gets its memory interleaved page by page over the nodes: the paper's IRIX used
    round-robin page allocation across nodes (§5.4, the baseline of Figs. 7 and 8), while Disco, NUMA
    aware, has the node-contiguous layout."""
    if run.machine in ("flash16", "uma16"):     # the 8-node presets doubled (§5.5's raytrace), 16 MB a node
        base = machine_config(run.machine.replace("16", "8"))     # (16 x 32 MB would reach the devices)
        cfg = dataclasses.replace(base, name=run.machine, nodes=16, mem_per_node=base.mem_per_node // 2).validate()
    else:
        cfg = machine_config(run.machine)
    if run.l2_kb is not None:
        cfg = dataclasses.replace(cfg, l2=dataclasses.replace(cfg.l2, size=run.l2_kb * KB),
                                  name=f"{cfg.name}-l2-{run.l2_kb}k").validate()
    if run.system == "os" and cfg.nodes > 1 and run.machine.startswith("flash"):
        cfg = dataclasses.replace(cfg, interleave=ROUND_ROBIN, name=f"{cfg.name}-rr").validate()
    return cfg


def workload_dir(run: Run) -> Path:
    d = WORKLOADS / run.workload
    if not (d / "workload.toml").is_file():
        raise Unavailable(f"workload {run.workload!r} is not in this tree (no workloads/{run.workload}/workload.toml)")
    return d


def _form(run: Run, w: Any) -> Any:
    """The workload `w` in the run's form (FORMS), its check made to fit."""
    forms = FORMS.get(run.workload)
    if forms is None or run.size not in forms:
        if run.size == "quick":
            raise Unavailable(f"workload {run.workload!r} has no quick form in flashvm/experiments/runspec.py")
        return w
    size = "quick-mp" if run.size == "quick" and "quick-mp" in forms and machine(run).ncpu > 1 else run.size
    over = dict(forms[size](run.threads))
    gen_args = over.pop("generate_args", None)
    more_files = {g: w.directory / h for g, h in over.pop("workload_files", {}).items()}
    w = dataclasses.replace(w, files={**w.files, **more_files}, **over)
    if gen_args is not None:        # other inputs: the check is the host's own answers on them
        w = dataclasses.replace(w, generate={**w.generate, "args": list(gen_args)})
        w = dataclasses.replace(w, stdout_contains=_database_answers(w))
    return w


def _database_answers(w: Any) -> tuple[str, ...]:
    """The md5 lines run.sh prints for each command's folder, as the host's SQLite answers."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("database_expected", w.directory / "expected.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    db = w.generated_files()["/data/tpch.db"]
    return tuple(line for c in w.commands for line in mod.md5_lines(db, c[2]))


def _splashos(run: Run, cfg: MachineConfig) -> RunSpec:
    """The program linked with SPLASHOS in one Disco VM of `run.cpus` VCPUs (flashvm run --splashos);
    the program opens its own region (OWN_REGION), where the run switches to timing mode."""
    from flashvm.workload import load_workload
    if run.workload not in OWN_REGION:
        raise Unavailable(f"workload {run.workload!r} marks no region of its own: on SPLASHOS nothing opens one")
    w = load_workload(workload_dir(run), "uni" if run.size == "quick" else run.size, splashos=True)
    w = _form(run, w)
    spec = w.spec(w.build(), machine=cfg, sim_mode=run.sim_mode, cpus=run.cpus)
    notes = {**spec.notes, "experiment_run": dataclasses.asdict(run)}
    return dataclasses.replace(spec, notes=notes, title=run.label, timeout_s=None,
                               fast_forward="roi" if run.sim_mode == "timing" else None, **_numa(run))


def _numa(run: Run) -> dict[str, str]:
    """The policy's mode (flashvm/disco/numa.py) if the run names one: "migrate+replicate" is "both"."""
    return {} if run.numa is None else {"numa": {"migrate+replicate": "both"}.get(run.numa, run.numa)}


def to_runspec(run: Run) -> RunSpec:
    """The RunSpec of `run` (builds the workload's program on first use; cached)."""
    from flashvm.guestos.multi import MULTI_PROGRAM, multi_program
    from flashvm.toolchain import GUEST_INCLUDE_DIR, build_user
    from flashvm.guestos.build import OS_DIR
    from flashvm.workload import load_workload
    cfg = machine(run)
    if run.system == "splashos":
        return _splashos(run, cfg)
    w = _form(run, load_workload(workload_dir(run), "uni" if run.size == "quick" else run.size))
    if run.system == "disco":
        w = dataclasses.replace(w, vms=run.vms, vm_mem_mb=vm_mem_mb(run, cfg, w.vm_mem_mb))
    exe = w.build()
    if run.system == "os":
        cfg = machine_with_cpus(cfg, run.cpus)
    spec = w.spec(exe, machine=cfg, sim_mode=run.sim_mode, cpus=run.cpus)
    roirun = build_user([OS_DIR / "init" / "roirun.c"], opt="-Os", extra_flags=["-Wall", f"-I{GUEST_INCLUDE_DIR}"],
                        name="roirun")
    # on a sysroot's root image /sbin is a link: roirun goes beside the sysroot's init
    init = SYSROOT_ROIRUN if w.debian else ROIRUN
    files = {**spec.files, init: roirun}
    if len(w.commands) > 1 and not w.debian:
        files[MULTI_PROGRAM] = multi_program()
    notes = {**spec.notes, "experiment_run": dataclasses.asdict(run)}
    more: dict[str, Any] = dict(_numa(run))
    if run.hal:                     # the HAL build: privileged registers read and written in the special page
        more["hal"] = True
    if run.share:                   # the global disk cache and page sharing need the HAL kernel's page calls
        more.update(hal=True, share=True)
    if run.services:
        from flashvm.machine.layout import SVC_ENV
        key, value = SVC_ENV.split("=")
        more["env"] = {**spec.env, key: value}
    return dataclasses.replace(spec, argv=(init, REGION, *spec.argv), files=files, notes=notes,
                               name=run.workload, title=run.label, timeout_s=None,
                               fast_forward="roi" if run.sim_mode == "timing" else None, **more)


def regions(run: Run) -> list[str]:
    """The names the run's measured region has in the HDF5 file (/roi/NAME)."""
    name = OWN_REGION.get(run.workload, REGION)
    if run.system == "os":
        return [name]
    return [f"vm{i}.{name}" for i in range(run.vms)]
