"""roi(cmd, name, len): the guest OS's private system call for regions of
interest (flashvm/guest/include/roi.h), served here for process mode."""
from __future__ import annotations

from flashvm.machine.layout import SYS_ROI
from flashvm.machine.roi import MAX_NAME, clean_name
from flashvm.process.abi import E
from flashvm.process.syscalls.table import HANDLERS


def sys_roi(p, cmd: int, name: int, length: int) -> int:
    raw = p.read(name, min(length, MAX_NAME)) if name and length else b""
    return 0 if p.roi.command(cmd, clean_name(raw)) else -E.EINVAL


HANDLERS[SYS_ROI] = (sys_roi, 3)
