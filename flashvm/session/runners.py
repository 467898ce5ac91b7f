"""One runner per kind of run: each takes a RunSpec and the sinks the guest's
output passes through, runs it and returns a RunReport, however the run ends
(a limit, a deadlock or an interrupt stop the machine with RunStopped: the
report then says so and keeps what the guest did until then)."""
from __future__ import annotations

import io
import signal
from pathlib import Path
from typing import Any, BinaryIO, cast

from flashvm.disco.memory import default_vm_mb, vm_memory_problem
from flashvm.disco.monitor import Disco
from flashvm.disco.nfs import nfs_layout
from flashvm.disco.osvm import run_os_vms
from flashvm.disco.splashos import run_splashos as run_splashos_vms
from flashvm.disco.vm import VirtualMachine
from flashvm.elf import load_elf
from flashvm.guestos import PANIC_STATUS, boot_os, os_init
from flashvm.guestos.multi import with_roi
from flashvm.kernels.run import run as run_kernel
from flashvm.kernels.state import INSNS
from flashvm.machine.devices import ByteSink
from flashvm.machine.flash import FlashMachine, GuestError, RunResult, RunStopped, StopRun
from flashvm.machine.trace import RunFn
from flashvm.process import new_process
from flashvm.process.process import LinuxProcess
from flashvm.session.progress import Progress, Tee
from flashvm.session.status import os_verdict, vm_verdict
from flashvm.spec import RunReport, RunSpec, VmOutcome


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


def _signum(e: BaseException) -> int:
    """The host signal behind an interrupt (the CLI's SIGTERM handler tags it; else SIGINT)."""
    cause = e if isinstance(e, KeyboardInterrupt) else e.__cause__
    return int(getattr(cause, "signum", signal.SIGINT))


def _ran(e: RunStopped) -> tuple[FlashMachine, RunResult]:
    """The machine and its counts so far, which FlashMachine.run puts on every RunStopped it raises."""
    assert e.machine is not None and e.result is not None
    return e.machine, e.result


def _monitor(e: RunStopped) -> Disco:
    """The monitor of a stopped Disco run (the machine's supervisor)."""
    return cast(Disco, _ran(e)[0].supervisor)


def _stopped(spec: RunSpec, e: RunStopped, argv: list[str], **kw: Any) -> RunReport:
    """The report of a run the machine stopped before the guest halted (status -1)."""
    fm, r = _ran(e)
    return RunReport(spec, -1, e.ended, r.instructions, r.host_seconds, fm.m, fm.cfg, fm.mode, argv=argv,
                     how_ended=e.ended, end_message=str(e), regions=fm.roi.finished(), services=fm.services.table(),
                     signum=_signum(e) if e.ended == "interrupted" else 0, **kw)


def _process_end(message: str | None) -> str:
    """How a process-mode run ended, from the diagnostic the process mode prints."""
    if message and "instruction limit" in message:
        return "limit"
    if message and ": deadlock:" in message:
        return "deadlock"
    return "halted"


def run_process(spec: RunSpec, stdout: BinaryIO | None, stderr: BinaryIO | None,
                progress: Progress | None, run_fn: RunFn = run_kernel) -> RunReport:
    """A Linux program on CPU 0 of a one-CPU machine; the host serves its system calls."""
    out, err = Tee(stdout, progress=progress), Tee(stderr, progress=progress)
    proc = new_process(str(spec.program), list(spec.argv), _env(spec), config=spec.machine, mode=spec.sim_mode,
                       stdin=_stream(spec.stdin), stdout=out, stderr=err, sysroot=spec.sysroot)
    return finish_process(spec, proc, progress, run_fn)


def finish_process(spec: RunSpec, proc: LinuxProcess, progress: Progress | None, run_fn: RunFn) -> RunReport:
    """Run `proc` (new, or restored from a checkpoint) to its end and report it."""
    out, err = proc.session_streams
    kw: dict[str, Any] = dict(argv=list(spec.argv))
    try:
        res = proc.run(max_insns=spec.max_insns, run_fn=_observed(run_fn, progress))
    except (StopRun, KeyboardInterrupt) as e:
        how = e.ended if isinstance(e, StopRun) else "interrupted"
        kw.update(how_ended=how, end_message=str(e) if how != "interrupted" else "interrupted",
                  signum=_signum(e) if how == "interrupted" else 0)
        res = None
    if res is not None:
        how = _process_end(res.message)
        kw.update(how_ended=how, end_message=(res.message or "").strip() if how != "halted" else None)
    assert proc.config is not None     # new_process builds the machine from a config
    return RunReport(spec, res.status if res else -1, res.reason if res else how,
                     res.instructions if res else int(proc.insns), proc.host_seconds, proc.m, proc.config,
                     spec.sim_mode, stdout=bytes(out.copy), stderr=bytes(err.copy),
                     syscalls=dict(proc.syscalls_by_number), unknown_syscalls=dict(proc.unknown_syscalls),
                     message=res.message if res else None, regions=proc.roi.finished(), **kw)


