"""Process mode: run a mipsel Linux executable (static musl, or Debian's
dynamically linked glibc programs from a sysroot), serving its Linux o32
system calls from the host (what qemu-user does).

The CPU kernel runs the guest in user mode over a flat page table
(`MMU_FLAT`) and exits to the host on every exception (`exc_to_host`).
The package is cut the way QEMU's linux-user is:

    abi.py        o32 numbers and tables (syscalls, errno, signals, flags, clocks, auxv)
    errors.py     GuestFault, SyscallError, ProcessExit; Blocked, ThreadExit, ImageReplaced
    files.py      open files (host fds, the given streams), the fd table, stat packing
    pipes.py      pipes inside the simulation (a blocked read or write waits, never the host)
    memory.py     the address-space layout, RAM pages (growing on demand), guest
                  reads/writes, mmap bookkeeping, fork's copy
    image.py      the executable: static, PIE or with PT_INTERP; where each goes
    loader.py     ELF segments (program and interpreter), the initial stack
                  (argv, envp, auxv), CPU registers
    sysroot.py    guest absolute paths looked up in a sysroot first (qemu's -L)
    signals.py    dispositions and masks, what a raised signal or a CPU fault does
    syscalls/     the handlers by area (fd, fs, mm, task, thread, child, time, signal), one table
    process.py    `LinuxProcess`: what it does with each CPU exception, fork;
                  `new_process`, `run_process`
    sched.py      threads and processes on the one CPU: contexts, the deterministic
                  scheduler, futex queues, blocking, the run loop

`new_process` builds a process on a one-CPU cut of a machine config (what
`flashvm exec PROGRAM` runs); `run_process` is the one-call entry point on a
bare machine state.  `LinuxProcess.run` returns the machine's `RunResult`;
the system-call counts stay on the process (`syscalls_by_number`,
`unknown_syscalls`).

Choices (documented, all reproducible):

* Address space (no randomisation).  A static executable's segments are
  loaded where they ask to be; a PIE one (ET_DYN) at 0x55550000 (Linux's
  ELF_ET_DYN_BASE for mips32); the interpreter named by PT_INTERP (glibc's
  /lib/ld.so.1) top-down below the mmap base, as an mmap without a hint
  would place it (`flashvm.process.image`).  The program break starts at the
  first page boundary after the main program's highest segment.  The stack occupies the 8 MiB (or PT_GNU_STACK's size if
  larger) below ``STACK_TOP`` = 0x7fff0000.  mmap places mappings top-down
  below ``MMAP_BASE`` = STACK_TOP - 128 MiB (Linux's minimum stack gap).
  Anonymous memory (bss past the file bytes, brk, stack, anonymous mmap) is
  demand-zero: a RAM page is allocated on the first touch (the CPU's
  TLBL/TLBS exit, or a system call copying to/from it).  Protections are
  honoured exactly: PROT_EXEC is needed to fetch (W implies R, as on MIPS).
  The machine's RAM (``ram_bytes``, default 256 MiB) doubles whenever its
  frames run out, up to ``max_ram_bytes`` (default 3 GiB), as qemu-user's
  guest memory is bounded by the host only; past that, the process is killed
  with one line "out of simulated RAM".
* Threads (clone with CLONE_THREAD, as pthread_create does: SETTLS,
  PARENT_SETTID, CHILD_SETTID, CHILD_CLEARTID) share the address space and
  files; futex WAIT/WAIT_BITSET (with timeouts), WAKE/WAKE_BITSET, REQUEUE,
  CMP_REQUEUE and WAKE_OP are served; exit ends a thread, exit_group the
  process.  All threads of all processes take turns on the one CPU
  (`flashvm.process.sched`): the runnable ones in a queue, each running until
  it blocks, exits, or has run a slice of 100,000 cycles (instructions in
  functional mode) while other threads exist; blocked threads are woken at
  these turns.  The schedule is a function of the program alone, so every
  run is the same.  When no thread can run and none has a timeout, the run ends
  (SIGKILL) with a "deadlock" line naming what each thread waits for.
* Processes: fork, and clone without CLONE_THREAD (also vfork's
  CLONE_VM|CLONE_VFORK, which musl's posix_spawn uses; other CLONE_VM
  processes are refused with EINVAL), give a child with an eager copy of
  the memory and the same open file descriptions; execve replaces the image with another
  executable, static or dynamic (the loader above; FD_CLOEXEC fds closed,
  handlers reset; a `#!` script runs its interpreter);
  wait4/waitpid return the child's status and rusage (its user time from its
  instructions); kill reaches a child; SIGCHLD set to SIG_IGN reaps children
  at once.  pipe/pipe2 are buffers inside the simulation (64 KiB): a read
  from an empty pipe or a write to a full one blocks the thread.  The run
  ends when the first process ends, whatever its children are doing.
* Initial stack: as Linux's ``create_elf_tables`` lays it out for o32 (see
  `flashvm.process.loader`): argc, argv[], NULL, envp[], NULL, auxv
  (AT_HWCAP AT_PAGESZ AT_CLKTCK AT_PHDR AT_PHENT AT_PHNUM AT_BASE AT_FLAGS
  AT_ENTRY AT_UID AT_EUID AT_GID AT_EGID AT_SECURE AT_RANDOM AT_EXECFN
  AT_NULL; AT_PHDR and AT_ENTRY biased for a PIE, AT_BASE the interpreter's
  bias or 0; AT_HWCAP 0 and no AT_PLATFORM, as Linux gives a 24K), then the
  16 AT_RANDOM bytes, the argument and environment strings, the file name
  (AT_EXECFN: the name exec was given) and a NULL word at the top.  No vDSO
  (glibc then makes the clock calls as system calls).
* Floating-point mode: FR=0, what Linux gives an o32 FP32/FPXX program.
  prctl PR_GET_FP_MODE answers it (glibc's loader asks, for FPXX objects);
  PR_SET_FP_MODE may set FR=1 (the 24Kf has FIR.F64), FRE is refused
  (EOPNOTSUPP).  The mode is the CPU's Status.FR, one for the whole
  simulation (not switched with the process on the CPU).
* Time.  ``clock="deterministic"`` (the default) derives every clock from the
  retired-instruction count: the guest sees a 1 GHz machine that retires one
  instruction per ns (``ns_per_insn``); CLOCK_REALTIME starts at
  ``DETERMINISTIC_EPOCH`` (2023-11-14 22:13:20 UTC), CLOCK_MONOTONIC and
  CLOCK_BOOTTIME at 0, the CPU-time clocks count the same instructions.
  nanosleep and friends return at once and advance the clocks by the time
  asked for.  ``clock="host"`` uses the host's clocks (and really sleeps).
* Randomness: AT_RANDOM and getrandom come from a PRNG seeded by ``seed``.
* Identity: pid = tid = ``pid`` (default 1000, never 1 which Linux treats as
  init), ppid = pid - 1; later threads and children take the next ids in the
  order they are made; uid/gid are the host's (like qemu-user) unless given.
* Terminals: TIOCGWINSZ / TCGETS are answered from the host file behind the
  guest fd: a tty succeeds (musl then line-buffers stdout), anything else
  (pipe, file, Python stream) gets ENOTTY so musl fully buffers -- exactly
  what qemu-mipsel's pass-through does.
* Files: paths are host paths, relative ones resolved against a private
  working directory (initially the host's cwd; chdir does not touch the
  host process).  With a ``sysroot`` (`flashvm exec --sysroot DIR`, like
  ``qemu-mipsel -L DIR``), an absolute path is resolved inside DIR as in a
  chroot (its symbolic links, absolute ones too, stay inside: merged-/usr
  ``/lib -> usr/lib`` works) and used when it exists there; otherwise the
  host's path is used, as qemu does (/dev, /proc, /tmp, /etc files the
  sysroot lacks).  That covers the program, its interpreter, the libraries
  the loader opens and every path a system call names
  (`flashvm.process.sysroot`).  fds 0/1/2 are the given streams.
* Signals: dispositions and masks are recorded.  A signal sent to the
  process itself (kill/tkill/tgkill, e.g. abort()) or to a child, or raised
  by a fault, terminates it as its default action would (status 128 + the
  MIPS signal number); running guest signal handlers is not implemented, a
  process with a handler for the signal is terminated all the same with a
  note (SIGCHLD's handler is simply not run).
* No sockets (socket: EAFNOSUPPORT, so glibc's nscd client reads /etc
  itself) and no restartable sequences (rseq: ENOSYS, as before Linux 4.18;
  glibc then runs without).  sysinfo reports the RAM the guest may grow to.
* Unknown system calls return ENOSYS and are counted by number.
"""
from flashvm.process.abi import MIPS_ERRNO, SIGNAL_NAMES, SYSCALL_NAMES, SYSCALL_NUMBERS, syscall_name
from flashvm.process.errors import GuestFault, SyscallError
from flashvm.process.files import stat64_bytes, statx_bytes
from flashvm.process.memory import MMAP_BASE, STACK_TOP
from flashvm.process.image import PIE_BASE
from flashvm.process.process import DEFAULT_RAM, DETERMINISTIC_EPOCH, LinuxProcess, new_process, run_process

__all__ = [
    "DEFAULT_RAM", "DETERMINISTIC_EPOCH", "MIPS_ERRNO", "MMAP_BASE", "PIE_BASE", "SIGNAL_NAMES", "STACK_TOP",
    "SYSCALL_NAMES", "SYSCALL_NUMBERS", "GuestFault", "LinuxProcess", "SyscallError", "new_process",
    "run_process", "stat64_bytes", "statx_bytes", "syscall_name",
]
