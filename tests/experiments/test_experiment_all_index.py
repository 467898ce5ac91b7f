"""`flashvm experiment all` from a fresh results directory: every experiment's runs go
through the sweep, each writes its report, and index.md links them all; a second
`all` takes every run from the cache; an experiment that raises is named in the
index and the others still run.  Tiny fake experiments and a fake worker stand in
for the simulator."""
from __future__ import annotations

import functools
import io

import h5py
import numpy as np
import pytest
from typer.testing import CliRunner

import flashvm.experiments as experiments
from flashvm.experiments import catalog
from flashvm.experiments.cli import app
from flashvm.experiments.model import Check, Experiment, Paper, Run

WORKED: list[str] = []


def _h5(run: Run) -> bytes:
    """A result file with one region: the VM's run 20% slower, a tenth of it in the monitor."""
    busy = 1_000_000 if run.system == "os" else 1_200_000
    buf = io.BytesIO()
    with h5py.File(buf, "w") as f:
        f.attrs["machine_json"] = '{"clock_mhz": 400.0}'
        g = f.create_group(f"roi/{'roi' if run.system == 'os' else 'vm0.roi'}/cpu")
        g["cycles"] = np.array([busy], dtype=np.int64)
        mon = busy // 10 if run.system != "os" else 0
        g["cycles_by_mode"] = np.array([[mon, busy // 5, busy - mon - busy // 5]], dtype=np.int64)
        g["idle_cycles"] = np.zeros(1, dtype=np.int64)
        g["instructions"] = np.array([busy // 2], dtype=np.int64)
    return buf.getvalue()


def _worker(fields: dict) -> dict:
    run = Run(**fields)
    WORKED.append(run.label)
    return {"h5": _h5(run), "problem": None, "instructions": 1000, "host_seconds": 0.01}


def _experiment(name: str, wl: str, holds: bool) -> Experiment:
    runs = [Run(f"{wl}/bare", wl, "os"), Run(f"{wl}/disco", wl, "disco", vms=1)]
    return Experiment(name, f"fake {name}", lambda quick: runs, ("time", "user", "kernel", "monitor", "idle"),
                      (Paper(f"{wl}/disco", "total", 110),),
                      (Check("the VM is slower" if holds else "the VM is faster",
                             (lambda t: t[(f"{wl}/disco", "total")] > 100) if holds
                             else (lambda t: t[(f"{wl}/disco", "total")] < 100), (f"{wl}/disco",)),),
                      baselines={f"{wl}/bare": f"{wl}/bare", f"{wl}/disco": f"{wl}/bare"},
                      segments=("user", "kernel", "monitor", "idle"))


@pytest.fixture(scope="module")
def client():
    from dask.distributed import Client, LocalCluster
    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None)
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()


@pytest.fixture
def fakes(monkeypatch, client):
    """Three fake experiments in place of the catalog's; the sweep runs them with the fake worker."""
    exps = {"one": _experiment("one", "raytrace", True), "two": _experiment("two", "pmake", False),
            "three": _experiment("three", "radix", True)}
    monkeypatch.setattr(catalog, "EXPERIMENTS", exps)
    monkeypatch.setattr(experiments, "run_experiment",
                        functools.partial(experiments.run_experiment, worker=_worker, client=client))
    WORKED.clear()
    return exps


def test_all_writes_every_report_and_the_index(tmp_path, fakes):
    root = tmp_path / "results" / "experiments"          # a fresh clone: no results directory yet
    out = CliRunner().invoke(app, ["all", "--quick", "--jobs", "1", "--results", str(root)])
    assert out.exit_code == 1, out.output                 # experiment two's check does not hold
    assert sorted(WORKED) == sorted(f"{wl}/{s}" for wl in ("raytrace", "pmake", "radix") for s in ("bare", "disco"))
    index = (root / "index.md").read_text()
    for name in fakes:
        assert (root / name / "report.md").is_file() and (root / name / f"{name}.csv").is_file()
        assert f"| {name} | [report]({name}/report.md) | [{name}.png]({name}/{name}.png) |" in index
    assert "| one | [report](one/report.md) | [one.png](one/one.png) | 1 of 1 measured (1 in all) |" in index
    assert "| two | [report](two/report.md) | [two.png](two/two.png) | 0 of 1 measured (1 in all) |" in index
    assert "- two: the VM is faster" in index

    WORKED.clear()                                          # again: every run from the cache
    again = CliRunner().invoke(app, ["all", "--quick", "--results", str(root)])
    assert again.exit_code == 1 and WORKED == []
    assert (root / "index.md").read_text() == index


def test_an_experiment_that_raises_is_a_failure_in_the_index(tmp_path, fakes, monkeypatch):
    def broken(quick: bool):
        raise RuntimeError("no such workload form")
    monkeypatch.setitem(fakes, "two", Experiment("two", "broken", broken, ("time",)))
    root = tmp_path / "exp"
    out = CliRunner().invoke(app, ["all", "--quick", "--results", str(root)])
    assert out.exit_code == 1
    index = (root / "index.md").read_text()
    assert "| two | - | - | 0 of 1 measured (1 in all) |" in index
    assert "RuntimeError: no such workload form" in index
    assert "| three | [report](three/report.md) |" in index          # the one after it still ran
