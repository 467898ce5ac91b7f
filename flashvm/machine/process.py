"""Process mode: run a static mipsel-linux-musl executable, serving its Linux
o32 system calls from the host (what qemu-user does).

The CPU kernel runs the guest in user mode over a flat page table
(`MMU_FLAT`) and exits to the host on every exception (`exc_to_host`);
`LinuxProcess` owns the address space, the file table and the system call
layer, and `run_process` is the one-call entry point.

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
  `LinuxProcess._build_stack`): argc, argv[], NULL, envp[], NULL, auxv
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
from __future__ import annotations

import errno as _errno
import hashlib
import os
import random
import stat as _stat
import struct
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from flashvm.elf import ElfImage, load_elf
from flashvm.kernels.state import (
    CP0_Config, CP0_Context, CP0_HWREna, CP0_Status, EXC_ADEL, EXC_ADES, EXC_BP,
    EXC_CPU, EXC_FPE, EXC_MOD, EXC_NAMES, EXC_OV, EXC_RI, EXC_SYS, EXC_TLBL,
    EXC_TLBS, EXC_TR, EXIT_BUDGET, EXIT_EXCEPTION, EXIT_NAMES, INSNS, MMU_FLAT,
    NPC, PC, PTE_R, PTE_W, PTE_X, SEL_UserLocal, St_CU1, St_UM, X_A0, X_A1,
    X_A2, X_A3, X_REASON, Machine, new_machine,
)

__all__ = [
    "LinuxProcess", "ProcessResult", "run_process", "GuestFault",
    "SYSCALL_NAMES", "SYSCALL_NUMBERS", "MIPS_ERRNO", "SIGNAL_NAMES",
    "STACK_TOP", "MMAP_BASE", "DETERMINISTIC_EPOCH",
]

PAGE = 4096
PAGE_SHIFT = 12
NPAGES_VA = 1 << 20              # 4 GiB of 4 KiB pages
TASK_SIZE = 0x7FFF8000           # first address user mode cannot map (Linux mips32)
STACK_TOP = 0x7FFF0000
STACK_SIZE = 8 << 20             # RLIMIT_STACK default
MMAP_BASE = STACK_TOP - (128 << 20)
MMAP_MIN = 0x10000               # vm.mmap_min_addr
DETERMINISTIC_EPOCH = 1_700_000_000
DEFAULT_PID = 1000
DEFAULT_RAM = 256 << 20
MAX_FDS = 1024

# --------------------------------------------------------------- o32 syscall numbers
# Names of the o32 system calls 4000, 4001, ... ("-" = unassigned), from the
# Linux ABI (arch/mips/kernel/syscalls/syscall_o32.tbl).
_O32_NAMES = """
syscall exit fork read write open close waitpid creat link unlink execve chdir time mknod
chmod lchown break unused18 lseek getpid mount umount setuid getuid stime ptrace alarm
unused28 pause utime stty gtty access nice ftime sync kill rename mkdir rmdir dup pipe times
prof brk setgid getgid signal geteuid getegid acct umount2 lock ioctl fcntl mpx setpgid
ulimit unused59 umask chroot ustat dup2 getppid getpgrp setsid sigaction sgetmask ssetmask
setreuid setregid sigsuspend sigpending sethostname setrlimit getrlimit getrusage
gettimeofday settimeofday getgroups setgroups reserved82 symlink unused84
readlink uselib swapon reboot readdir mmap munmap truncate ftruncate fchmod fchown
getpriority setpriority profil statfs fstatfs ioperm socketcall syslog setitimer getitimer
stat lstat fstat unused109 iopl vhangup idle vm86 wait4 swapoff sysinfo ipc fsync sigreturn
clone setdomainname uname modify_ldt adjtimex mprotect sigprocmask create_module init_module
delete_module get_kernel_syms quotactl getpgid fchdir bdflush sysfs personality afs_syscall
setfsuid setfsgid _llseek getdents _newselect flock msync readv writev cacheflush cachectl
sysmips unused150 getsid fdatasync _sysctl mlock munlock mlockall munlockall sched_setparam
sched_getparam sched_setscheduler sched_getscheduler sched_yield sched_get_priority_max
sched_get_priority_min sched_rr_get_interval nanosleep mremap accept bind connect
getpeername getsockname getsockopt listen recv recvfrom recvmsg send sendmsg sendto
setsockopt shutdown socket socketpair setresuid getresuid query_module poll nfsservctl
setresgid getresgid prctl rt_sigreturn rt_sigaction rt_sigprocmask rt_sigpending
rt_sigtimedwait rt_sigqueueinfo rt_sigsuspend pread64 pwrite64 chown getcwd capget capset
sigaltstack sendfile getpmsg putpmsg mmap2 truncate64 ftruncate64 stat64 lstat64 fstat64
pivot_root mincore madvise getdents64 fcntl64 reserved221 gettid readahead setxattr
lsetxattr fsetxattr getxattr lgetxattr fgetxattr listxattr llistxattr flistxattr removexattr
lremovexattr fremovexattr tkill sendfile64 futex sched_setaffinity sched_getaffinity
io_setup io_destroy io_getevents io_submit io_cancel exit_group lookup_dcookie epoll_create
epoll_ctl epoll_wait remap_file_pages set_tid_address restart_syscall fadvise64 statfs64
fstatfs64 timer_create timer_settime timer_gettime timer_getoverrun timer_delete
clock_settime clock_gettime clock_getres clock_nanosleep tgkill utimes
mbind get_mempolicy set_mempolicy mq_open mq_unlink mq_timedsend mq_timedreceive mq_notify
mq_getsetattr vserver waitid - add_key request_key keyctl set_thread_area inotify_init
inotify_add_watch inotify_rm_watch migrate_pages openat mkdirat mknodat fchownat futimesat
fstatat64 unlinkat renameat linkat symlinkat readlinkat fchmodat faccessat pselect6 ppoll
unshare splice sync_file_range tee vmsplice move_pages set_robust_list get_robust_list
kexec_load getcpu epoll_pwait ioprio_set ioprio_get utimensat signalfd timerfd eventfd
fallocate timerfd_create timerfd_gettime timerfd_settime signalfd4 eventfd2
epoll_create1 dup3 pipe2 inotify_init1 preadv pwritev rt_tgsigqueueinfo perf_event_open
accept4 recvmmsg fanotify_init fanotify_mark prlimit64 name_to_handle_at open_by_handle_at
clock_adjtime syncfs sendmmsg setns process_vm_readv process_vm_writev kcmp finit_module
sched_setattr sched_getattr renameat2 seccomp getrandom memfd_create bpf execveat
userfaultfd membarrier mlock2 copy_file_range preadv2 pwritev2 pkey_mprotect pkey_alloc
pkey_free statx rseq io_pgetevents - - - - - - - - - - - - - - - - - - - - - - - - semget
semctl shmget shmctl shmat shmdt msgget msgsnd msgrcv msgctl clock_gettime64 clock_settime64
clock_adjtime64 clock_getres_time64 clock_nanosleep_time64 timer_gettime64 timer_settime64
timerfd_gettime64 timerfd_settime64 utimensat_time64 pselect6_time64 ppoll_time64 -
io_pgetevents_time64 recvmmsg_time64 mq_timedsend_time64 mq_timedreceive_time64
semtimedop_time64 rt_sigtimedwait_time64 futex_time64 sched_rr_get_interval_time64
pidfd_send_signal io_uring_setup io_uring_enter io_uring_register open_tree move_mount
fsopen fsconfig fsmount fspick pidfd_open clone3 close_range openat2 pidfd_getfd faccessat2
process_madvise epoll_pwait2 mount_setattr - landlock_create_ruleset landlock_add_rule
landlock_restrict_self - process_mrelease futex_waitv set_mempolicy_home_node cachestat
fchmodat2
"""
SYSCALL_NAMES: dict[int, str] = {
    4000 + i: n for i, n in enumerate(_O32_NAMES.split()) if n != "-"}
SYSCALL_NUMBERS: dict[str, int] = {n: k for k, n in SYSCALL_NAMES.items()}


def syscall_name(num: int) -> str:
    return SYSCALL_NAMES.get(num, f"syscall_{num}")


# --------------------------------------------------------------- MIPS errno values
MIPS_ERRNO: dict[str, int] = dict(
    EPERM=1, ENOENT=2, ESRCH=3, EINTR=4, EIO=5, ENXIO=6, E2BIG=7, ENOEXEC=8, EBADF=9,
    ECHILD=10, EAGAIN=11, ENOMEM=12, EACCES=13, EFAULT=14, ENOTBLK=15, EBUSY=16,
    EEXIST=17, EXDEV=18, ENODEV=19, ENOTDIR=20, EISDIR=21, EINVAL=22, ENFILE=23,
    EMFILE=24, ENOTTY=25, ETXTBSY=26, EFBIG=27, ENOSPC=28, ESPIPE=29, EROFS=30,
    EMLINK=31, EPIPE=32, EDOM=33, ERANGE=34, ENOMSG=35, EIDRM=36, ECHRNG=37,
    EL2NSYNC=38, EL3HLT=39, EL3RST=40, ELNRNG=41, EUNATCH=42, ENOCSI=43, EL2HLT=44,
    EDEADLK=45, ENOLCK=46, EBADE=50, EBADR=51, EXFULL=52, ENOANO=53, EBADRQC=54,
    EBADSLT=55, EDEADLOCK=56, EBFONT=59, ENOSTR=60, ENODATA=61, ETIME=62, ENOSR=63,
    ENONET=64, ENOPKG=65, EREMOTE=66, ENOLINK=67, EADV=68, ESRMNT=69, ECOMM=70,
    EPROTO=71, EDOTDOT=73, EMULTIHOP=74, EBADMSG=77, ENAMETOOLONG=78, EOVERFLOW=79,
    ENOTUNIQ=80, EBADFD=81, EREMCHG=82, ELIBACC=83, ELIBBAD=84, ELIBSCN=85,
    ELIBMAX=86, ELIBEXEC=87, EILSEQ=88, ENOSYS=89, ELOOP=90, ERESTART=91,
    ESTRPIPE=92, ENOTEMPTY=93, EUSERS=94, ENOTSOCK=95, EDESTADDRREQ=96, EMSGSIZE=97,
    EPROTOTYPE=98, ENOPROTOOPT=99, EPROTONOSUPPORT=120, ESOCKTNOSUPPORT=121,
    EOPNOTSUPP=122, ENOTSUP=122, EPFNOSUPPORT=123, EAFNOSUPPORT=124, EADDRINUSE=125,
    EADDRNOTAVAIL=126, ENETDOWN=127, ENETUNREACH=128, ENETRESET=129,
    ECONNABORTED=130, ECONNRESET=131, ENOBUFS=132, EISCONN=133, ENOTCONN=134,
    EUCLEAN=135, ENOTNAM=137, ENAVAIL=138, EISNAM=139, EREMOTEIO=140, ESHUTDOWN=143,
    ETOOMANYREFS=144, ETIMEDOUT=145, ECONNREFUSED=146, EHOSTDOWN=147,
    EHOSTUNREACH=148, EWOULDBLOCK=11, EALREADY=149, EINPROGRESS=150, ESTALE=151,
    ECANCELED=158, ENOMEDIUM=159, EMEDIUMTYPE=160, ENOKEY=161, EKEYEXPIRED=162,
    EKEYREVOKED=163, EKEYREJECTED=164, EOWNERDEAD=165, ENOTRECOVERABLE=166,
    ERFKILL=167, EHWPOISON=168, EDQUOT=1133,
)
E = type("E", (), MIPS_ERRNO)   # E.ENOENT etc.


def mips_errno(host_errno: int | None) -> int:
    """The MIPS errno for a host errno (by name; EIO if the host's is unknown)."""
    name = _errno.errorcode.get(host_errno or 0)
    return MIPS_ERRNO.get(name, E.EIO) if name else E.EIO


# --------------------------------------------------------------- MIPS signals
SIGNAL_NAMES = {
    1: "SIGHUP", 2: "SIGINT", 3: "SIGQUIT", 4: "SIGILL", 5: "SIGTRAP", 6: "SIGABRT",
    7: "SIGEMT", 8: "SIGFPE", 9: "SIGKILL", 10: "SIGBUS", 11: "SIGSEGV", 12: "SIGSYS",
    13: "SIGPIPE", 14: "SIGALRM", 15: "SIGTERM", 16: "SIGUSR1", 17: "SIGUSR2",
    18: "SIGCHLD", 19: "SIGPWR", 20: "SIGWINCH", 21: "SIGURG", 22: "SIGIO",
    23: "SIGSTOP", 24: "SIGTSTP", 25: "SIGCONT", 26: "SIGTTIN", 27: "SIGTTOU",
    28: "SIGVTALRM", 29: "SIGPROF", 30: "SIGXCPU", 31: "SIGXFSZ",
}
_SIGNAL_TEXT = {
    1: "Hangup", 2: "Interrupt", 3: "Quit", 4: "Illegal instruction",
    5: "Trace/breakpoint trap", 6: "Aborted", 7: "Emulation trap",
    8: "Floating point exception", 9: "Killed", 10: "Bus error",
    11: "Segmentation fault", 12: "Bad system call", 13: "Broken pipe",
    14: "Alarm clock", 15: "Terminated", 16: "User defined signal 1",
    17: "User defined signal 2", 19: "Power failure", 22: "I/O possible",
    28: "Virtual timer expired", 29: "Profiling timer expired",
    30: "CPU time limit exceeded", 31: "File size limit exceeded",
}
SIGILL, SIGTRAP, SIGABRT, SIGFPE, SIGKILL, SIGBUS, SIGSEGV = 4, 5, 6, 8, 9, 10, 11
SIGSTOP, SIGXCPU = 23, 30
BRK_OVERFLOW, BRK_DIVZERO = 6, 7
NSIG = 128
_SIG_DEFAULT_IGNORE = {18, 20, 21, 25, 23, 24, 26, 27}  # CHLD WINCH URG CONT + stops (no job control)
SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK = 1, 2, 3

# --------------------------------------------------------------- MIPS flag values
O_ACCMODE = 3
O_APPEND, O_DSYNC, O_NONBLOCK, O_CREAT = 0o10, 0o20, 0o200, 0o400
O_TRUNC, O_EXCL, O_NOCTTY, O_ASYNC = 0o1000, 0o2000, 0o4000, 0o10000
O_LARGEFILE, O_DIRECT, O_DIRECTORY, O_NOFOLLOW = 0o20000, 0o100000, 0o200000, 0o400000
O_NOATIME, O_CLOEXEC, O_PATH, O_SYNC = 0o1000000, 0o2000000, 0o10000000, 0o40020
_OFLAG_MAP = [  # (mips, host)
    (O_APPEND, os.O_APPEND), (O_NONBLOCK, os.O_NONBLOCK), (O_CREAT, os.O_CREAT),
    (O_TRUNC, os.O_TRUNC), (O_EXCL, os.O_EXCL), (O_NOCTTY, os.O_NOCTTY),
    (O_DIRECTORY, os.O_DIRECTORY), (O_NOFOLLOW, os.O_NOFOLLOW),
    (O_CLOEXEC, os.O_CLOEXEC), (O_DSYNC, getattr(os, "O_DSYNC", 0)),
]
AT_FDCWD = -100
AT_SYMLINK_NOFOLLOW = 0x100
AT_REMOVEDIR = 0x200
AT_EMPTY_PATH = 0x1000

PROT_READ, PROT_WRITE, PROT_EXEC = 1, 2, 4
MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE = 1, 2, 3
MAP_FIXED, MAP_ANONYMOUS, MAP_FIXED_NOREPLACE = 0x10, 0x800, 0x100000
MREMAP_MAYMOVE, MREMAP_FIXED = 1, 2

F_DUPFD, F_GETFD, F_SETFD, F_GETFL, F_SETFL = 0, 1, 2, 3, 4
F_GETLK, F_SETLK, F_SETLKW, F_DUPFD_CLOEXEC = 33, 34, 35, 1030
FD_CLOEXEC = 1

TCGETS = 0x540D
TIOCGWINSZ = 0x40087468
FIONREAD = 0x467F

CLOCK_REALTIME, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID = 0, 1, 2, 3
CLOCK_MONOTONIC_RAW, CLOCK_REALTIME_COARSE, CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME = 4, 5, 6, 7
CLOCK_TAI = 11
_REALTIME_CLOCKS = {CLOCK_REALTIME, CLOCK_REALTIME_COARSE, 8, CLOCK_TAI}
_CPU_CLOCKS = {CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID}
_VALID_CLOCKS = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11}
TIMER_ABSTIME = 1

