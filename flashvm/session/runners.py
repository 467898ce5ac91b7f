"""One runner per kind of run: each takes a RunSpec and the sinks the guest's
output passes through, runs it and returns a RunReport."""
from __future__ import annotations

import io
from typing import BinaryIO

from flashvm.disco.osvm import run_os_vms
from flashvm.elf import load_elf
from flashvm.guestos import boot_os, os_init
from flashvm.kernels.run import run as run_kernel
from flashvm.kernels.state import INSNS
from flashvm.machine.flash import FlashMachine
from flashvm.machine.trace import RunFn
from flashvm.process import new_process
from flashvm.session.progress import Progress, Tee
from flashvm.session.status import os_verdict
from flashvm.spec import RunReport, RunSpec

DISCO_VM_MB = 32        # a VM's memory, when the machine has room for it


def _env(spec: RunSpec) -> list[str]:
    return [f"{k}={v}" for k, v in spec.env.items()]


def _observed(run_fn: RunFn, progress: Progress | None) -> RunFn:
    """`run_fn` reporting the instructions done to `progress` after each call."""
    if progress is None:
        return run_fn

    def run_and_report(m, budget):
        reason = run_fn(m, budget)
        progress(int(m.cpu[:, INSNS].sum()))
        return reason
    return run_and_report


def run_process(spec: RunSpec, stdout: BinaryIO | None, stderr: BinaryIO | None,
                progress: Progress | None, run_fn: RunFn = run_kernel) -> RunReport:
    """A Linux program on CPU 0 of a one-CPU machine; the host serves its system calls."""
    out, err = Tee(stdout, progress=progress), Tee(stderr, progress=progress)
    proc = new_process(str(spec.program), list(spec.argv), _env(spec), config=spec.machine, mode=spec.sim_mode,
                       stdin=io.BytesIO(spec.stdin), stdout=out, stderr=err, sysroot=spec.sysroot)
    res = proc.run(max_insns=spec.max_insns, run_fn=_observed(run_fn, progress))
    return RunReport(spec, res.status, res.reason, res.instructions, res.host_seconds, proc.m, proc.config,
                     spec.sim_mode, argv=list(spec.argv), stdout=bytes(out.copy), stderr=bytes(err.copy),
                     syscalls=dict(proc.syscalls_by_number), unknown_syscalls=dict(proc.unknown_syscalls),
                     message=res.message)


def run_bare(spec: RunSpec, stdout: BinaryIO | None, stderr: BinaryIO | None,
             progress: Progress | None, run_fn: RunFn = run_kernel) -> RunReport:
    """A freestanding program booted on every CPU of the machine (docs/machine.md)."""
    out = Tee(stdout, progress=progress)
    fm = FlashMachine(spec.machine, mode=spec.sim_mode, out=out)
    fm.load(load_elf(spec.program))
    argv = list(spec.argv) or [spec.program.name]
    fm.write_bootinfo(argv)
    r = fm.run(max_insns=spec.max_insns, progress=progress, run_fn=run_fn)
    return RunReport(spec, r.status, r.reason, r.instructions, r.host_seconds, fm.m, fm.cfg, spec.sim_mode,
                     argv=argv, stdout=bytes(out.copy))


def _init(spec: RunSpec) -> tuple[dict, list[str]]:
    """The guest's root files and init's argv (several command lines: /sbin/multi)."""
    if spec.commands:
        return os_init(spec.files, spec.commands)
    return dict(spec.files), list(spec.argv)


def run_os(spec: RunSpec, stdout: BinaryIO | None, stderr: BinaryIO | None,
           progress: Progress | None, run_fn: RunFn = run_kernel) -> RunReport:
    """The guest OS on the machine, running the spec's command line(s) as init."""
    files, argv = _init(spec)
    out = Tee(stdout, autoflush=False, progress=progress)
    err = Tee(stderr, autoflush=False, progress=progress)
    live = {1: out, 2: err}
    if spec.verbose and stderr is not None:
        live[3] = stderr
    r = boot_os(files, argv, root=spec.root, env=dict(spec.env), stdin=spec.stdin, machine=spec.machine,
                mode=spec.sim_mode, variant=spec.variant, verbose=spec.verbose, max_insns=spec.max_insns,
                live=live, progress=progress, run_fn=run_fn)
    fm = r.machine
    return RunReport(spec, r.status, "init exited", r.instructions, r.host_seconds, fm.m, fm.cfg, fm.mode,
                     argv=argv, stdout=r.stdout, stderr=r.stderr, klog=r.klog,
                     verdict=os_verdict(r.status, r.klog))


def run_disco(spec: RunSpec, stdout: BinaryIO | None, stderr: BinaryIO | None,
              progress: Progress | None, run_fn: RunFn = run_kernel) -> RunReport:
    """The guest OS in `spec.vms` Disco VMs; each VM's output goes out line by
    line, tagged with its name, when the run is over."""
    files, argv = _init(spec)
    cfg, vms = spec.machine, spec.vms or 1
    per = max(4, min(DISCO_VM_MB, (cfg.ram_bytes >> 20) // vms - 2))
    res, disco, r = run_os_vms(files, argv, vms=vms, cpus_per_vm=spec.cpus or 1, machine=cfg,
                               mode=spec.sim_mode, hal=spec.hal, max_insns=spec.max_insns, mem_mb=per,
                               env=_env(spec), progress=progress, run_fn=run_fn)
    if progress is not None:
        progress.clear()
    for vm in res:
        for stream, sink in ((vm.stdout, stdout), (vm.stderr, stderr)):
            for line in stream.splitlines(keepends=True):
                if sink is not None:
                    sink.write(f"[{vm.name}] ".encode() + line)
    if stdout is not None:
        stdout.flush()
    totals: dict[str, int] = {}
    for vm in disco.vms:
        for k, v in disco.vm_stats(vm).items():
            totals[k] = totals.get(k, 0) + v
    return RunReport(spec, disco.status, r.reason, r.instructions, r.host_seconds, disco.m, cfg, spec.sim_mode,
                     argv=argv, stdout=res[0].stdout if res else b"", vms=res, disco=totals)


RUNNERS = {"process": run_process, "bare": run_bare, "os": run_os, "disco": run_disco}
