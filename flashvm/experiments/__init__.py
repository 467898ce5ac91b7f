"""`flashvm experiment`: the paper's figures and tables regenerated (docs/experiments.md).

    model.py     Run, Paper, Check, Experiment: experiments as data
    catalog.py   the six experiments of the paper's §5
    runspec.py   the one place a Run becomes a session RunSpec
    measures.py  one function per measure, reading HDF5 names
    execute.py   the run cache and the dask.distributed sweep
    table.py     measures -> one table per experiment
    report.py, plot.py   CSV, report.md, the PNG, the index
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from typing import TYPE_CHECKING

if TYPE_CHECKING:     # the sweep imports the simulator (Numba, h5py): `flashvm --help` and a bad option must not
    from flashvm.experiments.execute import Progress, Worker
    from flashvm.experiments.model import Experiment
    from flashvm.experiments.table import Results

DEFAULT_ROOT = Path("results") / "experiments"


def run_experiment(exp: Experiment, *, quick: bool, root: Path = DEFAULT_ROOT, jobs: int = 2,
                   address: str | None = None, progress: Progress | None = None,
                   worker: Worker | None = None, client: Any = None) -> tuple[Results, list[tuple[str, bool | None]]]:
    """Run (or take from the cache) `exp`'s runs and write its outputs under root/NAME/:
    runs/*.h5, NAME.csv, NAME.png, report.md.  Returns the results and the checks."""
    from flashvm.experiments.execute import execute, run_one
    from flashvm.experiments.plot import draw
    from flashvm.experiments.table import collect
    from flashvm.experiments.report import write_csv, write_report
    out = root / exp.name
    (out / "runs").mkdir(parents=True, exist_ok=True)
    outcomes = execute(list(exp.runs(quick)), root / "cache", jobs=jobs, address=address, progress=progress,
                       worker=worker or run_one, client=client)
    for o in outcomes:
        if o.path is not None:
            copy = out / "runs" / o.path.name
            if not copy.exists():
                shutil.copyfile(o.path, copy)
            o.path = copy
    res = collect(exp, outcomes)
    write_csv(res, out / f"{exp.name}.csv")
    png: str | None = f"{exp.name}.png"
    try:
        draw(res, out / f"{exp.name}.png")
    except ImportError:
        png = None
    checks = write_report(res, out / "report.md", png)
    return res, checks
