"""The Linux o32 system calls of process mode, one module per area; importing
the package fills `HANDLERS` (number -> (handler, argument count))."""
from flashvm.process.syscalls import child, fd, fs, mm, roi, signal, task, thread, time  # noqa: F401  (they register)
from flashvm.process.syscalls.table import HANDLERS, syscall

__all__ = ["HANDLERS", "syscall"]
