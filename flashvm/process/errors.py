"""The exceptions that carry a system call's or the process's fate back to the run loop."""
from __future__ import annotations


class GuestFault(Exception):
    """A system call touched guest memory that is not mapped (becomes EFAULT)."""

    def __init__(self, va: int):
        super().__init__(f"guest address 0x{va:08x} is not accessible")
        self.va = va


class SyscallError(Exception):
    """Raised inside a handler to return -errno (a MIPS errno value)."""

    def __init__(self, err: int):
        super().__init__(err)
        self.err = err


class ProcessExit(Exception):
    """The process ended: exit/exit_group (signal None) or killed by `signal`."""

    def __init__(self, status: int, signal: int | None = None, message: str | None = None):
        super().__init__(message or f"exit {status}")
        self.status = status
        self.signal = signal
        self.message = message
        self.process = None         # set when the process ending is not the caller's


class Blocked(Exception):
    """The calling thread must wait (raised by a system call handler).

    With `ready`, the call is re-run from its syscall instruction once
    ready() is true (a pipe read, wait4).  With `futex` (a physical address),
    the thread waits in FUTEX_WAIT until a waker or its `deadline`
    (CLOCK_MONOTONIC ns, None = none) completes the call.  With `done`, the
    call has succeeded (result 0) and the thread only gives up the CPU."""

    def __init__(self, ready=None, futex: int | None = None, deadline: int | None = None,
                 bitset: int = 0xFFFFFFFF, what: str = "", done: bool = False):
        super().__init__(what)
        self.done = done
        self.ready = ready
        self.futex = futex
        self.deadline = deadline
        self.bitset = bitset
        self.what = what


class ThreadExit(Exception):
    """The calling thread ended with exit(2) while others of its process go on."""


class ImageReplaced(Exception):
    """execve succeeded: the registers hold the new program's entry state."""
