"""The workloads made of Debian's programs: pmake (make -j2 and gcc over figlet's
sources from Debian's source package) and database (sqlite3 over a generated
TPC-H-style database); the pieces they stand on (apt's source entries, the
source cache, run.debian_source, run.generate, `flashvm run --vms`) and the
database's queries over a tiny database in the guest, quickly; the other runs,
in tiny forms and in full, are slow."""
from __future__ import annotations

import dataclasses
import importlib.util
import sys
from pathlib import Path

import pytest

from flashvm.generated import GenerateError, generate, generated_dir
from flashvm.machine.config import machine_config, machine_with_cpus
from flashvm.session import run
from flashvm.session.options import OptionError, vm_share_mb, workload_in_vms
from flashvm.sysroot import SysrootError, fetch_source, source_cache
from flashvm.sysroot.apt import as_deb_src
from flashvm.sysroot.source import upstream_tarball
from flashvm.workload import Workload, WorkloadError, load_workload
from support import ROOT

PMAKE, DATABASE = ROOT / "workloads" / "pmake", ROOT / "workloads" / "database"
FIGLET_SHA256 = "bf88c40fd0f077dab2712f54f8d39ac952e4e9f2e1882f1195be9e5e4257417d"


def _module(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[path.stem] = mod
    spec.loader.exec_module(mod)
    return mod


# --- apt-get source through the machine's own entries ---------------------------------

def test_deb_src_lines_repeat_only_debian_entries():
    text = ("deb http://mirror.example/debian bookworm main\n"
            "deb [arch=amd64 signed-by=/k.gpg] http://mirror.example/sec bookworm-security main\n"
            "deb http://other.example/cloud cloud-sdk-bookworm main\n# deb http://x bookworm main\n")
    out = as_deb_src(text, deb822=False).splitlines()
    assert out == ["deb-src http://mirror.example/debian bookworm main",
                   "deb-src [arch=amd64 signed-by=/k.gpg] http://mirror.example/sec bookworm-security main"]


def test_deb_src_stanzas_repeat_only_debian_entries():
    text = ("Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm bookworm-updates\n"
            "Components: main\n\nTypes: deb\nURIs: http://other.example/node\nSuites: nodistro\n"
            "Components: main\n")
    out = as_deb_src(text, deb822=True)
    assert out.count("Types: deb-src") == 1 and "mirror.example/debian" in out and "nodistro" not in out
    assert "Types: deb\n" not in out


def test_upstream_tarball_is_the_orig_one(tmp_path):
    for name in ("figlet_2.2.5-3.dsc", "figlet_2.2.5-3.debian.tar.xz", "figlet_2.2.5.orig.tar.gz"):
        (tmp_path / name).write_bytes(b"x")
    assert upstream_tarball(tmp_path, "figlet").name == "figlet_2.2.5.orig.tar.gz"
    (tmp_path / "figlet_2.2.5.orig.tar.gz").unlink()
    assert upstream_tarball(tmp_path, "figlet") is None
    (tmp_path / "native_1.0.tar.xz").write_bytes(b"x")
    assert upstream_tarball(tmp_path, "native").name == "native_1.0.tar.xz"


def test_a_cached_source_is_pinned_by_its_sha256(tmp_path, monkeypatch):
    monkeypatch.setenv("FLASHVM_CACHE", str(tmp_path))
    folder = source_cache() / "figlet"
    folder.mkdir(parents=True)
    (folder / "figlet_2.2.5.orig.tar.gz").write_bytes(b"not figlet")
    assert fetch_source("figlet").name == "figlet_2.2.5.orig.tar.gz"     # cached: no apt run
    with pytest.raises(SysrootError, match="has sha256"):
        fetch_source("figlet", sha256=FIGLET_SHA256)


# --- workload.toml keys ---------------------------------------------------------------

def test_pmake_and_database_load_in_both_sizes():
    for path in (PMAKE, DATABASE):
        uni, mp = load_workload(path), load_workload(path, "mp")
        assert (uni.size, uni.machine, uni.cpus, len(uni.commands)) == ("uni", "flash1", 1, 1)
        assert (mp.machine, mp.cpus, len(mp.commands)) == ("flash8", 8, 8)
    w = load_workload(PMAKE)
    assert w.debian_source == {"package": "figlet", "sha256": FIGLET_SHA256, "path": "/src/figlet.tar.gz"}
    assert w.commands == (("/bin/sh", "/src/build.sh", "/w1", "build"),)
    assert "make -j2" in (PMAKE / "build.sh").read_text()
    mp = load_workload(PMAKE, "mp")
    assert len({c[2] for c in mp.commands}) == 8                           # eight directories
    assert load_workload(DATABASE).generate["script"] == "gentpch.py"


@pytest.mark.parametrize("value, problem", [
    ('{ package = "figlet", path = "/src/f.tgz" }', "exactly package, sha256 and path"),
    ('{ package = "figlet", sha256 = "ab", path = "src/f.tgz" }', "absolute guest path"),
    ('"figlet"', "debian_source is"),
])
def test_debian_source_refused(tmp_path, value, problem):
    (tmp_path / "workload.toml").write_text(
        f'[run]\nmode = "os"\ndebian = ["busybox-static"]\ncommands = [["/bin/true"]]\ndebian_source = {value}\n')
    with pytest.raises(WorkloadError, match=problem):
        load_workload(tmp_path)


@pytest.mark.parametrize("value, problem", [
    ('{ script = "missing.py", path = "/data" }', "must be a file in the workload's folder"),
    ('{ script = "gen.py", path = "data" }', "absolute guest folder"),
    ('{ script = "gen.py", path = "/data", seed = 1 }', "takes script, path"),
])
def test_generate_refused(tmp_path, value, problem):
    (tmp_path / "gen.py").write_text("")
    (tmp_path / "workload.toml").write_text(
        f'[run]\nmode = "os"\ndebian = ["busybox-static"]\ncommands = [["/bin/true"]]\ngenerate = {value}\n')
    with pytest.raises(WorkloadError, match=problem):
        load_workload(tmp_path)


def test_generate_runs_once_and_caches(tmp_path, monkeypatch):
    monkeypatch.setenv("FLASHVM_CACHE", str(tmp_path / "cache"))
    script = tmp_path / "gen.py"
    script.write_text("import sys, pathlib, time\n"
                      "p = pathlib.Path(sys.argv[1])\n(p / 'a.txt').write_text(sys.argv[2] + str(time.time()))\n")
    first = generate(script, ["x"])
    assert list(first) == ["a.txt"] and first["a.txt"].read_text().startswith("x")
    assert generate(script, ["x"])["a.txt"].read_text() == first["a.txt"].read_text()    # cached
    assert generated_dir(script, ["y"]) != generated_dir(script, ["x"])
    script.write_text("import sys\nsys.exit('no room')\n")
    with pytest.raises(GenerateError, match="no room"):
        generate(script, ["x"])


# --- flashvm run --vms ----------------------------------------------------------------

def test_run_vms_puts_the_commands_in_disco_vms():
    cfg = machine_config("flash1")
    w = workload_in_vms(load_workload(PMAKE), cfg, 1, None, None)
    assert w.vms == 1 and w.vm_mem_mb == vm_share_mb(cfg, 1) > 48          # more than the usual 32 MB
    assert workload_in_vms(load_workload(PMAKE), cfg, 1, "40", None).vm_mem_mb == 40
    assert vm_share_mb(machine_config("flash8"), 8) == 31
    with pytest.raises(OptionError, match="--vm-mem applies only"):
        workload_in_vms(load_workload(PMAKE), cfg, None, "40", None)
    with pytest.raises(OptionError, match="need"):
        workload_in_vms(load_workload(PMAKE), cfg, 2, "48", None)
    with pytest.raises(OptionError, match="process mode"):
        workload_in_vms(dataclasses.replace(load_workload(PMAKE), mode="process"), cfg, 1, None, None)


# --- the database's answers ------------------------------------------------------------

def test_database_check_lines_are_the_hosts_answers():
    """workload.toml's check lines are what the host's own SQLite answers on the generated file."""
    w = load_workload(DATABASE)
    expected = _module(DATABASE / "expected.py")
    db = w.generated_files()["/data/tpch.db"]
    assert w.stdout_contains == tuple(expected.md5_lines(db, "/tmp/r"))
    mp = load_workload(DATABASE, "mp")
    assert mp.stdout_contains == tuple(line for i in range(1, 9) for line in expected.md5_lines(db, f"/tmp/r{i}"))
    assert [int(a.split()[1]) for a in expected.answers(db)] == [4, 10, 5, 1, 20, 2, 1, 47]   # rows per query


def test_the_generator_is_deterministic(tmp_path):
    gen = _module(DATABASE / "gentpch.py")
    gen.generate(tmp_path / "a.db", 0.0001, 7)
    gen.generate(tmp_path / "b.db", 0.0001, 7)
    expected = _module(DATABASE / "expected.py")
    assert expected.answers(tmp_path / "a.db") == expected.answers(tmp_path / "b.db")
    gen.generate(tmp_path / "c.db", 0.0001, 8)
    assert expected.answers(tmp_path / "c.db") != expected.answers(tmp_path / "a.db")


# --- runs in the guest ----------------------------------------------------------------

def run_on(w: Workload, machine: str, cpus: int, sim_mode: str = "functional"):
    cfg = machine_config(machine)
    if not w.vms:
        cfg = machine_with_cpus(cfg, cpus)
    report = run(w.spec(w.build(), machine=cfg, sim_mode=sim_mode, cpus=cpus))
    assert report.how_ended == "halted", report.end_message
    assert w.check_report(report) is None, (w.check_report(report), report.stdout[-600:], report.stderr[-600:])
    return report


def tiny_database(**more) -> Workload:
    """The database workload over the smallest database (scale 0.0001), checked against the host's answers."""
    w = load_workload(DATABASE)
    w = dataclasses.replace(w, generate={**w.generate, "args": ["--scale", "0.0001", "--seed", "1997"]}, **more)
    expected = _module(DATABASE / "expected.py")
    lines = expected.md5_lines(w.generated_files()["/data/tpch.db"], "/tmp/r")
    return dataclasses.replace(w, stdout_contains=tuple(lines))


def test_database_tiny_under_the_os():      # ~7 s: eight queries over a 1.2 MB database, on 1 CPU
    run_on(tiny_database(), "flash1", 1)


@pytest.mark.slow
def test_database_tiny_in_one_disco_vm():
    w = workload_in_vms(tiny_database(), machine_config("flash1"), 1, "48", None)
    r = run_on(w, "flash1", 1)
    assert r.spec.kind == "disco" and len(r.vms) == 1


@pytest.mark.slow
def test_pmake_tiny_under_the_os():
    """make -j2 compiles two of figlet's files with gcc in the guest (no -O, the quick form)."""
    w = load_workload(PMAKE)
    cmd = ("mkdir -p /w && cd /w && tar xzf /src/figlet.tar.gz && cd figlet-2.2.5 && "
           "make -j2 CFLAGS=-O0 crc.o utf8.o >/dev/null && ls crc.o utf8.o")
    w = dataclasses.replace(w, commands=(("/bin/sh", "-c", cmd),), stdout_contains=("crc.o", "utf8.o"))
    run_on(w, "flash1", 1)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["pmake", "database"])
def test_full_uni_size(name):
    r = run_on(load_workload(ROOT / "workloads" / name), "flash1", 1)
    assert [g.name for g in r.regions] == ["build" if name == "pmake" else "queries"]     # /sbin/roi ran
