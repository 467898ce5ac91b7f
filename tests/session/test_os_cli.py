"""`flashvm exec --os` and `flashvm run` of a workload with run.mode = "os":
the guest OS kernel (docs/os.md) driven from the command line.  The program's
stdout, stderr and exit status pass through unchanged; flashvm's own words go
to stderr (-q silences them); the HDF5 result says mode "os"."""
from __future__ import annotations

from pathlib import Path

import pytest

from flashvm.results import read_run
from flashvm.toolchain import build_bare, build_user

from test_cli import GUEST, flashvm

OSG = GUEST / "os"


def _only_result(d: Path) -> dict:
    (f,) = d.glob("*.h5")
    return read_run(f)


def test_exec_os_passes_streams_status_and_writes_results(tmp_path):
    exe = build_user([OSG / "hello.c"])
    p = flashvm("exec", "--os", "--results", str(tmp_path), str(exe), "two words", "")
    assert p.returncode == 3, p.stderr
    assert p.stdout == b"hello from the flashvm guest OS: argc 3 [two words] [] HOME=(unset)\n"
    err = p.stderr.decode()
    assert err.startswith("a line on stderr\n")                 # the program's stderr, unchanged
    assert "os mode" in err and "time split" in err and "exits to Python" in err   # the summary
    assert err.rstrip().splitlines()[-1].startswith("results: ")
    r = _only_result(tmp_path)
    assert r["attrs"]["mode"] == "os" and r["attrs"]["status"] == 3 and r["attrs"]["command"] == "exec"
    assert r["config"]["cpus"] == 1 and r["config"]["variant"] == "kseg0"
    assert r["config"]["argv"] == [f"/bin/{exe.name}", "two words", ""]
    assert r["attrs"]["machine"] == "flash1"
    assert r["stdout"].tobytes() == p.stdout and r["stderr"].tobytes() == b"a line on stderr\n"
    assert r["cpu/instructions"][0] > 100_000 and r["cpu/cycles_by_mode"][0, 2] > 0   # user-mode time


@pytest.mark.parametrize("name, status", [("exitcode", 42), ("printf_double", 0)])
def test_exec_os_matches_the_expected_output(tmp_path, name, status):
    exe = build_user([GUEST / f"{name}.c"])
    p = flashvm("exec", "--os", "-q", "--results", str(tmp_path), str(exe))
    assert p.returncode == status
    assert p.stdout == (GUEST / "expected" / f"{name}.stdout").read_bytes()
    assert p.stderr == b""                                      # -q: nothing of flashvm's own


def test_exec_os_two_cpus_of_flash8(tmp_path):
    exe = build_user([OSG / "threads.c"])
    p = flashvm("exec", "--os", "-q", "--machine", "flash8", "--cpus", "2", "--results", str(tmp_path), str(exe))
    assert p.returncode == 0, p.stderr
    assert p.stdout == (OSG / "expected" / "threads.stdout").read_bytes()
    r = _only_result(tmp_path)
    assert r["cpu/instructions"].shape == (2,) and (r["cpu/instructions"] > 0).all()
    assert r["config"]["cpus"] == 2 and r["attrs"]["machine"] == "flash8"


def test_exec_os_timing_mode_mapped_kernel(tmp_path):
    exe = build_user([OSG / "hello.c"])
    p = flashvm("exec", "--os", "-q", "--mode", "timing", "--variant", "mapped", "--results", str(tmp_path),
                str(exe))
    assert p.returncode == 3, p.stderr
    assert p.stdout.startswith(b"hello from the flashvm guest OS")
    r = _only_result(tmp_path)
    assert r["attrs"]["sim_mode"] == "timing" and r["config"]["variant"] == "mapped"
    assert r["cpu/l1i_misses"][0] > 0


def test_exec_os_segfault_is_139(tmp_path):
    exe = build_user([OSG / "segv.c"])
    p = flashvm("exec", "--os", "-q", "--results", str(tmp_path), str(exe))
    assert p.returncode == 139
    assert p.stdout == (OSG / "expected" / "segv.stdout").read_bytes()


def test_kernel_panic_is_one_line_and_status_1(tmp_path):
    tiny = tmp_path / "tiny.toml"            # 1 MB of RAM: no room for the file system's cache
    tiny.write_text('base = "flash1"\nname = "tiny"\nmem_per_node = "1M"\n')
    exe = build_user([OSG / "hello.c"])
    p = flashvm("exec", "--os", "-q", "--machine", str(tiny), "--results", str(tmp_path / "res"), str(exe))
    assert p.returncode == 1
    assert p.stdout == b""
    lines = p.stderr.decode().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: kernel panic (cpu 0): "), lines
    assert _only_result(tmp_path / "res")["attrs"]["status"] == 0xDEAD      # the run is still recorded


@pytest.mark.parametrize("opts, words", [
    (["--cpus", "2"], "--cpus: 2 CPUs asked for, but machine flash1 has 1 CPU"),
    (["--machine", "flash8", "--cpus", "9"], "machine flash8 has 8 CPUs"),
    (["--cpus", "0"], "--cpus '0': give a whole number of CPUs, at least 1"),
    (["--cpus", "two"], "--cpus 'two'"),
    (["--variant", "paged"], "--variant 'paged': use one of kseg0, mapped"),
    (["--mode", "fast"], "--mode 'fast'"),
    (["--bare"], "--bare, --os and --splashos exclude each other"),
])
def test_exec_os_bad_options(tmp_path, opts, words):
    exe = build_user([GUEST / "exitcode.c"])
    p = flashvm("exec", "--os", *opts, "--results", str(tmp_path), str(exe))
    assert p.returncode == 2
    assert p.stderr.startswith(b"error: ") and p.stderr.count(b"\n") == 1, p.stderr
    assert words in p.stderr.decode()
    assert not list(tmp_path.glob("*.h5"))


