"""flashvm experiment: runs as data, the Run -> RunSpec mapping, the cache and the
dask sweep (with a fake worker that writes small result files), the measures, the
report and CSV (fig5 and fig8 end to end: test_quick_fig5_fig8_end_to_end.py)."""
from __future__ import annotations

import dataclasses
import io
import time

import h5py
import numpy as np
import pytest

from flashvm.experiments import catalog, run_experiment
from flashvm.experiments.execute import execute, fingerprint
from flashvm.experiments.measures import MEASURES, take
from flashvm.experiments.model import Experiment, Paper, Run
from flashvm.experiments.report import band
from flashvm.experiments.runspec import Unavailable, regions, to_runspec


def fake_h5(run: Run, busy: int) -> bytes:
    """A result file as a run of `run` would write it: one region, cycles split 60/30/10 user/kernel/monitor."""
    buf = io.BytesIO()
    name = "roi" if run.system == "os" else "vm0.roi"
    with h5py.File(buf, "w") as f:
        f.attrs["machine_json"] = '{"clock_mhz": 400.0}'
        g = f.create_group(f"roi/{name}/cpu")
        g["cycles"] = np.array([busy], dtype=np.int64)
        mon = busy // 10 if run.system != "os" else 0
        g["cycles_by_mode"] = np.array([[mon, busy * 3 // 10, busy - mon - busy * 3 // 10]], dtype=np.int64)
        g["idle_cycles"] = np.zeros(1, dtype=np.int64)
        g["instructions"] = np.array([busy // 2], dtype=np.int64)
        g["misses_local"] = np.array([30], dtype=np.int64)
        g["misses_remote"] = np.array([60], dtype=np.int64)
        g["misses_remote_dirty"] = np.array([10], dtype=np.int64)
    return buf.getvalue()


CALLS: list[str] = []


def fake_worker(fields: dict) -> dict:
    run = Run(**fields)
    CALLS.append(run.label)
    busy = 1_000_000 if run.system == "os" else 1_200_000
    return {"h5": fake_h5(run, busy), "problem": None, "instructions": busy // 2, "host_seconds": 0.1}


def small_experiment() -> Experiment:
    runs = [Run("w/bare", "raytrace", "os"), Run("w/disco", "raytrace", "disco"), Run("m/bare", "pmake", "os")]
    return Experiment("fake", "a fake experiment", lambda quick: runs, ("time", "user", "kernel", "monitor", "idle"),
                      (Paper("w/disco", "total", 110), Paper("w/bare", "total", 100)),
                      (catalog.Check("disco is slower", lambda t: t[("w/disco", "total")] > 100, ("w/disco",)),
                       catalog.Check("pmake is measured", lambda t: t[("m/bare", "time")] > 0, ("m/bare",))),
                      baselines={"w/bare": "w/bare", "w/disco": "w/bare"}, segments=("user", "kernel", "monitor", "idle"))


@pytest.fixture(scope="module")
def client():
    from dask.distributed import Client, LocalCluster
    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None)
    c = Client(cluster)
    yield c
    c.close()
    cluster.close()


def test_run_key_is_stable_and_depends_on_run_and_simulator():
    r = Run("a/b", "raytrace")
    assert r.key("x") == Run("a/b", "raytrace").key("x")
    assert r.key("x") != r.key("y")
    assert r.key("x") != dataclasses.replace(r, cpus=2).key("x")
    assert r.file_name("x").startswith("a_b-") and r.file_name("x").endswith(".h5")
    assert fingerprint() == fingerprint()


def test_every_experiment_has_runs_measures_and_paper_numbers():
    assert set(catalog.EXPERIMENTS) == {"fig5", "table2", "fig6", "fig7", "fig8", "table3"}
    for e in catalog.EXPERIMENTS.values():
        for quick in (True, False):
            runs = e.runs(quick)
            assert runs and len({r.label for r in runs}) == len(runs)
        assert all(m in MEASURES for m in e.measures), e.name
        labels = {r.label for r in e.runs(True)}
        assert all(p.label in labels for p in e.paper), e.name


def test_runspec_measures_the_workload_from_its_region_of_interest():
    spec = to_runspec(Run("raytrace/bare", "raytrace", "os"))
    assert spec.kind == "os" and spec.argv[:3] == ("/sbin/roirun", "roi", "/bin/raytrace")
    assert spec.fast_forward == "roi" and spec.sim_mode == "timing" and "/sbin/roirun" in spec.files
    d = to_runspec(Run("e/disco", "engineering", "disco", threads=2, vms=1))
    assert d.kind == "disco" and d.vms == 1 and d.argv.count("/bin/engineering") == 2
    assert d.argv[0] in d.files and d.argv[2] in d.files        # roirun and the sysroot's init
    r8 = to_runspec(Run("r/numa", "raytrace", "os", threads=8, machine="flash8", cpus=8, l2_kb=256))
    assert r8.machine.ncpu == 8 and r8.machine.l2.size == 256 * 1024
    assert spec.root == "disk"                  # the guest OS boots from its root disk, as `flashvm run` does
    with pytest.raises(Unavailable, match="not in this tree"):
        to_runspec(Run("x/bare", "no-such-workload", "os"))


def test_fig7s_disco_runs_have_migration_and_replication_off_as_in_the_paper():
    """§5.4 disabled them; without a mode the runs got the NUMA machine's default (both)."""
    specs = {r.label: to_runspec(r) for r in catalog.FIG7.runs(True) if r.system != "os"}
    assert set(specs) == {"pmake/1vm", "pmake/2vm", "pmake/4vm", "pmake/8vm", "radix/splashos"}
    assert {s.numa for s in specs.values()} == {"off"}
    fig8 = {r.label: to_runspec(r).numa for r in catalog.FIG8.runs(True) if r.system == "disco"}
    assert set(fig8.values()) == {"both"}


def test_radix_on_splashos_is_one_vm_measured_over_its_own_region():
    run = Run("radix/splashos", "radix", "splashos", threads=8, machine="flash8", cpus=8, vms=1)
    spec = to_runspec(run)
    assert spec.kind == "splashos" and spec.vms == 1 and spec.cpus == 8 and spec.machine.ncpu == 8
    assert spec.argv == ("radix", "8", "20000") and spec.fast_forward == "roi"
    assert regions(run) == ["vm0.radix"]
    assert regions(dataclasses.replace(run, system="os")) == ["radix"]
    assert regions(Run("p/2vm", "pmake", "disco", vms=2)) == ["vm0.roi", "vm1.roi"]
    with pytest.raises(Unavailable, match="region of its own"):
        to_runspec(Run("r/splashos", "raytrace", "splashos"))


@pytest.mark.parametrize("n", [1, 8])
def test_quick_forms_of_pmake_and_database(n):
    from flashvm.experiments import runspec
    from flashvm.experiments.runspec import FORMS, TINY_DB
    pm = FORMS["pmake"]["quick"](n)
    assert len(pm["commands"]) == n == len(pm["stdout_contains"])
    assert len({c[2] for c in pm["commands"]}) == n                  # a directory of its own per build
    assert all(c[:2] == ("/bin/sh", "/src/quick.sh") for c in pm["commands"])
    script = (runspec.WORKLOADS / "pmake" / pm["workload_files"]["/src/quick.sh"]).read_text()
    assert "make -j2" in script and "$(" not in script
    mp = FORMS["pmake"]["quick-mp"](n)                                 # eight builds at once: assembling
    assert all(c[-1] == "asm" for c in mp["commands"]) and "/src/quick/crc.s" in mp["workload_files"]
    assert all((runspec.WORKLOADS / "pmake" / h).is_file() for h in mp["workload_files"].values())
    db = FORMS["database"]["quick"](n)
    assert db["generate_args"] == TINY_DB and len({c[2] for c in db["commands"]}) == n
    assert all(c[:2] == ("/bin/sh", "/queries/run.sh") for c in db["commands"])


@pytest.mark.parametrize("name", ["fig6", "fig7"])
def test_full_pmake_splits_the_eight_builds_between_the_vms(name):
    """The paper's pmake is eight builds over the machine: 8 // VMs builds in each VM, not eight in every
    VM (that ran 64 full builds in 8 VMs of 31 MB, and the 2-8 VM runs of full fig6 failed)."""
    from flashvm.experiments.runspec import _form, workload_dir
    from flashvm.workload import load_workload
    seen = set()
    for run in catalog.EXPERIMENTS[name].runs(False):
        if run.workload != "pmake":
            continue
        toml = load_workload(workload_dir(run), run.size)
        w = _form(run, toml)
        per_vm = 8 // (run.vms or 1)
        assert len(w.commands) == per_vm == len(w.stdout_contains), run.label
        assert len({c[2] for c in w.commands}) == per_vm and all(c[1] == "/src/build.sh" for c in w.commands)
        if per_vm == 8:           # the whole workload: workload.toml's own mp form, unchanged
            assert (w.commands, w.stdout_contains) == (toml.commands, toml.stdout_contains)
        seen.add(run.vms)
    assert {1, 2, 4, 8} <= seen


@pytest.mark.parametrize("name", ["fig6", "fig7"])
def test_the_vms_of_fig6_and_fig7_split_the_whole_machines_memory(name):
    """§5.3: each VM an equal share of the 256 MB (four 2-CPU VMs of 64 MB); with half of it, 4 VMs had
    32 MB each and two full builds' cc1s ran out of memory in every VM."""
    from flashvm.experiments.runspec import machine, vm_mem_mb
    got = {r.vms: vm_mem_mb(r, machine(r), None) for r in catalog.EXPERIMENTS[name].runs(False) if r.system == "disco"
           and r.workload == "pmake"}
    assert got == {1: 248, 2: 124, 4: 62, 8: 31}
    fig8 = [r for r in catalog.EXPERIMENTS["fig8"].runs(False) if r.system == "disco"]
    assert fig8 and all(vm_mem_mb(r, machine(r), None) == 128 for r in fig8)     # fig8's VMs keep half


@pytest.mark.slow
def test_radix_runs_on_splashos_and_the_guest_os_over_the_same_region(tmp_path):     # ~40 s, loaded machine
    from flashvm.experiments.execute import run_one
    times = {}
    for system in ("splashos", "os"):
        run = Run(f"radix/{system}", "radix", system, threads=8, machine="flash8", cpus=8, vms=1)
        reply = run_one(dataclasses.asdict(run))
        assert reply["problem"] is None, reply["problem"]
        path = tmp_path / f"{system}.h5"
        path.write_bytes(reply["h5"])
        times[system] = take(str(path), run, ("time", "monitor"))
    assert times["splashos"]["monitor"] > 0 and times["os"]["monitor"] == 0
    assert times["splashos"]["time"] < times["os"]["time"]


def test_sweep_caches_runs_and_reports_missing_ones(tmp_path, client):
    CALLS.clear()
    exp = small_experiment()
    shown = []
    res, checks = run_experiment(exp, quick=True, root=tmp_path, worker=fake_worker, client=client,
                                 progress=lambda *a: shown.append(a))
    assert sorted(CALLS) == ["m/bare", "w/bare", "w/disco"]
    assert shown[-1][:2] == (3, 3)
    assert res.get("w/disco", "total") == pytest.approx(120.0)
    assert res.get("w/disco", "monitor") == pytest.approx(12.0)
    assert res.get("w/bare", "monitor") == 0.0
    assert dict(checks) == {"disco is slower": True, "pmake is measured": True}
    out = tmp_path / "fake"
    assert (out / "report.md").is_file() and (out / "fake.png").stat().st_size > 1000
    assert len(list((out / "runs").glob("*.h5"))) == 3
    import pandas as pd
    df = pd.read_csv(out / "fake.csv")
    row = df[(df.run == "w/disco") & (df.measure == "total")].iloc[0]
    assert row.value == pytest.approx(120.0) and row.paper == 110
    CALLS.clear()
    run_experiment(exp, quick=True, root=tmp_path, worker=fake_worker, client=client)
    assert CALLS == []                      # every run came from the cache


def test_a_run_that_cannot_run_is_named_in_the_report(tmp_path, client):
    def unavailable(fields: dict) -> dict:
        return {"problem": "unavailable: workload 'pmake' is not in this tree"} if fields["workload"] == "pmake" \
            else fake_worker(fields)
    res, checks = run_experiment(small_experiment(), quick=True, root=tmp_path, worker=unavailable, client=client)
    assert "m/bare" in res.problems
    assert dict(checks)["pmake is measured"] is None
    text = (tmp_path / "fake" / "report.md").read_text()
    assert "`m/bare`: unavailable: workload 'pmake'" in text and "not measured (runs missing)" in text


def test_a_failed_run_keeps_its_result_file_but_not_in_the_cache(tmp_path, client):
    def failing(fields: dict) -> dict:
        reply = fake_worker(fields)
        if fields["label"] == "m/bare":
            reply["problem"] = "run failed: halted, status 2"
        return reply
    res, _ = run_experiment(small_experiment(), quick=True, root=tmp_path, worker=failing, client=client)
    kept = list((tmp_path / "cache").glob("*.failed.h5"))
    assert len(kept) == 1 and kept[0].stat().st_size > 0
    cached = [f.name for f in (tmp_path / "cache").glob("*.h5") if not f.name.endswith(".failed.h5")]
    assert len(cached) == 2 and not any(n.startswith("m_bare") for n in cached)   # never taken for a result
    text = (tmp_path / "fake" / "report.md").read_text()
    assert "`m/bare`: run failed: halted, status 2 (its guests' output and counters: " in text
    assert str(kept[0]) in text
    CALLS.clear()
    run_experiment(small_experiment(), quick=True, root=tmp_path, worker=failing, client=client)
    assert CALLS == ["m/bare"]          # the failed run is run again


def test_execute_without_dask_when_everything_is_cached(tmp_path):
    run = Run("w/bare", "raytrace", "os")
    (tmp_path / run.file_name(fingerprint())).write_bytes(fake_h5(run, 1000))
    [out] = execute([run], tmp_path, client=object())      # never touched: nothing to run
    assert out.cached and out.path is not None
    assert take(str(out.path), run, ("time", "local_pct", "migrations")) == {
        "time": 1000.0, "local_pct": 30.0, "migrations": None}


def test_band_and_direction():
    assert band(106, 100) == ("higher", "within 10%")
    assert band(70, 100) == ("lower", "within 50%")
    assert band(100.5, 100) == ("same", "within 10%")
    assert band(12, 0) == ("higher", "within 25 points")


@pytest.mark.slow
def test_services_of_a_guest_os_run_and_the_report_command(tmp_path):
    from typer.testing import CliRunner

    from flashvm.cli import app
    from flashvm.experiments.execute import run_one
    run = Run("raytrace/bare", "raytrace", "os", sim_mode="functional", services=True)
    reply = run_one(dataclasses.asdict(run))
    assert reply["problem"] is None
    path = tmp_path / "r.h5"
    path.write_bytes(reply["h5"])
    with h5py.File(path) as f:
        names = list(f["services"].attrs["names"])
        calls = dict(zip(names, f["services/counters"][:, 0]))
    assert calls["execve"] == 1 and calls["demand_zero"] > 100 and calls["utlb_miss"] > 0
    assert take(str(path), run, ("demand_zero_us",))["demand_zero_us"] > 0
    out = CliRunner().invoke(app, ["report", str(path), "--services"], env={"COLUMNS": "200"})
    assert out.exit_code == 0 and "demand_zero" in out.output and "execve" in out.output


def test_table2_measures_read_the_services_group(tmp_path):
    from flashvm.machine.services import COUNTERS, MONITOR_PARTS, NAMES
    counters = np.zeros((len(NAMES), len(COUNTERS)), dtype=np.int64)
    monitor = np.zeros((len(NAMES), len(MONITOR_PARTS)), dtype=np.int64)
    dz = NAMES.index("demand_zero")
    counters[dz, :3] = (10, 4000, 1000)             # 10 calls, 4000 cycles of which 1000 the guest kernel's
    monitor[dz] = (600, 400, 1500, 500)
    counters[NAMES.index("read"), :3] = (2, 4000, 4000)
    path = tmp_path / "s.h5"
    with h5py.File(path, "w") as f:
        f.attrs["machine_json"] = '{"clock_mhz": 400.0}'
        g = f.create_group("services")
        g.attrs["names"] = NAMES
        g.create_dataset("counters", data=counters).attrs["names"] = COUNTERS
        g.create_dataset("monitor", data=monitor).attrs["names"] = MONITOR_PARTS
    run = Run("pmake/disco", "pmake", "disco")
    got = take(str(path), run, ("demand_zero_us", "demand_zero_share", "demand_zero_kernel", "demand_zero_mcall",
                                "read_us", "execve_us"))
    assert got == {"demand_zero_us": 1.0, "demand_zero_share": 0.5, "demand_zero_kernel": 0.25,
                   "demand_zero_mcall": 0.375, "read_us": 5.0, "execve_us": None}
    assert {p.measure for p in catalog.TABLE2.paper} <= set(catalog.TABLE2.measures)


def test_a_direction_that_does_not_hold_says_why(tmp_path, client):
    exp = small_experiment()
    wrong = catalog.Check("disco is faster", lambda t: t[("w/disco", "total")] < 100, ("w/disco",),
                          lambda t: f"the monitor took {t[('w/disco', 'monitor')]:.0f}")
    exp = dataclasses.replace(exp, checks=(*exp.checks, wrong))
    _, checks = run_experiment(exp, quick=True, root=tmp_path, worker=fake_worker, client=client)
    assert dict(checks)["disco is faster"] is False
    text = (tmp_path / "fake" / "report.md").read_text()
    assert "- disco is faster: **DOES NOT HOLD**\n  Why: the monitor took 12" in text


def reporting_worker(fields: dict) -> dict:
    """A fake run that reports its instructions so far, as session.run does in a worker."""
    import time

    from flashvm.experiments.execute import _worker_progress
    progress = _worker_progress()
    assert progress is not None                 # it runs in a dask worker
    progress.every_s = 0.0
    for n in (1_000, 2_000, 3_000):
        progress(n)
        time.sleep(0.3)
    return fake_worker(fields)


def old_run_file(path, run: Run, instructions: int) -> None:
    """A run's result file as an earlier simulator (another fingerprint) left it in the cache."""
    import json
    with h5py.File(path, "w") as f:
        f.attrs["config_json"] = json.dumps({"experiment_run": dataclasses.asdict(run)})
        f["cpu/instructions"] = np.array([instructions // 2, instructions - instructions // 2], np.int64)


def test_the_eta_expects_what_the_same_run_took_under_an_earlier_fingerprint(tmp_path, client, monkeypatch):
    from flashvm.experiments import execute as ex
    from flashvm.experiments.cli import _Progress
    monkeypatch.setattr(ex, "LIVE_S", 0.1)
    run = Run("w/bare", "raytrace", "os")
    old_run_file(tmp_path / run.file_name("0ld"), run, 10_000)
    old_run_file(tmp_path / run.file_name("0th3r"), dataclasses.replace(run, size="mp"), 99_999)   # another run
    (tmp_path / dataclasses.replace(run, label="w/bare2").file_name("x")).write_bytes(b"not hdf5")
    assert ex.previous_instructions(tmp_path, run) == 10_000
    assert ex.previous_instructions(tmp_path, dataclasses.replace(run, cpus=2)) is None
    shown = []
    [out] = execute([run], tmp_path, worker=reporting_worker, client=client, progress=lambda *a: shown.append(a))
    live = [a for a in shown if a[0] == 0 and a[4] > 0]         # (done, total, insns, elapsed, going, expected)
    assert live and all(a[5] == 10_000 - a[4] for a in live)
    assert shown[-1][5] == 0
    lines = []
    monkeypatch.setattr("flashvm.experiments.cli.err.print", lambda text, **kw: lines.append(text))
    _Progress("x")(0, 2, 0, 10.0, 2_000_000, 6_000_000)        # 0.2 MIPS so far: 6 M left take 30 s
    _Progress("x")(0, 2, 0, 10.0, 2_000_000, None)             # no estimate and no run done: no ETA
    _Progress("x")(1, 2, 5_000_000, 10.0, 0, 0)                # past the estimates: the time per run done
    assert lines[0].endswith("ETA 0m30s") and "ETA" not in lines[1] and lines[2].endswith("ETA 0m10s")


def test_sweep_shows_how_far_the_runs_going_have_got(tmp_path, client, monkeypatch):
    from flashvm.experiments import execute as ex
    monkeypatch.setattr(ex, "LIVE_S", 0.1)
    shown = []
    run = Run("w/bare", "raytrace", "os")
    [out] = execute([run], tmp_path, worker=reporting_worker, client=client, progress=lambda *a: shown.append(a))
    assert out.path is not None and out.problem is None
    live = [a for a in shown if a[0] == 0 and a[4] > 0]          # (done, total, insns, elapsed, going, expected)
    assert live and max(a[4] for a in live) <= 3_000 and all(a[5] is None for a in live)   # nothing to expect
    assert shown[-1][:3] == (1, 1, 500_000) and shown[-1][4] == 0    # the finished run is no longer "going"
    assert ex._worker_progress() is None                          # outside a worker: nothing to report to


def test_a_failed_runs_problem_quotes_the_guests_first_complaint():
    """Full fig6's 4-VM run failed with status 2 and said no more; the reason was on the VMs' stderr."""
    from types import SimpleNamespace as NS
    from flashvm.experiments.execute import guest_error
    err = (b"make: *** Waiting for unfinished jobs....\n"
           b"gcc: fatal error: Killed signal terminated program cc1\ncompilation terminated.\n")
    vms = [NS(name="vm0", status=0, stderr=b"gcc: error: not this one\n", klog=b""),
           NS(name="vm1", status=2, stderr=err, klog=b"")]
    assert guest_error(NS(vms=vms, stderr=b"")) == "vm1: gcc: fatal error: Killed signal terminated program cc1"
    assert guest_error(NS(vms=None, stderr=b"\nsome words\nlast words\n", klog=b"")) == "last words"
    assert guest_error(NS(vms=None, stderr=b"", klog=b"")) == ""
    # the guest kernel's log names what it killed for want of memory (tests/guestos: it always logs it)
    vms[1].klog = b"flashvm kernel: 2 CPU(s)\npid 57 (cc1): out of memory, killed\npid 58 (cc1): out of memory, killed\n"
    assert guest_error(NS(vms=vms, stderr=b"")) == ("vm1: gcc: fatal error: Killed signal terminated program cc1 "
                                                    "(kernel: pid 57 (cc1): out of memory, killed)")
    assert guest_error(NS(vms=None, stderr=b"", klog=vms[1].klog)) == "kernel: pid 57 (cc1): out of memory, killed"


def test_report_names_each_failed_vm_and_its_complaint(tmp_path):
    from typer.testing import CliRunner

    from flashvm.cli import app
    path = tmp_path / "failed.h5"
    with h5py.File(path, "w") as f:
        f.attrs["status"] = 2
        f["disco/vm_status"] = np.array([0, 2, 2], np.int64)
        for i in range(3):
            f.create_group(f"disco/vm{i}").attrs["name"] = f"vm{i}"
        f["disco/vm1/stderr"] = np.frombuffer(b"make: *** Waiting\ngcc: fatal error: Killed signal terminated program cc1\n",
                                              np.uint8)
        f["disco/vm1/klog"] = np.frombuffer(b"pid 9 (cc1): out of memory, killed\n", np.uint8)
    out = CliRunner().invoke(app, ["report", str(path)], env={"COLUMNS": "200"})
    assert out.exit_code == 0, out.output
    assert "vm1 (status 2)" in out.output and "Killed signal terminated program cc1" in out.output
    assert "(kernel: pid 9 (cc1): out of memory, killed)" in out.output
    assert "vm2 (status 2)" in out.output and "no stderr or kernel log in the file" in out.output
    assert "vm0 (" not in out.output


def test_full_sizes_warn_of_a_low_memory_map_limit(tmp_path):
    """A full fig6 worker died at Linux's default 65,530 maps (LLVM ERROR: Unable to allocate section memory);
    the tier now bounds its code (tests/jit/test_jit_code_bound.py) and the note says what the limit costs."""
    from flashvm.experiments.cli import map_count_warning
    low, high = tmp_path / "low", tmp_path / "high"
    low.write_text("65530\n")
    high.write_text("262144\n")
    said = map_count_warning(False, low)
    assert said is not None and "65,530" in said and "sysctl -w vm.max_map_count=262144" in said
    assert map_count_warning(True, low) is None and map_count_warning(False, high) is None
    assert map_count_warning(False, tmp_path / "absent") is None


def test_the_sweep_lets_go_of_each_finished_run(tmp_path, client):
    """A finished run's result held by the client would be computed again if its worker died."""
    from flashvm.experiments.execute import execute
    runs = [Run("w/bare", "raytrace", "os"), Run("m/bare", "pmake", "os")]
    held = []

    def ours() -> int:
        return sum(n for k, n in client.refcount.items() if str(k).startswith(("w/bare-", "m/bare-")))

    def progress(done, *rest):          # after each stored run: the sweep's own futures still held
        deadline = time.monotonic() + 3.0       # a release reaches the client's loop a moment later
        while ours() > len(runs) - done and time.monotonic() < deadline:
            time.sleep(0.05)
        held.append((done, ours()))
    execute(runs, tmp_path, worker=fake_worker, client=client, progress=progress)
    assert held and all(n <= len(runs) - done for done, n in held) and held[-1] == (2, 0), held


def test_fig7_says_what_the_builds_of_its_size_do():
    """The quick build is kernel work; the full builds compile with gcc: fig7's pmake paragraph tells which ran."""
    from flashvm.experiments.catalog import _fig7_why
    quick = {("pmake/os", "user"): 6.2, ("pmake/os", "kernel"): 34.0, ("pmake/os", "idle"): 59.7}
    full = {**quick, ("pmake/os", "user"): 41.0}
    assert "The quick build" in _fig7_why(quick, "pmake/os", "kernel")
    said = _fig7_why(full, "pmake/os", "kernel")
    assert "The quick build" not in said and "user 41 of the 100 (the paper's 28)" in said


def test_fig7_says_why_splashos_spends_time_in_the_monitor():
    """Full radix on SPLASHOS spent 25.6 of the 100 in the monitor, refilling its TLB: the paragraph says so."""
    from flashvm.experiments.catalog import _fig7_why
    t = {("radix/splashos", "total"): 73.8, ("radix/splashos", "monitor"): 25.6, ("radix/splashos", "user"): 48.3,
         ("radix/splashos", "tlb_refills_per_minsn"): 25124.0, ("radix/splashos", "l2tlb_hit_pct"): 99.7,
         ("radix/os", "tlb_refills_per_minsn"): 17221.0}
    said = _fig7_why(t, "radix/splashos", "total")
    assert "25,124 monitor refills" in said and "the monitor's 26 of the 100" in said
    quiet = {**t, ("radix/splashos", "monitor"): 0.5}
    assert "the monitor's" not in _fig7_why(quiet, "radix/splashos", "total")
