"""Checkpoints in a session (docs/checkpoints.md).

`--checkpoint-at roi|N|TIME` installs a `Checkpointer` as the machine's chunk
hook (flashvm/machine/flash.py): at the first chunk boundary where the guest has
begun a region of interest, run N instructions or reached simulated time TIME,
the whole machine (and the RunSpec that made it) is written to one file and
the run goes on.  A chunk boundary is a point every run passes through the
same way, so taking a checkpoint does not change the run.

`resume(path, ...)` reads such a file and finishes the run from there with the
runner's own ending for its kind; the report is the uninterrupted run's, bit
for bit (only the host seconds differ).  It may first switch the level of
detail (`mode`) or change latencies and cache shapes (`machine_options`;
caches and directory then start cold, which is consistent with memory).
"""
from __future__ import annotations

import dataclasses
import re
import sys
import time
from pathlib import Path
from typing import Any, BinaryIO, Callable, Mapping, cast

from flashvm.guestos import PANIC_STATUS, ConsoleDemux
from flashvm.disco.monitor import Disco
from flashvm.disco.splashos import outcome
from flashvm.kernels.state import (
    CYCLES, INSNS, P_IO_CYCLES, P_L1D_SETS, P_L1D_WAYS, P_L1I_SETS, P_L1I_WAYS, P_L2_SETS, P_L2_WAYS, P_LAT_DIRTY, P_LAT_INVAL,
    P_LAT_L2, P_LAT_LOCAL, P_LAT_REMOTE, P_LSHIFT, P_NLINES, P_ROUND_START, P_TIMING, P_HOT_THRESHOLD,
)
from flashvm.machine.checkpoint import CheckpointError, read_checkpoint, write_checkpoint
from flashvm.machine.config import ConfigError, MachineConfig, parse_size
from flashvm.machine.flash import FlashMachine, RunResult, RunStopped, build_state
from flashvm.machine.roi import regions_begun
from flashvm.machine.snapshot import SnapshotError, capture, restore
from flashvm.machine.trace import RunFn
from flashvm.results import default_path
from flashvm.session.progress import Progress, Tee
from flashvm.process.process import LinuxProcess
from flashvm.session.runners import _init, _stopped, _vms_report, _vm_outcome, finish_process
from flashvm.session.status import os_verdict
from flashvm.spec import RunReport, RunSpec, VmOutcome

_UNITS_NS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
CACHE_ARRAYS = ("l1i", "l1d", "l2", "dir_sharers", "dir_owner", "magic")
_TIMING_PARAMS = (P_TIMING, P_LSHIFT, P_L1I_SETS, P_L1I_WAYS, P_L1D_SETS, P_L1D_WAYS, P_L2_SETS, P_L2_WAYS, P_NLINES)


# ------------------------------------------------------------------ --checkpoint-at
@dataclasses.dataclass(frozen=True)
class CheckpointAt:
    """Where to checkpoint: "roi", "insns" (value: instructions) or "time" (value: simulated ns)."""
    kind: str
    value: int = 0
    text: str = ""


def checkpoint_at_option(text: str | None) -> CheckpointAt | None:
    """The value of --checkpoint-at: roi, a number of instructions, or a simulated time (2ms, 0.5s)."""
    if text is None:
        return None
    t = text.strip().lower().replace("_", "")
    if t == "roi":
        return CheckpointAt("roi", 0, text)
    if t.isdigit() and int(t) > 0:
        return CheckpointAt("insns", int(t), text)
    m = re.fullmatch(r"([0-9]*\.?[0-9]+(?:e[0-9]+)?)(s|ms|us|ns)", t)
    if m and float(m.group(1)) > 0:
        return CheckpointAt("time", int(float(m.group(1)) * _UNITS_NS[m.group(2)]), text)
    raise ValueError(f"--checkpoint-at {text!r}: give roi, a number of instructions, or a simulated time "
                     "with its unit (e.g. 5ms, 0.2s)")


