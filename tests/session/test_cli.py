"""The command line as a user drives it: output pass-through, exit status,
result files, and one-line errors for bad input."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import h5py
import pytest

from flashvm.kernels.state import EXIT_HOT_PAGE
from flashvm.results import read_run
from flashvm.toolchain import build_user

GUEST = Path(__file__).parents[1] / "guest"
ROOT = Path(__file__).parents[2]


def flashvm(*args: str, cwd: Path = ROOT, timeout: int = 600) -> subprocess.CompletedProcess:
    """`python -m flashvm.cli ARGS` from this source tree (not whatever is installed)."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    return subprocess.run([sys.executable, "-m", "flashvm.cli", *args], cwd=cwd, capture_output=True,
                          timeout=timeout, env=env)


def test_exec_passes_stdout_and_status_through(tmp_path):
    exe = build_user([GUEST / "exitcode.c"])
    p = flashvm("exec", "--results", str(tmp_path), str(exe))
    assert p.returncode == 42
    assert p.stdout == (GUEST / "expected" / "exitcode.stdout").read_bytes()
    assert b"results:" in p.stderr                 # flashvm's own words go to stderr only
    files = list(tmp_path.glob("*.h5"))
    assert len(files) == 1
    r = read_run(files[0])
    assert r["attrs"]["status"] == 42 and r["attrs"]["mode"] == "process"
    assert r["cpu/instructions"][0] > 0
    assert r["config"]["argv"][0] == exe.name
    with h5py.File(files[0]) as f:
        assert list(f["cpu/exits"].attrs["names"])[:2] == ["budget", "exception"]
        assert f["cpu/instructions"].attrs["unit"] == "instructions"


def test_exec_passes_arguments(tmp_path):
    exe = build_user([GUEST / "files.c"])
    p = flashvm("exec", "-q", "--results", str(tmp_path), str(exe), "data/sample.txt", "--weird-flag",
                cwd=GUEST)
    assert p.returncode == 0, p.stderr
    assert b"argc 3" in p.stdout
    assert b"--weird-flag" in p.stdout
    assert p.stderr == b""                         # -q: nothing of flashvm's own


def _workload(tmp_path: Path, toml: str, src: str = 'int main(void){puts("hi there");return 3;}') -> Path:
    d = tmp_path / "w"
    d.mkdir()
    (d / "p.c").write_text("#include <stdio.h>\n" + src + "\n")
    (d / "workload.toml").write_text(toml)
    return d


def test_run_checks_output_and_writes_results(tmp_path):
    d = _workload(tmp_path, 'name = "w"\n[build]\nsources = ["p.c"]\n[check]\nexit_status = 3\n'
                            'stdout_contains = "hi there"\n')
    p = flashvm("run", str(d), "--results", str(tmp_path / "res"))
    assert p.returncode == 3, p.stderr
    assert p.stdout == b"hi there\n"
    assert b"check passed" in p.stderr
    (f,) = (tmp_path / "res").glob("w-*.h5")
    assert read_run(f)["stdout"].tobytes() == b"hi there\n"


def test_run_reports_a_failed_check(tmp_path):
    d = _workload(tmp_path, 'name = "w"\n[build]\nsources = ["p.c"]\n[check]\nstdout_contains = "bye"\n')
    p = flashvm("run", str(d), "--results", str(tmp_path))
    assert p.returncode == 1
    assert b"check failed" in p.stderr and b"bye" in p.stderr


@pytest.mark.parametrize("toml, message", [
    ('name = "w"\n[build]\nsources = ["p.c"]\nwhat = 1\n', "unknown key 'what' in [build]"),
    ('name = "w"\n[build]\nsources = []\n', "build.sources must be a non-empty list"),
    ('name = "w"\n[build]\nsources = ["missing.c"]\n', "source missing.c does not exist"),
    ('name = "w"\n[build]\nsources = ["p.c"]\n[run]\nmode = "fast"\n', "run.mode is 'fast'"),
    ('name = "w"\n[build\n', "not valid TOML"),
    ('name = "w"\n[build]\nsources = ["p.c"]\n[run]\nmode = "os"\ncpus = 0\n', "run.cpus is 0"),
    ('name = "w"\n[build]\nsources = ["p.c"]\n[run]\nmode = "os"\nvariant = "paged"\n', "run.variant is 'paged'"),
    ('name = "w"\n[build]\nsources = ["p.c"]\n[run]\ncpus = 2\n', "run.cpus applies only to run.mode = \"os\""),
])
def test_bad_workload_toml_gets_one_line_error(tmp_path, toml, message):
    d = _workload(tmp_path, toml)
    p = flashvm("run", str(d))
    assert p.returncode == 2
    lines = p.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and message in lines[0] and "workload.toml" in lines[0], lines


