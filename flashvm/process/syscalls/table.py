"""The system call table: o32 number -> (handler, number of argument words).

Handlers are plain functions `handler(p, *args)` of the process `p` and the
argument words (unsigned 32-bit); they return the result (>= 0), -errno, or
raise SyscallError / GuestFault / OSError, which the dispatcher turns into
-errno.  Handlers taking more than 4 arguments get words 5.. from the stack
(sp+16, sp+20, ...), as o32 passes them.
"""
from __future__ import annotations

from collections.abc import Callable

from flashvm.process.abi import SYSCALL_NUMBERS

HANDLERS: dict[int, tuple[Callable, int]] = {}


def syscall(*names: str, nargs: int = 4) -> Callable[[Callable], Callable]:
    """Register the decorated handler for the named o32 system calls."""
    def register(fn: Callable) -> Callable:
        for n in names:
            HANDLERS[SYSCALL_NUMBERS[n]] = (fn, nargs)
        return fn
    return register