def _externals(stdout: BinaryIO | None, stderr: BinaryIO | None, progress: Progress | None) -> dict[str, object]:
    """The host objects a checkpoint names instead of saving: the session's sinks and the host's streams."""
    ext: dict[str, object] = {}
    for name in ("stdout", "stderr", "stdin"):
        stream = getattr(sys, name, None)
        ext[f"host_{name}"] = stream
        ext[f"host_{name}_buffer"] = getattr(stream, "buffer", None)
    # last, so that a session sink that is also a host stream is saved by its session name
    ext.update(stdout=stdout, stderr=stderr, progress=progress)
    return ext


class Checkpointer:
    """The chunk hook that writes the checkpoint once (see the module doc)."""

    def __init__(self, spec: RunSpec, at: CheckpointAt, directory: Path, *, stdout: BinaryIO | None,
                 stderr: BinaryIO | None, progress: Progress | None, say: Callable[[str], None]):
        self.spec = dataclasses.replace(spec, checkpoint_at=None, checkpoint_dir=None, gdb=None, gdb_wait=False,
                                        trace=frozenset(), trace_file=None, fast_forward=None, warmup=0,
                                        roi_instructions=None, sample_period=None)
        self.at = at
        self.directory = directory
        self.ext = _externals(stdout, stderr, progress)
        self.say = say
        self.t0 = time.perf_counter()
        self.path: Path | None = None
        self.seconds = 0.0             # host seconds from the run's start to the checkpoint written

    def due(self, fm: FlashMachine | LinuxProcess) -> bool:
        m = fm.m
        if self.at.kind == "roi":
            return regions_begun(m) > 0
        if self.at.kind == "insns":
            return int(m.cpu[:, INSNS].sum()) >= self.at.value
        return _sim_cycles(fm) * fm.ns_per_cycle >= self.at.value

    def __call__(self, fm: FlashMachine | LinuxProcess) -> None:
        if self.path is not None or not self.due(fm):
            return
        path = default_path(self.directory, self.spec.name or "run").with_suffix(".ckpt")
        self.path = save(fm, self.spec, path, self.ext, at=self.at.text, host_seconds=time.perf_counter() - self.t0)
        self.seconds = time.perf_counter() - self.t0
        self.say(f"checkpoint: {self.path}")


def _sim_cycles(fm: FlashMachine | LinuxProcess) -> int:
    """Simulated time in cycles: the current round's start (process mode: CPU 0's clock)."""
    if isinstance(fm, LinuxProcess):
        return int(fm.m.cpu[0, CYCLES])
    return int(fm.m.params[P_ROUND_START])


def save(fm: FlashMachine | LinuxProcess, spec: RunSpec, path: Path, externals: Mapping[str, object], **notes: Any) -> Path:
    """Write `fm` (everything reachable from it) and `spec` to the checkpoint file `path`."""
    m = fm.m
    try:
        snap = capture({"machine": fm, "spec": spec}, externals)
    except SnapshotError as e:
        raise CheckpointError(str(e)) from None
    info = dict(kind=spec.kind, name=spec.name, mode=fm.mode, machine=fm.cfg.name,
                instructions=int(m.cpu[:, INSNS].sum()), cycles=int(m.cpu[:, CYCLES].max()),
                sim_ns=int(_sim_cycles(fm) * fm.ns_per_cycle), **notes)
    return write_checkpoint(path, snap, info)


# ------------------------------------------------------------------ changing the machine on resume
_OPTION_KEYS = {"latency", "l1i", "l1d", "l2", "hot_page_threshold"}


def machine_options(cfg: MachineConfig, text: str | None) -> MachineConfig:
    """`cfg` with --machine-options KEY=VALUE[,KEY=VALUE] applied: latency.*, l1i/l1d/l2 .size and
    .ways, hot_page_threshold (what a resumed machine can change; the rest fixes its structure)."""
    if not text:
        return cfg
    for item in text.split(","):
        key, eq, value = item.partition("=")
        key = key.strip()
        head, _, leaf = key.partition(".")
        if not eq or head not in _OPTION_KEYS or (head != "hot_page_threshold") != bool(leaf):
            raise ValueError(f"--machine-options {item!r}: give KEY=VALUE with KEY one of latency.NAME, "
                             "l1i.size, l1i.ways, l1d.size, l1d.ways, l2.size, l2.ways, hot_page_threshold "
                             "(the rest of a checkpoint's machine is fixed)")
        try:
            if head == "hot_page_threshold":
                cfg = dataclasses.replace(cfg, hot_page_threshold=int(value))
            elif head == "latency":
                cfg = dataclasses.replace(cfg, latency=dataclasses.replace(cfg.latency, **{leaf: float(value)}))
            else:
                sub = getattr(cfg, head)
                v = parse_size(value.strip(), key) if leaf == "size" else int(value)
                cfg = dataclasses.replace(cfg, **{head: dataclasses.replace(sub, **{leaf: v})})
            cfg = cfg.validate()
        except (TypeError, ValueError, ConfigError) as e:
            raise ValueError(f"--machine-options {item!r}: {e}") from None
    return cfg


