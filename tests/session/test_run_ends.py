"""However a run ends it is saved (issue 10, items 4, 5, 10 and 12): a limit,
a guest OS deadlock, SIGINT and SIGTERM write the HDF5 result with `ended`, print
the summary, remove the temporary files and exit with the documented status;
stdin passes through; options after PROGRAM are the program's; the first-use
compile is announced and not counted in the run's time."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from flashvm.results import read_run
from flashvm.toolchain import build_user

from test_cli import ROOT, flashvm

LOOP = "int main(void){ volatile int x = 0; for (;;) x++; }\n"
STUCK = """#include <stdio.h>
#include <unistd.h>
int main(void){ int p[2]; char c; pipe(p); puts("waiting"); fflush(stdout); read(p[0], &c, 1); return 0; }
"""
CAT = """#include <stdio.h>
int main(int argc, char **argv){ int c, n = 0;
  while ((c = getchar()) != EOF) { putchar(c); n++; }
  printf("[%d bytes, argc %d%s%s]\\n", n, argc, argc > 1 ? " " : "", argc > 1 ? argv[1] : ""); return 0; }
"""
READF = """#include <stdio.h>
int main(int argc, char **argv){ FILE *f = fopen(argv[1], "r"); char b[64] = {0};
  if (!f) { puts("no file"); return 1; } fgets(b, sizeof b, f); printf("read: %s", b); return 0; }
