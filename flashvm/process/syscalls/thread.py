"""Thread system calls: clone (a thread, or a child process through `child`),
exit of a thread or of the whole process, set_tid_address, gettid,
tkill/tgkill, and futex wait/wake/requeue (the waiting itself is the
scheduler's: `flashvm.process.sched`)."""
from __future__ import annotations

from flashvm.process.abi import (
    CLOCK_MONOTONIC, CLOCK_REALTIME, CLONE_CHILD_CLEARTID, CLONE_CHILD_SETTID, CLONE_PARENT_SETTID,
    CLONE_SETTLS, CLONE_SIGHAND, CLONE_THREAD, CLONE_VFORK, CLONE_VM, FUTEX_CLOCK_REALTIME, FUTEX_CMP_REQUEUE,
    FUTEX_REQUEUE, FUTEX_WAIT, FUTEX_WAIT_BITSET, FUTEX_WAKE, FUTEX_WAKE_BITSET, FUTEX_WAKE_OP, E, s32,
)
from flashvm.process.errors import Blocked, ProcessExit, SyscallError, ThreadExit
from flashvm.process.signals import send_signal
from flashvm.process.syscalls.child import child_context, fork_process
from flashvm.process.syscalls.table import syscall
from flashvm.process.syscalls.time import read_timespec

ALL_BITS = 0xFFFFFFFF


@syscall("clone", nargs=5)
def sys_clone(p, flags, newsp, ptid, tls, ctid):
    if not flags & CLONE_THREAD:
        if flags & CLONE_VM and not flags & CLONE_VFORK:
            raise SyscallError(E.EINVAL)      # a process sharing memory without being a thread
        return fork_process(p, flags, newsp, ptid, tls, ctid)
    if not flags & CLONE_VM or not flags & CLONE_SIGHAND:
        raise SyscallError(E.EINVAL)
    sched = p.sched
    tid = sched.new_id()
    ctx = child_context(p, newsp, tls if flags & CLONE_SETTLS else None)
    if flags & CLONE_PARENT_SETTID:
        p.write_u32(ptid, tid)
    if flags & CLONE_CHILD_SETTID:
        p.write_u32(ctid, tid)
    t = sched.spawn(p, tid, ctx)
    if flags & CLONE_CHILD_CLEARTID:
        t.clear_tid = ctid
    return tid


@syscall("exit", nargs=1)
def sys_exit(p, status):
    """The calling thread ends; with it the process, if it was the last one."""
    if len(p.sched.threads_of(p)) > 1:
        raise ThreadExit()
    raise ProcessExit(status & 0xFF)


@syscall("exit_group", nargs=1)
def sys_exit_group(p, status):
    raise ProcessExit(status & 0xFF)


@syscall("rseq", nargs=4)
def sys_rseq(p, rseq, length, flags, sig):
    """Restartable sequences are not offered: ENOSYS, what a kernel before 4.18
    answers; glibc (2.35 on) then leaves rseq unregistered and works without it."""
    return -E.ENOSYS


@syscall("set_tid_address", nargs=1)
def sys_set_tid_address(p, ptr):
    p.sched.current.clear_tid = ptr
    return p.tid


@syscall("gettid", nargs=0)
def sys_gettid(p):
    return p.tid


def _own_thread(p, tid: int) -> None:
    if not any(t.tid == s32(tid) for t in p.sched.threads_of(p)):
        raise SyscallError(E.ESRCH)


@syscall("tkill", nargs=2)
def sys_tkill(p, tid, sig):
    _own_thread(p, tid)
    return send_signal(p, sig)        # signals act on the whole process (no handlers run)


@syscall("tgkill", nargs=3)
def sys_tgkill(p, tgid, tid, sig):
    if tgid != p.pid:
        raise SyscallError(E.ESRCH)
    _own_thread(p, tid)
    return send_signal(p, sig)


@syscall("futex", nargs=6)
def sys_futex(p, uaddr, op, val, timeout, uaddr2, val3):
    return _futex(p, uaddr, op, val, timeout, uaddr2, val3, False)


@syscall("futex_time64", nargs=6)
def sys_futex64(p, uaddr, op, val, timeout, uaddr2, val3):
    return _futex(p, uaddr, op, val, timeout, uaddr2, val3, True)


def _futex(p, uaddr, op, val, timeout, uaddr2, val3, wide):
    sched = p.sched
    cmd = op & 0x7F
    if cmd in (FUTEX_WAIT, FUTEX_WAIT_BITSET):
        bitset = val3 if cmd == FUTEX_WAIT_BITSET else ALL_BITS
        if bitset == 0:
            raise SyscallError(E.EINVAL)
        key = sched.futex_key(p, uaddr)
        if p.read_u32(uaddr) != val:
            raise SyscallError(E.EAGAIN)
        deadline = None
        now = p.now_ns(CLOCK_MONOTONIC)
        if timeout:
            ns = read_timespec(p, timeout, wide)
            if cmd == FUTEX_WAIT_BITSET:      # an absolute time on the chosen clock
                clk = CLOCK_REALTIME if op & FUTEX_CLOCK_REALTIME else CLOCK_MONOTONIC
                ns -= p.now_ns(clk)
            if ns <= 0:
                raise SyscallError(E.ETIMEDOUT)
            deadline = now + ns
        what = f"in FUTEX_WAIT on 0x{uaddr:08x}" + (" with a timeout" if deadline is not None else "")
        raise Blocked(futex=key, deadline=deadline, bitset=bitset, what=what)
    if cmd in (FUTEX_WAKE, FUTEX_WAKE_BITSET):
        bitset = val3 if cmd == FUTEX_WAKE_BITSET else ALL_BITS
        if bitset == 0:
            raise SyscallError(E.EINVAL)
        return sched.futex_wake(sched.futex_key(p, uaddr), val, bitset)
    if cmd in (FUTEX_REQUEUE, FUTEX_CMP_REQUEUE):
        if cmd == FUTEX_CMP_REQUEUE and p.read_u32(uaddr) != val3:
            raise SyscallError(E.EAGAIN)
        return sched.futex_requeue(sched.futex_key(p, uaddr), val, sched.futex_key(p, uaddr2), timeout)
    if cmd == FUTEX_WAKE_OP:
        return _wake_op(p, uaddr, val, timeout, uaddr2, val3)
    raise SyscallError(E.ENOSYS)


def _wake_op(p, uaddr, n1, n2, uaddr2, encoded):
    """FUTEX_WAKE_OP: update *uaddr2, wake n1 on uaddr, and n2 on uaddr2 if the old value passes the test."""
    sched = p.sched
    opcode, cmp = (encoded >> 28) & 7, (encoded >> 24) & 15
    oparg, cmparg = (encoded >> 12) & 0xFFF, encoded & 0xFFF
    if (encoded >> 28) & 8:
        oparg = 1 << (oparg & 31)
    old = p.read_u32(uaddr2)
    ops = {0: lambda o: oparg, 1: lambda o: o + oparg, 2: lambda o: o | oparg,
           3: lambda o: o & ~oparg, 4: lambda o: o ^ oparg}
    if opcode not in ops or cmp > 5:
        raise SyscallError(E.ENOSYS)
    p.write_u32(uaddr2, ops[opcode](old))
    n = sched.futex_wake(sched.futex_key(p, uaddr), n1)
    o = s32(old)
    if (o == cmparg, o != cmparg, o < cmparg, o <= cmparg, o > cmparg, o >= cmparg)[cmp]:
        n += sched.futex_wake(sched.futex_key(p, uaddr2), n2)
    return n
