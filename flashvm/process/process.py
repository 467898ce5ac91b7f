"""The guest process: its identity, memory, files and signals, what it does
with each exception the CPU exits with (a system call through the table, a
demand-zero page, or a fatal signal), fork and execve.  The run loop over
all its threads and children is `flashvm.process.sched`.
"""
from __future__ import annotations

import copy
import dataclasses
import os
import random
import struct
import sys
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from flashvm.elf import ElfImage
from flashvm.kernels.run import run as run_kernel
from flashvm.kernels.state import (
    CYCLES, EXC_MOD, EXC_SYS, EXC_TLBL, EXC_TLBS, INSNS, MMU_FLAT, NPC, P_TIMING, PC, Machine, new_machine,
)
from flashvm.machine.config import FLASH1, MachineConfig
from flashvm.machine.flash import RunResult, build_state
from flashvm.machine.roi import Regions
from flashvm.process.abi import (
    CPU_CLOCKS, PROT_EXEC, PROT_READ, PROT_WRITE, REALTIME_CLOCKS, SIGCHLD, SIGKILL, SIGNAL_NAMES,
    SIGSEGV, E, mips_errno,
)
from flashvm.process.errors import Blocked, GuestFault, ImageReplaced, ProcessExit, SyscallError
from flashvm.process.files import FdTable, StreamFile
from flashvm.process.image import Program, read_program
from flashvm.process.loader import build_stack, init_cpu, load_program, reserve_stack
from flashvm.process.memory import MAX_RAM, NPAGES_VA, GuestMemory, PageAllocator
from flashvm.process.sched import Scheduler
from flashvm.process.signals import SignalState, die, exception_fault, fault
from flashvm.process.syscalls import HANDLERS
from flashvm.process.sysroot import guest_to_host

DETERMINISTIC_EPOCH = 1_700_000_000   # CLOCK_REALTIME at instruction 0 (2023-11-14 22:13:20 UTC)
DEFAULT_PID = 1000
DEFAULT_RAM = 256 << 20
SYS_syscall = 4000                    # o32 syscall(2): the number in a0, arguments shifted


