"""Task system calls: identity (pids, uids), thread-area and robust-list
bookkeeping, scheduling, resource limits, uname, getrandom, sysinfo, prctl.  Threads, futexes
and exit are in `thread`, fork/execve/wait4 in `child`."""
from __future__ import annotations

import struct

from flashvm.kernels.state import CP0_Context, CP0_Status, SEL_UserLocal, St_FR
from flashvm.process.abi import (
    CLOCK_MONOTONIC, MAX_FDS, PAGE, RLIM_INFINITY, RLIMIT_NOFILE, RLIMIT_STACK, E,
)
from flashvm.process.errors import Blocked, SyscallError
from flashvm.process.memory import STACK_SIZE
from flashvm.process.syscalls.table import syscall


@syscall("getpid", "getpgrp", nargs=0)
def sys_getpid(p):
    return p.pid


@syscall("getpgid", "getsid", nargs=1)
def sys_getpgid(p, pid):
    if pid not in (0, p.pid):
        raise SyscallError(E.ESRCH)
    return p.pid


@syscall("setsid", "setpgid", nargs=0)
def sys_setsid(p):
    return -E.EPERM


@syscall("getuid", "geteuid", nargs=0)
def sys_getuid(p):
    return p.uid


@syscall("getgid", "getegid", nargs=0)
def sys_getgid(p):
    return p.gid


@syscall("getresuid", nargs=3)
def sys_getresuid(p, a, b, c):
    for ptr in (a, b, c):
        p.write_u32(ptr, p.uid)
    return 0


@syscall("getresgid", nargs=3)
def sys_getresgid(p, a, b, c):
    for ptr in (a, b, c):
        p.write_u32(ptr, p.gid)
    return 0


@syscall("set_robust_list", nargs=2)
def sys_set_robust_list(p, head, length):
    if length != 12:
        raise SyscallError(E.EINVAL)
    p.robust_list = head
    return 0


@syscall("set_thread_area", nargs=1)
def sys_set_thread_area(p, addr):
    p.m.cp0[0, CP0_Context, SEL_UserLocal] = addr
    return 0


@syscall("uname", nargs=1)
def sys_uname(p, buf):
    fields = [b"Linux", b"flashvm", b"6.1.0-flashvm", b"#1 SMP flashvm", b"mips", b"(none)"]
    p.write(buf, b"".join(f.ljust(65, b"\0") for f in fields))
    return 0


@syscall("umask", nargs=1)
def sys_umask(p, mask):
    old, p.umask_value = p.umask_value, mask & 0o777
    return old


@syscall("sched_yield", nargs=0)
def sys_sched_yield(p):
    if len(p.sched.runnable) > 1:          # to the back of the queue, the call done
        raise Blocked(done=True, what="yielding")
    return 0


@syscall("sched_getaffinity", nargs=3)
def sys_sched_getaffinity(p, pid, size, mask):
    if size < 4 or size & 3:
        raise SyscallError(E.EINVAL)
    p.write(mask, struct.pack("<I", 1))
    return 4


@syscall("getcpu", nargs=3)
def sys_getcpu(p, cpu, node, cache):
    for ptr in (cpu, node):
        if ptr:
            p.write_u32(ptr, 0)
    return 0


@syscall("prlimit64", nargs=4)
def sys_prlimit64(p, pid, resource, new, old):
    if pid not in (0, p.pid):
        raise SyscallError(E.ESRCH)
    if old:
        cur = mx = RLIM_INFINITY
        if resource == RLIMIT_STACK:
            cur = STACK_SIZE          # the default limit; the stack reserved may be larger
        elif resource == RLIMIT_NOFILE:
            cur = mx = MAX_FDS
        p.write(old, struct.pack("<QQ", cur, mx))
    return 0


@syscall("getrlimit", nargs=2)
def sys_getrlimit(p, resource, old):
    cur = mx = 0x7FFFFFFF  # RLIM_INFINITY for the old 32-bit interface on MIPS
    if resource == RLIMIT_STACK:
        cur = STACK_SIZE
    elif resource == RLIMIT_NOFILE:
        cur = mx = MAX_FDS
    p.write(old, struct.pack("<II", cur, mx))
    return 0


@syscall("setrlimit", nargs=2)
def sys_setrlimit(p, resource, new):
    return 0


@syscall("getrandom", nargs=3)
def sys_getrandom(p, buf, n, flags):
    n = min(n, 1 << 25)
    p.write(buf, p.rng.randbytes(n))
    return n


PR_SET_NAME, PR_GET_NAME = 15, 16
PR_SET_FP_MODE, PR_GET_FP_MODE = 45, 46
PR_FP_MODE_FR, PR_FP_MODE_FRE = 1, 2


@syscall("prctl", nargs=5)
def sys_prctl(p, option, arg2, arg3, arg4, arg5):
    """The floating-point mode (glibc's loader asks it for FPXX objects) and the
    thread name; other options are EINVAL, as Linux answers an unknown one."""
    if option == PR_GET_FP_MODE:
        return p.fp_mode
    if option == PR_SET_FP_MODE:
        if arg2 & ~(PR_FP_MODE_FR | PR_FP_MODE_FRE):
            raise SyscallError(E.EINVAL)
        if arg2 & PR_FP_MODE_FRE:
            raise SyscallError(E.EOPNOTSUPP)     # the 24Kf has no FRE; FR=1 it has (FIR.F64)
        status = int(p.m.cp0[0, CP0_Status, 0])
        p.m.cp0[0, CP0_Status, 0] = (status | St_FR) if arg2 & PR_FP_MODE_FR else (status & ~St_FR)
        p.fp_mode = arg2
        return 0
    if option == PR_SET_NAME:
        p.comm = p.read_cstr(arg2, 4096)[:15]
        return 0
    if option == PR_GET_NAME:
        p.write(arg2, p.comm.ljust(16, b"\0"))
        return 0
    raise SyscallError(E.EINVAL)


@syscall("sysinfo", nargs=1)
def sys_sysinfo(p, buf):
    """o32 struct sysinfo: uptime from the monotonic clock, no load, the RAM the
    guest may grow to as total (free: what is not yet handed out), no swap."""
    pages = p.pages
    total = pages.max_pages * PAGE
    free = total - (pages.npages - pages.free_pages) * PAGE
    uptime = p.now_ns(CLOCK_MONOTONIC) // 1_000_000_000
    p.write(buf, struct.pack("<i3I6IHH2II8x", uptime, 0, 0, 0, total & 0xFFFFFFFF,
                             free & 0xFFFFFFFF, 0, 0, 0, 0, len(p.sched.procs), 0, 0, 0, 1))
    return 0
