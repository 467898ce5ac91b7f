"""Signals of a process: dispositions and masks as the guest set them, and
what happens when one is raised.

Guest signal handlers are not run (there is no signal frame, hence no
sigreturn): a signal that is neither ignored nor default-ignored terminates
the process as its default action would, status 128 + the MIPS signal
number, with a one-line diagnostic.  Faults the CPU raises kill even when
the signal is blocked or ignored, like Linux's force_sig_fault.
"""
from __future__ import annotations

import os
import struct
from typing import TYPE_CHECKING, NoReturn

from flashvm.kernels.state import (
    EXC_ADEL, EXC_ADES, EXC_BP, EXC_CPU, EXC_FPE, EXC_NAMES, EXC_OV, EXC_RI, EXC_TR, PC,
)
from flashvm.process.abi import (
    BRK_DIVZERO, BRK_OVERFLOW, NSIG, SIG_DEFAULT_IGNORE, SIGBUS, SIGFPE, SIGILL, SIGKILL,
    SIGNAL_NAMES, SIGNAL_TEXT, SIGSEGV, SIGSTOP, SIGTRAP, TASK_SIZE, E,
)
from flashvm.process.errors import GuestFault, ProcessExit, SyscallError

if TYPE_CHECKING:
    from flashvm.process.process import LinuxProcess

_NOT_RUN = " (guest handler 0x{:08x} not run: signal delivery is not implemented)"


class SignalState:
    """Per-process signal state: sigaction records (24 raw bytes each), masks, altstack."""

    def __init__(self) -> None:
        self.actions: dict[int, bytes] = {}
        self.mask = 0
        self.pending = 0
        self.altstack = bytes(12)

    def handler(self, sig: int) -> int:
        """The recorded disposition: 0 = SIG_DFL, 1 = SIG_IGN, else a handler address."""
        a = self.actions.get(sig)
        return struct.unpack_from("<I", a, 4)[0] if a else 0


def send_signal(p: LinuxProcess, sig: int) -> int:
    """kill/tkill/tgkill to the process itself: make sig pending and deliver what is unblocked."""
    if not 0 <= sig < NSIG:
        raise SyscallError(E.EINVAL)
    if sig == 0:
        return 0
    p.signals.pending |= 1 << (sig - 1)
    deliver_pending(p)
    return 0


def deliver_pending(p: LinuxProcess) -> None:
    s = p.signals
    ready = s.pending & ~s.mask
    sig = 1
    while ready:
        if ready & 1:
            s.pending &= ~(1 << (sig - 1))
            take_signal(p, sig)
        ready >>= 1
        sig += 1


def take_signal(p: LinuxProcess, sig: int, detail: str = "") -> None:
    """Act on a delivered signal: nothing if ignored, else terminate."""
    h = p.signals.handler(sig)
    if sig not in (SIGKILL, SIGSTOP):
        if h == 1:
            return
        if h == 0 and sig in SIG_DEFAULT_IGNORE:
            return
    note = ""
    if h > 1 and sig not in (SIGKILL, SIGSTOP):
        note = _NOT_RUN.format(h)
    die(p, sig, detail + note)


def die(p: LinuxProcess, sig: int, detail: str = "") -> NoReturn:
    """Terminate the process by signal sig (raises ProcessExit); detail defaults to the pc."""
    name = SIGNAL_NAMES.get(sig, f"signal {sig}")
    text = SIGNAL_TEXT.get(sig, name)
    pc = int(p.m.cpu[0, PC])
    msg = (f"flashvm: {os.path.basename(p.image.path)}: terminated by {name} ({text})"
           f"{detail or f' at pc=0x{pc:08x} <{p.image.symbolize(pc)}>'}")
    raise ProcessExit(128 + sig, sig, msg)


def fault(p: LinuxProcess, sig: int, exc: int, badvaddr: int, epc: int, extra: str = "") -> NoReturn:
    """A synchronous fault: kills even when the signal is blocked or ignored."""
    detail = (f": {EXC_NAMES.get(exc, f'exception {exc}')}{extra} at pc=0x{epc:08x} "
              f"<{p.image.symbolize(epc)}>, badvaddr=0x{badvaddr & 0xFFFFFFFF:08x}")
    h = p.signals.handler(sig)
    if h > 1:
        detail += _NOT_RUN.format(h)
    die(p, sig, detail)


def trap_code(p: LinuxProcess, va: int) -> int | None:
    """The code field of the BREAK or trap instruction at va (None if unreadable)."""
    try:
        insn = p.mem.read_u32(va)
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


def exception_fault(p: LinuxProcess, exc: int, badvaddr: int, epc: int, bd: int) -> None:
    """Kill the process with the signal Linux raises for CPU exception exc
    (one that is neither a system call nor a page to bring in)."""
    if exc in (EXC_ADEL, EXC_ADES):
        fault(p, SIGSEGV if badvaddr >= TASK_SIZE else SIGBUS, exc, badvaddr, epc)
    if exc in (EXC_BP, EXC_TR):
        # like Linux's do_trap_or_bp: break/trap codes 6 (overflow) and 7
        # (divide by zero, what compilers emit after div) are SIGFPE
        code = trap_code(p, epc + 4 if bd else epc)
        sig = SIGFPE if code in (BRK_OVERFLOW, BRK_DIVZERO) else SIGTRAP
        fault(p, sig, exc, badvaddr, epc, f", code {code}" if code is not None else "")
    sig = {EXC_RI: SIGILL, EXC_CPU: SIGILL, EXC_FPE: SIGFPE, EXC_OV: SIGFPE}.get(exc, SIGILL)
    fault(p, sig, exc, badvaddr, epc)