# auxv
AT_NULL, AT_PHDR, AT_PHENT, AT_PHNUM, AT_PAGESZ, AT_BASE, AT_FLAGS, AT_ENTRY = 0, 3, 4, 5, 6, 7, 8, 9
AT_UID, AT_EUID, AT_GID, AT_EGID, AT_HWCAP, AT_CLKTCK = 11, 12, 13, 14, 16, 17
AT_SECURE, AT_RANDOM, AT_EXECFN = 23, 25, 31
CLK_TCK = 100

# MIPS rlimit resources
RLIMIT_STACK, RLIMIT_NOFILE = 3, 5
RLIM_INFINITY = (1 << 64) - 1

# Virtual page state (LinuxProcess.vm[vpn]): PROT_* bits | VM_MAPPED
VM_MAPPED = 8
_HWRENA_USER = 0x2000000F        # rdhwr $0..$3 and $29 (UserLocal) allowed in user mode
_CONFIG3_ULRI = 1 << 13


class GuestFault(Exception):
    """A system call touched guest memory that is not mapped (becomes EFAULT)."""

    def __init__(self, va: int):
        super().__init__(f"guest address 0x{va:08x} is not accessible")
        self.va = va


class _ProcessExit(Exception):
    def __init__(self, status: int, signal: int | None = None, message: str | None = None):
        super().__init__(message or f"exit {status}")
        self.status = status
        self.signal = signal
        self.message = message


class SyscallError(Exception):
    """Raised inside a handler to return -errno (a MIPS errno value)."""

    def __init__(self, err: int):
        super().__init__(err)
        self.err = err


def _s32(v: int) -> int:
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


def _u64(lo: int, hi: int) -> int:
    return (lo & 0xFFFFFFFF) | ((hi & 0xFFFFFFFF) << 32)


def _s64(lo: int, hi: int) -> int:
    v = _u64(lo, hi)
    return v - (1 << 64) if v >> 63 else v


def _page_up(x: int) -> int:
    return (x + PAGE - 1) & ~(PAGE - 1)


# --------------------------------------------------------------- physical pages
class PageAllocator:
    """Hands out 4 KiB pages of the machine's RAM (m.ram8), zeroed."""

    def __init__(self, ram8: np.ndarray, reserved_low: int = 1):
        self.ram8 = ram8
        self.npages = len(ram8) // PAGE
        # a stack whose top is the lowest free page
        self._free = list(range(self.npages - 1, reserved_low - 1, -1))

    @property
    def free_pages(self) -> int:
        return len(self._free)

    def alloc(self) -> int:
        """Physical address of a fresh zeroed page; MemoryError when RAM is full."""
        if not self._free:
            raise MemoryError("simulated RAM exhausted")
        pa = self._free.pop() << PAGE_SHIFT
        self.ram8[pa:pa + PAGE] = 0
        return pa

    def free(self, pa: int) -> None:
        self._free.append(pa >> PAGE_SHIFT)


# --------------------------------------------------------------- open files
class _File:
    """An open file description shared by dup'ed fds."""
    kind = "file"

    def __init__(self, flags: int):
        self.flags = flags          # guest (MIPS) status flags and access mode
        self.refs = 0

    readable = property(lambda self: (self.flags & O_ACCMODE) in (0, 2))
    writable = property(lambda self: (self.flags & O_ACCMODE) in (1, 2))

    def read(self, n: int) -> bytes:
        raise SyscallError(E.EINVAL)

    def write(self, data: bytes) -> int:
        raise SyscallError(E.EINVAL)

    def pread(self, n: int, off: int) -> bytes:
        raise SyscallError(E.ESPIPE)

    def pwrite(self, data: bytes, off: int) -> int:
        raise SyscallError(E.ESPIPE)

    def lseek(self, off: int, whence: int) -> int:
        raise SyscallError(E.ESPIPE)

    def host_fd(self) -> int | None:
        return None

    def fstat(self):
        return None

    def close(self) -> None:
        pass


class _HostFile(_File):
    """A host file descriptor opened (or made, for pipes) on the guest's behalf."""
    kind = "host"

    def __init__(self, hfd: int, flags: int, path: bytes = b""):
        super().__init__(flags)
        self.hfd = hfd
        self.path = path
        self.dir_entries: list | None = None
        self.dir_pos = 0
        try:
            self.isdir = _stat.S_ISDIR(os.fstat(hfd).st_mode)
        except OSError:
            self.isdir = False

    def read(self, n):
        return os.read(self.hfd, n)

    def write(self, data):
        return os.write(self.hfd, data)

    def pread(self, n, off):
        return os.pread(self.hfd, n, off)

    def pwrite(self, data, off):
        return os.pwrite(self.hfd, data, off)

    def lseek(self, off, whence):
        if whence not in (0, 1, 2, 3, 4):
            raise SyscallError(E.EINVAL)
        r = os.lseek(self.hfd, off, whence)
        if self.dir_entries is not None and whence == 0 and off == 0:
            self.dir_pos = 0
            self.dir_entries = None
        return r

    def host_fd(self):
        return self.hfd

    def fstat(self):
        return os.fstat(self.hfd)

    def close(self):
        try:
            os.close(self.hfd)
        except OSError:
            pass


class _StreamFile(_File):
    """fd 0/1/2: a Python stream (binary or text) or a host fd number."""
    kind = "stream"

    def __init__(self, stream, flags: int):
        super().__init__(flags)
        self.stream = stream

    def host_fd(self):
        s = self.stream
        if isinstance(s, int):
            return s
        try:
            return s.fileno()
        except (AttributeError, OSError, ValueError):
            return None

    def read(self, n):
        s = self.stream
        if s is None:
            return b""
        if isinstance(s, int):
            return os.read(s, n)
        buf = getattr(s, "buffer", None)
        if buf is not None:
            s = buf
        r1 = getattr(s, "read1", None)
        data = r1(n) if r1 is not None else s.read(n)
        if isinstance(data, str):
            data = data.encode("utf-8", "surrogateescape")
        return data or b""

    def write(self, data):
        s = self.stream
        if s is None:
            return len(data)
        if isinstance(s, int):
            return os.write(s, data)
        try:
            s.write(data)
        except TypeError:                      # a text stream
            buf = getattr(s, "buffer", None)
            if buf is not None:
                s.flush()
                buf.write(data)
                buf.flush()
                return len(data)
            s.write(data.decode("utf-8", "surrogateescape"))
        flush = getattr(s, "flush", None)
        if flush is not None:
            flush()
        return len(data)

    def fstat(self):
        hfd = self.host_fd()
        return os.fstat(hfd) if hfd is not None else None


def _host_isatty(f: _File) -> bool:
    hfd = f.host_fd()
    if hfd is None:
        return False
    try:
        return os.isatty(hfd)
    except OSError:
        return False


# --------------------------------------------------------------- struct layouts
def _new_encode_dev(major: int, minor: int) -> int:
    return ((minor & 0xFF) | ((major & 0xFFF) << 8) | ((minor & ~0xFF) << 12)) & 0xFFFFFFFF


_STAT64 = struct.Struct("<I12xQIIIII12xqiIiIiIII q")   # o32 struct stat64, 104 bytes
assert _STAT64.size == 104


