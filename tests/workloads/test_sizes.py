"""workload.toml's [size.uni] / [size.mp] tables: read over [run] and [check], the
default (uni), each bad table or key refused with a one-line error naming it, and
the shipped workloads' two forms (1 CPU of flash1, 8 CPUs of flash8)."""
from __future__ import annotations

from pathlib import Path

import pytest

from flashvm.workload import WorkloadError, load_workload
from support import ROOT

SIZES = """
[size.uni]
args = ["1", "100"]
stdout_contains = "one"

[size.mp]
machine = "flash8"
cpus = 8
commands = [["w", "8", "100"], ["w", "8", "200"]]
stdout_contains = ["eight", "also"]
"""


def _write(tmp_path: Path, body: str) -> Path:
    d = tmp_path / "w"
    d.mkdir(exist_ok=True)
    (d / "p.c").write_text("int main(void){return 0;}\n")
    (d / "workload.toml").write_text('name = "w"\n[build]\nsources = ["p.c"]\n[run]\nmode = "os"\n'
                                     'args = ["x"]\ntimeout_s = 5\n[check]\nstdout_contains = "base"\n' + body)
    return d


def test_a_size_sets_run_and_check_keys(tmp_path):
    d = _write(tmp_path, SIZES)
    w = load_workload(d, "mp")
    assert (w.size, w.sizes, w.machine, w.cpus, w.timeout_s) == ("mp", ("uni", "mp"), "flash8", 8, 5)
    assert w.args == () and w.commands == (("/bin/w", "8", "100"), ("/bin/w", "8", "200"))
    assert w.stdout_contains == ("eight", "also")
    spec = w.spec(Path("p"), machine=w.machine, sim_mode="functional")
    assert spec.notes["size"] == "mp" and "mp size" in spec.title


def test_uni_is_the_default(tmp_path):
    w = load_workload(_write(tmp_path, SIZES))
    assert (w.size, w.args, w.machine, w.stdout_contains) == ("uni", ("1", "100"), "flash1", ("one",))


def test_without_sizes_nothing_changes(tmp_path):
    w = load_workload(_write(tmp_path, ""))
    assert (w.size, w.sizes, w.args, w.stdout_contains) == (None, (), ("x",), ("base",))
    assert "size" not in w.spec(Path("p"), machine=w.machine, sim_mode="functional").notes
    w = load_workload(_write(tmp_path, "[size.mp]\ncpus = 1\n"))   # only mp: [run] as written by default
    assert (w.size, w.sizes, w.args) == (None, ("mp",), ("x",))


@pytest.mark.parametrize("body, size, message", [
    (SIZES, "big", "no size 'big': it has uni, mp"),
    ("", "mp", "no size 'mp': it has no [size.NAME] tables"),
    ("[size.huge]\nargs = []\n", None, "[size.huge]: a size is one of uni, mp"),
    ("[size]\nuni = 3\n", None, "size.uni must be a table ([size.uni])"),
    ("[size.uni]\nmode = \"process\"\n", None, "unknown key 'mode' in [size.uni]; allowed: args, commands"),
    ("[size.mp]\ncpus = \"8\"\n", "mp", "size.mp.cpus is the string '8'; expected an integer (e.g. cpus = 4 in [size.mp])"),
    ("[size.mp]\ncpus = 9\nmachine = \"flash8\"\n", "mp", "run.cpus: 9 CPUs asked for, but machine flash8 has 8 CPUs"),
])
def test_bad_sizes_are_refused(tmp_path, body, size, message):
    with pytest.raises(WorkloadError) as e:
        load_workload(_write(tmp_path, body), size)
    assert message in str(e.value) and "\n" not in str(e.value)


@pytest.mark.parametrize("name", ["raytrace", "radix", "engineering"])
def test_shipped_workloads_have_both_forms(name):
    uni, mp = (load_workload(ROOT / "workloads" / name, s) for s in ("uni", "mp"))
    assert (uni.mode, uni.machine, uni.cpus) == ("os", "flash1", 1)
    assert (mp.mode, mp.machine, mp.cpus) == ("os", "flash8", 8)
    assert uni.stdout_contains and mp.stdout_contains and load_workload(ROOT / "workloads" / name).size == "uni"
    if name != "engineering":                      # the first argument: the thread count
        assert (uni.args[0], mp.args[0]) == ("1", "8")
    else:                                          # several simulations at once
        assert len(uni.commands) == 4 and len(mp.commands) == 12     # Verilog and memsim, 2 + 2 and 6 + 6
