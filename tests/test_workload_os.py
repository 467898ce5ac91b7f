"""workload.toml for run.mode = "os": the keys the guest OS takes (cpus,
variant, files, commands), each bad value refused with a one-line error that
names the key, and the shipped raytrace workload running under the OS."""
from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from flashvm.workload import WorkloadError, load_workload

ROOT = Path(__file__).parent.parent


def _write(tmp_path: Path, run: str, *, kind: str = "user") -> Path:
    d = tmp_path / "w"
    d.mkdir(exist_ok=True)
    (d / "p.c").write_text("int main(void){return 0;}\n")
    (d / "in.txt").write_text("data\n")
    (d / "workload.toml").write_text(f'name = "w"\n[build]\nkind = "{kind}"\nsources = ["p.c"]\n[run]\n{run}\n')
    return d


def test_os_keys_are_read(tmp_path):
    w = load_workload(_write(tmp_path, 'mode = "os"\nmachine = "flash8"\ncpus = 4\nvariant = "mapped"\n'
                                       'files = {"/data/in.txt" = "in.txt"}\nargs = ["a", "b"]'))
    assert (w.mode, w.cpus, w.variant, w.machine) == ("os", 4, "mapped", "flash8")
    assert w.files == {"/data/in.txt": w.directory / "in.txt"}
    assert w.os_argv() == ["/bin/w", "a", "b"]
    w = load_workload(_write(tmp_path, 'mode = "os"\nfiles = {"/bin/tool" = "in.txt"}\n'
                                       'commands = [["/bin/tool", "-x"]]'))
    assert w.cpus is None and w.variant == "kseg0" and w.os_argv() == ["/bin/tool", "-x"]
    w = load_workload(_write(tmp_path, 'mode = "os"\ncommands = [["w", "1"]]'))
    assert w.os_argv() == ["/bin/w", "1"]


def test_process_and_bare_modes_are_unchanged(tmp_path):
    w = load_workload(_write(tmp_path, 'args = ["1"]'))
    assert w.mode == "process" and w.cpus is None and w.files == {} and w.command == ()
    w = load_workload(_write(tmp_path, 'mode = "bare"', kind="bare"))
    assert w.mode == "bare"


@pytest.mark.parametrize("run, message", [
    ('mode = "os"\ncpus = 0', "run.cpus is 0; use a whole number of CPUs, 1..64"),
    ('mode = "os"\ncpus = "2"', "run.cpus is '2'"),
    ('mode = "os"\ncpus = true', "run.cpus is True"),
    ('mode = "os"\ncpus = 2', "run.cpus: 2 CPUs asked for, but machine flash1 has 1 CPU"),
    ('mode = "os"\nmachine = "uma8"\ncpus = 9', "run.cpus: 9 CPUs asked for, but machine uma8 has 8 CPUs"),
    ('mode = "os"\nvariant = "paged"', "run.variant is 'paged'; use \"kseg0\" or \"mapped\""),
    ('mode = "os"\nfiles = ["in.txt"]', "run.files must be a table"),
    ('mode = "os"\nfiles = {"data/in.txt" = "in.txt"}', "run.files: guest path 'data/in.txt' must be an absolute"),
    ('mode = "os"\nfiles = {"/data/" = "in.txt"}', "run.files: guest path '/data/' must be an absolute"),
    ('mode = "os"\nfiles = {"/a/../b" = "in.txt"}', "run.files: guest path '/a/../b'"),
    ('mode = "os"\nfiles = {"/in.txt" = 3}', "run.files: the host path for '/in.txt' must be a non-empty string"),
    ('mode = "os"\nfiles = {"/in.txt" = "nope.txt"}', "run.files: /in.txt = 'nope.txt': no such file"),
    ('mode = "os"\nfiles = {"/bin/w" = "in.txt"}', "run.files: /bin/w is the workload's own program"),
    ('mode = "os"\ncommands = "w"', "run.commands must be a list of command lines"),
    ('mode = "os"\ncommands = [[]]', "run.commands must be a list of command lines"),
    ('mode = "os"\ncommands = [["w", 1]]', "run.commands must be a list of command lines"),
    ('mode = "os"\ncommands = [["w"], ["w", "2"]]', "run.commands: 2 commands given, but only one is supported"),
    ('mode = "os"\nargs = ["1"]\ncommands = [["w"]]', "run.commands and run.args both given"),
    ('mode = "os"\ncommands = [["sh", "-c", "w"]]', "run.commands: program 'sh' is not on the guest's disk"),
    ('cpus = 2', "run.cpus applies only to run.mode = \"os\" (this workload's mode is 'process')"),
    ('mode = "process"\nvariant = "kseg0"', "run.variant applies only to run.mode = \"os\""),
    ('files = {"/a" = "in.txt"}', "run.files applies only to run.mode = \"os\""),
    ('commands = [["w"]]', "run.commands applies only to run.mode = \"os\""),
    ('mode = "vm"', "run.mode is 'vm'; use \"process\", \"bare\" or \"os\""),
    ('args = "1 2"', "run.args must be a list of strings"),
])
def test_bad_os_keys_get_one_line_errors(tmp_path, run, message):
    with pytest.raises(WorkloadError) as e:
        load_workload(_write(tmp_path, run))
    text = str(e.value)
    assert "\n" not in text and "workload.toml" in text
    assert message in text, text


def test_os_mode_needs_a_user_program(tmp_path):
    with pytest.raises(WorkloadError, match="run.mode 'os' does not fit build.kind 'bare'"):
        load_workload(_write(tmp_path, 'mode = "os"', kind="bare"))


def test_raytrace_runs_under_the_os_by_default():
    w = load_workload(ROOT / "workloads" / "raytrace")
    assert (w.mode, w.machine, w.cpus) == ("os", "flash1", 1)
    assert w.stdout_contains == ("checksum b5f47ea2",)
    # the whole image takes ~15 s; a 16x12 one shows the program runs as a user process of the OS
    from flashvm.osrun import run_workload_os
    r = run_workload_os(dataclasses.replace(w, args=("16", "12")))
    assert r.status == 0 and r.stdout.startswith(b"raytrace 16x12 spp=1\n") and b"checksum " in r.stdout
    user = r.machine.m.stats[:, 2 + __import__("flashvm.kernels.state", fromlist=["S"]).S_CYC_BASE].sum()
    assert user > 0 and r.machine.cfg.name == "flash1"
