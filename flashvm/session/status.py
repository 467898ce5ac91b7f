"""The exit-status rules and failure verdicts, in one place."""
from __future__ import annotations

from flashvm.guestos import PANIC_STATUS
from flashvm.spec import RunReport


def exit_status(report: RunReport) -> int:
    """The process exit status for a run: the guest's status as a shell sees it
    (low 8 bits), 1 when it has none (a negative status)."""
    return report.status & 0xFF if report.status >= 0 else 1


def os_verdict(status: int, klog: bytes) -> str | None:
    """A one-line description of how the guest OS failed (a panic, init not
    executable), or None."""
    text = klog.decode(errors="replace")
    if status == PANIC_STATUS:
        return next((ln.strip() for ln in text.splitlines() if "kernel panic" in ln), "kernel panic (no message)")
    if status == 127:
        line = next((ln.strip() for ln in text.splitlines() if ln.startswith("init: cannot execute")), None)
        if line:
            return f"the guest OS could not start the program ({line})"
    return None


def vm_failures(report: RunReport) -> list[str]:
    """One line per Disco VM the monitor stopped."""
    return [f"{vm.name} failed: {vm.failure}" for vm in report.vms or () if vm.failure]