"""


def _exe(tmp_path: Path, name: str, src: str) -> Path:
    c = tmp_path / f"{name}.c"
    c.write_text(src)
    return build_user([c])


def _only_result(d: Path) -> dict:
    (f,) = d.glob("*.h5")
    return read_run(f)


def test_exec_os_limit_saves_results_and_exits_124(tmp_path):
    exe = _exe(tmp_path, "loop", LOOP)
    p = flashvm("exec", "--os", "--max-insns", "3000000", "--results", str(tmp_path / "res"), str(exe))
    assert p.returncode == 124, p.stderr
    err = p.stderr.decode()
    assert "ended" in err and "results: " in err                         # the summary and the file
    assert err.rstrip().splitlines()[-1].startswith("stopped: ") and "limit 3,000,000" in err
    r = _only_result(tmp_path / "res")
    assert r["attrs"]["ended"] == "limit" and "limit 3,000,000" in r["attrs"]["end_message"]
    assert r["attrs"]["status"] == -1 and r["cpu/instructions"].sum() >= 3_000_000


def test_timeout_stops_a_process_and_the_limit_is_recorded(tmp_path):
    exe = _exe(tmp_path, "loop", LOOP)
    t0 = time.monotonic()
    p = flashvm("exec", "-q", "--timeout", "1", "--results", str(tmp_path), str(exe))
    assert p.returncode == 124 and time.monotonic() - t0 < 60
    assert b"host time" in p.stderr and p.stderr.count(b"\n") == 1
    r = _only_result(tmp_path)
    assert r["attrs"]["ended"] == "limit" and r["config"]["timeout_s"] == 1


def test_default_instruction_limit_is_recorded(tmp_path):
    from flashvm.session.ends import DEFAULT_MAX_INSNS
    exe = build_user([ROOT / "tests" / "guest" / "exitcode.c"])
    p = flashvm("exec", "-q", "--results", str(tmp_path), str(exe))
    assert p.returncode == 42
    r = _only_result(tmp_path)
    assert r["config"]["max_insns"] == DEFAULT_MAX_INSNS and r["attrs"]["ended"] == "halted"


@pytest.mark.parametrize("cpus", ["1", "2"])
def test_guest_os_deadlock_names_each_cpu(tmp_path, cpus):
    exe = _exe(tmp_path, "stuck", STUCK)
    p = flashvm("exec", "--os", "-q", "--machine", "flash8", "--cpus", cpus, "--results", str(tmp_path),
                str(exe), timeout=300)
    assert p.returncode == 125, p.stderr
    assert p.stdout == b"waiting\n"
    line = p.stderr.decode().strip()
    assert line.startswith("stopped: no CPU ran a user-mode instruction")
    for c in range(int(cpus)):
        assert f"CPU {c} waits in scheduler" in line            # named by the kernel's symbols
    assert _only_result(tmp_path)["attrs"]["ended"] == "deadlock"


def _popen(args: list[str], tmpdir: Path) -> subprocess.Popen:
    env = dict(os.environ, TMPDIR=str(tmpdir),
               PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))
    # a shell's background job inherits SIGINT ignored, and Python then leaves it ignored: give the
    # child the default action so the test's SIGINT reaches flashvm however the suite was started
    return subprocess.Popen([sys.executable, "-m", "flashvm.cli", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))


def _wait_for_temp(tmpdir: Path, proc: subprocess.Popen, timeout: float = 120) -> None:
    """Wait until the run has made its temporary root disk (the machine is then about to run)."""
    t0 = time.monotonic()
    while not any(tmpdir.rglob("root.img")):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() - t0 < timeout
        time.sleep(0.2)
    time.sleep(2.0)


@pytest.mark.parametrize("sig, status, vms", [(signal.SIGINT, 130, None), (signal.SIGTERM, 143, None),
                                              (signal.SIGTERM, 143, "2")])
def test_signal_saves_results_and_removes_temp_files(tmp_path, sig, status, vms):
    exe = _exe(tmp_path, "loop", LOOP)
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    extra = ["--vms", vms, "--machine", "flash8"] if vms else []
    proc = _popen(["exec", "--os", *extra, "--results", str(tmp_path / "res"), str(exe)], tmpdir)
    _wait_for_temp(tmpdir, proc)
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == status, err
    text = err.decode()
    assert f"interrupted by {sig.name}" in text and "results: " in text and "exit status" in text
    r = _only_result(tmp_path / "res")
    assert r["attrs"]["ended"] == "interrupted" and r["cpu/instructions"].sum() > 0
    if vms:
        assert "still running when the run was interrupted" in text
    assert list(tmpdir.iterdir()) == []                  # no flashvm-os-*/root.img left behind


def test_stdin_and_program_options_pass_through_in_process_mode(tmp_path):
    exe = _exe(tmp_path, "cat", CAT)
    p = subprocess.run([sys.executable, "-m", "flashvm.cli", "exec", "-q", "--results", str(tmp_path), str(exe),
                        "--help"], cwd=ROOT, input=b"some input\n", capture_output=True,
                       env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"some input\n[11 bytes, argc 2 --help]\n"


def test_stdin_and_files_reach_the_guest_os(tmp_path):
    cat, readf = _exe(tmp_path, "cat", CAT), _exe(tmp_path, "readf", READF)
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    p = subprocess.run([sys.executable, "-m", "flashvm.cli", "exec", "--os", "-q", "--results", str(tmp_path),
                        str(cat), "-v"], cwd=ROOT, input=b"two\nlines\n", capture_output=True, env=env)
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"two\nlines\n[10 bytes, argc 2 -v]\n"
    data = tmp_path / "data.txt"
    data.write_text("from the host\n")
    p = flashvm("exec", "--os", "-q", "--file", f"/data/in.txt={data}", "--results", str(tmp_path),
                str(readf), "/data/in.txt")
    assert p.returncode == 0, p.stderr
    assert p.stdout == b"read: from the host\n"


@pytest.mark.parametrize("value, words", [("in.txt", "GUEST=HOST"), ("/x=/nonexistent", "no such file")])
def test_bad_file_option_is_one_line(tmp_path, value, words):
    exe = build_user([ROOT / "tests" / "guest" / "exitcode.c"])
    p = flashvm("exec", "--os", "--file", value, str(exe))
    assert p.returncode == 2 and p.stderr.count(b"\n") == 1 and words.encode() in p.stderr


def test_signal_death_is_named(tmp_path):
    exe = build_user([ROOT / "tests" / "guest" / "os" / "segv.c"])
    p = flashvm("exec", "--os", "--results", str(tmp_path), str(exe))
    assert p.returncode == 139
    err = p.stderr.decode()
    assert "139 (killed by SIGSEGV)" in err                                   # the summary
    assert err.rstrip().splitlines()[-1] == f"note: {exe.name}: killed by SIGSEGV (status 139)"


def test_cold_cache_is_detected(tmp_path):
    from flashvm.session.warmup import interpreter_cached
    assert interpreter_cached()                      # this tree's cache is warm
    code = "from flashvm.session.warmup import interpreter_cached as c; print(c())"
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    p = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True,
                       env=dict(env, FLASHVM_CACHE=str(tmp_path), PYTHONPATH=str(ROOT)))
    assert p.stdout.strip() == b"False", p.stderr


def test_first_use_compile_is_announced_and_not_counted(monkeypatch):
    from flashvm import session
    from flashvm.machine.config import machine_config
    from flashvm.session import warmup
    from flashvm.spec import RunSpec
    said = []
    monkeypatch.setattr(warmup, "interpreter_cached", lambda: False)
    real = warmup.compile_interpreter
    monkeypatch.setattr(warmup, "compile_interpreter", lambda m: (time.sleep(1.5), real(m)))
    exe = build_user([ROOT / "tests" / "guest" / "exitcode.c"])
    r = session.run(RunSpec("process", exe, machine_config("flash1"), argv=("exitcode",)), say=said.append)
    assert r.status == 42
    assert len(said) == 1 and "compiling" in said[0] and "once" in said[0]
    assert r.host_seconds < 1.0                       # the compile is not the run's time


def test_progress_line_never_shares_a_line_with_the_output(monkeypatch, tmp_path):
    """The guest's output goes out (flushed) before the progress line is drawn."""
    import io

    from rich.console import Console

    from flashvm import session
    from flashvm.machine.config import machine_config
    from flashvm.session import progress
    from flashvm.spec import RunSpec
    monkeypatch.setattr(progress, "EVERY_S", 0.0)
    screen = io.StringIO()                 # one terminal for the guest's output and flashvm's line

    class Out(io.RawIOBase):
        def __init__(self):
            self.pending = b""

        def writable(self):
            return True

        def write(self, b):
            self.pending += bytes(b)
            return len(b)

        def flush(self):
            screen.write(self.pending.decode())
            self.pending = b""
    out = Out()
    console = Console(file=screen, force_terminal=True, width=100)
    exe = build_user([ROOT / "tests" / "guest" / "os" / "hello.c"])
    spec = RunSpec("os", exe, machine_config("flash1"), argv=("/bin/hello",), files={"/bin/hello": exe})
    session.run(spec, stdout=out, stderr=None, console=console)
    text = screen.getvalue()
    first = text.index("hello from")
    assert "instructions" in text[:first]              # the line was drawn before the output ...
    assert text[:first].endswith("\x1b[2K") or text[first - 1] == "\n"   # ... and erased first