class LinuxProcess:
    """One Linux process (its threads, and the children it forks) on a fresh
    process-mode machine.

    Typical use::

        p = LinuxProcess("prog", ["prog", "arg"], stdout=sys.stdout.buffer)
        result = p.run()

    Memory helpers (`read`, `write`, `read_u32`, `write_u32`, `read_cstr`)
    take guest virtual addresses and raise `GuestFault` on unmapped pages;
    they allocate demand-zero pages like a first touch by the CPU would.
    `do_syscall(num, args)` serves one system call and returns the Linux
    result (negative = -errno, MIPS numbering) without touching registers
    (a call that must wait raises `Blocked` for the scheduler);
    `handle_syscall()` does it from the registers, as after an EXC_SYS exit.
    With `sysroot`, absolute guest paths (the executable's too) are looked up
    in that directory first (`flashvm.process.sysroot`), and a dynamically
    linked executable gets its interpreter from there.
    Without `machine`, the process gets a bare one-CPU machine state of
    `ram_bytes`; `new_process` builds it from a machine config instead.  The
    RAM grows on demand past `ram_bytes`, up to `max_ram_bytes` (see
    `flashvm.process.memory`).
    """

    def __init__(self, exe: str | os.PathLike | ElfImage, argv=None, env=None, *, stdin=None,
                 stdout=None, stderr=None, diag=None, ram_bytes: int = DEFAULT_RAM,
                 clock: str = "deterministic", ns_per_insn: float = 1.0, seed: int = 0,
                 pid: int = DEFAULT_PID, uid: int | None = None, gid: int | None = None, cwd=None,
                 machine: Machine | None = None, config: MachineConfig | None = None,
                 max_ram_bytes: int = MAX_RAM, sysroot: str | os.PathLike | None = None):
        # guest absolute paths look in the sysroot first (flashvm.process.sysroot)
        self.sysroot = None if sysroot is None else os.fsencode(os.path.abspath(sysroot))
        if isinstance(exe, ElfImage):
            prog, execfn = Program(exe, False, None, 0), os.fsencode(exe.path)
        else:
            execfn = os.fsencode(exe)
            prog = read_program(os.fsdecode(guest_to_host(self.sysroot, execfn)))
        self.image: ElfImage = prog.image
        self.exe_path = os.path.abspath(self.image.path)
        if argv is None:
            argv = [self.image.path]
        self.argv = [a if isinstance(a, bytes) else os.fsencode(a) for a in argv]
        if env is None:
            env = {}
        if isinstance(env, dict):
            env = [f"{k}={v}" for k, v in env.items()]
        self.env = [e if isinstance(e, bytes) else os.fsencode(e) for e in env]
        if clock not in ("deterministic", "host"):
            raise ValueError(f"clock must be 'deterministic' or 'host', not {clock!r}")
        self.clock = clock
        self.ns_per_insn = ns_per_insn
        self.rng = random.Random(seed)
        self.seed = seed
        self.pid = pid
        self.ppid = pid - 1
        self.parent: LinuxProcess | None = None        # the forking process (None: the first)
        self.children: list[LinuxProcess] = []         # forked and not yet reaped
        self.cpu_insns = 0                             # instructions retired by its threads (rusage)
        self.syscall_pc = 0                            # pc of the system call that blocked
        self.uid = os.getuid() if uid is None else uid
        self.gid = os.getgid() if gid is None else gid
        self.cwd = os.fsencode(os.path.abspath(cwd if cwd is not None else os.getcwd()))
        self.umask_value = 0o022
        self.stderr_stream = stderr if stderr is not None else sys.stderr
        self.session_streams: tuple[Any, Any] = (stdout, stderr)   # as given: a session's report reads its sinks
        # a text or binary stream, or a host fd: diag_line writes to whichever it is
        self.diag: Any = diag if diag is not None else self.stderr_stream

        self.config = config               # the machine config m was built from (None: bare state)
        m = machine if machine is not None else new_machine(
            ncpu=1, ram_bytes=ram_bytes, mmu=MMU_FLAT, exc_to_host=True)
        self.mem = GuestMemory(m, max_bytes=max_ram_bytes)
        self.sched = Scheduler(self)
        self.roi = Regions(lambda: self.m)   # shared with forked children (copy.copy keeps it)

        self.files = FdTable()
        for fd, (s, fl) in enumerate(((stdin, 0), (stdout if stdout is not None else sys.stdout, 1),
                                      (self.stderr_stream, 1))):
            self.files.install(fd, StreamFile(s, fl))

        self.signals = SignalState()
        self.tid_address = 0
        self.robust_list = 0
        self.syscalls_by_number: Counter = Counter()   # o32 number -> calls
        self.unknown_syscalls: Counter = Counter()     # o32 number -> calls answered ENOSYS
        self.unknown_ioctls: Counter = Counter()
        self.exited: ProcessExit | None = None
        self.host_seconds = 0.0

        self.start_image(prog, execfn)

    def start_image(self, prog: Program, execfn: bytes) -> None:
        """Load `prog` (and the interpreter it names, from the sysroot) into the
        empty address space, build the initial stack and point CPU 0 at the
        first instruction: what exec does once the old image is gone."""
        interp = None
        if prog.interp:
            interp = read_program(os.fsdecode(guest_to_host(self.sysroot, os.fsencode(prog.interp))))
        self.image = prog.image
        place = load_program(self.mem, prog, interp)
        self.load_bias = place.bias
        self.stack_size = reserve_stack(self.mem, prog.image)
        stack = build_stack(self.mem, prog.image, self.argv, self.env, uid=self.uid, gid=self.gid,
                            seed=self.seed, place=place, execfn=execfn)
        self.sp, self.auxv, self.at_random = stack.sp, stack.auxv, stack.at_random
        self.fp_mode = 0                       # FR=0, what Linux gives an o32 FPXX/FP32 program
        self.comm = os.path.basename(execfn)[:15]   # the thread name (prctl PR_GET_NAME)
        init_cpu(self.m, place.pc, self.sp)

    @property
    def m(self) -> Machine:
        """The machine (a new tuple when the RAM grows or another process's page table is in)."""
        return self.mem.pages.m

    # what a checkpoint notes of a machine (flashvm/session/checkpointing.py)
    @property
    def mode(self) -> str:
        return "timing" if int(self.m.params[P_TIMING]) else "functional"

    @property
    def cfg(self) -> MachineConfig:
        return self.config if self.config is not None else FLASH1

    @property
    def ns_per_cycle(self) -> float:
        return 1000.0 / self.cfg.clock_mhz

    @property
    def time_offset_ns(self) -> int:
        """How far sleeps advanced the deterministic clocks (shared by all processes)."""
        return self.sched.time_offset_ns

    @time_offset_ns.setter
    def time_offset_ns(self, v: int) -> None:
        self.sched.time_offset_ns = v

    @property
    def tid(self) -> int:
        """The id of the thread on the CPU (the caller of a system call)."""
        return self.sched.current.tid

    @property
    def insns(self) -> int:
        return int(self.m.cpu[0, INSNS])

    @property
    def pages(self) -> PageAllocator:
        return self.mem.pages

    # ----------------------------------------------------------- guest memory
    def read(self, va: int, n: int) -> bytes:
        return self.mem.read(va, n)

    def write(self, va: int, data) -> None:
        self.mem.write(va, data)

    def read_u32(self, va: int) -> int:
        return self.mem.read_u32(va)

    def write_u32(self, va: int, v: int) -> None:
        self.mem.write_u32(va, v)

    def read_cstr(self, va: int, limit: int = 4096) -> bytes:
        return self.mem.read_cstr(va, limit)

    def is_mapped(self, va: int) -> bool:
        return self.mem.is_mapped(va)

    # ----------------------------------------------------------- time
    def now_ns(self, clk: int) -> int:
        """Clock clk in ns: from the instruction count (deterministic) or the host's clocks."""
        if self.clock == "host" and clk not in CPU_CLOCKS:
            if clk in REALTIME_CLOCKS:
                return time.time_ns()
            return time.monotonic_ns()
        ns = int(self.insns * self.ns_per_insn)
        if clk in CPU_CLOCKS:
            return ns
        ns += self.time_offset_ns
        if clk in REALTIME_CLOCKS:
            ns += DETERMINISTIC_EPOCH * 1_000_000_000
        return ns

    def sleep_ns(self, ns: int) -> None:
        """Sleep: advance the deterministic clocks at once, or really sleep (host clocks)."""
        if ns <= 0:
            return
        if self.clock == "host":
            time.sleep(ns / 1e9)
        else:
            self.time_offset_ns += ns

    # ----------------------------------------------------------- system calls
    def handle_syscall(self, epc: int | None = None) -> None:
        """Serve the system call in the registers and resume after the syscall instruction."""
        m = self.mem.pages.m
        g = m.gpr[0]
        regs = g[:8].tolist()
        num = regs[2]
        if epc is None:
            epc = int(m.cpu[0, PC])
        args = regs[4:8]
        entry = HANDLERS.get(num)
        if entry is not None and entry[1] > 4 or num == SYS_syscall:
            try:
                args += struct.unpack("<4I", self.mem.read(int(g[29]) + 16, 16))
            except GuestFault:
                args = None
        try:
            r = -E.EFAULT if args is None else self.do_syscall(num, args)
        except Blocked:
            self.syscall_pc = epc                   # where the call completes or re-runs
            m.cpu[0, PC] = epc
            m.cpu[0, NPC] = (epc + 4) & 0xFFFFFFFF
            raise
        except ImageReplaced:
            return
        if isinstance(r, tuple):                    # pipe(): second result in v1
            r, v1 = r
            g[3] = v1 & 0xFFFFFFFF
        if -4096 < r < 0:
            g[2] = -r
            g[7] = 1
        else:
            g[2] = r & 0xFFFFFFFF
            g[7] = 0
        cpu = m.cpu[0]
        cpu[PC] = (epc + 4) & 0xFFFFFFFF
        cpu[NPC] = (epc + 8) & 0xFFFFFFFF

    def do_syscall(self, num: int, args) -> int | tuple:
        """Run system call `num` with up to 8 argument words; return result or -errno."""
        if num == SYS_syscall:
            num, args = int(args[0]), list(args[1:]) + [0]
        self.syscalls_by_number[num] += 1
        entry = HANDLERS.get(num)
        if entry is None:
            self.unknown_syscalls[num] += 1
            return -E.ENOSYS
        fn, nargs = entry
        args = [int(a) & 0xFFFFFFFF for a in args] + [0] * (8 - len(args))
        try:
            return fn(self, *args[:nargs])
        except SyscallError as e:
            return -e.err
        except GuestFault:
            return -E.EFAULT
        except OSError as e:
            return -mips_errno(e.errno)
        except MemoryError:
            return -E.ENOMEM

    # ----------------------------------------------------------- exceptions from the CPU
    def handle_exception(self, exc: int, badvaddr: int, epc: int, bd: int) -> None:
        """React to an EXIT_EXCEPTION: serve a syscall, page in demand-zero memory
        (the faulting instruction then simply re-executes), or kill the process."""
        if exc == EXC_SYS:
            self.handle_syscall(epc)
            return
        if exc in (EXC_TLBL, EXC_TLBS, EXC_MOD):
            need = PROT_WRITE if exc != EXC_TLBL else (PROT_READ | PROT_WRITE | PROT_EXEC)
            try:
                retry = self.mem.fault_in(badvaddr, need)
            except MemoryError:
                die(self, SIGKILL, f": out of simulated RAM ({len(self.m.ram8) >> 20} MiB)"
                                   f" touching 0x{badvaddr:08x}")
            if retry:
                # retry the instruction; in a delay slot, from its branch (EPC)
                self.m.cpu[0, PC] = epc
                self.m.cpu[0, NPC] = (epc + 4) & 0xFFFFFFFF
                return
            fault(self, SIGSEGV, exc, badvaddr, epc)
        exception_fault(self, exc, badvaddr, epc, bd)

    # ----------------------------------------------------------- the run loop
    def run(self, *, budget_per_slice: int = 1 << 24, max_insns: int | None = None,
            run_fn: Callable[[Machine, int], int] | None = None) -> RunResult:
        """Run until the process exits or is killed.  The result's status is what a
        shell reports (exit code, or 128 + the MIPS signal number), its reason
        "exited" or "killed by SIG...", its message the diagnostic printed, if any;
        cycles are CPU 0's, exits and hot_pages stay empty (the system-call counts
        are on the process).  `run_fn` stands in for the CPU kernel's run(m, budget)
        (a progress display, a scripted CPU in tests)."""
        if run_fn is None:
            run_fn = run_kernel
        t0 = time.perf_counter()
        try:
            if self.exited is None:
                self.sched.run(budget_per_slice, max_insns, run_fn)
        except ProcessExit as e:
            self.exited = e
            if e.message:
                self.diag_line(e.message)
        finally:
            self.roi.close_all()
            self.host_seconds = time.perf_counter() - t0
            for p in self.sched.procs.values():
                if p is self or p.exited is None:
                    p.close_all()
        m = self.m
        end = self.exited
        assert end is not None, "the scheduler returns only when the first process has ended"
        reason = "exited" if end.signal is None else \
            f"killed by {SIGNAL_NAMES.get(end.signal, f'signal {end.signal}')}"
        return RunResult(status=end.status, reason=reason, instructions=self.insns,
                         cycles=int(m.cpu[0, CYCLES]), host_seconds=self.host_seconds,
                         message=end.message)

    def close_all(self) -> None:
        """Write back shared file mappings and close every fd (end of the process)."""
        self.mem.writeback_shared(0, NPAGES_VA, drop=True)
        self.files.close_all()

    # ----------------------------------------------------------- children
    def fork(self) -> LinuxProcess:
        """A child process: a copy of this one's memory, its open file
        descriptions (shared, as fork shares them), signal state and identity
        under a new pid.  The caller gives it a thread."""
        c = copy.copy(self)
        c.pid = self.sched.new_id()
        c.ppid = self.pid
        c.parent, c.children, c.exited, c.cpu_insns = self, [], None, 0
        c.mem = self.mem.copy()
        c.files = self.files.fork()
        c.signals = copy.deepcopy(self.signals)
        c.rng = copy.deepcopy(self.rng)
        self.children.append(c)
        return c

    def child_exited(self, child: LinuxProcess) -> None:
        """SIGCHLD: with SIGCHLD ignored, the child is reaped at once (no zombie,
        as Linux does); otherwise it waits for wait4.  Guest handlers are not run."""
        if self.signals.handler(SIGCHLD) == 1:
            self.children.remove(child)
            self.sched.procs.pop(child.pid, None)

    def diag_line(self, msg: str) -> None:
        s = self.diag
        line = (msg.rstrip("\n") + "\n")
        try:
            if isinstance(s, int):
                os.write(s, line.encode())
                return
            try:
                s.write(line)
            except TypeError:
                s.write(line.encode())
            if hasattr(s, "flush"):
                s.flush()
        except (OSError, ValueError):
            pass


