"""Time system calls: clocks, gettimeofday/time/times/getrusage and the sleeps.

The clocks themselves (deterministic from the instruction count, or the
host's) are the process's: `LinuxProcess.now_ns` and `sleep_ns`.
"""
from __future__ import annotations

import struct

from flashvm.process.abi import (
    CLK_TCK, CLOCK_MONOTONIC, CLOCK_PROCESS_CPUTIME_ID, CLOCK_REALTIME, CLOCK_THREAD_CPUTIME_ID,
    TIMER_ABSTIME, VALID_CLOCKS, E, s32,
)
from flashvm.process.errors import SyscallError
from flashvm.process.syscalls.table import syscall


def write_timespec(p, ptr: int, ns: int, wide: bool) -> None:
    """Store ns as a struct timespec (wide: the 64-bit time_t one of the *_time64 calls)."""
    sec, nsec = divmod(ns, 1_000_000_000)
    if wide:
        p.write(ptr, struct.pack("<qq", sec, nsec))
    else:
        p.write(ptr, struct.pack("<iI", s32(sec), nsec))


def read_timespec(p, ptr: int, wide: bool) -> int:
    """A struct timespec in ns (EINVAL if malformed or negative)."""
    if wide:
        sec, nsec = struct.unpack("<qq", p.read(ptr, 16))
        nsec &= 0xFFFFFFFF   # the upper half is padding for 32-bit userspace
        nsec = s32(nsec)
    else:
        sec, nsec = struct.unpack("<ii", p.read(ptr, 8))
    if not 0 <= nsec < 1_000_000_000 or sec < 0:
        raise SyscallError(E.EINVAL)
    return sec * 1_000_000_000 + nsec


def clock_arg(clk: int) -> int:
    """The clock id a guest passed, checked (EINVAL if unknown)."""
    clk = s32(clk)
    if clk < 0:      # CPU-time clocks of a pid/thread (musl's clock_getcpuclockid)
        return CLOCK_PROCESS_CPUTIME_ID
    if clk not in VALID_CLOCKS:
        raise SyscallError(E.EINVAL)
    return clk


@syscall("clock_gettime", nargs=2)
def sys_clock_gettime(p, clk, tp):
    write_timespec(p, tp, p.now_ns(clock_arg(clk)), False)
    return 0


@syscall("clock_gettime64", nargs=2)
def sys_clock_gettime64(p, clk, tp):
    write_timespec(p, tp, p.now_ns(clock_arg(clk)), True)
    return 0


@syscall("clock_getres", nargs=2)
def sys_clock_getres(p, clk, tp):
    clock_arg(clk)
    if tp:
        write_timespec(p, tp, 1, False)
    return 0


@syscall("clock_getres_time64", nargs=2)
def sys_clock_getres64(p, clk, tp):
    clock_arg(clk)
    if tp:
        write_timespec(p, tp, 1, True)
    return 0


@syscall("gettimeofday", nargs=2)
def sys_gettimeofday(p, tv, tz):
    ns = p.now_ns(CLOCK_REALTIME)
    if tv:
        sec, nsec = divmod(ns, 1_000_000_000)
        p.write(tv, struct.pack("<iI", s32(sec), nsec // 1000))
    if tz:
        p.write(tz, bytes(8))
    return 0


@syscall("time", nargs=1)
def sys_time(p, tloc):
    t = p.now_ns(CLOCK_REALTIME) // 1_000_000_000
    if tloc:
        p.write_u32(tloc, t)
    return t & 0xFFFFFFFF


@syscall("times", nargs=1)
def sys_times(p, buf):
    ticks = p.now_ns(CLOCK_PROCESS_CPUTIME_ID) // (1_000_000_000 // CLK_TCK)
    if buf:
        p.write(buf, struct.pack("<IIII", ticks & 0xFFFFFFFF, 0, 0, 0))
    return p.now_ns(CLOCK_MONOTONIC) // (1_000_000_000 // CLK_TCK) & 0x7FFFFFFF


@syscall("getrusage", nargs=2)
def sys_getrusage(p, who, buf):
    ns = p.now_ns(CLOCK_PROCESS_CPUTIME_ID)
    sec, nsec = divmod(ns, 1_000_000_000)
    out = bytearray(72)
    struct.pack_into("<iI", out, 0, sec, nsec // 1000)
    p.write(buf, bytes(out))
    return 0


@syscall("nanosleep", nargs=2)
def sys_nanosleep(p, req, rem):
    p.sleep_ns(read_timespec(p, req, False))     # never interrupted: rem stays untouched
    return 0


@syscall("clock_nanosleep", nargs=4)
def sys_clock_nanosleep(p, clk, flags, req, rem):
    return _clock_nanosleep(p, clk, flags, req, False)


@syscall("clock_nanosleep_time64", nargs=4)
def sys_clock_nanosleep64(p, clk, flags, req, rem):
    return _clock_nanosleep(p, clk, flags, req, True)


def _clock_nanosleep(p, clk, flags, req, wide):
    clk = clock_arg(clk)
    if clk == CLOCK_THREAD_CPUTIME_ID:
        raise SyscallError(E.EINVAL)
    ns = read_timespec(p, req, wide)
    if flags & TIMER_ABSTIME:
        ns -= p.now_ns(clk)
    p.sleep_ns(ns)
    return 0