def test_compile_error_shows_the_compiler_message(tmp_path):
    d = _workload(tmp_path, 'name = "w"\n[build]\nsources = ["p.c"]\n', src="int main(void){ return x; }")
    p = flashvm("run", str(d))
    assert p.returncode == 2
    assert b"use of undeclared identifier" in p.stderr


def test_exec_refuses_a_malformed_elf(tmp_path):
    bad = tmp_path / "bad.elf"
    bad.write_bytes(b"\x7fELF\x02\x01\x01" + bytes(57))
    p = flashvm("exec", str(bad))
    assert p.returncode == 2
    err = p.stderr.decode().strip()
    assert len(err.splitlines()) == 1 and "bad.elf" in err and "ELF64" in err or "class" in err


def test_exec_missing_file():
    p = flashvm("exec", "/nonexistent/prog")
    assert p.returncode == 2 and b"no such file" in p.stderr


def test_runaway_program_is_stopped(tmp_path):
    d = _workload(tmp_path, 'name = "w"\n[build]\nsources = ["p.c"]\n',
                  src="int main(void){ volatile int x = 0; for (;;) x++; }")
    p = flashvm("run", str(d), "--max-insns", "200000", "--results", str(tmp_path))
    assert p.returncode != 0
    assert b"instruction limit 200000" in p.stderr


def test_disasm_word_and_function():
    p = flashvm("disasm", "0x27bdffe0")
    assert p.stdout.decode().strip() == "addiu $sp, $sp, -32"
    exe = build_user([GUEST / "exitcode.c"])
    p = flashvm("disasm", str(exe), "--symbol", "main")
    assert p.returncode == 0
    assert b"main+0x4 " in p.stdout and b"addiu $a0, $zero, 42" in p.stdout   # exit(42)


def test_unknown_option_is_refused():
    p = flashvm("run", "--frobnicate", "workloads/raytrace")
    assert p.returncode == 2 and b"No such option" in p.stderr


# ------------------------------------------------------------ machines and modes
def test_exec_bare_on_flash8_timing_writes_memory_counters(tmp_path):
    from flashvm.toolchain import build_bare
    exe = build_bare([GUEST / "bare" / "smp_numa.c"], extra_flags=["-DSPREAD=1"], name="smp_numa_1")
    p = flashvm("exec", "--bare", "--machine", "flash8", "--mode", "timing", "--results", str(tmp_path), str(exe))
    assert p.returncode == 0, p.stderr
    assert b"8 cpus, spread=1" in p.stdout and b"ok" in p.stdout
    assert b"local" in p.stderr and b"results:" in p.stderr
    r = read_run(next(tmp_path.glob("*.h5")))
    assert r["attrs"]["machine"] == "flash8" and r["attrs"]["sim_mode"] == "timing"
    assert r["cpu/instructions"].shape == (8,)
    assert r["cpu/misses_local"].sum() > 0 and r["cpu/l2_misses"].sum() > 0
    assert r["cpu/cycles_by_mode"].shape == (8, 3)
    assert r["node/misses_local"].shape == (8,) and r["node/directory_ops"].sum() > 0
    assert r["pages/page"].size > 0 and r["pages/misses"].shape[1] == 8
    import json
    with h5py.File(next(tmp_path.glob("*.h5"))) as f:
        machine = json.loads(f.attrs["machine_json"])
    assert machine["nodes"] == 8 and machine["latency_cycles"]["remote"] == 360


def test_exec_process_mode_timing(tmp_path):
    exe = build_user([GUEST / "exitcode.c"])
    p = flashvm("exec", "--mode", "timing", "--results", str(tmp_path), str(exe))
    assert p.returncode == 42
    r = read_run(next(tmp_path.glob("*.h5")))
    assert r["cpu/l1i_misses"][0] > 0 and r["attrs"]["sim_mode"] == "timing"


@pytest.mark.parametrize("args, words", [
    (["--machine", "flash99"], b"neither a preset"),
    (["--mode", "fast"], b"--mode 'fast'"),
])
def test_bad_machine_options(tmp_path, args, words):
    exe = build_user([GUEST / "exitcode.c"])
    p = flashvm("exec", *args, "--results", str(tmp_path), str(exe))
    assert p.returncode == 2
    assert p.stderr.startswith(b"error: ") and words in p.stderr and p.stderr.count(b"\n") == 1
    assert not list(tmp_path.glob("*.h5"))


def test_machines_lists_presets():
    p = flashvm("machines")
    assert p.returncode == 0 and b"flash8" in p.stdout and b"uma8" in p.stdout
    p = flashvm("machines", "flash8")
    assert p.returncode == 0 and b"mem_per_node" in p.stdout