def stat64_bytes(st) -> bytes:
    """The o32 `struct stat64` (arch/mips/include/uapi/asm/stat.h) for an os.stat_result."""
    def ts(sec_f, ns):
        return int(ns // 1_000_000_000) & 0xFFFFFFFF, int(ns % 1_000_000_000)
    a, an = ts(None, st.st_atime_ns)
    mt, mn = ts(None, st.st_mtime_ns)
    c, cn = ts(None, st.st_ctime_ns)
    return _STAT64.pack(
        _new_encode_dev(os.major(st.st_dev), os.minor(st.st_dev)),
        st.st_ino & (2**64 - 1), st.st_mode & 0xFFFFFFFF, st.st_nlink & 0xFFFFFFFF,
        st.st_uid & 0xFFFFFFFF, st.st_gid & 0xFFFFFFFF,
        _new_encode_dev(os.major(st.st_rdev), os.minor(st.st_rdev)),
        st.st_size, _s32(a), an, _s32(mt), mn, _s32(c), cn,
        st.st_blksize & 0xFFFFFFFF, 0, st.st_blocks)


_STATX_HEAD = struct.Struct("<IIQIIIHHQQQQ")   # up to stx_attributes_mask, 64 bytes
_STATX_TS = struct.Struct("<qIi")


def statx_bytes(st, mask: int = 0x7FF) -> bytes:
    """The 256-byte `struct statx` for an os.stat_result (STATX_BASIC_STATS)."""
    out = bytearray(256)
    _STATX_HEAD.pack_into(out, 0, 0x7FF, st.st_blksize, 0, st.st_nlink, st.st_uid,
                          st.st_gid, st.st_mode & 0xFFFF, 0, st.st_ino, st.st_size,
                          st.st_blocks, 0)
    for off, ns in ((64, st.st_atime_ns), (96, st.st_ctime_ns), (112, st.st_mtime_ns)):
        _STATX_TS.pack_into(out, off, ns // 1_000_000_000, ns % 1_000_000_000, 0)
    struct.pack_into("<IIII", out, 128, os.major(st.st_rdev), os.minor(st.st_rdev),
                     os.major(st.st_dev), os.minor(st.st_dev))
    return bytes(out)


class _FakeStat:
    """What fstat reports for a stream without a host fd: a pipe."""
    st_dev = st_ino = st_rdev = st_size = st_blocks = 0
    st_nlink = 1
    st_mode = _stat.S_IFIFO | 0o600
    st_blksize = PAGE
    st_atime_ns = st_mtime_ns = st_ctime_ns = 0

    def __init__(self, uid, gid):
        self.st_uid, self.st_gid = uid, gid


_DT = {_stat.S_IFREG: 8, _stat.S_IFDIR: 4, _stat.S_IFLNK: 10, _stat.S_IFCHR: 2,
       _stat.S_IFBLK: 6, _stat.S_IFIFO: 1, _stat.S_IFSOCK: 12}


# --------------------------------------------------------------- results
@dataclass
class ProcessResult:
    """How a guest process ended."""
    status: int                       # as a shell reports it: exit code, or 128 + signal
    insns: int                        # instructions retired
    syscalls_by_number: Counter       # o32 number -> calls
    unknown_syscalls: Counter         # o32 number -> calls answered ENOSYS
    exit_code: int | None = None      # exit/exit_group argument & 0xff, if it exited
    signal: int | None = None         # MIPS signal number, if a signal killed it
    message: str | None = None        # the one-line diagnostic printed, if any
    wall_seconds: float = 0.0
    sim_ns: int = 0                   # deterministic clock at the end

    @property
    def syscalls(self) -> int:
        return sum(self.syscalls_by_number.values())

    @property
    def syscalls_by_name(self) -> dict[str, int]:
        return {syscall_name(k): v for k, v in sorted(self.syscalls_by_number.items())}

    @property
    def unknown_syscall_names(self) -> dict[str, int]:
        return {syscall_name(k): v for k, v in sorted(self.unknown_syscalls.items())}


_HANDLERS: dict[int, tuple[Callable, int]] = {}


def _sys(*names: str, nargs: int = 4):
    """Register a handler for the named o32 system calls (nargs > 4 reads sp+16.. too)."""
    def deco(fn):
        for n in names:
            _HANDLERS[SYSCALL_NUMBERS[n]] = (fn, nargs)
        return fn
    return deco


class LinuxProcess:
    """One single-threaded Linux process on a fresh process-mode machine.

    Typical use::

        p = LinuxProcess("prog", ["prog", "arg"], stdout=sys.stdout.buffer)
        result = p.run()

    Memory helpers (`read`, `write`, `read_u32`, `write_u32`, `read_cstr`)
    take guest virtual addresses and raise `GuestFault` on unmapped pages;
    they allocate demand-zero pages like a first touch by the CPU would.
    `do_syscall(num, args)` serves one system call and returns the Linux
    result (negative = -errno, MIPS numbering) without touching registers;
    `handle_syscall()` does it from the registers, as after an EXC_SYS exit.
    """

    def __init__(self, exe, argv=None, env=None, *, stdin=None, stdout=None, stderr=None,
                 diag=None, ram_bytes: int = DEFAULT_RAM, clock: str = "deterministic",
                 ns_per_insn: float = 1.0, seed: int = 0, pid: int = DEFAULT_PID,
                 uid: int | None = None, gid: int | None = None, cwd=None,
                 machine: Machine | None = None):
        self.image: ElfImage = exe if isinstance(exe, ElfImage) else load_elf(exe)
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
        self.time_offset_ns = 0            # advanced by sleeps in deterministic mode
        self._rng = random.Random(seed)
        self.seed = seed
        self.pid = pid
        self.uid = os.getuid() if uid is None else uid
        self.gid = os.getgid() if gid is None else gid
        self.cwd = os.fsencode(os.path.abspath(cwd if cwd is not None else os.getcwd()))
        self.umask_value = 0o022
        self.stderr_stream = stderr if stderr is not None else sys.stderr
        self.diag = diag if diag is not None else self.stderr_stream

        m = machine if machine is not None else new_machine(
            ncpu=1, ram_bytes=ram_bytes, mmu=MMU_FLAT, exc_to_host=True)
        self.m = m
        self.pages = PageAllocator(m.ram8)
        self.vm = np.zeros(NPAGES_VA, np.uint8)          # PROT_* | VM_MAPPED per page
        self.frame = np.full(NPAGES_VA, -1, np.int64)    # physical address, -1 = not present
        self.shared_maps: list[list] = []                # [start_vpn, npages, host fd, file offset]

        self.fds: dict[int, _File] = {}
        self.cloexec: set[int] = set()
        for fd, (s, fl) in enumerate(((stdin, 0), (stdout if stdout is not None else sys.stdout, 1),
                                      (self.stderr_stream, 1))):
            self._install(fd, _StreamFile(s, fl))

        self.sigactions: dict[int, bytes] = {}
        self.sigmask = 0
        self.sigpending = 0
        self.sigaltstack = bytes(12)
        self.tid_address = 0
        self.robust_list = 0
        self.syscalls_by_number: Counter = Counter()
        self.unknown_syscalls: Counter = Counter()
        self.unknown_ioctls: Counter = Counter()
        self.exited: _ProcessExit | None = None

        self._load_segments()
        self.brk_start = _page_up(self.image.end)
        self.brk_cur = self.brk_start
        self.stack_size = max(STACK_SIZE, _page_up(self.image.stack_size))
        self._reserve(STACK_TOP - self.stack_size, self.stack_size, PROT_READ | PROT_WRITE)
        self.sp = self._build_stack()
        self._init_cpu()

    # ----------------------------------------------------------- CPU state
    def _init_cpu(self) -> None:
        m = self.m
        try:   # the CPU model's reset values (PRId, Config*, FIR, BRANCH_PC = -1, ...)
            from flashvm.kernels.cp0 import reset_cpu
        except ImportError:
            reset_cpu = None
        if reset_cpu is not None:
            reset_cpu(m, 0)
        else:
            m.cpu[0, :] = 0
            m.gpr[0, :] = 0
        m.gpr[0, 29] = self.sp
        m.cpu[0, PC] = self.image.entry
        m.cpu[0, NPC] = (self.image.entry + 4) & 0xFFFFFFFF
        m.cp0[0, CP0_Status, 0] = St_UM | St_CU1
        m.cp0[0, CP0_HWREna, 0] = _HWRENA_USER
        m.cp0[0, CP0_Config, 3] |= _CONFIG3_ULRI
        m.cp0[0, CP0_Context, SEL_UserLocal] = 0
        m.tc_tag.fill(-1)

    @property
    def insns(self) -> int:
        return int(self.m.cpu[0, INSNS])

    # ----------------------------------------------------------- page table
    @staticmethod
    def _pte_bits(prot: int) -> int:
        b = 0
        if prot & (PROT_READ | PROT_WRITE):
            b |= PTE_R
        if prot & PROT_WRITE:
            b |= PTE_W
        if prot & PROT_EXEC:
            b |= PTE_X
        return b

    def _set_pte(self, vpn: int) -> None:
        f = int(self.frame[vpn])
        bits = self._pte_bits(int(self.vm[vpn]))
        self.m.ptab[vpn] = (f | bits) if (f >= 0 and bits) else 0

    def _populate(self, vpn: int) -> int:
        """Give the mapped-but-absent page vpn a zeroed frame; return its physical address."""
        pa = self.pages.alloc()
        self.frame[vpn] = pa
        self._set_pte(vpn)      # a new mapping: no translation-cache flush needed
        return pa

    def _reserve(self, va: int, length: int, prot: int) -> None:
        """Mark [va, va+length) mapped with prot, demand-zero (pages must be free)."""
        v0, v1 = va >> PAGE_SHIFT, _page_up(va + length) >> PAGE_SHIFT
        self.vm[v0:v1] = (prot & 7) | VM_MAPPED

    def _unmap_range(self, v0: int, v1: int) -> None:
        """Remove pages [v0, v1): free frames, clear PTEs, flush the translation cache."""
        if v1 <= v0:
            return
        self._writeback_shared(v0, v1, drop=True)
        present = np.flatnonzero(self.frame[v0:v1] >= 0)
        for i in present:
            self.pages.free(int(self.frame[v0 + i]))
        had_pte = bool(self.m.ptab[v0:v1].any())
        self.frame[v0:v1] = -1
        self.vm[v0:v1] = 0
        self.m.ptab[v0:v1] = 0
        if had_pte:
            self.m.tc_tag.fill(-1)

    def _load_segments(self) -> None:
        for seg in self.image.segments:
            prot = ((PROT_READ if seg.readable else 0) | (PROT_WRITE if seg.writable else 0) |
                    (PROT_EXEC if seg.executable else 0))
            v0, v1 = seg.vaddr >> PAGE_SHIFT, _page_up(seg.end) >> PAGE_SHIFT
            # pages shared with a previous segment keep both protections
            self.vm[v0:v1] |= prot | VM_MAPPED
            # file bytes go to freshly allocated pages; pure-bss pages stay demand-zero
            data, va = seg.data, seg.vaddr
            pos = 0
            while pos < len(data):
                vpn = (va + pos) >> PAGE_SHIFT
                off = (va + pos) & (PAGE - 1)
                n = min(PAGE - off, len(data) - pos)
                pa = int(self.frame[vpn])
                if pa < 0:
                    pa = self.pages.alloc()
                    self.frame[vpn] = pa
                self.m.ram8[pa + off:pa + off + n] = np.frombuffer(data, np.uint8, n, pos)
                pos += n
            for vpn in range(v0, v1):
                self._set_pte(vpn)

    # ----------------------------------------------------------- guest memory
    def _frame_for(self, vpn: int, write: bool) -> int:
        st = int(self.vm[vpn])
        if not st & VM_MAPPED or not st & (PROT_WRITE if write else (PROT_READ | PROT_WRITE)):
            raise GuestFault(vpn << PAGE_SHIFT)
        pa = int(self.frame[vpn])
        if pa < 0:
            try:
                pa = self._populate(vpn)
            except MemoryError:
                raise SyscallError(E.ENOMEM) from None
        return pa

    def read(self, va: int, n: int) -> bytes:
        """n bytes of guest memory at virtual address va."""
        out = bytearray()
        ram = self.m.ram8
        va &= 0xFFFFFFFF
        while n > 0:
            if va >= 1 << 32:
                raise GuestFault(va)
            off = va & (PAGE - 1)
            k = min(n, PAGE - off)
            try:
                pa = self._frame_for(va >> PAGE_SHIFT, False)
            except GuestFault:
                raise GuestFault(va) from None
            out += ram[pa + off:pa + off + k].tobytes()
            va += k
            n -= k
        return bytes(out)

    def write(self, va: int, data) -> None:
        """Store bytes at guest virtual address va."""
        data = memoryview(bytes(data))
        ram = self.m.ram8
        va &= 0xFFFFFFFF
        pos, n = 0, len(data)
        while pos < n:
            if va >= 1 << 32:
                raise GuestFault(va)
            off = va & (PAGE - 1)
            k = min(n - pos, PAGE - off)
            try:
                pa = self._frame_for(va >> PAGE_SHIFT, True)
            except GuestFault:
                raise GuestFault(va) from None
            ram[pa + off:pa + off + k] = np.frombuffer(data, np.uint8, k, pos)
            va += k
            pos += k

    def read_u32(self, va: int) -> int:
        return struct.unpack("<I", self.read(va, 4))[0]

    def write_u32(self, va: int, v: int) -> None:
        self.write(va, struct.pack("<I", v & 0xFFFFFFFF))

    def read_cstr(self, va: int, limit: int = 4096) -> bytes:
        """The NUL-terminated string at va (without the NUL); ENAMETOOLONG past limit."""
        out = bytearray()
        va &= 0xFFFFFFFF
        while True:
            off = va & (PAGE - 1)
            k = PAGE - off
            chunk = self.read(va, k)
            z = chunk.find(b"\0")
            if z >= 0:
                out += chunk[:z]
                if len(out) >= limit:
                    raise SyscallError(E.ENAMETOOLONG)
                return bytes(out)
            out += chunk
            if len(out) >= limit:
                raise SyscallError(E.ENAMETOOLONG)
            va += k

    def is_mapped(self, va: int) -> bool:
        return bool(self.vm[(va & 0xFFFFFFFF) >> PAGE_SHIFT] & VM_MAPPED)

    # ----------------------------------------------------------- initial stack
    def _build_stack(self) -> int:
        """Lay out argc/argv/envp/auxv like Linux's create_elf_tables; return sp."""
        img = self.image
        p = STACK_TOP - 4                       # a NULL word ends the strings area
        execfn = os.fsencode(img.path) + b"\0"
        p -= len(execfn)
        execfn_addr = p
        strings = [a + b"\0" for a in self.argv] + [e + b"\0" for e in self.env]
        total = sum(len(s) for s in strings)
        p -= total
        addrs = []
        q = p
        for s in strings:
            addrs.append(q)
            q += len(s)
        self.write(p, b"".join(strings))
        self.write(execfn_addr, execfn)
        self.write(STACK_TOP - 4, bytes(4))
        p &= ~7                                # arch_align_stack: o32 ALMASK
        random_bytes = hashlib.sha256(b"flashvm AT_RANDOM %d" % self.seed).digest()[:16]
        p -= 16
        random_addr = p
        self.write(random_addr, random_bytes)
        self.at_random = random_bytes
        auxv = [
            (AT_HWCAP, 0), (AT_PAGESZ, PAGE), (AT_CLKTCK, CLK_TCK),
            (AT_PHDR, img.phdr_addr), (AT_PHENT, img.phentsize), (AT_PHNUM, img.phnum),
            (AT_BASE, 0), (AT_FLAGS, 0), (AT_ENTRY, img.entry),
            (AT_UID, self.uid), (AT_EUID, self.uid), (AT_GID, self.gid), (AT_EGID, self.gid),
            (AT_SECURE, 0), (AT_RANDOM, random_addr), (AT_EXECFN, execfn_addr), (AT_NULL, 0),
        ]
        self.auxv = auxv
        argc = len(self.argv)
        argv_addrs, env_addrs = addrs[:argc], addrs[argc:]
        words = ([argc] + argv_addrs + [0] + env_addrs + [0] +
                 [w for pair in auxv for w in pair])
        items = (argc + 1) + (len(env_addrs) + 1) + 1
        sp = p - 2 * len(auxv) * 4
        sp = (sp - items * 4) & ~15
        self.write(sp, struct.pack(f"<{len(words)}I", *[w & 0xFFFFFFFF for w in words]))
        return sp

    # ----------------------------------------------------------- time
    def now_ns(self, clk: int) -> int:
        if self.clock == "host" and clk not in _CPU_CLOCKS:
            if clk in _REALTIME_CLOCKS:
                return time.time_ns()
            return time.monotonic_ns()
        ns = int(self.insns * self.ns_per_insn)
        if clk in _CPU_CLOCKS:
            return ns
        ns += self.time_offset_ns
        if clk in _REALTIME_CLOCKS:
            ns += DETERMINISTIC_EPOCH * 1_000_000_000
        return ns

    def _sleep_ns(self, ns: int) -> None:
        if ns <= 0:
            return
        if self.clock == "host":
            time.sleep(ns / 1e9)
        else:
            self.time_offset_ns += ns

    # ----------------------------------------------------------- fds
    def _install(self, fd: int, f: _File) -> int:
        f.refs += 1
        old = self.fds.get(fd)
        self.fds[fd] = f
        self.cloexec.discard(fd)
        if old is not None:
            self._release(old)
        return fd

    def _release(self, f: _File) -> None:
        f.refs -= 1
        if f.refs == 0:
            f.close()

    def _lowest_fd(self, start: int = 0) -> int:
        fd = start
        while fd in self.fds:
            fd += 1
        if fd >= MAX_FDS:
            raise SyscallError(E.EMFILE)
        return fd

    def _file(self, fd: int) -> _File:
        f = self.fds.get(_s32(fd))
        if f is None:
            raise SyscallError(E.EBADF)
        return f

    def close_all(self) -> None:
        """Write back shared file mappings and close every fd (end of the process)."""
        self._writeback_shared(0, NPAGES_VA, drop=True)
        for fd in list(self.fds):
            f = self.fds.pop(fd)
            self._release(f)

    def _path(self, dirfd: int, path: bytes) -> tuple[bytes, int | None]:
        """Host path and dir_fd for a guest (dirfd, path)."""
        if path.startswith(b"/"):
            return path, None
        dirfd = _s32(dirfd)
        if dirfd == AT_FDCWD:
            return os.path.join(self.cwd, path), None
        f = self._file(dirfd)
        hfd = f.host_fd()
        if hfd is None:
            raise SyscallError(E.ENOTDIR)
        return path, hfd

    # ----------------------------------------------------------- system calls
    def handle_syscall(self, epc: int | None = None) -> None:
        """Serve the system call in the registers and resume after the syscall instruction."""
        m = self.m
        g = m.gpr[0]
        regs = g[:8].tolist()
        num = regs[2]
        if epc is None:
            epc = int(m.cpu[0, PC])
        args = regs[4:8]
        entry = _HANDLERS.get(num)
        if entry is not None and entry[1] > 4 or num == 4000:
            try:
                args += struct.unpack("<4I", self.read(int(g[29]) + 16, 16))
            except GuestFault:
                args = None
        r = -E.EFAULT if args is None else self.do_syscall(num, args)
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
        if num == 4000:                       # syscall(2): indirect, number in a0
            num, args = int(args[0]), list(args[1:]) + [0]
        self.syscalls_by_number[num] += 1
        entry = _HANDLERS.get(num)
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

    # ---- process
    @_sys("exit", "exit_group", nargs=1)
    def sys_exit(self, status):
        raise _ProcessExit(status & 0xFF)

    @_sys("getpid", "gettid", "getpgrp", nargs=0)
    def sys_getpid(self):
        return self.pid

    @_sys("getppid", nargs=0)
    def sys_getppid(self):
        return self.pid - 1

    @_sys("getpgid", "getsid", nargs=1)
    def sys_getpgid(self, pid):
        if pid not in (0, self.pid):
            raise SyscallError(E.ESRCH)
        return self.pid

    @_sys("setsid", "setpgid", nargs=0)
    def sys_setsid(self):
        return -E.EPERM

    @_sys("getuid", "geteuid", nargs=0)
    def sys_getuid(self):
        return self.uid

    @_sys("getgid", "getegid", nargs=0)
    def sys_getgid(self):
        return self.gid

    @_sys("getresuid", nargs=3)
    def sys_getresuid(self, a, b, c):
        for p in (a, b, c):
            self.write_u32(p, self.uid)
        return 0

    @_sys("getresgid", nargs=3)
    def sys_getresgid(self, a, b, c):
        for p in (a, b, c):
            self.write_u32(p, self.gid)
        return 0

    @_sys("set_tid_address", nargs=1)
    def sys_set_tid_address(self, ptr):
        self.tid_address = ptr
        return self.pid

    @_sys("set_robust_list", nargs=2)
    def sys_set_robust_list(self, head, length):
        if length != 12:
            raise SyscallError(E.EINVAL)
        self.robust_list = head
        return 0

    @_sys("set_thread_area", nargs=1)
    def sys_set_thread_area(self, addr):
        self.m.cp0[0, CP0_Context, SEL_UserLocal] = addr
        return 0

    @_sys("uname", nargs=1)
    def sys_uname(self, buf):
        fields = [b"Linux", b"flashvm", b"6.1.0-flashvm", b"#1 SMP flashvm", b"mips", b"(none)"]
        self.write(buf, b"".join(f.ljust(65, b"\0") for f in fields))
        return 0

    @_sys("umask", nargs=1)
    def sys_umask(self, mask):
        old, self.umask_value = self.umask_value, mask & 0o777
        return old

    @_sys("sched_yield", nargs=0)
    def sys_sched_yield(self):
        return 0

    @_sys("sched_getaffinity", nargs=3)
    def sys_sched_getaffinity(self, pid, size, mask):
        if size < 4 or size & 3:
            raise SyscallError(E.EINVAL)
        self.write(mask, struct.pack("<I", 1))
        return 4

    @_sys("getcpu", nargs=3)
    def sys_getcpu(self, cpu, node, cache):
        for p in (cpu, node):
            if p:
                self.write_u32(p, 0)
        return 0

    @_sys("prlimit64", nargs=4)
    def sys_prlimit64(self, pid, resource, new, old):
        if pid not in (0, self.pid):
            raise SyscallError(E.ESRCH)
        if old:
            cur = mx = RLIM_INFINITY
            if resource == RLIMIT_STACK:
                cur = STACK_SIZE          # the default limit; the stack reserved may be larger
            elif resource == RLIMIT_NOFILE:
                cur = mx = MAX_FDS
            self.write(old, struct.pack("<QQ", cur, mx))
        return 0

    @_sys("getrlimit", nargs=2)
    def sys_getrlimit(self, resource, old):
        cur = mx = 0x7FFFFFFF  # RLIM_INFINITY for the old 32-bit interface on MIPS
        if resource == RLIMIT_STACK:
            cur = STACK_SIZE
        elif resource == RLIMIT_NOFILE:
            cur = mx = MAX_FDS
        self.write(old, struct.pack("<II", cur, mx))
        return 0

    @_sys("setrlimit", nargs=2)
    def sys_setrlimit(self, resource, new):
        return 0

    @_sys("getrandom", nargs=3)
    def sys_getrandom(self, buf, n, flags):
        n = min(n, 1 << 25)
        self.write(buf, self._rng.randbytes(n))
        return n

    # ---- signals
    @_sys("rt_sigaction", nargs=4)
    def sys_rt_sigaction(self, sig, act, oact, size):
        if size != 16 or not 1 <= sig < NSIG:
            raise SyscallError(E.EINVAL)
        new = self.read(act, 24) if act else None
        if new is not None and sig in (SIGKILL, SIGSTOP):
            raise SyscallError(E.EINVAL)
        if oact:
            self.write(oact, self.sigactions.get(sig, bytes(24)))
        if new is not None:
            self.sigactions[sig] = new
        return 0

    def sig_handler(self, sig: int) -> int:
        """The recorded disposition: 0 = SIG_DFL, 1 = SIG_IGN, else a handler address."""
        a = self.sigactions.get(sig)
        return struct.unpack_from("<I", a, 4)[0] if a else 0

    @_sys("rt_sigprocmask", nargs=4)
    def sys_rt_sigprocmask(self, how, setp, oldp, size):
        if size != 16:
            raise SyscallError(E.EINVAL)
        new = int.from_bytes(self.read(setp, 16), "little") if setp else None
        if new is not None and how not in (SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK):
            raise SyscallError(E.EINVAL)
        if oldp:
            self.write(oldp, self.sigmask.to_bytes(16, "little"))
        if new is not None:
            if how == SIG_BLOCK:
                self.sigmask |= new
            elif how == SIG_UNBLOCK:
                self.sigmask &= ~new
            else:
                self.sigmask = new
            self.sigmask &= ~((1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1)))
            self._deliver_pending()
        return 0

    @_sys("rt_sigpending", nargs=2)
    def sys_rt_sigpending(self, setp, size):
        self.write(setp, (self.sigpending & self.sigmask).to_bytes(16, "little")[:max(size, 0)])
        return 0

    @_sys("sigaltstack", nargs=2)
    def sys_sigaltstack(self, ss, oss):
        if oss:
            self.write(oss, self.sigaltstack)
        if ss:
            self.sigaltstack = self.read(ss, 12)
        return 0

    @_sys("kill", nargs=2)
    def sys_kill(self, pid, sig):
        if _s32(pid) not in (0, -1, self.pid, -self.pid):
            raise SyscallError(E.ESRCH)
        return self._send_signal(sig)

    @_sys("tkill", nargs=2)
    def sys_tkill(self, tid, sig):
        if tid != self.pid:
            raise SyscallError(E.ESRCH)
        return self._send_signal(sig)

    @_sys("tgkill", nargs=3)
    def sys_tgkill(self, tgid, tid, sig):
        if tgid != self.pid or tid != self.pid:
            raise SyscallError(E.ESRCH)
        return self._send_signal(sig)

    def _send_signal(self, sig: int) -> int:
        if not 0 <= sig < NSIG:
            raise SyscallError(E.EINVAL)
        if sig == 0:
            return 0
        self.sigpending |= 1 << (sig - 1)
        self._deliver_pending()
        return 0

    def _deliver_pending(self) -> None:
        ready = self.sigpending & ~self.sigmask
        sig = 1
        while ready:
            if ready & 1:
                self.sigpending &= ~(1 << (sig - 1))
                self._take_signal(sig)
            ready >>= 1
            sig += 1

    def _take_signal(self, sig: int, detail: str = "") -> None:
        h = self.sig_handler(sig)
        if sig not in (SIGKILL, SIGSTOP):
            if h == 1:
                return
            if h == 0 and sig in _SIG_DEFAULT_IGNORE:
                return
        note = ""
        if h > 1 and sig not in (SIGKILL, SIGSTOP):
            note = f" (guest handler 0x{h:08x} not run: signal delivery is not implemented)"
        self._die(sig, detail + note)

    def _die(self, sig: int, detail: str = "") -> None:
        name = SIGNAL_NAMES.get(sig, f"signal {sig}")
        text = _SIGNAL_TEXT.get(sig, name)
        pc = int(self.m.cpu[0, PC])
        msg = (f"flashvm: {os.path.basename(self.image.path)}: terminated by {name} ({text})"
               f"{detail or f' at pc=0x{pc:08x} <{self.image.symbolize(pc)}>'}")
        raise _ProcessExit(128 + sig, sig, msg)

    # ---- time
    def _write_timespec(self, ptr: int, ns: int, wide: bool) -> None:
        sec, nsec = divmod(ns, 1_000_000_000)
        if wide:
            self.write(ptr, struct.pack("<qq", sec, nsec))
        else:
            self.write(ptr, struct.pack("<iI", _s32(sec), nsec))

    def _read_timespec(self, ptr: int, wide: bool) -> int:
        if wide:
            sec, nsec = struct.unpack("<qq", self.read(ptr, 16))
            nsec &= 0xFFFFFFFF   # the upper half is padding for 32-bit userspace
            nsec = _s32(nsec)
        else:
            sec, nsec = struct.unpack("<ii", self.read(ptr, 8))
        if not 0 <= nsec < 1_000_000_000 or sec < 0:
            raise SyscallError(E.EINVAL)
        return sec * 1_000_000_000 + nsec

    def _clock_arg(self, clk: int) -> int:
        clk = _s32(clk)
        if clk < 0:      # CPU-time clocks of a pid/thread (musl's clock_getcpuclockid)
            return CLOCK_PROCESS_CPUTIME_ID
        if clk not in _VALID_CLOCKS:
            raise SyscallError(E.EINVAL)
        return clk

    @_sys("clock_gettime", nargs=2)
    def sys_clock_gettime(self, clk, tp):
        self._write_timespec(tp, self.now_ns(self._clock_arg(clk)), False)
        return 0

    @_sys("clock_gettime64", nargs=2)
    def sys_clock_gettime64(self, clk, tp):
        self._write_timespec(tp, self.now_ns(self._clock_arg(clk)), True)
        return 0

    @_sys("clock_getres", nargs=2)
    def sys_clock_getres(self, clk, tp):
        self._clock_arg(clk)
        if tp:
            self._write_timespec(tp, 1, False)
        return 0

    @_sys("clock_getres_time64", nargs=2)
    def sys_clock_getres64(self, clk, tp):
        self._clock_arg(clk)
        if tp:
            self._write_timespec(tp, 1, True)
        return 0

    @_sys("gettimeofday", nargs=2)
    def sys_gettimeofday(self, tv, tz):
        ns = self.now_ns(CLOCK_REALTIME)
        if tv:
            sec, nsec = divmod(ns, 1_000_000_000)
            self.write(tv, struct.pack("<iI", _s32(sec), nsec // 1000))
        if tz:
            self.write(tz, bytes(8))
        return 0

    @_sys("time", nargs=1)
    def sys_time(self, tloc):
        t = self.now_ns(CLOCK_REALTIME) // 1_000_000_000
        if tloc:
            self.write_u32(tloc, t)
        return t & 0xFFFFFFFF

    @_sys("times", nargs=1)
    def sys_times(self, buf):
        ticks = self.now_ns(CLOCK_PROCESS_CPUTIME_ID) // (1_000_000_000 // CLK_TCK)
        if buf:
            self.write(buf, struct.pack("<IIII", ticks & 0xFFFFFFFF, 0, 0, 0))
        return self.now_ns(CLOCK_MONOTONIC) // (1_000_000_000 // CLK_TCK) & 0x7FFFFFFF

    @_sys("getrusage", nargs=2)
    def sys_getrusage(self, who, buf):
        ns = self.now_ns(CLOCK_PROCESS_CPUTIME_ID)
        sec, nsec = divmod(ns, 1_000_000_000)
        out = bytearray(72)
        struct.pack_into("<iI", out, 0, sec, nsec // 1000)
        self.write(buf, bytes(out))
        return 0

    def _nanosleep(self, req_ns: int, rem: int, wide: bool) -> int:
        self._sleep_ns(req_ns)
        return 0

    @_sys("nanosleep", nargs=2)
    def sys_nanosleep(self, req, rem):
        return self._nanosleep(self._read_timespec(req, False), rem, False)

    @_sys("clock_nanosleep", nargs=4)
    def sys_clock_nanosleep(self, clk, flags, req, rem):
        return self._clock_nanosleep(clk, flags, req, False)

    @_sys("clock_nanosleep_time64", nargs=4)
    def sys_clock_nanosleep64(self, clk, flags, req, rem):
        return self._clock_nanosleep(clk, flags, req, True)

    def _clock_nanosleep(self, clk, flags, req, wide):
        clk = self._clock_arg(clk)
        if clk == CLOCK_THREAD_CPUTIME_ID:
            raise SyscallError(E.EINVAL)
        ns = self._read_timespec(req, wide)
        if flags & TIMER_ABSTIME:
            ns -= self.now_ns(clk)
        self._sleep_ns(ns)
        return 0

    # ---- files: data
    @_sys("read", nargs=3)
    def sys_read(self, fd, buf, count):
        f = self._file(fd)
        if not f.readable:
            raise SyscallError(E.EBADF)
        count = min(count, 1 << 26)
        if self._is_dir(f):
            raise SyscallError(E.EISDIR)
        data = f.read(count)
        self.write(buf, data)
        return len(data)

    @staticmethod
    def _is_dir(f: _File) -> bool:
        return f.kind == "host" and f.isdir

    @_sys("write", nargs=3)
    def sys_write(self, fd, buf, count):
        f = self._file(fd)
        if not f.writable:
            raise SyscallError(E.EBADF)
        data = self.read(buf, min(count, 1 << 26))
        return self._write_data(f, data)

    def _write_data(self, f: _File, data: bytes) -> int:
        try:
            return f.write(data)
        except BrokenPipeError:
            self._send_signal(13)            # SIGPIPE: default action terminates
            raise SyscallError(E.EPIPE)

    def _iovecs(self, iov, cnt) -> list[tuple[int, int]]:
        if cnt > 1024:
            raise SyscallError(E.EINVAL)
        if cnt == 0:
            return []
        words = struct.unpack(f"<{2 * cnt}I", self.read(iov, 8 * cnt))
        vecs = list(zip(words[0::2], words[1::2]))
        if sum(n for _, n in vecs) > 0x7FFFFFFF:
            raise SyscallError(E.EINVAL)
        return vecs

    @_sys("writev", nargs=3)
    def sys_writev(self, fd, iov, cnt):
        f = self._file(fd)
        if not f.writable:
            raise SyscallError(E.EBADF)
        data = b"".join(self.read(b, n) for b, n in self._iovecs(iov, cnt))
        return self._write_data(f, data)

    def _scatter(self, vecs, data: bytes) -> int:
        pos = 0
        for b, n in vecs:
            if pos >= len(data):
                break
            chunk = data[pos:pos + n]
            self.write(b, chunk)
            pos += len(chunk)
        return pos

    @_sys("readv", nargs=3)
    def sys_readv(self, fd, iov, cnt):
        f = self._file(fd)
        if not f.readable:
            raise SyscallError(E.EBADF)
        vecs = self._iovecs(iov, cnt)
        if self._is_dir(f):
            raise SyscallError(E.EISDIR)
        return self._scatter(vecs, f.read(sum(n for _, n in vecs)))

    @_sys("pread64", nargs=6)
    def sys_pread64(self, fd, buf, count, _pad, lo, hi):
        f = self._file(fd)
        off = _s64(lo, hi)
        if off < 0:
            raise SyscallError(E.EINVAL)
        data = f.pread(min(count, 1 << 26), off)
        self.write(buf, data)
        return len(data)

    @_sys("pwrite64", nargs=6)
    def sys_pwrite64(self, fd, buf, count, _pad, lo, hi):
        f = self._file(fd)
        off = _s64(lo, hi)
        if off < 0:
            raise SyscallError(E.EINVAL)
        return f.pwrite(self.read(buf, min(count, 1 << 26)), off)

    @_sys("preadv", nargs=5)
    def sys_preadv(self, fd, iov, cnt, lo, hi):
        f = self._file(fd)
        vecs = self._iovecs(iov, cnt)
        return self._scatter(vecs, f.pread(sum(n for _, n in vecs), _s64(lo, hi)))

    @_sys("pwritev", nargs=5)
    def sys_pwritev(self, fd, iov, cnt, lo, hi):
        f = self._file(fd)
        data = b"".join(self.read(b, n) for b, n in self._iovecs(iov, cnt))
        return f.pwrite(data, _s64(lo, hi))

    @_sys("lseek", nargs=3)
    def sys_lseek(self, fd, off, whence):
        r = self._file(fd).lseek(_s32(off), whence)
        if r > 0x7FFFFFFF:
            raise SyscallError(E.EOVERFLOW)
        return r

    @_sys("_llseek", nargs=5)
    def sys_llseek(self, fd, hi, lo, result, whence):
        f = self._file(fd)
        r = f.lseek(_s64(lo, hi), whence)
        self.write(result, struct.pack("<q", r))
        return 0

    # ---- files: names
    def _open_flags(self, flags: int) -> int:
        host = flags & O_ACCMODE
        for g, h in _OFLAG_MAP:
            if flags & g:
                host |= h
        if flags & O_SYNC == O_SYNC:
            host |= getattr(os, "O_SYNC", 0)
        return host

    @_sys("open", nargs=3)
    def sys_open(self, path, flags, mode):
        return self._openat(AT_FDCWD, path, flags, mode)

    @_sys("creat", nargs=2)
    def sys_creat(self, path, mode):
        return self._openat(AT_FDCWD, path, O_CREAT | 1 | O_TRUNC, mode)

    @_sys("openat", nargs=4)
    def sys_openat(self, dirfd, path, flags, mode):
        return self._openat(dirfd, path, flags, mode)

    def _openat(self, dirfd, path, flags, mode):
        name = self.read_cstr(path)
        if not name:
            raise SyscallError(E.ENOENT)
        if flags & O_PATH:
            flags = (flags & ~O_ACCMODE) & (O_PATH | O_CLOEXEC | O_DIRECTORY | O_NOFOLLOW)
        fd = self._lowest_fd()
        if name == b"/proc/self/exe":
            name = os.fsencode(self.exe_path)
        hpath, dir_fd = self._path(dirfd, name)
        hflags = self._open_flags(flags) | os.O_CLOEXEC
        if flags & O_PATH and hasattr(os, "O_PATH"):
            hflags = os.O_PATH | (hflags & (os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC))
        hfd = os.open(hpath, hflags, mode & ~self.umask_value & 0o7777, dir_fd=dir_fd)
        f = _HostFile(hfd, flags & ~(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC),
                      os.path.join(self.cwd, hpath) if dir_fd is None else hpath)
        self._install(fd, f)
        if flags & O_CLOEXEC:
            self.cloexec.add(fd)
        return fd

    @_sys("close", nargs=1)
    def sys_close(self, fd):
        f = self._file(fd)
        del self.fds[_s32(fd)]
        self.cloexec.discard(_s32(fd))
        self._release(f)
        return 0

    @_sys("dup", nargs=1)
    def sys_dup(self, fd):
        return self._install(self._lowest_fd(), self._file(fd))

    @_sys("dup2", nargs=2)
    def sys_dup2(self, old, new):
        f = self._file(old)
        if _s32(new) < 0 or new >= MAX_FDS:
            raise SyscallError(E.EBADF)
        if old == new:
            return new
        return self._install(new, f)

    @_sys("dup3", nargs=3)
    def sys_dup3(self, old, new, flags):
        if old == new or flags & ~O_CLOEXEC:
            raise SyscallError(E.EINVAL)
        r = self.sys_dup2(old, new)
        if flags & O_CLOEXEC:
            self.cloexec.add(new)
        return r

    @_sys("fcntl", "fcntl64", nargs=3)
    def sys_fcntl(self, fd, cmd, arg):
        f = self._file(fd)
        fd = _s32(fd)
        if cmd in (F_DUPFD, F_DUPFD_CLOEXEC):
            if arg >= MAX_FDS:
                raise SyscallError(E.EINVAL)
            nfd = self._install(self._lowest_fd(arg), f)
            if cmd == F_DUPFD_CLOEXEC:
                self.cloexec.add(nfd)
            return nfd
        if cmd == F_GETFD:
            return FD_CLOEXEC if fd in self.cloexec else 0
        if cmd == F_SETFD:
            (self.cloexec.add if arg & FD_CLOEXEC else self.cloexec.discard)(fd)
            return 0
        if cmd == F_GETFL:
            return f.flags | (O_LARGEFILE if f.kind == "host" else 0)
        if cmd == F_SETFL:
            settable = O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME
            f.flags = (f.flags & ~settable) | (arg & settable)
            hfd = f.host_fd() if f.kind == "host" else None
            if hfd is not None:
                import fcntl as _fcntl
                hf = _fcntl.fcntl(hfd, _fcntl.F_GETFL)
                hf = (hf & ~(os.O_APPEND | os.O_NONBLOCK)) | \
                    (os.O_APPEND if arg & O_APPEND else 0) | (os.O_NONBLOCK if arg & O_NONBLOCK else 0)
                _fcntl.fcntl(hfd, _fcntl.F_SETFL, hf)
            return 0
        if cmd in (F_SETLK, F_SETLKW):
            return 0
        if cmd == F_GETLK:
            # struct flock64 on o32: short l_type; ... l_type = F_UNLCK (2): no conflict
            self.write(arg, struct.pack("<h", 2))
            return 0
        raise SyscallError(E.EINVAL)

    @_sys("ioctl", nargs=3)
    def sys_ioctl(self, fd, req, arg):
        f = self._file(fd)
        tty = _host_isatty(f)
        if req == TIOCGWINSZ:
            if not tty:
                raise SyscallError(E.ENOTTY)
            import fcntl as _fcntl
            import termios
            ws = _fcntl.ioctl(f.host_fd(), termios.TIOCGWINSZ, bytes(8))
            self.write(arg, ws)
            return 0
        if req == TCGETS:
            if not tty:
                raise SyscallError(E.ENOTTY)
            # a plausible cooked-mode o32 struct termios (iflag oflag cflag lflag line cc[23])
            self.write(arg, struct.pack("<IIIIB23s", 0x2D02, 0x5, 0x8BD, 0x8A3B, 0, bytes(23)))
            return 0
        if req == FIONREAD:
            if f.kind == "host":
                st = os.fstat(f.hfd)
                if _stat.S_ISREG(st.st_mode):
                    avail = max(0, st.st_size - os.lseek(f.hfd, 0, os.SEEK_CUR))
                    self.write_u32(arg, avail)
                    return 0
            raise SyscallError(E.ENOTTY)
        self.unknown_ioctls[req] += 1
        raise SyscallError(E.ENOTTY)

    @_sys("pipe", nargs=0)
    def sys_pipe(self):
        r, w = self._make_pipe(0)
        return (r, w)

    @_sys("pipe2", nargs=2)
    def sys_pipe2(self, fds, flags):
        if flags & ~(O_CLOEXEC | O_NONBLOCK):
            raise SyscallError(E.EINVAL)
        self.read(fds, 8)
        r, w = self._make_pipe(flags)
        self.write(fds, struct.pack("<ii", r, w))
        return 0

    def _make_pipe(self, flags: int) -> tuple[int, int]:
        if len(self.fds) + 2 > MAX_FDS:
            raise SyscallError(E.EMFILE)
        hr, hw = os.pipe()
        os.set_blocking(hr, False)   # one thread: a read that would block returns EAGAIN
        r = self._install(self._lowest_fd(), _HostFile(hr, 0 | (flags & O_NONBLOCK)))
        w = self._install(self._lowest_fd(), _HostFile(hw, 1 | (flags & O_NONBLOCK)))
        if flags & O_CLOEXEC:
            self.cloexec.update((r, w))
        return r, w

    def _stat_path(self, dirfd, path, flags) -> os.stat_result | _FakeStat:
        name = self.read_cstr(path)
        if not name:
            if flags & AT_EMPTY_PATH:
                return self._fstat_file(self._file(dirfd)) if _s32(dirfd) != AT_FDCWD else \
                    os.stat(self.cwd)
            raise SyscallError(E.ENOENT)
        if name == b"/proc/self/exe":
            name = os.fsencode(self.exe_path)
        hpath, dir_fd = self._path(dirfd, name)
        return os.stat(hpath, dir_fd=dir_fd, follow_symlinks=not flags & AT_SYMLINK_NOFOLLOW)

    def _fstat_file(self, f: _File):
        st = f.fstat()
        return st if st is not None else _FakeStat(self.uid, self.gid)

    @_sys("fstat64", nargs=2)
    def sys_fstat64(self, fd, buf):
        self.write(buf, stat64_bytes(self._fstat_file(self._file(fd))))
        return 0

    @_sys("stat64", nargs=2)
    def sys_stat64(self, path, buf):
        self.write(buf, stat64_bytes(self._stat_path(AT_FDCWD, path, 0)))
        return 0

    @_sys("lstat64", nargs=2)
    def sys_lstat64(self, path, buf):
        self.write(buf, stat64_bytes(self._stat_path(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW)))
        return 0

    @_sys("fstatat64", nargs=4)
    def sys_fstatat64(self, dirfd, path, buf, flags):
        if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | 0x800):
            raise SyscallError(E.EINVAL)
        self.write(buf, stat64_bytes(self._stat_path(dirfd, path, flags)))
        return 0

    @_sys("statx", nargs=5)
    def sys_statx(self, dirfd, path, flags, mask, buf):
        if flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | 0x800 | 0x6000):
            raise SyscallError(E.EINVAL)
        self.write(buf, statx_bytes(self._stat_path(dirfd, path, flags), mask))
        return 0

    @_sys("access", nargs=2)
    def sys_access(self, path, mode):
        return self._faccessat(AT_FDCWD, path, mode, 0)

    @_sys("faccessat", nargs=3)
    def sys_faccessat(self, dirfd, path, mode):
        return self._faccessat(dirfd, path, mode, 0)

    @_sys("faccessat2", nargs=4)
    def sys_faccessat2(self, dirfd, path, mode, flags):
        return self._faccessat(dirfd, path, mode, flags)

    def _faccessat(self, dirfd, path, mode, flags):
        if mode & ~7:
            raise SyscallError(E.EINVAL)
        hpath, dir_fd = self._path(dirfd, self.read_cstr(path))
        if not os.path.lexists(hpath if dir_fd is None else os.path.join(b"/proc/self/fd/%d" % dir_fd, hpath)):
            raise SyscallError(E.ENOENT)
        if not os.access(hpath, mode, dir_fd=dir_fd,
                         follow_symlinks=not flags & AT_SYMLINK_NOFOLLOW):
            raise SyscallError(E.EACCES)
        return 0

    @_sys("getcwd", nargs=2)
    def sys_getcwd(self, buf, size):
        out = self.cwd + b"\0"
        if size < len(out):
            raise SyscallError(E.ERANGE)
        self.write(buf, out)
        return len(out)

    @_sys("chdir", nargs=1)
    def sys_chdir(self, path):
        hpath, _ = self._path(AT_FDCWD, self.read_cstr(path))
        return self._set_cwd(hpath)

    @_sys("fchdir", nargs=1)
    def sys_fchdir(self, fd):
        f = self._file(fd)
        if f.kind != "host" or not f.path:
            raise SyscallError(E.ENOTDIR)
        return self._set_cwd(f.path)

    def _set_cwd(self, hpath: bytes) -> int:
        st = os.stat(hpath)
        if not _stat.S_ISDIR(st.st_mode):
            raise SyscallError(E.ENOTDIR)
        self.cwd = os.path.normpath(os.path.join(self.cwd, hpath))
        return 0

    @_sys("readlink", nargs=3)
    def sys_readlink(self, path, buf, size):
        return self._readlinkat(AT_FDCWD, path, buf, size)

    @_sys("readlinkat", nargs=4)
    def sys_readlinkat(self, dirfd, path, buf, size):
        return self._readlinkat(dirfd, path, buf, size)

    def _readlinkat(self, dirfd, path, buf, size):
        if _s32(size) <= 0:
            raise SyscallError(E.EINVAL)
        name = self.read_cstr(path)
        if name == b"/proc/self/exe":
            target = os.fsencode(self.exe_path)
        else:
            hpath, dir_fd = self._path(dirfd, name)
            target = os.readlink(hpath, dir_fd=dir_fd)
        target = target[:size]
        self.write(buf, target)
        return len(target)

    @_sys("unlink", nargs=1)
    def sys_unlink(self, path):
        os.unlink(self._path(AT_FDCWD, self.read_cstr(path))[0])
        return 0

    @_sys("unlinkat", nargs=3)
    def sys_unlinkat(self, dirfd, path, flags):
        hpath, dir_fd = self._path(dirfd, self.read_cstr(path))
        if flags & AT_REMOVEDIR:
            os.rmdir(hpath, dir_fd=dir_fd)
        else:
            os.unlink(hpath, dir_fd=dir_fd)
        return 0

    @_sys("rmdir", nargs=1)
    def sys_rmdir(self, path):
        os.rmdir(self._path(AT_FDCWD, self.read_cstr(path))[0])
        return 0

    @_sys("mkdir", nargs=2)
    def sys_mkdir(self, path, mode):
        os.mkdir(self._path(AT_FDCWD, self.read_cstr(path))[0], mode & ~self.umask_value & 0o7777)
        return 0

    @_sys("mkdirat", nargs=3)
    def sys_mkdirat(self, dirfd, path, mode):
        hpath, dir_fd = self._path(dirfd, self.read_cstr(path))
        os.mkdir(hpath, mode & ~self.umask_value & 0o7777, dir_fd=dir_fd)
        return 0

    @_sys("rename", nargs=2)
    def sys_rename(self, old, new):
        os.rename(self._path(AT_FDCWD, self.read_cstr(old))[0],
                  self._path(AT_FDCWD, self.read_cstr(new))[0])
        return 0

    @_sys("renameat", nargs=4)
    def sys_renameat(self, olddir, old, newdir, new):
        a, da = self._path(olddir, self.read_cstr(old))
        b, db = self._path(newdir, self.read_cstr(new))
        os.rename(a, b, src_dir_fd=da, dst_dir_fd=db)
        return 0

    @_sys("renameat2", nargs=5)
    def sys_renameat2(self, olddir, old, newdir, new, flags):
        if flags:
            raise SyscallError(E.EINVAL)
        return self.sys_renameat(olddir, old, newdir, new)

    @_sys("chmod", nargs=2)
    def sys_chmod(self, path, mode):
        os.chmod(self._path(AT_FDCWD, self.read_cstr(path))[0], mode & 0o7777)
        return 0

    @_sys("fchmod", nargs=2)
    def sys_fchmod(self, fd, mode):
        hfd = self._file(fd).host_fd()
        if hfd is None:
            raise SyscallError(E.EINVAL)
        os.fchmod(hfd, mode & 0o7777)
        return 0

    @_sys("fchmodat", nargs=3)
    def sys_fchmodat(self, dirfd, path, mode):
        hpath, dir_fd = self._path(dirfd, self.read_cstr(path))
        os.chmod(hpath, mode & 0o7777, dir_fd=dir_fd)
        return 0

    @_sys("ftruncate64", nargs=4)
    def sys_ftruncate64(self, fd, _pad, lo, hi):
        f = self._file(fd)
        if f.kind != "host" or not f.writable:
            raise SyscallError(E.EINVAL)
        os.ftruncate(f.hfd, _s64(lo, hi))
        return 0

    @_sys("truncate64", nargs=4)
    def sys_truncate64(self, path, _pad, lo, hi):
        os.truncate(self._path(AT_FDCWD, self.read_cstr(path))[0], _s64(lo, hi))
        return 0

    @_sys("fsync", "fdatasync", "syncfs", nargs=1)
    def sys_fsync(self, fd):
        self._file(fd)
        return 0

    @_sys("fadvise64", nargs=7)
    def sys_fadvise64(self, fd, *_):
        self._file(fd)
        return 0

    @_sys("getdents64", nargs=3)
    def sys_getdents64(self, fd, buf, count):
        f = self._file(fd)
        if f.kind != "host" or not self._is_dir(f):
            raise SyscallError(E.ENOTDIR)
        if f.dir_entries is None:
            ents = []
            for nm in (b".", b".."):
                st = os.stat(nm, dir_fd=f.hfd)
                ents.append((st.st_ino, 4, nm))
            with os.scandir(f.hfd) as it:
                for de in it:
                    try:
                        mode = de.stat(follow_symlinks=False).st_mode
                    except OSError:
                        mode = 0
                    ents.append((de.inode(), _DT.get(_stat.S_IFMT(mode), 0), os.fsencode(de.name)))
            f.dir_entries = ents
            f.dir_pos = 0
        out = bytearray()
        while f.dir_pos < len(f.dir_entries):
            ino, dt, nm = f.dir_entries[f.dir_pos]
            reclen = (19 + len(nm) + 1 + 7) & ~7
            if len(out) + reclen > count:
                break
            rec = struct.pack("<QqHB", ino, f.dir_pos + 1, reclen, dt) + nm
            out += rec.ljust(reclen, b"\0")
            f.dir_pos += 1
        if not out and f.dir_pos < len(f.dir_entries):
            raise SyscallError(E.EINVAL)
        self.write(buf, bytes(out))
        return len(out)

    # ---- memory
    @_sys("brk", nargs=1)
    def sys_brk(self, new):
        if new < self.brk_start:
            return self.brk_cur
        old_end, new_end = _page_up(self.brk_cur), _page_up(new)
        if new_end > TASK_SIZE:
            return self.brk_cur
        if new_end > old_end:
            v0, v1 = old_end >> PAGE_SHIFT, new_end >> PAGE_SHIFT
            if self.vm[v0:v1].any():
                return self.brk_cur            # would run into a mapping: refuse
            self._reserve(old_end, new_end - old_end, PROT_READ | PROT_WRITE)
        elif new_end < old_end:
            self._unmap_range(new_end >> PAGE_SHIFT, old_end >> PAGE_SHIFT)
        self.brk_cur = new
        return new

    def find_free(self, npages: int, hint: int = 0) -> int:
        """Lowest vpn of a free run of npages: the hint if free, else top-down below MMAP_BASE."""
        if hint:
            h = hint >> PAGE_SHIFT
            if MMAP_MIN >> PAGE_SHIFT <= h and h + npages <= TASK_SIZE >> PAGE_SHIFT and \
                    not self.vm[h:h + npages].any():
                return h
        for lo, hi in ((MMAP_MIN >> PAGE_SHIFT, MMAP_BASE >> PAGE_SHIFT),
                       (MMAP_BASE >> PAGE_SHIFT, TASK_SIZE >> PAGE_SHIFT)):
            used = np.flatnonzero(self.vm[lo:hi]) + lo
            bounds = np.concatenate(([lo - 1], used, [hi]))
            gaps = np.diff(bounds) - 1
            ok = np.flatnonzero(gaps >= npages)
            if len(ok):
                k = int(ok[-1])
                return int(bounds[k + 1]) - npages
        raise SyscallError(E.ENOMEM)

    def mmap(self, addr: int, length: int, prot: int, flags: int, fd: int, offset: int) -> int:
        """Linux mmap semantics (MIPS flag values); returns the address or raises SyscallError."""
        if length == 0 or length > TASK_SIZE:
            raise SyscallError(E.EINVAL)
        if offset & (PAGE - 1):
            raise SyscallError(E.EINVAL)
        mtype = flags & 0xF
        if mtype not in (MAP_SHARED, MAP_PRIVATE, MAP_SHARED_VALIDATE):
            raise SyscallError(E.EINVAL)
        npages = _page_up(length) >> PAGE_SHIFT
        anon = bool(flags & MAP_ANONYMOUS)
        f = None
        if not anon:
            f = self._file(fd)
            if f.kind != "host" or not f.readable:
                raise SyscallError(E.EACCES if f.kind == "host" else E.ENODEV)
            if mtype != MAP_PRIVATE and prot & PROT_WRITE and not f.writable:
                raise SyscallError(E.EACCES)
        if flags & (MAP_FIXED | MAP_FIXED_NOREPLACE):
            if addr & (PAGE - 1):
                raise SyscallError(E.EINVAL)
            vpn = addr >> PAGE_SHIFT
            if addr + npages * PAGE > TASK_SIZE or addr < MMAP_MIN:
                raise SyscallError(E.ENOMEM if addr else E.EPERM)
            if flags & MAP_FIXED_NOREPLACE and not flags & MAP_FIXED:
                if self.vm[vpn:vpn + npages].any():
                    raise SyscallError(E.EEXIST)
            else:
                self._unmap_range(vpn, vpn + npages)
        else:
            vpn = self.find_free(npages, addr & ~(PAGE - 1))
        va = vpn << PAGE_SHIFT
        self._reserve(va, npages * PAGE, prot)
        if not anon:
            data = f.pread(npages * PAGE, offset)
            try:
                for i in range(0, len(data), PAGE):
                    pa = self.pages.alloc()
                    self.frame[vpn + i // PAGE] = pa
                    chunk = data[i:i + PAGE]
                    self.m.ram8[pa:pa + len(chunk)] = np.frombuffer(chunk, np.uint8)
                    self._set_pte(vpn + i // PAGE)
            except MemoryError:
                self._unmap_range(vpn, vpn + npages)
                raise SyscallError(E.ENOMEM) from None
            if mtype != MAP_PRIVATE and prot & PROT_WRITE:
                self.shared_maps.append([vpn, npages, os.dup(f.hfd), offset])
        return va

    @_sys("mmap2", nargs=6)
    def sys_mmap2(self, addr, length, prot, flags, fd, pgoff):
        return self.mmap(addr, length, prot, flags, _s32(fd), pgoff * PAGE)

    @_sys("mmap", nargs=6)
    def sys_mmap(self, addr, length, prot, flags, fd, off):
        return self.mmap(addr, length, prot, flags, _s32(fd), off)

    def _range(self, addr: int, length: int) -> tuple[int, int]:
        if addr & (PAGE - 1):
            raise SyscallError(E.EINVAL)
        end = _page_up(addr + length)
        if end > 1 << 32 or end < addr:
            raise SyscallError(E.EINVAL)
        return addr >> PAGE_SHIFT, end >> PAGE_SHIFT

    @_sys("munmap", nargs=2)
    def sys_munmap(self, addr, length):
        if length == 0:
            raise SyscallError(E.EINVAL)
        v0, v1 = self._range(addr, length)
        self._unmap_range(v0, v1)
        return 0

    @_sys("mprotect", nargs=3)
    def sys_mprotect(self, addr, length, prot):
        if prot & ~7:
            raise SyscallError(E.EINVAL)
        v0, v1 = self._range(addr, length)
        if not (self.vm[v0:v1] & VM_MAPPED).all():
            raise SyscallError(E.ENOMEM)
        self.vm[v0:v1] = prot | VM_MAPPED
        for vpn in np.flatnonzero(self.frame[v0:v1] >= 0) + v0:
            self._set_pte(int(vpn))
        self.m.tc_tag.fill(-1)
        return 0

    @_sys("madvise", nargs=3)
    def sys_madvise(self, addr, length, advice):
        if addr & (PAGE - 1):
            raise SyscallError(E.EINVAL)
        return 0

    @_sys("mremap", nargs=5)
    def sys_mremap(self, old, old_len, new_len, flags, new_addr):
        if flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED) or old & (PAGE - 1) or new_len == 0:
            raise SyscallError(E.EINVAL)
        if flags & MREMAP_FIXED:
            raise SyscallError(E.EINVAL)      # not needed by musl
        v0 = old >> PAGE_SHIFT
        n_old, n_new = _page_up(old_len) >> PAGE_SHIFT, _page_up(new_len) >> PAGE_SHIFT
        if not (self.vm[v0:v0 + n_old] & VM_MAPPED).all():
            raise SyscallError(E.EFAULT)
        if n_new <= n_old:
            self._unmap_range(v0 + n_new, v0 + n_old)
            return old
        prot = int(self.vm[v0]) & 7
        if not self.vm[v0 + n_old:v0 + n_new].any() and v0 + n_new <= TASK_SIZE >> PAGE_SHIFT:
            self._reserve((v0 + n_old) << PAGE_SHIFT, (n_new - n_old) * PAGE, prot)
            return old
        if not flags & MREMAP_MAYMOVE:
            raise SyscallError(E.ENOMEM)
        nv = self.find_free(n_new)
        # move the pages: the frames keep their contents, only the mapping changes
        self.vm[nv:nv + n_old] = self.vm[v0:v0 + n_old]
        self.frame[nv:nv + n_old] = self.frame[v0:v0 + n_old]
        self.vm[nv + n_old:nv + n_new] = prot | VM_MAPPED
        for vpn in range(nv, nv + n_old):
            self._set_pte(vpn)
        self.frame[v0:v0 + n_old] = -1
        self.vm[v0:v0 + n_old] = 0
        self.m.ptab[v0:v0 + n_old] = 0
        self.m.tc_tag.fill(-1)
        return nv << PAGE_SHIFT

    @_sys("msync", nargs=3)
    def sys_msync(self, addr, length, flags):
        v0, v1 = self._range(addr, length)
        self._writeback_shared(v0, v1, drop=False)
        return 0

    def _writeback_shared(self, v0: int, v1: int, drop: bool) -> None:
        """Copy pages [v0, v1) of writable MAP_SHARED file mappings back to their files."""
        keep = []
        for ent in self.shared_maps:
            s, n, hfd, off = ent
            a, b = max(s, v0), min(s + n, v1)
            if a < b:
                try:
                    size = os.fstat(hfd).st_size
                    for vpn in range(a, b):
                        pa = int(self.frame[vpn])
                        foff = off + (vpn - s) * PAGE
                        if pa < 0 or foff >= size:
                            continue
                        k = min(PAGE, size - foff)
                        os.pwrite(hfd, self.m.ram8[pa:pa + k].tobytes(), foff)
                except OSError:
                    pass
                if drop and a == s and b == s + n:
                    os.close(hfd)
                    continue
            keep.append(ent)
        self.shared_maps = keep

    @_sys("mlock", "munlock", nargs=2)
    def sys_mlock(self, addr, length):
        return 0

    @_sys("mincore", nargs=3)
    def sys_mincore(self, addr, length, vec):
        v0, v1 = self._range(addr, length)
        if not (self.vm[v0:v1] & VM_MAPPED).all():
            raise SyscallError(E.ENOMEM)
        self.write(vec, (self.frame[v0:v1] >= 0).astype(np.uint8).tobytes())
        return 0

    # ---- synchronisation (a single thread never waits for anyone)
    @_sys("futex", nargs=6)
    def sys_futex(self, uaddr, op, val, timeout, uaddr2, val3):
        return self._futex(uaddr, op, val, timeout, False)

    @_sys("futex_time64", nargs=6)
    def sys_futex64(self, uaddr, op, val, timeout, uaddr2, val3):
        return self._futex(uaddr, op, val, timeout, True)

    def _futex(self, uaddr, op, val, timeout, wide):
        cmd = op & 0x7F
        if cmd in (0, 9):                          # FUTEX_WAIT, FUTEX_WAIT_BITSET
            if self.read_u32(uaddr) != val:
                raise SyscallError(E.EAGAIN)
            if timeout:
                ns = self._read_timespec(timeout, wide)
                if cmd == 9:
                    ns -= self.now_ns(CLOCK_REALTIME if op & 256 else CLOCK_MONOTONIC)
                self._sleep_ns(ns)
                raise SyscallError(E.ETIMEDOUT)
            self._die(SIGKILL, ": deadlock: FUTEX_WAIT with no other thread to wake it")
        if cmd in (1, 3, 4, 5, 10):                # WAKE, REQUEUE, CMP_REQUEUE, WAKE_OP, WAKE_BITSET
            return 0
        raise SyscallError(E.ENOSYS)

    # ----------------------------------------------------------- exceptions from the CPU
    def handle_exception(self, exc: int, badvaddr: int, epc: int, bd: int) -> None:
        """React to an EXIT_EXCEPTION: serve a syscall, page in demand-zero memory
        (the faulting instruction then simply re-executes), or kill the process."""
        if exc == EXC_SYS:
            self.handle_syscall(epc)
            return
        if exc in (EXC_TLBL, EXC_TLBS, EXC_MOD):
            vpn = (badvaddr & 0xFFFFFFFF) >> PAGE_SHIFT
            st = int(self.vm[vpn])
            need = PROT_WRITE if exc != EXC_TLBL else (PROT_READ | PROT_WRITE | PROT_EXEC)
            if st & VM_MAPPED and st & need and self.frame[vpn] < 0:
                try:
                    self._populate(vpn)
                except MemoryError:
                    self._die(SIGKILL, f": out of simulated RAM ({len(self.m.ram8) >> 20} MiB)"
                                       f" touching 0x{badvaddr:08x}")
                if self.m.ptab[vpn]:
                    # retry the instruction; in a delay slot, from its branch (EPC)
                    self.m.cpu[0, PC] = epc
                    self.m.cpu[0, NPC] = (epc + 4) & 0xFFFFFFFF
                    return
            self._fault(SIGSEGV, exc, badvaddr, epc)
        if exc in (EXC_ADEL, EXC_ADES):
            self._fault(SIGSEGV if badvaddr >= TASK_SIZE else SIGBUS, exc, badvaddr, epc)
        if exc in (EXC_BP, EXC_TR):
            # like Linux's do_trap_or_bp: break/trap codes 6 (overflow) and 7
            # (divide by zero, what compilers emit after div) are SIGFPE
            code = self._trap_code(exc, epc + 4 if bd else epc)
            sig = SIGFPE if code in (BRK_OVERFLOW, BRK_DIVZERO) else SIGTRAP
            self._fault(sig, exc, badvaddr, epc, f", code {code}" if code is not None else "")
        sig = {EXC_RI: SIGILL, EXC_CPU: SIGILL, EXC_FPE: SIGFPE, EXC_OV: SIGFPE}.get(exc, SIGILL)
        self._fault(sig, exc, badvaddr, epc)

    def _trap_code(self, exc: int, va: int) -> int | None:
        try:
            insn = self.read_u32(va)
        except (GuestFault, SyscallError):
            return None
        if insn >> 26 == 0 and insn & 0x3F == 0x0D:          # BREAK
            code = (insn >> 6) & 0xFFFFF
            if code >= 1 << 10:
                code = ((code & 0x3FF) << 10) | (code >> 10)
            return code
        if insn >> 26 == 0 and 0x30 <= insn & 0x3F <= 0x36:   # TGE .. TNE: 10-bit code
            return (insn >> 6) & 0x3FF
        return 0

    def _fault(self, sig: int, exc: int, badvaddr: int, epc: int, extra: str = "") -> None:
        """A synchronous fault: like Linux's force_sig_fault, it kills even when the
        signal is blocked or ignored (guest handlers are not run)."""
        detail = (f": {EXC_NAMES.get(exc, f'exception {exc}')}{extra} at pc=0x{epc:08x} "
                  f"<{self.image.symbolize(epc)}>, badvaddr=0x{badvaddr & 0xFFFFFFFF:08x}")
        h = self.sig_handler(sig)
        if h > 1:
            detail += f" (guest handler 0x{h:08x} not run: signal delivery is not implemented)"
        self._die(sig, detail)

    # ----------------------------------------------------------- the run loop
    def run(self, *, budget_per_slice: int = 1 << 24, max_insns: int | None = None,
            run_fn=None) -> ProcessResult:
        """Run until the process exits or is killed; return its ProcessResult."""
        if run_fn is None:
            from flashvm.kernels.run import run as run_fn
        m = self.m
        t0 = time.perf_counter()
        try:
            if self.exited is None:
                while True:
                    budget = budget_per_slice
                    if max_insns is not None:
                        left = max_insns - self.insns
                        if left <= 0:
                            self._die(SIGXCPU, f": instruction limit {max_insns} reached at "
                                               f"pc=0x{int(m.cpu[0, PC]):08x} "
                                               f"<{self.image.symbolize(int(m.cpu[0, PC]))}>")
                        budget = min(budget, left)
                    reason = int(run_fn(m, budget))
                    if reason == EXIT_BUDGET:
                        continue
                    if reason == EXIT_EXCEPTION:
                        x = m.exitrec
                        self.handle_exception(int(x[X_A0]), int(x[X_A1]) & 0xFFFFFFFF,
                                              int(x[X_A2]) & 0xFFFFFFFF, int(x[X_A3]))
                        continue
                    name = EXIT_NAMES[reason] if 0 <= reason < len(EXIT_NAMES) else str(reason)
                    raise RuntimeError(f"process mode: unexpected exit reason {name} from the CPU "
                                       f"at pc=0x{int(m.cpu[0, PC]):08x}")
        except _ProcessExit as e:
            self.exited = e
            if e.message:
                self._diag(e.message)
        finally:
            self.wall_seconds = time.perf_counter() - t0
            self.close_all()
        e = self.exited
        return ProcessResult(
            status=e.status, insns=self.insns,
            syscalls_by_number=Counter(self.syscalls_by_number),
            unknown_syscalls=Counter(self.unknown_syscalls),
            exit_code=None if e.signal else e.status, signal=e.signal, message=e.message,
            wall_seconds=self.wall_seconds, sim_ns=self.now_ns(CLOCK_MONOTONIC))

    def _diag(self, msg: str) -> None:
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


def run_process(path, argv=None, env=None, *, stdin=None, stdout=None, stderr=None,
                budget_per_slice: int = 1 << 24, max_insns: int | None = None,
                **kwargs) -> ProcessResult:
    """Run the static mipsel executable at `path` to completion.

    argv is the full argument vector (argv[0] included; default [path]); env a
    dict or a list of "NAME=value" (default: empty).  stdin/stdout/stderr are
    binary or text Python streams or host fd numbers (None: no input, and the
    host's sys.stdout / sys.stderr).  Further keyword arguments go to
    `LinuxProcess` (ram_bytes, clock, ns_per_insn, seed, pid, uid, gid, cwd, diag).
    """
    proc = LinuxProcess(path, argv, env, stdin=stdin, stdout=stdout, stderr=stderr, **kwargs)
    return proc.run(budget_per_slice=budget_per_slice, max_insns=max_insns)


def main(args=None) -> int:
    """``python -m flashvm.machine.process [options] PROGRAM [ARG...]``: run a static
    mipsel Linux program on the simulated CPU with the host's stdin/stdout/stderr."""
    import argparse
    ap = argparse.ArgumentParser(prog="python -m flashvm.machine.process",
                                 description=main.__doc__.split(":", 1)[0])
    ap.add_argument("--max-insns", type=int, default=None, help="stop after this many instructions")
    ap.add_argument("--host-clock", action="store_true",
                    help="use the host's clocks instead of the deterministic instruction clock")
    ap.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                    help="environment variable for the guest (repeatable; default: none)")
    ap.add_argument("--pass-env", action="store_true", help="give the guest the host's environment")
    ap.add_argument("--ram-mib", type=int, default=DEFAULT_RAM >> 20)
    ap.add_argument("--stats", action="store_true", help="print instruction and syscall counts to stderr")
    ap.add_argument("program")
    ap.add_argument("args", nargs=argparse.REMAINDER)
    o = ap.parse_args(args)
    env = [f"{k}={v}" for k, v in os.environ.items()] if o.pass_env else []
    env += o.env
    try:
        r = run_process(o.program, [o.program, *o.args], env, stdin=0, stdout=1, stderr=2,
                        max_insns=o.max_insns, clock="host" if o.host_clock else "deterministic",
                        ram_bytes=o.ram_mib << 20)
    except ValueError as e:        # ElfError and bad options: one line, no traceback
        print(f"flashvm: {e}", file=sys.stderr)
        return 126
    if o.stats:
        print(f"flashvm: {r.insns} instructions, {r.syscalls} system calls "
              f"{r.syscalls_by_name}, unknown {r.unknown_syscall_names}, "
              f"{r.wall_seconds:.2f} s ({r.insns / max(r.wall_seconds, 1e-9) / 1e6:.1f} MIPS)",
              file=sys.stderr)
    return r.status


if __name__ == "__main__":
    sys.exit(main())