def new_process(exe: str | os.PathLike | ElfImage, argv: list[str] | None = None,
                envp: list[str] | dict | None = None, *, config: MachineConfig | None = None,
                mode: str = "functional", stdin=None, stdout=None, stderr=None,
                ram_bytes: int = DEFAULT_RAM, **options: Any) -> LinuxProcess:
    """A process on CPU 0 of a one-node, one-CPU cut of `config` (default flash1),
    in `mode` ("functional" or "timing"), with `ram_bytes` of RAM.  Further
    keywords go to `LinuxProcess` (clock, ns_per_insn, seed, pid, uid, gid, cwd, diag,
    max_ram_bytes, sysroot: absolute paths, `exe` too, looked up there first)."""
    cfg = dataclasses.replace(config or FLASH1, nodes=1, cpus_per_node=1)
    m = build_state(cfg, timing=mode == "timing", rom_bytes=0, mmu=MMU_FLAT, exc_to_host=True,
                    ram_bytes=ram_bytes)
    return LinuxProcess(exe, argv, envp, stdin=stdin, stdout=stdout, stderr=stderr, machine=m,
                        config=cfg, **options)


def run_process(path: str | os.PathLike | ElfImage, argv=None, env=None, *, stdin=None,
                stdout=None, stderr=None, budget_per_slice: int = 1 << 24,
                max_insns: int | None = None, **kwargs: Any) -> RunResult:
    """Run the mipsel executable at `path` to completion.

    argv is the full argument vector (argv[0] included; default [path]); env a
    dict or a list of "NAME=value" (default: empty).  stdin/stdout/stderr are
    binary or text Python streams or host fd numbers (None: no input, and the
    host's sys.stdout / sys.stderr).  Further keyword arguments go to
    `LinuxProcess` (ram_bytes, max_ram_bytes, clock, ns_per_insn, seed, pid, uid, gid, cwd, diag,
    sysroot).
    """
    proc = LinuxProcess(path, argv, env, stdin=stdin, stdout=stdout, stderr=stderr, **kwargs)
    return proc.run(budget_per_slice=budget_per_slice, max_insns=max_insns)
