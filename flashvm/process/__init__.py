"""Process mode: run a static mipsel-linux-musl executable, serving its Linux
o32 system calls from the host (what qemu-user does).

The CPU kernel runs the guest in user mode over a flat page table
(`MMU_FLAT`) and exits to the host on every exception (`exc_to_host`).
The package is cut the way QEMU's linux-user is:

    abi.py        o32 numbers and tables (syscalls, errno, signals, flags, clocks, auxv)
    errors.py     GuestFault, SyscallError, ProcessExit
    files.py      open files (host fds, the given streams), the fd table, stat packing
    memory.py     the address-space layout, RAM pages, guest reads/writes, mmap bookkeeping
    loader.py     ELF segments, the initial stack (argv, envp, auxv), CPU registers
    signals.py    dispositions and masks, what a raised signal or a CPU fault does
    syscalls/     the handlers by area (fd, fs, mm, task, time, signal), one table
    process.py    `LinuxProcess` and its run loop; `new_process`, `run_process`

`new_process` builds a process on a one-CPU cut of a machine config (what
`flashvm exec PROGRAM` runs); `run_process` is the one-call entry point on a
bare machine state.  `LinuxProcess.run` returns the machine's `RunResult`;
the system-call counts stay on the process (`syscalls_by_number`,
`unknown_syscalls`).

Choices (documented, all reproducible):

* Address space (no randomisation).  The ELF segments are loaded where they
  ask to be.  The program break starts at the first page boundary after the
  highest segment.  The stack occupies the 8 MiB (or PT_GNU_STACK's size if
  larger) below ``STACK_TOP`` = 0x7fff0000.  mmap places mappings top-down
  below ``MMAP_BASE`` = STACK_TOP - 128 MiB (Linux's minimum stack gap).
  Anonymous memory (bss past the file bytes, brk, stack, anonymous mmap) is
  demand-zero: a RAM page is allocated on the first touch (the CPU's
  TLBL/TLBS exit, or a system call copying to/from it).  Protections are
  honoured exactly: PROT_EXEC is needed to fetch (W implies R, as on MIPS).
* Initial stack: as Linux's ``create_elf_tables`` lays it out for o32 (see
  `flashvm.process.loader`): argc, argv[], NULL, envp[], NULL, auxv
  (AT_HWCAP AT_PAGESZ AT_CLKTCK AT_PHDR AT_PHENT AT_PHNUM AT_BASE AT_FLAGS
  AT_ENTRY AT_UID AT_EUID AT_GID AT_EGID AT_SECURE AT_RANDOM AT_EXECFN
  AT_NULL), then the 16 AT_RANDOM bytes, the argument and environment
  strings, the file name (AT_EXECFN) and a NULL word at the top.  No vDSO.
* Time.  ``clock="deterministic"`` (the default) derives every clock from the
  retired-instruction count: the guest sees a 1 GHz machine that retires one
  instruction per ns (``ns_per_insn``); CLOCK_REALTIME starts at
  ``DETERMINISTIC_EPOCH`` (2023-11-14 22:13:20 UTC), CLOCK_MONOTONIC and
  CLOCK_BOOTTIME at 0, the CPU-time clocks count the same instructions.
  nanosleep and friends return at once and advance the clocks by the time
  asked for.  ``clock="host"`` uses the host's clocks (and really sleeps).
* Randomness: AT_RANDOM and getrandom come from a PRNG seeded by ``seed``.
* Identity: pid = tid = ``pid`` (default 1000, never 1 which Linux treats as
  init), ppid = pid - 1; uid/gid are the host's (like qemu-user) unless given.
* Terminals: TIOCGWINSZ / TCGETS are answered from the host file behind the
  guest fd: a tty succeeds (musl then line-buffers stdout), anything else
  (pipe, file, Python stream) gets ENOTTY so musl fully buffers -- exactly
  what qemu-mipsel's pass-through does.
* Files: paths are host paths, relative ones resolved against a private
  working directory (initially the host's cwd; chdir does not touch the
  host process).  fds 0/1/2 are the given streams.
* Signals: dispositions and masks are recorded.  A signal sent to the
  process itself (kill/tkill/tgkill, e.g. abort()) or raised by a fault
  terminates it as its default action would (status 128 + the MIPS signal
  number); running guest signal handlers is not implemented, a process with
  a handler for the signal is terminated all the same with a note.
* Unknown system calls return ENOSYS and are counted by number.
"""
from flashvm.process.abi import MIPS_ERRNO, SIGNAL_NAMES, SYSCALL_NAMES, SYSCALL_NUMBERS, syscall_name
from flashvm.process.errors import GuestFault, SyscallError
from flashvm.process.files import stat64_bytes, statx_bytes
from flashvm.process.memory import MMAP_BASE, STACK_TOP
from flashvm.process.process import DEFAULT_RAM, DETERMINISTIC_EPOCH, LinuxProcess, new_process, run_process

__all__ = [
    "DEFAULT_RAM", "DETERMINISTIC_EPOCH", "MIPS_ERRNO", "MMAP_BASE", "SIGNAL_NAMES", "STACK_TOP",
    "SYSCALL_NAMES", "SYSCALL_NUMBERS", "GuestFault", "LinuxProcess", "SyscallError", "new_process",
    "run_process", "stat64_bytes", "statx_bytes", "syscall_name",
]