def _cold_caches(fm: FlashMachine, cfg: MachineConfig) -> None:
    """Give `fm` empty caches, directory and MAGIC counters shaped for `cfg` (timing mode).
    The arrays are resized in place: every object holding them sees the new ones."""
    ref = build_state(cfg, timing=True)
    m = fm.m
    for name in CACHE_ARRAYS:
        a, b = getattr(m, name), getattr(ref, name)
        if name == "magic" and a.shape == b.shape:
            continue            # MAGIC's miss counts (Disco's NUMA policy input) do not depend on the caches
        a.resize(b.shape, refcheck=False)
        a[...] = b
    m.params[list(_TIMING_PARAMS)] = ref.params[list(_TIMING_PARAMS)]


def reconfigure(fm: FlashMachine | LinuxProcess, mode: str | None, cfg: MachineConfig) -> None:
    """Nothing when `mode` (None: the saved one) and `cfg` are the saved ones; else switch
    `fm` to `mode` and to `cfg`'s latencies and caches (between two rounds)."""
    m = fm.m
    old = fm.cfg
    mode = mode or fm.mode
    if mode == fm.mode and cfg == old:
        return                  # resumed as saved: not a bit changes
    if isinstance(fm, LinuxProcess):
        # its RAM grows on demand and its caches and directory would have to follow
        raise ValueError("a process-mode checkpoint resumes as it was saved: no --mode or --machine-options")
    new_caches = (cfg.l1i, cfg.l1d, cfg.l2) != (old.l1i, old.l1d, old.l2)
    if (mode == "timing" and int(m.params[P_NLINES]) <= 1) or new_caches:
        _cold_caches(fm, cfg)
    m.params[P_TIMING] = int(mode == "timing")
    if mode != fm.mode:
        fm.mode = mode
        for name in list(fm.roi.stack):     # an open region is measured from the switch on
            fm.roi.restart(name)
    lat = cfg.latencies_cycles()
    p = m.params
    p[P_LAT_L2], p[P_LAT_LOCAL], p[P_LAT_REMOTE] = lat["l2"], lat["local"], lat["remote"]
    p[P_LAT_DIRTY], p[P_LAT_INVAL] = lat["dirty"], lat["inval"]
    p[P_HOT_THRESHOLD] = cfg.hot_page_threshold
    fm.io_cycles = lat["io"]
    p[P_IO_CYCLES] = lat["io"]
    fm.cfg = cfg
    m.tc_tag[:] = -1        # the soft TLB starts empty, as after any mode switch
    if isinstance(fm.supervisor, Disco):
        fm.supervisor.cfg = cfg


# ------------------------------------------------------------------ resuming
def load(path: str | Path, externals: Mapping[str, object]) -> tuple[Any, RunSpec, dict[str, Any]]:
    """The machine and RunSpec saved in `path` (CheckpointError with one line if it cannot be used)."""
    snap, notes = read_checkpoint(path)
    try:
        root = restore(snap, externals)
        fm, spec = root["machine"], root["spec"]
    except Exception as e:      # an unpickling failure: code that no longer matches the file
        raise CheckpointError(f"{path}: cannot be restored ({type(e).__name__}: {e}); make it again with "
                              "this flashvm (--checkpoint-at)") from None
    if not isinstance(fm, (FlashMachine, LinuxProcess)) or not isinstance(spec, RunSpec):
        raise CheckpointError(f"{path}: damaged checkpoint (no machine in it); make it again (--checkpoint-at)")
    return fm, spec, notes