def test_os_options_need_os(tmp_path):
    exe = build_user([GUEST / "exitcode.c"])
    p = flashvm("exec", "--cpus", "2", str(exe))
    assert p.returncode == 2 and p.stderr == b"error: --cpus applies only to --os\n"


def test_exec_os_refuses_what_it_cannot_run(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("not a program\n")
    bare = build_bare([GUEST / "bare" / "smp_numa.c"], extra_flags=["-DSPREAD=1"], name="smp_numa_1")
    for path, words in ((text, b"not an ELF file"), (bare, b"outside user space"),
                        (tmp_path / "missing", b"no such file")):
        p = flashvm("exec", "--os", "--results", str(tmp_path), str(path))
        assert p.returncode == 2 and p.stderr.count(b"\n") == 1 and words in p.stderr, p.stderr
    assert not list(tmp_path.glob("*.h5"))


# ------------------------------------------------------------------ workloads
def _os_workload(tmp_path: Path, run: str, check: str, src: str) -> Path:
    d = tmp_path / "w"
    d.mkdir()
    (d / "p.c").write_text(src)
    (d / "input.txt").write_text("seven words of input for the guest\n")
    (d / "workload.toml").write_text(f'name = "w"\n[build]\nsources = ["p.c"]\n[run]\n{run}\n[check]\n{check}\n')
    return d


READER = r'''#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv) {
    char buf[128] = {0};
    FILE *f = fopen(argv[1], "r");
    if (!f) { perror(argv[1]); return 9; }
    fgets(buf, sizeof buf, f);
    printf("%s: %s", argv[0], buf);
    printf("cpus online %ld, args %d\n", sysconf(_SC_NPROCESSORS_ONLN), argc);
    fprintf(stderr, "done\n");
    return 5;
}
'''


def test_run_os_workload_with_files_and_cpus(tmp_path):
    d = _os_workload(tmp_path, 'mode = "os"\nmachine = "flash8"\ncpus = 2\nfiles = {"/data/in.txt" = "input.txt"}\n'
                               'args = ["/data/in.txt"]',
                     'exit_status = 5\nstdout_contains = ["seven words of input", "cpus online 2, args 2"]', READER)
    p = flashvm("run", str(d), "--results", str(tmp_path / "res"))
    assert p.returncode == 5, p.stderr
    assert p.stdout.decode().startswith("/bin/w: seven words of input for the guest\n")
    assert b"done\n" in p.stderr and b"check passed" in p.stderr and b"(os mode)" in p.stderr
    r = _only_result(tmp_path / "res")
    assert r["attrs"]["mode"] == "os" and r["attrs"]["command"] == "run"
    assert r["config"]["cpus"] == 2 and r["cpu/instructions"].shape == (2,)
    assert r["stdout"].tobytes() == p.stdout and r["stderr"].tobytes() == b"done\n"


def test_run_os_workload_command_and_failed_check(tmp_path):
    d = _os_workload(tmp_path, 'mode = "os"\nfiles = {"/in.txt" = "input.txt"}\ncommands = [["w", "/in.txt", "x"]]',
                     'exit_status = 5\nstdout_contains = "args 2"', READER)
    p = flashvm("run", "-q", str(d), "--results", str(tmp_path / "res"))
    assert p.returncode == 1                                    # args 3, not 2
    assert b"args 3" in p.stdout and b"check failed" in p.stderr and b"'args 2'" in p.stderr


def test_run_os_workload_kernel_panic(tmp_path):
    d = _os_workload(tmp_path, 'mode = "os"\nmachine = "tiny.toml"', "exit_status = 0", "int main(void){return 0;}\n")
    (d / "tiny.toml").write_text('base = "flash1"\nname = "tiny"\nmem_per_node = "1M"\n')
    p = flashvm("run", "-q", str(d), "--results", str(tmp_path / "res"))
    assert p.returncode == 1
    last = p.stderr.decode().strip().splitlines()[-1]
    assert last.startswith("error: w: kernel panic (cpu 0): ") and "check" not in last


def test_exec_os_instruction_limit(tmp_path):
    exe = build_user([OSG / "hello.c"])
    p = flashvm("exec", "--os", "-q", "--max-insns", "50000", "--results", str(tmp_path), str(exe))
    assert p.returncode == 124 and p.stderr.count(b"\n") == 1 and b"limit 50,000" in p.stderr
    assert _only_result(tmp_path)["attrs"]["ended"] == "limit"          # the run is still saved


def test_run_os_workload_of_several_commands(tmp_path):
    from test_workload_os import _multi_workload
    d = _multi_workload(tmp_path, 'commands = [["p", "0"], ["q", "x"], ["p", "3"]]',
                        'exit_status = 3\nstdout_contains = ["p says 0 ", "q runs with FOO=bar argc 2: [x]", '
                        '"p says 3 "]')
    p = flashvm("run", str(d), "--results", str(tmp_path / "res"))
    assert p.returncode == 3, p.stderr
    assert p.stdout.count(b"\n") == 3 and b"check passed" in p.stderr
    r = _only_result(tmp_path / "res")
    assert r["attrs"]["mode"] == "os" and r["attrs"]["status"] == 3
    assert r["config"]["argv"] == ["/sbin/multi", "--", "/bin/p", "0", "--", "/bin/q", "x", "--", "/bin/p", "3"]
