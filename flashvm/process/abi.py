"""The Linux o32 ABI as a MIPS process sees it: system call numbers and names,
errno and signal numbers, flag values, clocks, ioctl requests, auxv keys, and
the conversions between o32 register words and Python integers.

Values are MIPS's (they differ from the host's: errno, signals, O_* flags);
nothing here depends on the simulator.
"""
from __future__ import annotations

import errno as _errno
import os

PAGE = 4096
PAGE_SHIFT = 12
TASK_SIZE = 0x7FFF8000           # first address user mode cannot map (Linux mips32)
MAX_FDS = 1024


def s32(v: int) -> int:
    """A register word as a signed 32-bit integer."""
    v &= 0xFFFFFFFF
    return v - (1 << 32) if v & 0x80000000 else v


def u64(lo: int, hi: int) -> int:
    """A 64-bit argument passed in a pair of registers (low word first on mipsel)."""
    return (lo & 0xFFFFFFFF) | ((hi & 0xFFFFFFFF) << 32)


def s64(lo: int, hi: int) -> int:
    v = u64(lo, hi)
    return v - (1 << 64) if v >> 63 else v


def page_up(x: int) -> int:
    return (x + PAGE - 1) & ~(PAGE - 1)


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
class E:
    """MIPS errno values by name (E.ENOENT etc.); a class so the names are typed."""
    EPERM = 1
    ENOENT = 2
    ESRCH = 3
    EINTR = 4
    EIO = 5
    ENXIO = 6
    E2BIG = 7
    ENOEXEC = 8
    EBADF = 9
    ECHILD = 10
    EAGAIN = 11
    ENOMEM = 12
    EACCES = 13
    EFAULT = 14
    ENOTBLK = 15
    EBUSY = 16
    EEXIST = 17
    EXDEV = 18
    ENODEV = 19
    ENOTDIR = 20
    EISDIR = 21
    EINVAL = 22
    ENFILE = 23
    EMFILE = 24
    ENOTTY = 25
    ETXTBSY = 26
    EFBIG = 27
    ENOSPC = 28
    ESPIPE = 29
    EROFS = 30
    EMLINK = 31
    EPIPE = 32
    EDOM = 33
    ERANGE = 34
    ENOMSG = 35
    EIDRM = 36
    ECHRNG = 37
    EL2NSYNC = 38
    EL3HLT = 39
    EL3RST = 40
    ELNRNG = 41
    EUNATCH = 42
    ENOCSI = 43
    EL2HLT = 44
    EDEADLK = 45
    ENOLCK = 46
    EBADE = 50
    EBADR = 51
    EXFULL = 52
    ENOANO = 53
    EBADRQC = 54
    EBADSLT = 55
    EDEADLOCK = 56
    EBFONT = 59
    ENOSTR = 60
    ENODATA = 61
    ETIME = 62
    ENOSR = 63
    ENONET = 64
    ENOPKG = 65
    EREMOTE = 66
    ENOLINK = 67
    EADV = 68
    ESRMNT = 69
    ECOMM = 70
    EPROTO = 71
    EDOTDOT = 73
    EMULTIHOP = 74
    EBADMSG = 77
    ENAMETOOLONG = 78
    EOVERFLOW = 79
    ENOTUNIQ = 80
    EBADFD = 81
    EREMCHG = 82
    ELIBACC = 83
    ELIBBAD = 84
    ELIBSCN = 85
    ELIBMAX = 86
    ELIBEXEC = 87
    EILSEQ = 88
    ENOSYS = 89
    ELOOP = 90
    ERESTART = 91
    ESTRPIPE = 92
    ENOTEMPTY = 93
    EUSERS = 94
    ENOTSOCK = 95
    EDESTADDRREQ = 96
    EMSGSIZE = 97
    EPROTOTYPE = 98
    ENOPROTOOPT = 99
    EPROTONOSUPPORT = 120
    ESOCKTNOSUPPORT = 121
    EOPNOTSUPP = 122
    ENOTSUP = 122
    EPFNOSUPPORT = 123
    EAFNOSUPPORT = 124
    EADDRINUSE = 125
    EADDRNOTAVAIL = 126
    ENETDOWN = 127
    ENETUNREACH = 128
    ENETRESET = 129
    ECONNABORTED = 130
    ECONNRESET = 131
    ENOBUFS = 132
    EISCONN = 133
    ENOTCONN = 134
    EUCLEAN = 135
    ENOTNAM = 137
    ENAVAIL = 138
    EISNAM = 139
    EREMOTEIO = 140
    ESHUTDOWN = 143
    ETOOMANYREFS = 144
    ETIMEDOUT = 145
    ECONNREFUSED = 146
    EHOSTDOWN = 147
    EHOSTUNREACH = 148
    EWOULDBLOCK = 11
    EALREADY = 149
    EINPROGRESS = 150
    ESTALE = 151
    ECANCELED = 158
    ENOMEDIUM = 159
    EMEDIUMTYPE = 160
    ENOKEY = 161
    EKEYEXPIRED = 162
    EKEYREVOKED = 163
    EKEYREJECTED = 164
    EOWNERDEAD = 165
    ENOTRECOVERABLE = 166
    ERFKILL = 167
    EHWPOISON = 168
    EDQUOT = 1133