# ------------------------------------------------------------ input validation (issue 10, item 11)
def _one_line_error(p: subprocess.CompletedProcess, *words: str) -> str:
    """The CLI refused its input: status 2, one line on stderr naming `words`, no traceback."""
    text = p.stderr.decode()
    assert p.returncode == 2, text
    assert text.startswith("error: ") and text.count("\n") == 1 and "Traceback" not in text, text
    for w in words:
        assert w in text, text
    return text


def test_workload_name_cannot_leave_the_results_folder(tmp_path):
    d = _workload(tmp_path, 'name = "../../../x"\n[build]\nsources = ["p.c"]\n')
    res = tmp_path / "a" / "b" / "results"
    p = flashvm("run", str(d), "--results", str(res))
    _one_line_error(p, "workload.toml", "name '../../../x' is not a plain name", 'name = "x"')
    assert not list(tmp_path.rglob("*.h5"))


def test_result_file_stays_in_the_results_folder_whatever_the_name(tmp_path):
    from flashvm.results import default_path
    for name in ("../../../x", "/etc/passwd", ".hidden", "..", "", "a b/c"):
        path = default_path(tmp_path / "results", name)
        assert path.parent == tmp_path / "results" and not path.name.startswith("."), (name, path)
    assert default_path(tmp_path, "ray-trace_1.2").name.startswith("ray-trace_1.2-")


@pytest.mark.parametrize("text, words", [
    ('nodes = "8"\n', ["nodes is the string '8'; expected an integer"]),
    ('clock_mhz = "fast"\n', ["clock_mhz is the string 'fast'; expected a number"]),
    ('[l2]\nways = "2"\n', ["l2.ways is the string '2'; expected an integer"]),
    ('uma = "no"\n', ["uma is the string 'no'; expected true or false"]),
    ('[latency]\nlocal_ns = -300\n', ["latency.local_ns = -300: must be 0.."]),
])
def test_bad_machine_file_gets_one_line_error(tmp_path, text, words):
    exe = build_user([GUEST / "exitcode.c"])
    m = tmp_path / "m.toml"
    m.write_text(text)
    p = flashvm("exec", "--machine", str(m), "--results", str(tmp_path), str(exe))
    _one_line_error(p, str(m), *words)
    assert not list(tmp_path.glob("*.h5"))


def test_machine_naming_a_directory_is_refused(tmp_path):
    exe = build_user([GUEST / "exitcode.c"])
    p = flashvm("exec", "--machine", str(tmp_path), "--results", str(tmp_path), str(exe))
    _one_line_error(p, "not a file", "flash1")


@pytest.mark.parametrize("toml, words", [
    ('name = "w"\n[build]\nsources = ["p.c"]\nopt = 2\n', ["build.opt is the number 2; expected a string"]),
    ('name = "w"\n[build]\nsources = ["p.c"]\n[check]\nstdout_contains = [5]\n',
     ["check.stdout_contains is a list [5]; expected a string or a list of strings"]),
    ('name = "w"\n[build]\nsources = ["p.c"]\n[run]\nmode = "os"\nfiles = {"/etc/passwd" = "/etc/passwd"}\n',
     ["run.files: /etc/passwd = '/etc/passwd'", "run.allow_outside = true"]),
])
def test_bad_workload_values_get_one_line_errors_from_run(tmp_path, toml, words):
    p = flashvm("run", str(_workload(tmp_path, toml)), "--results", str(tmp_path))
    _one_line_error(p, "workload.toml", *words)


@pytest.mark.parametrize("command", ["exec", "run"])
def test_negative_max_insns_is_refused(tmp_path, command):
    target = build_user([GUEST / "exitcode.c"]) if command == "exec" else \
        _workload(tmp_path, 'name = "w"\n[build]\nsources = ["p.c"]\n')
    p = flashvm(command, "--max-insns", "-1", "--results", str(tmp_path), str(target))
    _one_line_error(p, "--max-insns -1", "positive")
    assert not list(tmp_path.glob("*.h5"))


def test_process_mode_timing_with_hot_pages_runs(tmp_path):
    """Process mode has no OS to migrate hot pages: MAGIC's events are dropped, the run
    finishes and the per-page miss counters are still there."""
    exe = build_user([GUEST / "exitcode.c"])
    m = tmp_path / "hot.toml"
    m.write_text('base = "flash1"\nhot_page_threshold = 2\n')
    p = flashvm("exec", "--machine", str(m), "--mode", "timing", "--results", str(tmp_path), str(exe))
    assert p.returncode == 42, p.stderr
    r = read_run(next(tmp_path.glob("*.h5")))
    assert r["pages/misses"].sum() > 0
    assert r["cpu/exits"][0, EXIT_HOT_PAGE] > 0          # the events happened, and were let go
