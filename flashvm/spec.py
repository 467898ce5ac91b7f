"""What to run and what a run gave: the data passed between the command line,
workloads, the session that runs them and the result file.  Plain data only:
this module sits just above the machine so every layer may use it.

    RunSpec    one run: the program(s), the machine, the run kind and its limits
    RunReport  how it ended: status, streams, counters, per-VM outcomes
    VmOutcome  one Disco VM's guest OS run
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO, Mapping, Union

from flashvm.machine.config import MachineConfig

if TYPE_CHECKING:      # the state arrays' module imports Numba: only for the type checker here
    from flashvm.kernels.state import Machine

KINDS = ("process", "bare", "os", "disco", "splashos")

# a file for the guest's root file system: its bytes or a host path; None makes a directory
GuestFile = Union[bytes, str, Path, None]


@dataclass(frozen=True)
class RunSpec:
    """One run.  `kind`: "process" (a Linux program, the host serves its system
    calls), "bare" (a freestanding program on every CPU), "os" (the guest OS
    with the program as init, or several command lines under /sbin/multi) or
    "disco" (that, in `vms` Disco virtual machines) or "splashos" (a program linked
    with SPLASHOS in `vms` Disco VMs of `cpus` VCPUs)."""
    kind: str
    program: Path                            # the ELF on the host
    machine: MachineConfig                   # os: already cut down to `cpus` CPUs
    sim_mode: str = "functional"             # "functional" or "timing"
    argv: tuple[str, ...] = ()               # argv; os/disco: init's command line (one command)
    commands: tuple[tuple[str, ...], ...] = ()   # os/disco: several command lines at once (not argv)
    files: Mapping[str, GuestFile] = field(default_factory=dict)   # os/disco: the guest's root files
    env: Mapping[str, str] = field(default_factory=dict)
    stdin: bytes | BinaryIO = b""            # process: also a stream read as the guest reads fd 0
    cpus: int | None = None                  # os: CPUs the OS boots on; disco: VCPUs per VM
    vms: int | None = None                   # disco: how many VMs
    hal: bool = False                        # disco: the kernel's HAL build
    share: bool = False                      # disco (with hal): pages shared between VMs (flashvm/disco/share.py)
    nfs: bool = False                        # disco: VM 0 serves the files in /srv, the others run from /nfs
    vm_mem_mb: int | None = None             # disco: each VM's memory in MB (None: 32, less on a small machine)
    numa: str | None = None                  # disco/splashos: NUMA policy, off|migrate|replicate|both (None: both
                                             # on a NUMA machine, off on UMA; flashvm/disco/numa.py)
    variant: str = "kseg0"                   # os: the kernel's link variant
    root: str = "disk"                       # os: root file system, "disk" (flashfs) or "initrd"
    max_insns: int | None = None             # None: the session's default (flashvm/session/ends.py)
    timeout_s: float | None = None           # host seconds the simulation may take (None: no limit)
    verbose: int = 0                         # os: kernel log on stderr (1, 2: more)
    name: str = ""                           # names the result file
    title: str = ""                          # heads the summary table
    command: str = "exec"                    # the CLI command ("run", "exec"), for the result file
    notes: Mapping[str, Any] = field(default_factory=dict)   # more for the result file's config_json
    trace: frozenset[str] = frozenset()      # what to trace (insn, exc, syscall; docs/trace.md)
    trace_file: Path | None = None           # where the trace goes (None: the session's stderr)
    sysroot: Path | None = None              # process: absolute guest paths look here first (qemu -L)
    root_image: Path | None = None           # os/disco: a shared flashfs root (a sysroot's); `files` go on it
    fast_forward: str | int | None = None    # "roi" or instructions: functional mode until then (timing spec)
    warmup: int = 0                          # with fast_forward: switch this many instructions early
    roi_instructions: int | None = None      # timing: end the run once the region has run this many (a sample)
    sample_period: int | None = None         # with roi_instructions: measure that many of every this many of the
                                             # region (flashvm/session/sampling.py); warmup: timing before each
    gdb: int | None = None                   # serve gdb on this localhost port (docs/gdb.md; 0: any free one)
    gdb_wait: bool = False                   # with gdb: wait for it before the first instruction
    checkpoint_at: str | None = None         # "roi", instructions or a simulated time (docs/checkpoints.md)
    checkpoint_dir: Path | None = None       # where the checkpoint file goes (None: results/)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"run kind {self.kind!r}: use one of {', '.join(KINDS)}")
        problem = max_insns_problem(self.max_insns, "max_insns")
        if problem:
            raise ValueError(problem)
        t = self.timeout_s
        if t is not None and (isinstance(t, bool) or not isinstance(t, (int, float)) or not t > 0):
            raise ValueError(f"timeout_s {t!r}: give a positive number of seconds (or None)")
        for what, n in (("cpus", self.cpus), ("vms", self.vms), ("vm_mem_mb", self.vm_mem_mb)):
            if n is not None and (isinstance(n, bool) or not isinstance(n, int) or n < 1):
                raise ValueError(f"{what} {n!r}: must be a whole number, at least 1 (or None)")


def max_insns_problem(value: Any, option: str = "--max-insns") -> str | None:
    """What is wrong with an instruction limit given as `option`, in one line
    (None when it is a positive whole number or None, no limit)."""
    if value is None or (isinstance(value, int) and not isinstance(value, bool) and value > 0):
        return None
    return (f"{option} {value!r}: give a positive number of instructions "
            "(or leave it out for the default limit)")


@dataclass
class VmOutcome:
    """What one Disco VM's guest OS did."""
    name: str
    index: int
    vcpus: list[int]
    status: int | None          # init's exit status; None if the VM failed
    failure: str | None         # why the monitor stopped it
    stdout: bytes
    stderr: bytes
    klog: bytes
    panicked: bool = False      # its kernel panicked
    verdict: str | None = None  # why it failed, in one line (None: it did not); the session fills it in
    files: dict[str, bytes] | None = None   # a SPLASHOS VM's disk files after the run (docs/splashos.md)

    @property
    def ok(self) -> bool:
        return self.failure is None and self.status is not None and not self.panicked