MIPS_ERRNO: dict[str, int] = {k: v for k, v in vars(E).items() if k.startswith("E")}


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
SIGNAL_TEXT = {
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
SIGPIPE, SIGSTOP, SIGXCPU = 13, 23, 30
SIGCHLD = 18
BRK_OVERFLOW, BRK_DIVZERO = 6, 7
NSIG = 128
SIG_DEFAULT_IGNORE = {18, 20, 21, 25, 23, 24, 26, 27}  # CHLD WINCH URG CONT + stops (no job control)
SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK = 1, 2, 3

# --------------------------------------------------------------- MIPS flag values
O_ACCMODE = 3
O_APPEND, O_DSYNC, O_NONBLOCK, O_CREAT = 0o10, 0o20, 0o200, 0o400
O_TRUNC, O_EXCL, O_NOCTTY, O_ASYNC = 0o1000, 0o2000, 0o4000, 0o10000
O_LARGEFILE, O_DIRECT, O_DIRECTORY, O_NOFOLLOW = 0o20000, 0o100000, 0o200000, 0o400000
O_NOATIME, O_CLOEXEC, O_PATH, O_SYNC = 0o1000000, 0o2000000, 0o10000000, 0o40020
OFLAG_MAP = [  # (mips, host)
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
REALTIME_CLOCKS = {CLOCK_REALTIME, CLOCK_REALTIME_COARSE, 8, CLOCK_TAI}
CPU_CLOCKS = {CLOCK_PROCESS_CPUTIME_ID, CLOCK_THREAD_CPUTIME_ID}
VALID_CLOCKS = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 11}
TIMER_ABSTIME = 1

# auxv
AT_NULL, AT_PHDR, AT_PHENT, AT_PHNUM, AT_PAGESZ, AT_BASE, AT_FLAGS, AT_ENTRY = 0, 3, 4, 5, 6, 7, 8, 9
AT_UID, AT_EUID, AT_GID, AT_EGID, AT_HWCAP, AT_CLKTCK = 11, 12, 13, 14, 16, 17
AT_SECURE, AT_RANDOM, AT_EXECFN = 23, 25, 31
CLK_TCK = 100

# MIPS rlimit resources
RLIMIT_STACK, RLIMIT_NOFILE = 3, 5
RLIM_INFINITY = (1 << 64) - 1

# clone(2) flags
CLONE_VM, CLONE_FS, CLONE_FILES, CLONE_SIGHAND = 0x100, 0x200, 0x400, 0x800
CLONE_VFORK, CLONE_THREAD, CLONE_SETTLS = 0x4000, 0x10000, 0x80000
CLONE_PARENT_SETTID, CLONE_CHILD_CLEARTID, CLONE_CHILD_SETTID = 0x100000, 0x200000, 0x1000000
WNOHANG = 1
FUTEX_WAIT, FUTEX_WAKE, FUTEX_REQUEUE, FUTEX_CMP_REQUEUE, FUTEX_WAKE_OP = 0, 1, 3, 4, 5
FUTEX_WAIT_BITSET, FUTEX_WAKE_BITSET = 9, 10
FUTEX_CLOCK_REALTIME = 256