def run_bare(spec: RunSpec, stdout: BinaryIO | None, stderr: BinaryIO | None,
             progress: Progress | None, run_fn: RunFn = run_kernel) -> RunReport:
    """A freestanding program booted on every CPU of the machine (docs/machine.md)."""
    out = Tee(stdout, progress=progress)
    fm = FlashMachine(spec.machine, mode=spec.sim_mode, out=out)
    fm.load(load_elf(spec.program))
    argv = list(spec.argv) or [spec.program.name]
    fm.write_bootinfo(argv)
    try:
        r = fm.run(max_insns=spec.max_insns, progress=progress, run_fn=run_fn)
    except RunStopped as e:
        return _stopped(spec, e, argv, stdout=bytes(out.copy))
    return RunReport(spec, r.status, r.reason, r.instructions, r.host_seconds, fm.m, fm.cfg, spec.sim_mode,
                     argv=argv, stdout=bytes(out.copy), regions=fm.roi.finished(),
                     services=fm.services.table())


def _init(spec: RunSpec) -> tuple[dict, list[str]]:
    """The guest's root files and init's argv (several command lines: /sbin/multi)."""
    files, argv = os_init(spec.files, spec.commands) if spec.commands else (dict(spec.files), list(spec.argv))
    return with_roi(files, argv), argv


def run_os(spec: RunSpec, stdout: BinaryIO | None, stderr: BinaryIO | None,
           progress: Progress | None, run_fn: RunFn = run_kernel) -> RunReport:
    """The guest OS on the machine, running the spec's command line(s) as init."""
    files, argv = _init(spec)
    out = Tee(stdout, autoflush=False, progress=progress)
    err = Tee(stderr, autoflush=False, progress=progress)
    live: dict[int, ByteSink] = {1: out, 2: err}
    if spec.verbose and stderr is not None:
        live[3] = stderr
    try:
        r = boot_os(files, argv, root=spec.root, env=dict(spec.env), stdin=_bytes(spec.stdin),
                    machine=spec.machine, mode=spec.sim_mode, variant=spec.variant, verbose=spec.verbose,
                    max_insns=spec.max_insns, live=live, progress=progress, run_fn=run_fn,
                    root_image=spec.root_image)
    except RunStopped as e:
        klog = getattr(_ran(e)[0].uart.out, "streams", {}).get(3, b"")
        return _stopped(spec, e, argv, stdout=bytes(out.copy), stderr=bytes(err.copy), klog=bytes(klog))
    fm = r.machine
    return RunReport(spec, r.status, "init exited", r.instructions, r.host_seconds, fm.m, fm.cfg, fm.mode,
                     argv=argv, stdout=r.stdout, stderr=r.stderr, klog=r.klog,
                     verdict=os_verdict(r.status, r.klog), regions=fm.roi.finished(),
                     services=fm.services.table())


def _vm_mem(spec: RunSpec) -> int:
    """Each VM's memory in MB (the spec's, else the default share), checked against the machine."""
    cfg, vms = spec.machine, spec.vms or 1
    per = spec.vm_mem_mb if spec.vm_mem_mb is not None else default_vm_mb(cfg, vms)
    problem = vm_memory_problem(cfg, vms, per, "--vm-mem" if spec.vm_mem_mb is not None else None)
    if problem:
        raise GuestError(problem)
    return per


def run_disco(spec: RunSpec, stdout: BinaryIO | None, stderr: BinaryIO | None,
              progress: Progress | None, run_fn: RunFn = run_kernel) -> RunReport:
    """The guest OS in `spec.vms` Disco VMs; each VM's output goes out line by
    line, tagged with its name, when the run is over."""
    files, argv = _init(spec)
    per = _vm_mem(spec)
    # --nfs: VM 0 serves the files from /srv, the others mount them on /nfs and run from there
    files, argvs = nfs_layout(files, argv, spec.vms or 1) if spec.nfs else (files, None)
    try:
        res, disco, r = run_os_vms(files, argv, vms=spec.vms or 1, cpus_per_vm=spec.cpus or 1, machine=spec.machine,
                                   mode=spec.sim_mode, hal=spec.hal, max_insns=spec.max_insns, mem_mb=per,
                                   env=_env(spec), progress=progress, stdin=_bytes(spec.stdin), run_fn=run_fn,
                                   root_image=spec.root_image, argv_per_vm=argvs, nets=spec.nfs,
                                   remap=True if spec.nfs else None, numa=spec.numa,
                                   share=spec.share and spec.hal)
    except RunStopped as e:
        return _vms_report(spec, argv, stdout, stderr, progress, e, [_vm_outcome(vm, e.ended) for vm in
                                                                     _monitor(e).vms])
    return _vms_report(spec, argv, stdout, stderr, progress, (disco, r), res)


