"""Run results as HDF5: one file per run, written atomically.

Schema (version 2; see docs/results.md for the full description):

    /                      attrs: schema_version, flashvm_version, created (ISO time),
                                  command, workload, mode, status, host_seconds,
                                  ended (halted, limit, deadlock or interrupted),
                                  end_message (why it stopped; "" when it halted),
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
    /roi/<name>/...        a region of interest the guest marked: the /cpu counters (and
                           /node's) spent inside it; attrs: visits
    /jit                   the JIT tier's counters as attrs (regions, batches, disk_hits, translate_s,
                           code_bytes, hits, jit_insns, invalidated, empty, refused, preloaded:
                           regions loaded at the start from the profile of the run's last
                           run, code_renewals: native code dropped and loaded again,
                           docs/jit.md), when the tier was on
    /stdout, /stderr       uint8[...]    what the guest printed (bytes), when captured

Every dataset has a `description` attribute (and `unit` where one applies).
The file is written under a temporary name and renamed when complete, so a
reader never sees half a file.
"""
from __future__ import annotations

import datetime as _dt
import json
import os
import re
from pathlib import Path
from typing import Any, Mapping, Sequence

import h5py
import numpy as np

from flashvm import __version__
from flashvm.disco.footprint import write_memory_group
from flashvm.kernels import state as S
from flashvm.spec import RunReport

SCHEMA_VERSION = 2

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
    "l1i_misses": ("stats", S.S_L1I_MISS, "events", "timing mode: L1 instruction-cache misses"),
    "l1d_misses": ("stats", S.S_L1D_MISS, "events", "timing mode: L1 data-cache misses"),
    "l2_hits": ("stats", S.S_L2_HITS, "events", "timing mode: L1 misses served by the L2"),
    "l2_misses": ("stats", S.S_L2_MISS, "events", "timing mode: L2 misses (reads and writes, not upgrades)"),
    "misses_local": ("stats", S.S_MISS_LOCAL, "events",
                     "timing mode: L2 misses served on the requester's own node"),
    "misses_remote": ("stats", S.S_MISS_REMOTE, "events",
                      "timing mode: L2 misses served by a remote home's memory"),
    "misses_remote_dirty": ("stats", S.S_MISS_DIRTY, "events",
                            "timing mode: L2 misses served by an exclusive copy in a cache on another node"),
    "upgrades": ("stats", S.S_UPGRADES, "events", "timing mode: Shared-to-Modified upgrades"),
    "invalidations_received": ("stats", S.S_INVALS, "events",
                               "timing mode: lines taken away by other CPUs' writes"),
    "writebacks": ("stats", S.S_WRITEBACKS, "events", "timing mode: Modified lines written back"),
}
MODE_NAMES = ["kernel", "supervisor", "user"]
NODE_COUNTERS = {
    "misses_local": (S.N_LOCAL, "L2 misses of CPUs on this node to memory homed here"),
    "misses_remote": (S.N_REMOTE, "L2 misses of CPUs on other nodes to memory homed here"),
    "directory_ops": (S.N_DIR_OPS, "directory transactions handled (misses, upgrades, evictions)"),
    "invalidations_sent": (S.N_INVALS, "invalidations the home sent"),
    "writebacks": (S.N_WRITEBACKS, "writebacks received"),
    "forwards": (S.N_FORWARDS, "requests forwarded to an owning cache"),
}
TOP_PAGES = 256


def exc_names() -> list[str]:
    return [S.EXC_NAMES.get(i, f"exc{i}") for i in range(32)]


def default_path(results_dir: Path, name: str) -> Path:
    """`results_dir`/<name>-<time>.h5.  The name is made a plain file name first
    (letters, digits, '-', '_' and '.', not starting with '.'; anything else
    becomes '_'), so the file lands in `results_dir` whatever the name is."""
    plain = re.sub(r"[^A-Za-z0-9_.-]", "_", name).lstrip(".")[:100] or "run"
    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    return Path(results_dir) / f"{plain}-{stamp}.h5"


