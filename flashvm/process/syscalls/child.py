"""Child processes: fork (and clone without CLONE_THREAD), execve, wait4 and
waitpid, getppid, and kill of another process.

A child is another guest process in the same simulation: an eager copy of
the parent's memory, the same open file descriptions, its own pid.  vfork's
CLONE_VM|CLONE_VFORK (musl's posix_spawn) is served as a fork too: the child
works on a copy until it execs.  When the first process ends, the run ends,
whatever its children are doing.  Process groups and sessions are not
modelled: kill(0) and kill(-1) reach the caller only, wait4(0) and wait4(-pgid)
any child.
"""
from __future__ import annotations

import os
import struct

from flashvm.kernels.state import PC
from flashvm.process.abi import (
    AT_FDCWD, CLONE_CHILD_CLEARTID, CLONE_CHILD_SETTID, CLONE_PARENT_SETTID, CLONE_SETTLS, WNOHANG,
    E, s32,
)
from flashvm.process.errors import Blocked, ImageReplaced, ProcessExit, SyscallError
from flashvm.process.image import read_program
from flashvm.process.sched import Context
from flashvm.process.signals import send_signal, take_signal
from flashvm.process.syscalls.fs import host_path
from flashvm.process.syscalls.table import syscall

MAX_ARGS = 1 << 16
RUSAGE_SIZE = 72                    # o32 struct rusage: two timevals and 14 longs


def child_context(p, newsp: int, tls: int | None) -> Context:
    """The registers a new thread or process starts with: the caller's, with the
    system call returning 0, on stack newsp (0: the caller's) and TLS tls."""
    m = p.m
    ctx = Context(m)
    ctx.finish_syscall(int(m.cpu[0, PC]), 0)   # the CPU exits with PC at the syscall
    if newsp:
        ctx.gpr[29] = newsp
    if tls is not None:
        ctx.user_local = tls
    return ctx


def fork_process(p, flags: int, newsp: int, ptid: int, tls: int, ctid: int) -> int:
    """A child process running on from the system call with result 0; returns its pid."""
    child = p.fork()
    ctx = child_context(p, newsp, tls if flags & CLONE_SETTLS else None)
    t = p.sched.spawn(child, child.pid, ctx)
    if flags & CLONE_PARENT_SETTID:
        p.write_u32(ptid, child.pid)
    if flags & CLONE_CHILD_SETTID:
        child.write_u32(ctid, child.pid)
    if flags & CLONE_CHILD_CLEARTID:
        t.clear_tid = ctid
    return child.pid


@syscall("fork", nargs=0)
def sys_fork(p):
    return fork_process(p, 0, 0, 0, 0, 0)


@syscall("getppid", nargs=0)
def sys_getppid(p):
    return p.ppid


def _strings(p, vec: int) -> list[bytes]:
    out: list[bytes] = []
    if not vec:
        return out
    while True:
        ptr = p.read_u32(vec + 4 * len(out))
        if not ptr:
            return out
        if len(out) >= MAX_ARGS:
            raise SyscallError(E.E2BIG)
        out.append(p.read_cstr(ptr, 1 << 17))


@syscall("execve", nargs=3)
def sys_execve(p, path, argv, envp):
    """Replace the process's image with the executable at path (static, PIE or
    dynamically linked, its interpreter from the sysroot; a `#!` script runs
    its interpreter; the pid, open files without FD_CLOEXEC, ignored signals
    and the signal mask stay)."""
    name = p.read_cstr(path)
    args, env = _strings(p, argv), _strings(p, envp)
    full = _executable(p, name)
    for _ in range(4):                 # Linux's BINPRM_MAX_RECURSION for #! chains
        with open(full, "rb") as f:
            head = f.read(256)
        if not head.startswith(b"#!"):
            break
        words = head[2:].split(b"\n")[0].strip().split(None, 1)
        if not words:
            raise SyscallError(E.ENOEXEC)
        args = words + [name] + args[1:]
        name = words[0]
        full = _executable(p, name)
    else:
        raise SyscallError(E.ELOOP)
    try:
        prog = read_program(full)
        if prog.interp:                # the interpreter must be there before the point of no return
            read_program(os.fsdecode(host_path(p, AT_FDCWD, os.fsencode(prog.interp))[0]))
    except Exception:                  # noqa: BLE001  anything the loader refuses
        raise SyscallError(E.ENOEXEC) from None
    # the point of no return: the other threads go, then the old image
    sched = p.sched
    for t in sched.threads_of(p):
        if t is not sched.current:
            sched._forget(t)
    sched.current.clear_tid = 0
    p.files.close_on_exec()
    p.mem.release()
    s = p.signals
    s.actions = {sig: a for sig, a in s.actions.items() if s.handler(sig) == 1}
    p.exe_path, p.argv, p.env = os.path.abspath(full), args, env
    p.start_image(prog, name)
    raise ImageReplaced()


def _executable(p, name: bytes) -> str:
    """The host file exec runs for guest path `name` (ENOENT, EACCES as Linux)."""
    full = os.fsdecode(os.path.join(p.cwd, host_path(p, AT_FDCWD, name)[0]))
    if not os.path.exists(full):
        raise SyscallError(E.ENOENT)
    if os.path.isdir(full) or not os.access(full, os.X_OK):
        raise SyscallError(E.EACCES)
    return full


def _wait_status(e: ProcessExit) -> int:
    return e.signal & 0x7F if e.signal is not None else (e.status & 0xFF) << 8


@syscall("wait4", nargs=4)
def sys_wait4(p, pid, status, options, rusage):
    pid = s32(pid)

    def mine(c) -> bool:
        return pid in (-1, 0, c.pid) or pid < -1

    kids = [c for c in p.children if mine(c)]
    if not kids:
        raise SyscallError(E.ECHILD)
    for c in kids:
        if c.exited is not None:
            if status:
                p.write_u32(status, _wait_status(c.exited))
            if rusage:
                ns = int(c.cpu_insns * p.ns_per_insn)
                us = ns // 1000
                p.write(rusage, struct.pack("<ii", us // 1_000_000, us % 1_000_000) + bytes(RUSAGE_SIZE - 8))
            p.children.remove(c)
            p.sched.procs.pop(c.pid, None)
            return c.pid
    if options & WNOHANG:
        return 0
    raise Blocked(ready=lambda: any(c.exited is not None or c not in p.children for c in kids),
                  what=f"in wait4({pid})")


@syscall("waitpid", nargs=3)
def sys_waitpid(p, pid, status, options):
    return sys_wait4(p, pid, status, options, 0)


@syscall("kill", nargs=2)
def sys_kill(p, pid, sig):
    pid = s32(pid)
    if pid in (0, -1, p.pid, -p.pid):
        return send_signal(p, sig)
    target = p.sched.procs.get(abs(pid))
    if target is None or target.exited is not None:
        raise SyscallError(E.ESRCH)
    if sig == 0:
        return 0
    try:
        take_signal(target, sig, f" (sent by pid {p.pid})")
    except ProcessExit as e:
        if target is p.sched.root:
            e.process = target
            raise
        p.sched.end_process(target, e)
    return 0