def run_splashos(spec: RunSpec, stdout: BinaryIO | None, stderr: BinaryIO | None,
                 progress: Progress | None, run_fn: RunFn = run_kernel) -> RunReport:
    """A program linked with SPLASHOS (docs/splashos.md) in `spec.vms` Disco VMs;
    each VM's console goes out line by line, tagged with its name, when the run is over."""
    argv = list(spec.argv)
    try:
        files = {k.lstrip("/"): Path(str(v)).read_bytes() for k, v in spec.files.items()} if spec.files else None
        res, disco, r = run_splashos_vms(spec.program, argv, vms=spec.vms or 1, cpus=spec.cpus or 1,
                                         mem_mb=_vm_mem(spec), machine=spec.machine, mode=spec.sim_mode,
                                         max_insns=spec.max_insns, progress=progress, run_fn=run_fn, files=files,
                                         numa=spec.numa)
    except RunStopped as e:
        return _vms_report(spec, argv, stdout, stderr, progress, e, [_vm_outcome(vm, e.ended, vm.out) for vm in
                                                                     _monitor(e).vms])
    return _vms_report(spec, argv, stdout, stderr, progress, (disco, r), res)


def _vms_report(spec: RunSpec, argv: list[str], stdout: BinaryIO | None, stderr: BinaryIO | None,
                progress: Progress | None, ran: tuple[Disco, RunResult] | RunStopped,
                res: list[VmOutcome]) -> RunReport:
    """The report of a Disco run (`ran`: the monitor and the RunResult, or how the run was
    stopped), the VMs' output written out tagged with their names."""
    if isinstance(ran, RunStopped):
        stop: RunStopped | None = ran
        disco, r = _monitor(ran), _ran(ran)[1]
    else:
        stop = None
        disco, r = ran
    if progress is not None:
        progress.clear()
    for vm in res:
        vm.verdict = vm_verdict(vm, r.reason)
        for stream, sink in ((vm.stdout, stdout), (vm.stderr, stderr)):
            for line in stream.splitlines(keepends=True):
                if sink is not None:
                    sink.write(f"[{vm.name}] ".encode() + line)
    if stdout is not None:
        stdout.flush()
    totals: dict[str, int] = {}
    for each in disco.vms:
        for k, v in disco.vm_stats(each).items():
            totals[k] = totals.get(k, 0) + v
    if disco.netremap.frames:            # the subnet's remapping (docs/disco.md): /disco/subnet
        totals.update({f"subnet_{k}": v for k, v in disco.netremap.stats().items()})
    memory = disco.footprint.report()
    if stop is not None:
        return _stopped(spec, stop, argv, stdout=res[0].stdout if res else b"", vms=res, disco=totals,
                        numa=disco.numa.summary(), memory=memory)
    return RunReport(spec, disco.status, r.reason, r.instructions, r.host_seconds, disco.m, spec.machine,
                     spec.sim_mode, argv=argv, stdout=res[0].stdout if res else b"", vms=res, disco=totals,
                     regions=disco.fm.roi.finished(), services=disco.fm.services.table(),
                     numa=disco.numa.summary(), memory=memory)


def _vm_outcome(vm: VirtualMachine, ended: str, console: bytes | bytearray | None = None) -> VmOutcome:
    """What a Disco VM did until the run was stopped (`ended`): a VM still running
    then has no status and fails with that reason.  `console`: a SPLASHOS VM's output
    (its stdout; a guest OS's streams come from its console demultiplexer)."""
    streams = getattr(vm.uart.out, "streams", {}) if console is None else {1: console}
    failure = vm.failure
    if failure is None and vm.status is None:
        failure = {"limit": "still running at the run's limit", "deadlock": "still running at the deadlock",
                   "interrupted": "still running when the run was interrupted"}[ended]
    return VmOutcome(vm.name, vm.index, list(vm.vcpus), vm.status, failure, bytes(streams.get(1, b"")),
                     bytes(streams.get(2, b"")), bytes(streams.get(3, b"")), panicked=vm.status == PANIC_STATUS)


def _stream(stdin: bytes | BinaryIO) -> BinaryIO:
    """Process mode reads fd 0 from a stream: the host's stdin passes through as it comes."""
    return io.BytesIO(stdin) if isinstance(stdin, (bytes, bytearray)) else stdin


def _bytes(stdin: bytes | BinaryIO) -> bytes:
    """The guest OS takes its console input whole, before it boots."""
    return stdin if isinstance(stdin, (bytes, bytearray)) else stdin.read()


RUNNERS = {"process": run_process, "bare": run_bare, "os": run_os, "disco": run_disco, "splashos": run_splashos}
