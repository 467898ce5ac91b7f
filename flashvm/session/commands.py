"""What `flashvm exec` and `flashvm run` make of their option values: the RunSpec to run
(every check raising OptionError with one line), so cli.py only parses, runs and prints."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Callable, Sequence, TextIO

from flashvm.session import options as o
from flashvm.spec import RunSpec


def exec_spec(program: Path, args: Sequence[str], machine: Callable[[], tuple[Any, str]], *, bare: bool, os_: bool,
              splashos: bool, cpus: str | None, variant: str | None, verbose: int, vms: int | None, hal: bool,
              nfs: bool, vm_mem: str | None, numa: str | None, max_insns: int | None, timeout: float | None,
              file: Sequence[str], trace: str | None, trace_file: Path | None, sysroot: Path | None,
              gdb: str | None, gdb_wait: bool, share: bool = False, stdin: TextIO | None = sys.stdin,
              say: Callable[[str], Any] = print) -> RunSpec:
    """The RunSpec of `exec [--bare|--os [--vms N]|--splashos] PROGRAM ARGS`; `machine()` gives the
    machine config and simulation mode (after the options' own checks); `say` shows progress lines
    (a sysroot's root image being built)."""
    o.check_limits(max_insns, timeout)
    o.check_exec_kind(bare, os_, splashos, {"--cpus": cpus is not None and not splashos, "--variant": variant is not None,
                                            "--verbose": bool(verbose), "--vms": vms is not None and not splashos,
                                            "--file": bool(file) and not splashos, "--nfs": nfs})
    host = o.program_in_sysroot(program, sysroot, bare or splashos)
    if not host.is_file():
        raise o.OptionError(f"{host}: {'not a file' if host.exists() else 'no such file'}")
    cfg, sim_mode = machine()
    numa = o.disco_options(hal, numa, vms, splashos)
    hal = o.share_option(share, vms if os_ else None, splashos) or hal    # sharing needs the HAL kernel
    o.vm_mem_option(cfg, vms or (1 if splashos else None), vm_mem)
    guest, extra = program, o.guest_files(file)
    program = host
    kinds = o.trace_kinds(trace, trace_file)
    common: dict = dict(program=program, sim_mode=sim_mode, max_insns=max_insns, timeout_s=timeout, name=program.name,
                        trace=kinds, trace_file=trace_file, stdin=o.guest_stdin(os_, stdin),
                        gdb=o.gdb_port(gdb, gdb_wait, kinds), gdb_wait=gdb_wait, numa=numa)
    if splashos:
        return o.splashos_spec(program, args, cfg, cpus, vms, vm_mem, common, extra)
    if os_ and vms is not None:
        o.check_vms(vms, variant, nfs)
        argv, files, more = o.os_root(guest, host, args, sysroot, extra, say)
        return RunSpec("disco", machine=cfg, argv=argv, files=files, **more, nfs=nfs,
                       cpus=o.cpus_option(cpus) or 1, vms=vms, hal=hal, share=share,
                       vm_mem_mb=o.vm_mem_option(cfg, vms, vm_mem),
                       title=f"{program.name} (os mode in {vms} Disco VM{'s' if vms > 1 else ''})", **common)
    if os_:
        ncpus, kvariant = o.cpus_option(cpus), o.os_variant(variant)
        argv, files, more = o.os_root(guest, host, args, sysroot, extra, say)
        more.setdefault("notes", {"guest_program": argv[0]})
        cfg = o.os_machine(cfg, ncpus, "--cpus")
        return RunSpec("os", machine=cfg, argv=argv, files=files, cpus=cfg.ncpu, variant=kvariant,
                       verbose=verbose, **more, title=f"{program.name} (os mode, {kvariant} kernel)", **common)
    kind = "bare" if bare else "process"
    return RunSpec(kind, machine=cfg, argv=(program.name, *args), title=f"{program.name} ({kind} mode)",
                   sysroot=sysroot, **common)
