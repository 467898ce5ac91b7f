"""`flashvm experiment list | NAME | all [--quick] [--jobs N] [--dask ADDRESS]` (docs/experiments.md)."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any, Optional

import typer
from rich.console import Console

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="the paper's figures and tables: runs, CSV, PNG and report.md under results/experiments/")
err = Console(stderr=True, highlight=False, soft_wrap=True)


class _Progress:
    """The progress display: a line per finished run (runs done, simulated MIPS, ETA), and every
    minute while runs are going, how far they have got.  The ETA: the instructions the runs are
    expected to take still (from earlier versions' files of the same runs) at the sweep's rate, else
    the time per run finished so far."""

    def __init__(self, name: str):
        self.name, self.cached = name, 0

    def __call__(self, done: int, total: int, insns: int, elapsed: float, going: int = 0,
                 expected: int | None = None) -> None:
        if elapsed == 0:
            self.cached = done          # runs taken from the cache say nothing about the ETA
        mips = (insns + going) / elapsed / 1e6 if elapsed > 0 else 0.0
        left = None
        if expected and mips > 0 and done < total:     # (0: the runs outran their estimates)
            left = expected / (mips * 1e6)
        elif self.cached < done < total and elapsed > 0:
            left = elapsed / (done - self.cached) * (total - done)
        eta = "" if left is None else f", ETA {int(left // 60)}m{int(left % 60):02d}s"
        now = f", {going / 1e6:,.0f} M instructions in the runs going" if going else ""
        err.print(f"{self.name}: {done}/{total} runs done{now}, {mips:.1f} simulated MIPS{eta}", markup=False)


@app.command("list")
def list_() -> None:
    """The experiments, their runs and what each needs."""
    from flashvm.experiments.catalog import EXPERIMENTS
    for e in EXPERIMENTS.values():
        typer.echo(f"{e.name:7s} {e.title}")
        typer.echo(f"        {len(e.runs(True))} runs (quick), {len(e.runs(False))} full; full sizes: {e.full_host_time}")


@app.callback(invoke_without_command=True)
def main(ctx: typer.Context) -> None:
    """flashvm experiment list | fig5 | table2 | fig6 | fig7 | fig8 | table3 | all"""


def _one(name: str, quick: bool, jobs: int, dask: Optional[str], results: Path) -> list:
    import logging
    from flashvm.experiments import run_experiment
    from flashvm.experiments.catalog import EXPERIMENTS
    logging.getLogger("distributed").setLevel(logging.ERROR)   # a closing local cluster's warnings are noise
    res, checks = run_experiment(EXPERIMENTS[name], quick=quick, root=results, jobs=jobs, address=dask,
                                 progress=_Progress(name))
    for label, why in res.problems.items():
        err.print(f"{name}: {label}: {why}", markup=False)
    held, measured = sum(1 for _, h in checks if h), sum(1 for _, h in checks if h is not None)
    err.print(f"{name}: {held} of {measured} measured checks hold ({len(checks) - measured} not measured); "
              f"report: {results / name / 'report.md'}", markup=False)
    return checks


def _one_of_all(name: str, quick: bool, jobs: int, dask: Optional[str], results: Path) -> list:
    """`all`: one experiment; one that raises is a failed check in the index, and the others still run."""
    try:
        return _one(name, quick, jobs, dask, results)
    except Exception as e:          # noqa: BLE001 -- the sweep goes on; the index and exit status say it failed
        err.print(f"{name}: failed: {type(e).__name__}: {e}", markup=False)
        return [(f"the experiment ran to its report (it raised {type(e).__name__}: {e})", False)]


MAP_COUNT_NEEDED = 262144     # a full-size run's worker maps two sections per loaded region: ~60,000 in fig6


def map_count_warning(quick: bool, path: Path | None = None) -> str | None:
    """A note when the full sizes would outgrow Linux's memory-map limit, else None.  Until the JIT
    tier bounded its code (jitnative.capacity) a worker then died with "LLVM ERROR: Unable to
    allocate section memory"; now it drops and reloads its code each time it holds the most it may."""
    if quick:
        return None
    from flashvm.kernels.jitnative import MAP_COUNT_PATH, map_count_limit
    limit = map_count_limit(path or MAP_COUNT_PATH)
    if limit is None or limit >= MAP_COUNT_NEEDED:
        return None
    return (f"note: vm.max_map_count is {limit:,}: the full sizes' runs translate more regions than that lets a "
            f"worker keep loaded, so the JIT tier will drop and reload its code now and then (docs/jit.md); "
            f"to spare that: sudo sysctl -w vm.max_map_count={MAP_COUNT_NEEDED}")


def _command(name: str):
    def command(quick: bool = typer.Option(False, "--quick", help="the minutes-long sizes (CI runs fig5 and fig8 so)"),
                jobs: int = typer.Option(2, "--jobs", help="worker processes of the local dask cluster"),
                dask: Optional[str] = typer.Option(None, "--dask", metavar="ADDRESS",
                                                   help="an existing dask scheduler (tcp://host:port) instead"),
                results: Path = typer.Option(Path("results") / "experiments", help="where the outputs go")) -> None:
        from flashvm.experiments.catalog import EXPERIMENTS
        from flashvm.experiments.report import write_index
        if jobs < 1:
            sys.stderr.write(f"error: --jobs {jobs}: give at least 1\n")
            raise typer.Exit(2)
        warning = map_count_warning(quick)
        if warning:
            err.print(warning, markup=False)
        if name != "all":
            done = {name: _one(name, quick, jobs, dask, results)}
        else:
            done = {}
            for n in EXPERIMENTS:
                done[n] = _one_of_all(n, quick, jobs, dask, results)
                write_index(results, done)      # an interrupted `all` still links what finished
            err.print(f"index: {write_index(results, done)}", markup=False)
        failed = [s for checks in done.values() for s, h in checks if h is False]
        raise typer.Exit(1 if failed else 0)
    command.__doc__ = f"Run experiment {name} and write its outputs." if name != "all" else "Run every experiment; index.md."
    return command


for _name in ("fig5", "table2", "fig6", "fig7", "fig8", "table3", "all"):
    app.command(_name)(_command(_name))


def report(result: Path = typer.Argument(..., help="a result file (HDF5) of flashvm run/exec"),
           services: bool = typer.Option(False, "--services", help="the guest kernel's services (/services)")) -> None:
    """Show a result file: its run, its regions of interest, or (--services) the kernel services' breakdown."""
    import h5py
    from rich.table import Table
    if not result.is_file():
        sys.stderr.write(f"error: {result}: no such file\n")
        raise typer.Exit(2)
    with h5py.File(result, "r") as f:
        if not services:
            t = Table("attribute", "value", title=str(result), title_justify="left")
            for k in ("workload", "mode", "sim_mode", "machine", "status", "ended", "host_seconds"):
                if k in f.attrs:
                    t.add_row(k, str(f.attrs[k]))
            for name in f.get("roi", {}):
                t.add_row(f"roi {name}", f"{int(f['roi'][name]['cpu/cycles'][...].max()):,} cycles")
            for name, said in _complaints(f):
                t.add_row(name, said)
            Console().print(t)
            return
        if "services" not in f:
            sys.stderr.write(f"error: {result}: no /services (a run of the guest OS records them; docs/experiments.md)\n")
            raise typer.Exit(1)
        from flashvm.machine.services import services_table
        Console().print(services_table(f["services"], str(result)))


def _complaints(f: Any) -> list[tuple[str, str]]:
    """(who, their complaint: execute.complaint) for a failed run's guests (each failed VM's)."""
    from flashvm.experiments.execute import complaint

    def said(g: Any) -> str:
        def text(name: str) -> bytes:
            return g[name][()].tobytes() if name in g else b""
        return complaint(text("stderr"), text("klog"))
    if "disco/vm_status" in f:
        failed = [(f[f"disco/vm{i}"], int(s)) for i, s in enumerate(f["disco/vm_status"][()]) if s != 0]
        return [(f"{g.attrs['name']} (status {s})", said(g) or "no stderr or kernel log in the file")
                for g, s in failed]
    if int(f.attrs.get("status", 0)) != 0 and "stderr" in f:
        return [("stderr", said(f))]
    return []


def register(parent: typer.Typer) -> None:
    """Add `experiment` (this sub-app) and `report` to the flashvm command line."""
    parent.add_typer(app, name="experiment", help="the paper's figures and tables (docs/experiments.md)")
    parent.command("report")(report)