def test_stdin_is_the_first_vms_console_input(tmp_path):
    cat = _exe(tmp_path, "cat", CAT)
    p = subprocess.run([sys.executable, "-m", "flashvm.cli", "exec", "--os", "--vms", "2", "--machine", "flash8",
                        "-q", "--results", str(tmp_path), str(cat)], cwd=ROOT, input=b"to vm0\n",
                       capture_output=True, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    assert b"[vm0] to vm0" in lines and b"[vm0] [7 bytes, argc 1]" in lines
    assert b"[vm1] [0 bytes, argc 1]" in lines


def test_progress_callback_hears_the_instructions_done():
    """session.run(progress=Callback(...)) passes the instructions so far and the rate (what an
    experiment's worker sends to the client), and they end at the run's count."""
    from flashvm import session
    from flashvm.machine.config import machine_config
    from flashvm.session.progress import Callback
    from flashvm.spec import RunSpec
    heard: list[tuple[int, float]] = []
    exe = build_user([ROOT / "tests" / "guest" / "os" / "hello.c"])
    spec = RunSpec("os", exe, machine_config("flash1"), argv=("/bin/hello",), files={"/bin/hello": exe})
    r = session.run(spec, progress=Callback(lambda n, mips: heard.append((n, mips)), every_s=0.0))
    assert len(heard) > 2
    counts = [n for n, _ in heard]
    assert counts == sorted(counts) and 0 < counts[-1] <= r.instructions
    assert all(mips > 0 for _, mips in heard)