def _close_disks(fm: FlashMachine) -> None:
    devices = list(fm.devices)
    if isinstance(fm.supervisor, Disco):
        devices += [d for vm in fm.supervisor.vms for d in vm.devices]
    for d in devices:
        if d.name == "disk":
            close = getattr(d, "close", None)
            if callable(close):
                close()


def _run(fm: FlashMachine, spec: RunSpec, progress: Progress | None, run_fn: RunFn) -> RunResult:
    try:
        return fm.run(max_insns=spec.max_insns, progress=progress, run_fn=run_fn)
    finally:
        _close_disks(fm)


def finish_bare(spec: RunSpec, fm: FlashMachine, stdout, stderr, progress, run_fn) -> RunReport:
    out = cast(Tee, fm.uart.out)            # run_bare's sink
    argv = list(spec.argv) or [spec.program.name]
    try:
        r = _run(fm, spec, progress, run_fn)
    except RunStopped as e:
        return _stopped(spec, e, argv, stdout=bytes(out.copy))
    return RunReport(spec, r.status, r.reason, r.instructions, r.host_seconds, fm.m, fm.cfg, spec.sim_mode,
                     argv=argv, stdout=bytes(out.copy), regions=fm.roi.finished())


def finish_os(spec: RunSpec, fm: FlashMachine, stdout, stderr, progress, run_fn) -> RunReport:
    demux = cast(ConsoleDemux, fm.uart.out)     # boot_os's console
    out, err = demux.live[1], demux.live[2]
    argv = _init(spec)[1]
    try:
        r = _run(fm, spec, progress, run_fn)
    except RunStopped as e:
        return _stopped(spec, e, argv, stdout=bytes(out.copy), stderr=bytes(err.copy), klog=bytes(demux.streams[3]))
    klog = bytes(demux.streams[3])
    return RunReport(spec, r.status, "init exited", r.instructions, r.host_seconds, fm.m, fm.cfg, fm.mode,
                     argv=argv, stdout=bytes(demux.streams[1]), stderr=bytes(demux.streams[2]), klog=klog,
                     verdict=os_verdict(r.status, klog), regions=fm.roi.finished())


def _vm_streams(vm) -> VmOutcome:
    d = vm.uart.out
    if not isinstance(d, ConsoleDemux):
        return outcome(vm)
    return VmOutcome(vm.name, vm.index, list(vm.vcpus), vm.status, vm.failure, bytes(d.streams[1]),
                     bytes(d.streams[2]), bytes(d.streams[3]), panicked=vm.status == PANIC_STATUS)


def finish_vms(spec: RunSpec, fm: FlashMachine, stdout, stderr, progress, run_fn) -> RunReport:
    disco = fm.supervisor
    assert isinstance(disco, Disco)
    argv = _init(spec)[1] if spec.kind == "disco" else list(spec.argv)
    try:
        r = _run(fm, spec, progress, run_fn)
    except RunStopped as e:
        return _vms_report(spec, argv, stdout, stderr, progress, e,
                           [_vm_outcome(vm, e.ended, None if isinstance(vm.uart.out, ConsoleDemux) else vm.out)
                            for vm in disco.vms])
    for vm in disco.vms:
        vm.console.flush_line()
    return _vms_report(spec, argv, stdout, stderr, progress, (disco, r), [_vm_streams(vm) for vm in disco.vms])


def finish_proc(spec: RunSpec, proc: LinuxProcess, stdout, stderr, progress, run_fn) -> RunReport:
    return finish_process(spec, proc, progress, run_fn)


FINISH: dict[str, Callable[..., RunReport]] = {"bare": finish_bare, "os": finish_os, "disco": finish_vms, "splashos": finish_vms,
          "process": finish_proc}


def resumed_spec(spec: RunSpec, mode: str | None, cfg: MachineConfig, max_insns: int | None,
                 timeout: float | None) -> RunSpec:
    """The saved RunSpec as the resumed run reports it."""
    return dataclasses.replace(spec, sim_mode=mode or spec.sim_mode, machine=cfg,
                               max_insns=max_insns if max_insns is not None else spec.max_insns,
                               timeout_s=timeout if timeout is not None else spec.timeout_s)


__all__ = ["CheckpointAt", "Checkpointer", "FINISH", "checkpoint_at_option", "load", "machine_options",
           "reconfigure", "resumed_spec", "save"]