def _dataset(g: h5py.Group, name: str, data, description: str, unit: str | None = None, **attrs) -> None:
    d = g.create_dataset(name, data=data)
    d.attrs["description"] = description
    if unit:
        d.attrs["unit"] = unit
    for k, v in attrs.items():
        d.attrs[k] = v


def write_run(path: Path, m: S.Machine, *, config: Mapping[str, Any], attrs: Mapping[str, Any],
              syscalls: Mapping[int, int] | None = None, unknown_syscalls: Mapping[int, int] | None = None,
              stdout: bytes | None = None, stderr: bytes | None = None,
              machine_config: Mapping[str, Any] | None = None, extra: Mapping[str, Any] | None = None,
              vms: Sequence[Mapping[str, Any]] | None = None, regions: Sequence[Any] = (),
              services: Mapping[str, Any] | None = None,
              subnet: Mapping[str, int] | None = None, numa: Mapping[str, Any] | None = None,
              memory: Mapping[str, Any] | None = None, jit: Mapping[str, float] | None = None) -> Path:
    """Write one run's counters to `path` (atomically).  Returns the path.
    `machine_config`: the resolved MachineConfig as a dict (also adds the per-node
    and MAGIC page counters); `extra`: more root attributes; `vms`: Disco's VMs
    (name, vcpus, status, failure, stdout) for the /disco group; `regions`: the
    finished regions of interest (flashvm.machine.roi.Region) for /roi; `services`: the
    guest kernel's services (flashvm.machine.services.Services.table()) for /services;
    `subnet`: the Disco subnet's remapping counters (flashvm.disco.netremap) for /disco/subnet; `numa`: Disco's
    NUMA policy counters (attributes of /disco/numa);
    `memory`: Disco's footprint (flashvm.disco.footprint) for /disco/memory; `jit`: the JIT
    tier's counters for /jit (flashvm.kernels.jit.stats)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    try:
        with h5py.File(tmp, "w") as f:
            f.attrs["schema_version"] = SCHEMA_VERSION
            f.attrs["flashvm_version"] = __version__
            f.attrs["created"] = _dt.datetime.now().isoformat(timespec="seconds")
            f.attrs["config_json"] = json.dumps(config, sort_keys=True, default=str)
            for k, v in {**attrs, **(extra or {})}.items():
                f.attrs[k] = v if v is not None else ""
            if machine_config is not None:
                f.attrs["machine_json"] = json.dumps(machine_config, sort_keys=True, default=str)
            g = f.create_group("cpu")
            g.attrs["description"] = "per-CPU counters, indexed by CPU number"
            _write_cpu(g, m.stats, m.cpu[:, S.CYCLES])
            if machine_config is not None:
                _write_memory_system(f, m, machine_config)
            if vms is not None:
                _write_disco(f, m, vms, numa)
                if memory is not None:
                    write_memory_group(f["disco"], memory)
                if subnet:
                    sg = f["disco"].create_group("subnet")
                    sg.attrs["description"] = ("the virtual subnet: frames delivered, page-aligned payload pages "
                                               "remapped copy-on-write instead of copied, bytes copied, private "
                                               "copies made on writes, machine pages shared at the end and peak")
                    for k, v in subnet.items():
                        sg.attrs[k] = int(v)
            if regions:
                _write_regions(f, regions)
            if services is not None:
                _write_services(f, services, (machine_config or {}).get("clock_mhz", 400.0))
            if jit is not None:
                j = f.create_group("jit")
                j.attrs["description"] = ("the JIT tier: regions translated, batches compiled, loaded from the "
                                          "disk cache, translate seconds, generated code bytes, region entries "
                                          "(hits), instructions run in regions, regions dropped as stale, regions loaded "
                                          "at the start from the profile of the same run's last run (preloaded), "
                                          "times all native code was dropped and the regions in use reloaded "
                                          "(code_renewals)")
                for k, v in sorted(jit.items()):
                    j.attrs[k] = v
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


def _write_cpu(g: h5py.Group, stats: np.ndarray, cycles: np.ndarray) -> None:
    """The per-CPU counters (of the whole run, or spent inside a region)."""
    for name, (src, idx, unit, desc) in CPU_COUNTERS.items():
        arr = stats[:, idx] if src == "stats" else cycles
        _dataset(g, name, np.asarray(arr, np.int64), desc, unit)
    _dataset(g, "exceptions", stats[:, S.S_EXC_BASE:S.S_EXC_BASE + 32].astype(np.int64),
             "exceptions taken, by Cause.ExcCode", "events", names=exc_names())
    _dataset(g, "exits", stats[:, S.S_EXIT_BASE:S.S_EXIT_BASE + S.NEXITS].astype(np.int64),
             "exits from the JIT loop to Python, by reason", "events", names=S.EXIT_NAMES)
    _dataset(g, "cycles_by_mode", stats[:, S.S_CYC_BASE:S.S_CYC_BASE + 3].astype(np.int64),
             "cycles spent executing in kernel / supervisor / user mode (stall cycles included; "
             "idle cycles are in idle_cycles)", "cycles", names=MODE_NAMES)
    _dataset(g, "stall_by_mode", stats[:, S.S_STALL_BASE:S.S_STALL_BASE + 3].astype(np.int64),
             "timing mode: cycles stalled on cache misses, by mode (a part of cycles_by_mode)",
             "cycles", names=MODE_NAMES)


def _write_services(f: h5py.File, services: Mapping[str, Any], clock_mhz: float) -> None:
    from flashvm.machine.services import COUNTERS, MONITOR_PARTS, NAMES
    g = f.create_group("services")
    g.attrs["description"] = ("the guest kernel's services (FLASH_SERVICES=1): what each cost, inside the regions "
                              "of interest when there are some (docs/experiments.md)")
    g.attrs["names"] = NAMES
    g.attrs["clock_mhz"] = clock_mhz
    d = g.create_dataset("counters", data=np.asarray(services["counters"], dtype=np.int64))
    d.attrs["names"] = COUNTERS
    d.attrs["description"] = "per service: calls, cycles (kernel + monitor), kernel cycles, instructions, TLB and L2 misses"
    d = g.create_dataset("monitor", data=np.asarray(services["monitor"], dtype=np.int64))
    d.attrs["names"] = MONITOR_PARTS
    d.attrs["unit"] = "cycles"
    d.attrs["description"] = "Disco: the monitor's cycles in each service, split as the paper's Table 2"
    if "events" in services:
        d = g.create_dataset("events", data=np.asarray(services["events"], dtype=np.int64))
        d.attrs["names"] = S.DS_NAMES
        d.attrs["description"] = "Disco: what the monitor did in each service (as /disco's events: traps, pages zeroed, ...)"


def _write_regions(f: h5py.File, regions: Sequence[Any]) -> None:
    top = f.create_group("roi")
    top.attrs["description"] = ("regions of interest the guest marked (roi.h): the counters spent inside each, "
                                "summed over its visits; every CPU counts while a region is open")
    for r in regions:
        g = top.create_group(r.name)
        g.attrs["visits"] = r.visits
        c = r.counters
        cg = g.create_group("cpu")
        cg.attrs["description"] = "per-CPU counters spent inside the region"
        _write_cpu(cg, c.stats, c.cycles)
        ng = g.create_group("node")
        ng.attrs["description"] = "per-node counters spent inside the region"
        for name, (idx, desc) in NODE_COUNTERS.items():
            _dataset(ng, name, c.node_stats[:, idx].astype(np.int64), "timing mode: " + desc, "events")
        if c.dstats.any():
            _dataset(g, "disco_vcpu_counters", c.dstats.astype(np.int64), "Disco: the monitor's work inside it",
                     "events", names=S.DS_NAMES)
        if getattr(r, "samples", None) is not None:
            _write_samples(g, r.samples)


def _write_samples(g: h5py.Group, samples: Any) -> None:
    """/roi/NAME/samples: one row per sample (--sample-period), the estimates as attributes."""
    from flashvm.machine.roisamples import FIELDS, Z95
    sg = g.create_group("samples")
    sg.attrs["description"] = ("periodic samples of the region in timing mode (docs/results.md): whole-machine "
                               "counters of each, and the estimates of the whole region (ratio estimators; "
                               "NAME_se: standard error, 95% interval NAME +- z * NAME_se)")
    sg.attrs["period"], sg.attrs["warmup"], sg.attrs["size"] = samples.period, samples.warmup, samples.size
    sg.attrs["z"] = Z95
    for k, v in samples.estimates().items():
        sg.attrs[k] = v
    table = samples.table()
    for i, name in enumerate(FIELDS):
        what = ("region instructions run before the sample began" if name == "start"
                else "the sample's " + name.replace("_", " ") + " (all CPUs; cycles: elapsed)")
        _dataset(sg, name, table[:, i], what, "instructions" if name in ("start", "instructions") else
                 "cycles" if name == "cycles" else "events")


def _write_memory_system(f: h5py.File, m: S.Machine, cfg: Mapping[str, Any]) -> None:
    n = f.create_group("node")
    n.attrs["description"] = "per-node counters of the memory system, indexed by node number"
    _dataset(n, "cpus", np.asarray(m.cpu_node, np.int64), "node of each CPU (indexed by CPU)")
    for name, (idx, desc) in NODE_COUNTERS.items():
        _dataset(n, name, m.node_stats[:, idx].astype(np.int64), "timing mode: " + desc, "events")
    mg = np.asarray(m.magic)
    p = f.create_group("pages")
    p.attrs["description"] = (f"MAGIC: cache misses per machine page and node, for the {TOP_PAGES} pages "
                              "with the most misses (timing mode)")
    if mg.shape[0] > 1:
        total = mg.sum(axis=1, dtype=np.int64)
        top = np.argsort(-total, kind="stable")[:TOP_PAGES]
        top = top[total[top] > 0]
    else:
        top = np.zeros(0, np.int64)
    _dataset(p, "page", top.astype(np.int64), "machine page number (physical address >> 12)")
    _dataset(p, "misses", mg[top].astype(np.int64) if top.size else np.zeros((0, mg.shape[1]), np.int64),
             "misses to the page from each node", "events")
    _dataset(p, "home", ((top << 12) >> int(m.params[S.P_HOME_SHIFT])) % int(m.params[S.P_NNODES]),
             "home node of the page")
    # MAGIC's hot-page queue holds HOTQ_LEN events; one raised while it is full is lost (counted here)
    p.attrs["hot_events_dropped"] = int(m.params[S.P_HOTQ_DROPS])


def _write_disco(f: h5py.File, m: S.Machine, vms: Sequence[Mapping[str, Any]],
                 numa: Mapping[str, Any] | None = None) -> None:
    g = f.create_group("disco")
    if numa is not None:
        ng = g.create_group("numa")
        ng.attrs["description"] = ("Disco's NUMA page migration and replication (docs/disco.md): moves, the share of "
                                   "L2 misses served locally (all CPUs, as cpu/misses_local and cpu/misses_remote[_dirty]), "
                                   "the policy's own cycles (policy_cycles: decisions and bookkeeping, copy_cycles, "
                                   "shootdown_cycles; their sum monitor_cycles, kernel-mode time)")
        for k, v in numa.items():
            ng.attrs[k] = v
    g.attrs["description"] = ("Disco: per-VCPU monitor counters (indexed by global VCPU number) and the VMs. "
                              "Monitor time is cpu/cycles_by_mode[:, kernel]; the guest kernels run in supervisor "
                              "mode, their programs in user mode")
    nv = sum(len(v["vcpus"]) for v in vms)
    _dataset(g, "vcpu_counters", m.dstats[:nv].astype(np.int64), "what the monitor did for each VCPU",
             "events", names=S.DS_NAMES)
    _dataset(g, "vcpu_vm", np.array([v["index"] for v in vms for _ in v["vcpus"]], np.int64),
             "the VM of each VCPU")
    _dataset(g, "vm_status", np.array([-1 if v["status"] is None else v["status"] for v in vms], np.int64),
             "each VM's exit status (-1: it failed)")
    for v in vms:
        vg = g.create_group(f"vm{v['index']}")
        vg.attrs["name"] = v["name"]
        vg.attrs["failure"] = v["failure"] or ""
        vg.attrs["verdict"] = v.get("verdict") or ""
        vg.attrs["vcpus"] = len(v["vcpus"])
        for stream, what in (("stdout", "what the VM's guest printed"),
                             ("stderr", "what the VM's guest wrote to its standard error"),
                             ("klog", "the VM's guest kernel log (a failure's first witness)")):
            if v.get(stream) or (stream == "stdout" and v.get(stream) is not None):
                _dataset(vg, stream, np.frombuffer(v[stream], np.uint8), what)
        if v.get("files"):                  # a SPLASHOS VM's disk files after the run
            fg = vg.create_group("files")
            fg.attrs["description"] = "the files on the VM's virtual disk when the run ended (SPLASHOS), by name"
            for name, data in v["files"].items():
                fg.create_dataset(name.replace("/", "_"), data=np.frombuffer(data, np.uint8))


def run_config(report: RunReport) -> dict[str, Any]:
    """The resolved configuration of a run, as recorded in config_json."""
    spec = report.spec
    config: dict[str, Any] = {"program": str(spec.program), "argv": list(report.argv), "mode": spec.kind,
                              "max_insns": spec.max_insns, "timeout_s": spec.timeout_s,
                              "machine": spec.machine.name,
                              "sim_mode": spec.sim_mode}
    if spec.kind == "os":
        config.update(cpus=spec.cpus, variant=spec.variant)
    elif spec.kind == "disco":
        config.update(vms=spec.vms, cpus_per_vm=spec.cpus or 1, hal=spec.hal, nfs=spec.nfs, share=spec.share)
    elif spec.kind == "splashos":
        config.update(vms=spec.vms, cpus_per_vm=spec.cpus or 1)
    if report.numa is not None:
        config.update(numa=report.numa["mode"])
    if spec.fast_forward is not None or spec.roi_instructions is not None:     # how the region was measured
        config.update(fast_forward=spec.fast_forward, warmup=spec.warmup, roi_instructions=spec.roi_instructions,
                      sample_period=spec.sample_period)
    config.update(spec.notes)
    return config


def write_report(report: RunReport, results_dir: Path) -> Path:
    """Write a run's result file into `results_dir` (named after the run); returns its path.
    `flashvm run` keeps the guest's stdout (a Disco run: VM 0's); an OS run keeps
    both streams."""
    spec, cfg = report.spec, report.config
    config = run_config(report)
    process = config["mode"] == "process"
    return write_run(default_path(results_dir, spec.name), report.machine, config=config,
                     machine_config=cfg.to_dict(), vms=_vm_records(report), regions=report.regions, numa=report.numa,
                     memory=report.memory,
                     services=report.services,
                     subnet={k[7:]: v for k, v in (report.disco or {}).items() if k.startswith("subnet_")},
                     jit=report.jit,
                     extra={"machine": cfg.name, "sim_mode": report.sim_mode},
                     attrs={"command": spec.command, "workload": spec.name, "mode": config["mode"],
                            "status": report.status, "host_seconds": report.host_seconds,
                            "ended": report.how_ended, "end_message": report.end_message or "",
                            # the region sampled (--sample, --sample-period; its estimates: /roi/NAME/samples)
                            "sampled": next((r.name for r in report.regions if getattr(r, "samples", None)), "")},
                     syscalls=report.syscalls if process else None,
                     unknown_syscalls=report.unknown_syscalls if process else None,
                     stdout=report.stdout if spec.command == "run" or spec.kind == "os" else None,
                     stderr=report.stderr if spec.kind == "os" else None)


def _vm_records(report: RunReport) -> list[dict[str, Any]] | None:
    if report.vms is None:
        return None
    return [{"name": v.name, "index": v.index, "vcpus": v.vcpus, "status": v.status, "failure": v.failure,
             "verdict": v.verdict, "stdout": v.stdout, "stderr": v.stderr, "klog": v.klog, "files": v.files}
            for v in report.vms]


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