@dataclass
class RunReport:
    """How a run ended, with what results.py and the summary need."""
    spec: RunSpec
    status: int                              # the program's (init's, the first failing VM's) status
    ended: str                               # how the machine stopped ("all CPUs halted", "exit", ...)
    instructions: int
    host_seconds: float
    machine: Machine                         # the machine's state arrays (counters)
    config: MachineConfig                    # the machine as run
    sim_mode: str
    argv: list[str] = field(default_factory=list)   # the command line run (os: init's)
    stdout: bytes = b""                      # copies of what the guest wrote
    stderr: bytes = b""
    klog: bytes = b""                        # os: the kernel log
    syscalls: dict[int, int] = field(default_factory=dict)          # process: o32 number -> calls
    unknown_syscalls: dict[int, int] = field(default_factory=dict)  # process: answered ENOSYS
    vms: list[VmOutcome] | None = None       # disco: one per VM
    disco: dict[str, int] | None = None      # disco: the monitor's counters summed over all VCPUs
    numa: dict[str, Any] | None = None       # disco: the NUMA policy's counters (flashvm/disco/numa.py)
    memory: dict[str, Any] | None = None     # disco: the footprint (flashvm.disco.footprint.Footprint.report)
    message: str | None = None               # the run's own diagnostic (process mode)
    verdict: str | None = None               # why the run failed, in one line (a panic, ...)
    how_ended: str = "halted"                # "halted", "limit", "deadlock" or "interrupted"
    end_message: str | None = None           # why it stopped, in one line (all but "halted")
    signum: int = 0                          # interrupted: the host signal (SIGINT, SIGTERM)
    regions: list[Any] = field(default_factory=list)   # flashvm.machine.roi.Region: the guest's marked regions
    services: dict[str, Any] | None = None   # flashvm.machine.services.Services.table(): the kernel's services
    jit: dict[str, float] | None = None      # the JIT tier's counters (None: the tier was off)
