"""`flashvm experiment list | NAME | all [--quick] [--jobs N] [--dask ADDRESS]` (docs/experiments.md)."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="the paper's figures and tables: runs, CSV, PNG and report.md under results/experiments/")
err = Console(stderr=True, highlight=False, soft_wrap=True)


class _Progress:
    """The progress display, one line per finished run: runs done, simulated MIPS, ETA."""

    def __init__(self, name: str):
        self.name, self.cached = name, 0

    def __call__(self, done: int, total: int, insns: int, elapsed: float) -> None:
        if elapsed == 0:
            self.cached = done          # runs taken from the cache say nothing about the ETA
        mips = insns / elapsed / 1e6 if elapsed > 0 else 0.0
        eta = ""
        if self.cached < done < total and elapsed > 0:
            left = elapsed / (done - self.cached) * (total - done)
            eta = f", ETA {int(left // 60)}m{int(left % 60):02d}s"
        err.print(f"{self.name}: {done}/{total} runs done, {mips:.1f} simulated MIPS{eta}", markup=False)


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
    from flashvm.experiments import run_experiment
    from flashvm.experiments.catalog import EXPERIMENTS
    res, checks = run_experiment(EXPERIMENTS[name], quick=quick, root=results, jobs=jobs, address=dask,
                                 progress=_Progress(name))
    for label, why in res.problems.items():
        err.print(f"{name}: {label}: {why}", markup=False)
    held = sum(1 for _, h in checks if h)
    err.print(f"{name}: {held} of {len(checks)} checks hold; report: {results / name / 'report.md'}", markup=False)
    return checks


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
        names = list(EXPERIMENTS) if name == "all" else [name]
        done = {n: _one(n, quick, jobs, dask, results) for n in names}
        if name == "all":
            err.print(f"index: {write_index(results, done)}", markup=False)
        failed = [s for checks in done.values() for s, h in checks if h is False]
        raise typer.Exit(1 if failed else 0)
    command.__doc__ = f"Run experiment {name} and write its outputs." if name != "all" else "Run every experiment; index.md."
    return command


for _name in ("fig5", "table2", "fig6", "fig7", "fig8", "table3", "all"):
    app.command(_name)(_command(_name))
