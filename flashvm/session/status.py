"""The exit-status rules and failure verdicts, in one place.

flashvm's exit status (docs/results.md): the guest's status when it halted;
EXIT_LIMIT (124, as timeout(1)) at an instruction or host-time limit;
EXIT_DEADLOCK (125) when the guest can no longer make progress; 128 + the
signal (130 SIGINT, 143 SIGTERM) when flashvm was interrupted; 2 for a
flashvm error (bad options, a guest the machine cannot run)."""
from __future__ import annotations

from flashvm.guestos import PANIC_STATUS
from flashvm.process.abi import SIGNAL_NAMES
from flashvm.session.ends import host_signal_name, signal_name
from flashvm.spec import RunReport, VmOutcome

EXIT_LIMIT = 124
EXIT_DEADLOCK = 125


def exit_status(report: RunReport) -> int:
    """The process exit status for a run: how it stopped, if it did not halt; else
    the guest's status as a shell sees it (low 8 bits), 1 when it has none (negative)."""
    if report.how_ended == "limit":
        return EXIT_LIMIT
    if report.how_ended == "deadlock":
        return EXIT_DEADLOCK
    if report.how_ended == "interrupted":
        return 128 + report.signum
    return report.status & 0xFF if report.status >= 0 else 1


def killed_by(kind: str, status: int | None) -> str | None:
    """"killed by SIGSEGV" when a program's status (128 + signal, the guest OS's and
    process mode's convention) says a signal ended it; None otherwise."""
    if kind in ("process", "os", "disco") and status is not None and 128 < status < 128 + 64:
        return f"killed by {signal_name(status - 128)}"
    return None


def status_text(kind: str, status: int | None) -> str:
    """"139 (killed by SIGSEGV)", or the number alone."""
    why = killed_by(kind, status)
    return f"{status} ({why})" if why else str(status)


def end_line(report: RunReport) -> str | None:
    """One line on how the run stopped, when the guest did not halt by itself
    (a limit, a deadlock, an interrupt) or a signal killed the program; else None."""
    if report.how_ended == "interrupted":
        return f"interrupted by {host_signal_name(report.signum)}; the results so far are saved"
    if report.how_ended != "halted":
        return report.end_message
    why = killed_by(report.spec.kind, report.status) if report.spec.kind != "process" else None
    return f"{report.spec.name or report.spec.program.name}: {why} (status {report.status})" if why else None


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
