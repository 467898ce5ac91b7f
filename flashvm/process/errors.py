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
