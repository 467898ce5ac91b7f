"""Running an experiment's runs: cached by key, in parallel through dask.distributed.

Each run's result file is cached under results/experiments/runs/ by the hash of
the run and of the simulator's fingerprint (its version and the bytes of its
sources and workloads), so an interrupted or repeated experiment reuses every
run that finished.  Missing runs go to a dask cluster: a LocalCluster of `jobs`
worker processes, or the scheduler at `address`; each worker runs one
RunSpec and sends the HDF5 file's bytes back, which the client writes.

The progress display's ETA: from the instructions the same runs took under an
earlier fingerprint (their files stay in the cache), at the rate the sweep is
going; without such files, from the time per finished run.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from flashvm import __version__
from flashvm.experiments.model import Run

PACKAGE = Path(__file__).resolve().parents[1]
SOURCE_SUFFIXES = {".py", ".c", ".h", ".S", ".ld", ".toml"}


def _reporting(p: Path) -> bool:
    """Experiment code that does not change what a run does (tables, reports, plots, this cache)."""
    return p.parent == PACKAGE / "experiments" and p.name != "runspec.py"


def _source(p: Path, root: Path) -> bool:
    """A file that changes what a run does: flashvm's sources, and every file of workloads/ but its
    documentation (their scripts, queries, makefiles and Verilog are run as they are)."""
    if root == PACKAGE:
        return p.suffix in SOURCE_SUFFIXES
    return p.suffix != ".md"


def fingerprint() -> str:
    """The simulator's version: flashvm's version and a hash of its sources and workloads (the
    experiment code that only reports is left out, so improving a report reruns nothing)."""
    h = hashlib.sha256(__version__.encode())
    for root in (PACKAGE, PACKAGE.parent / "workloads"):
        if not root.is_dir():
            continue
        for p in sorted(root.rglob("*")):
            if p.is_file() and "__pycache__" not in p.parts and not _reporting(p) and _source(p, root):
                h.update(str(p.relative_to(root)).encode())
                h.update(p.read_bytes())
    return h.hexdigest()[:16]


@dataclass
class Outcome:
    """What became of one run: its result file, or why there is none."""
    run: Run
    path: Path | None = None
    problem: str | None = None        # a missing piece (Unavailable) or a failed run, in one line
    failed_path: Path | None = None   # a failed run's result file (its console, counters), never reused
    instructions: int = 0
    host_seconds: float = 0.0
    cached: bool = False


def run_one(run_fields: dict[str, Any]) -> dict[str, Any]:
    """Worker side: run one experiment run; its HDF5 bytes and figures (or the problem)."""
    from flashvm.experiments.runspec import Unavailable, to_runspec
    from flashvm.results import write_report
    from flashvm.session import run as session_run
    run = Run(**run_fields)
    try:
        spec = to_runspec(run)
    except Unavailable as e:
        return {"problem": f"unavailable: {e}"}
    report = session_run(spec, progress=_worker_progress())
    problem = None
    if report.how_ended != "halted" or report.status != 0 or report.verdict:
        said = guest_error(report)
        problem = (f"run failed: {report.how_ended}, status {report.status}"
                   f"{': ' + report.verdict if report.verdict else ''}{': ' + report.end_message if report.end_message else ''}"
                   f"{'; the guest said: ' + said if said else ''}")
    with tempfile.TemporaryDirectory() as d:
        path = write_report(report, Path(d))
        data = path.read_bytes()
    return {"h5": data, "problem": problem, "instructions": int(report.instructions),
            "host_seconds": float(report.host_seconds)}


OOM_KILL = "out of memory, killed"     # the guest kernel's log line for a process it killed (trap.c)
_ERROR_LINE = re.compile(r"error|killed|cannot|fatal|panic", re.IGNORECASE)


def guest_error(report: Any) -> str:
    """A failed run's first words of complaint, in one line (`complaint`; a VM's: "vm2: ..."),
    from its first failed guest that said anything; "" when none did."""
    guests = ([(f"{vm.name}: ", vm.stderr, vm.klog) for vm in report.vms if vm.status != 0] if report.vms
              else [("", report.stderr, report.klog)])
    for prefix, err, klog in guests:
        said = complaint(err, klog)
        if said:
            return prefix + said
    return ""


def complaint(stderr: bytes, klog: bytes = b"") -> str:
    """A guest's complaint in one line: the first line of its stderr that names an error (else the
    last line), then its kernel's first out-of-memory kill if its log has one; "" for neither."""
    line = first_complaint(stderr)
    oom = next((ln.strip() for ln in bytes(klog).decode(errors="replace").splitlines() if OOM_KILL in ln), "")
    if line and oom:
        return f"{line} (kernel: {oom})"
    return line or (f"kernel: {oom}" if oom else "")


def first_complaint(err: bytes) -> str:
    """The first line of a stderr stream that names an error, else its last line ("" if empty)."""
    lines = [ln.strip() for ln in bytes(err).decode(errors="replace").splitlines() if ln.strip()]
    if not lines:
        return ""
    return next((ln for ln in lines if _ERROR_LINE.search(ln)), lines[-1])[:200]


Worker = Callable[[dict[str, Any]], dict[str, Any]]
FAILED_SUFFIX = ".failed.h5"     # beside the cache: the result file of a run that failed
TOPIC = "flashvm-progress"      # the workers' reports: {"key": task key, "insns": instructions so far}
LIVE_S = 60.0                   # how often the display hears of the runs still going

# (runs done, runs in all, instructions of the finished runs, seconds so far, instructions of the runs
# going, instructions expected of the unfinished runs but not done yet: None if some run has no estimate)
Progress = Callable[[int, int, int, float, int, "int | None"], None]


