"""Process mode beyond one thread: pthreads (clone, futex), fork + wait4,
pipes between processes, execve, and guest RAM that grows past the machine's
256 MB.  Programs whose output does not depend on the schedule are compared
with qemu-mipsel on the same binary (when it is installed); execve of another
MIPS binary does not work under qemu-user here, so that test has expectations
written by hand."""
from __future__ import annotations

import io
import shutil
import subprocess
from pathlib import Path

import pytest

from flashvm.process import new_process, run_process
from flashvm.toolchain import build_user

GUEST = Path(__file__).parents[1] / "guest" / "proc"
QEMU = shutil.which("qemu-mipsel")


def _build(name: str) -> Path:
    return build_user([GUEST / f"{name}.c"])


def _run(exe: Path, args=(), **kw):
    out, err = io.BytesIO(), io.BytesIO()
    res = run_process(str(exe), [exe.stem, *args], stdout=out, stderr=err,
                      max_insns=500_000_000, **kw)
    return res, out.getvalue(), err.getvalue()


def _oracle(exe: Path, res, out: bytes) -> None:
    if QEMU:
        q = subprocess.run([QEMU, str(exe)], capture_output=True, timeout=300)
        assert (res.status, out) == (q.returncode, q.stdout)


def test_pthreads_mutex_condvar_barrier_join():
    exe = _build("threads")
    res, out, err = _run(exe)
    assert res.status == 0, err
    lines = out.decode().splitlines()
    assert lines[0] == "counter 80000 (expect 80000)"
    assert lines[1] == "threads agreeing 4 of 4"
    _oracle(exe, res, out)


def test_threads_are_deterministic():
    exe = _build("threads")
    a, b = _run(exe), _run(exe)
    assert (a[0].instructions, a[1]) == (b[0].instructions, b[1])


def test_thread_deadlock_is_reported():
    res, out, err = _run(_build("deadlock"))
    assert res.reason == "killed by SIGKILL"
    msg = res.message
    assert "deadlock" in msg and msg.count("FUTEX_WAIT") == 2, msg


def test_fork_wait_exit_status():
    exe = _build("forkwait")
    res, out, err = _run(exe)
    assert out.decode().splitlines() == [
        "child 0 exited 107", "child 1 exited 79", "child 2 killed by signal 15",
        "wait with no children: -1", "parent global 7"]
    assert res.status == 5
    _oracle(exe, res, out)


def test_fork_pipe_exec():
    echoer = _build("echoer")
    res, out, err = _run(_build("pipeexec"), [str(echoer), "a", "b c"])
    assert res.status == 0, err
    lines = out.decode().splitlines()
    body = ["echoer pid>1 1 argc 3", "arg 1: a", "arg 2: b c"] + \
        [f"line {i} of the echoer's output" for i in range(3000)]
    assert lines[:-1] == body
    nbytes = sum(len(x) + 1 for x in body)
    assert lines[-1].startswith(f"parent read {nbytes} bytes, checksum ")
    assert lines[-1].endswith(", child status 3")


def test_exec_of_a_missing_program_fails_in_the_child():
    res, out, err = _run(_build("pipeexec"), ["/nonexistent/prog"])
    assert res.status == 0
    assert b"execv: No such file or directory" in err
    assert out.decode().endswith("parent read 0 bytes, checksum 00000000, child status 127\n")


@pytest.mark.parametrize("mode", ["functional", "timing"])
def test_ram_grows_past_the_machine(mode):
    exe = _build("bigalloc")
    out, err = io.BytesIO(), io.BytesIO()
    proc = new_process(str(exe), ["bigalloc"], mode=mode, stdout=out, stderr=err)
    res = proc.run(max_insns=100_000_000)
    assert (res.status, out.getvalue()) == (0, b"touched 400 MB, sum 13056000\n"), err.getvalue()
    assert len(proc.m.ram8) > 400 << 20
    if mode == "functional":
        _oracle(exe, res, out.getvalue())


def test_out_of_guest_memory_is_one_clear_line():
    exe = _build("bigalloc")
    res, out, err = _run(exe, ram_bytes=64 << 20)
    assert res.status == 0                       # 64 MB grows as needed
    proc_res, out, err = _run(exe, ram_bytes=64 << 20, max_ram_bytes=128 << 20)
    assert proc_res.reason == "killed by SIGKILL"
    assert "out of simulated RAM" in proc_res.message and "DBE" not in proc_res.message


def test_timed_wait_and_yield():
    exe = _build("timedwait")
    res, out, err = _run(exe)
    assert (res.status, out) == (0, b"timedwait: ETIMEDOUT\nflag 1\n"), err
    _oracle(exe, res, out)


def test_posix_spawn():
    echoer = _build("echoer")
    res, out, err = _run(_build("spawn"), [str(echoer)])
    lines = out.decode().splitlines()
    assert res.status == 0, err
    assert lines[:2] == ["echoer pid>1 1 argc 2", "arg 1: spawned"]
    assert lines[-2:] == ["spawn 0 status 3", "spawn missing 2"]
