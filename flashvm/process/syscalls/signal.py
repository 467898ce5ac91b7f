"""Signal system calls: sigaction, the signal mask, sigaltstack (kill/tkill/tgkill
are in `child` and `thread`; what a raised signal does: flashvm.process.signals)."""
from __future__ import annotations

from flashvm.process.abi import NSIG, SIG_BLOCK, SIG_SETMASK, SIG_UNBLOCK, SIGKILL, SIGSTOP, E
from flashvm.process.errors import SyscallError
from flashvm.process.signals import deliver_pending
from flashvm.process.syscalls.table import syscall


@syscall("rt_sigaction", nargs=4)
def sys_rt_sigaction(p, sig, act, oact, size):
    if size != 16 or not 1 <= sig < NSIG:
        raise SyscallError(E.EINVAL)
    new = p.read(act, 24) if act else None
    if new is not None and sig in (SIGKILL, SIGSTOP):
        raise SyscallError(E.EINVAL)
    if oact:
        p.write(oact, p.signals.actions.get(sig, bytes(24)))
    if new is not None:
        p.signals.actions[sig] = new
    return 0


@syscall("rt_sigprocmask", nargs=4)
def sys_rt_sigprocmask(p, how, setp, oldp, size):
    if size != 16:
        raise SyscallError(E.EINVAL)
    new = int.from_bytes(p.read(setp, 16), "little") if setp else None
    if new is not None and how not in (SIG_BLOCK, SIG_UNBLOCK, SIG_SETMASK):
        raise SyscallError(E.EINVAL)
    if oldp:
        p.write(oldp, p.signals.mask.to_bytes(16, "little"))
    if new is not None:
        if how == SIG_BLOCK:
            p.signals.mask |= new
        elif how == SIG_UNBLOCK:
            p.signals.mask &= ~new
        else:
            p.signals.mask = new
        p.signals.mask &= ~((1 << (SIGKILL - 1)) | (1 << (SIGSTOP - 1)))
        deliver_pending(p)
    return 0


@syscall("rt_sigpending", nargs=2)
def sys_rt_sigpending(p, setp, size):
    p.write(setp, (p.signals.pending & p.signals.mask).to_bytes(16, "little")[:max(size, 0)])
    return 0


@syscall("sigaltstack", nargs=2)
def sys_sigaltstack(p, ss, oss):
    if oss:
        p.write(oss, p.signals.altstack)
    if ss:
        p.signals.altstack = p.read(ss, 12)
    return 0