def previous_instructions(cache: Path, run: Run) -> int | None:
    """The instructions the same run took under another fingerprint (the newest such file in the
    cache), or None: what the ETA expects of it before it finishes."""
    plain = run.file_name("").rsplit("-", 1)[0]
    fields = json.loads(json.dumps(asdict(run)))
    files = [p for p in cache.glob(f"{plain}-*.h5") if not p.name.endswith(FAILED_SUFFIX)]
    import h5py
    for p in sorted(files, key=lambda p: p.stat().st_mtime, reverse=True):
        try:
            with h5py.File(p, "r") as f:
                if json.loads(f.attrs["config_json"]).get("experiment_run") == fields:
                    return int(f["cpu/instructions"][()].sum())
        except (OSError, KeyError, ValueError, TypeError):     # not a run's file, or another run's
            continue
    return None


def _worker_progress() -> Any:
    """In a dask worker: a progress that sends the task's instructions so far to the client
    (TOPIC) every few seconds; elsewhere None."""
    try:
        from distributed import get_worker
        worker = get_worker()
    except (ImportError, ValueError):
        return None
    from flashvm.session.progress import Callback
    key = worker.get_current_task()
    return Callback(lambda done, mips: worker.log_event(TOPIC, {"key": key, "insns": int(done)}), every_s=5.0)


def _store(out: Outcome, reply: dict[str, Any], target: Path) -> Outcome:
    out.problem = reply.get("problem")
    out.instructions = int(reply.get("instructions", 0))
    out.host_seconds = float(reply.get("host_seconds", 0.0))
    if "h5" in reply:
        # a failed run's file is kept under another name: what its guests printed says why it
        # failed, but it must not stand in the cache for a run that worked
        dest = target if out.problem is None else target.with_name(target.stem + FAILED_SUFFIX)
        tmp = dest.with_suffix(".part")
        tmp.write_bytes(reply["h5"])
        os.replace(tmp, dest)          # a run's file appears whole or not at all
        if out.problem is None:
            out.path = dest
        else:
            out.failed_path = dest
    return out


def execute(runs: Sequence[Run], cache: Path, *, jobs: int = 2, address: str | None = None,
            progress: Progress | None = None, worker: Worker = run_one, client: Any = None) -> list[Outcome]:
    """Every run's outcome, in the order given: cached files reused, the others run on dask."""
    cache.mkdir(parents=True, exist_ok=True)
    fp = fingerprint()
    outcomes = [Outcome(r) for r in runs]
    todo = []
    for out in outcomes:
        target = cache / out.run.file_name(fp)
        if target.is_file():
            out.path, out.cached = target, True
        else:
            todo.append(out)
    total, done, insns, start = len(outcomes), len(outcomes) - len(todo), 0, time.monotonic()
    if progress:
        progress(done, total, 0, 0.0, 0, None)
    if not todo:
        return outcomes
    from dask.distributed import wait
    own = client is None
    if own:
        client = _client(jobs, address)
    going: dict[str, int] = {}          # task key -> its instructions so far, as last reported
    ended: set[str] = set()             # (a report may come in after its run's result)
    # task key -> the instructions its run took under an earlier fingerprint (None: unknown)
    expected = {f"{o.run.label}-{o.run.key(fp)}": previous_instructions(cache, o.run) for o in todo}

    def left() -> int | None:
        """Instructions the unfinished runs are expected to take still (None: some run has no estimate)."""
        if any(v is None for v in expected.values()):
            return None
        return sum(max(0, int(v or 0) - going.get(k, 0)) for k, v in expected.items())

    def heard(event: Any) -> None:
        key = str(event[1]["key"])
        if key not in ended:
            going[key] = int(event[1]["insns"])
    try:
        client.subscribe_topic(TOPIC, heard)
        futures = {client.submit(worker, asdict(o.run), pure=False, key=f"{o.run.label}-{o.run.key(fp)}"): o
                   for o in todo}
        pending = set(futures)
        while pending:
            try:        # the next results, or after LIVE_S without any, how far the runs have got
                finished = wait(pending, timeout=LIVE_S, return_when="FIRST_COMPLETED").done
            except TimeoutError:
                if progress and going:
                    progress(done, total, insns, time.monotonic() - start, sum(going.values()), left())
                continue
            for fut in finished:
                pending.discard(fut)
                out = futures.pop(fut)
                try:
                    reply = fut.result()
                except Exception as e:          # a crash in the worker is that run's problem, not the sweep's
                    reply = {"problem": f"run raised {type(e).__name__}: {e}"}
                # let go of the result at once: a future still held when its worker dies is computed again
                # (a full fig6 run lost with a dead worker was run a second time, its file already stored)
                fut.release()
                _store(out, reply, cache / out.run.file_name(fp))
                ended.add(str(fut.key))
                going.pop(str(fut.key), None)
                expected.pop(str(fut.key), None)
                done += 1
                insns += out.instructions
                if progress:
                    progress(done, total, insns, time.monotonic() - start, sum(going.values()), left())
    finally:
        client.unsubscribe_topic(TOPIC)
        if own:
            cluster = getattr(client, "cluster", None)
            client.close()
            if cluster is not None:
                cluster.close()
    return outcomes


def _client(jobs: int, address: str | None) -> Any:
    """A dask client of the scheduler at `address`, or of a new LocalCluster of `jobs` processes."""
    from dask.distributed import Client, LocalCluster
    if address:
        return Client(address)
    cluster = LocalCluster(n_workers=max(1, jobs), threads_per_worker=1, processes=True,
                           dashboard_address=None, scheduler_port=0)
    return Client(cluster)
