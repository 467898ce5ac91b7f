"""The exit-status rules and failure verdicts, in one place."""
from __future__ import annotations

from flashvm.guestos import PANIC_STATUS
from flashvm.process.abi import SIGNAL_NAMES
from flashvm.spec import RunReport, VmOutcome


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


def vm_verdict(vm: VmOutcome, ended: str) -> str | None:
    """Why a Disco VM failed, in one line (None when it did not): what stopped it in
    the monitor (crashed, stuck, deadlock, watchdog), its kernel's panic line, the
    signal that killed init (status 128 + n, as a shell reports it) or the end of the
    run (`ended`: how the machine stopped) while it was still running."""
    if vm.failure:
        return vm.failure
    if vm.panicked:
        return os_verdict(PANIC_STATUS, vm.klog)
    if vm.status is None:
        return f"limit: still running when the run ended ({ended})"
    sig = vm.status - 128
    if sig in SIGNAL_NAMES:
        return f"init killed by {SIGNAL_NAMES[sig]}"
    return None


def vm_failures(report: RunReport) -> list[str]:
    """One line per Disco VM that failed, saying why ("vm1: init killed by SIGSEGV")."""
    return [f"{vm.name}: {vm.verdict}" for vm in report.vms or () if vm.verdict]
