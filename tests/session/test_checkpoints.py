"""Checkpoints (--checkpoint-at, flashvm resume): a run resumed from a checkpoint
ends with exactly the counters, registers, memory, caches, regions and output of
the uninterrupted run, on the bare machine, the guest OS (1 and 8 CPUs), Disco
with 4 VMs and SPLASHOS, in functional and timing mode; a file that cannot be
used gets one line naming the problem and the fix."""
from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import h5py
import numpy as np
import pytest

from flashvm.kernels import state as S
from flashvm.machine.checkpoint import CheckpointError, read_checkpoint
from flashvm.machine.config import machine_config, machine_with_cpus
from flashvm.session import resume, run
from flashvm.session.checkpointing import checkpoint_at_option, machine_options
from flashvm.spec import RunReport, RunSpec
from flashvm.toolchain import GUEST_INCLUDE_DIR, build_bare, build_splashos, build_user
from support import GUEST, ROOT

SRC = GUEST / "bare" / "roi_work.c"
# everything a run leaves in the machine, compared array by array
ARRAYS = ("cpu", "gpr", "fpr", "cp0", "tlb", "stats", "node_stats", "l1i", "l1d", "l2", "dir_sharers",
          "dir_owner", "magic", "dstats", "vcp0", "ram8")


def bare_program() -> Path:
    return build_bare([SRC], extra_flags=["-DSETUP=200"], name="roi_work_ff")


def user_program() -> Path:
    return build_user([SRC], extra_flags=[f"-I{GUEST_INCLUDE_DIR}"], name="roi_work_user")


def same(a: RunReport, b: RunReport, ram: bool = True) -> None:
    """`b` is `a` bit for bit (apart from host time; `ram`: memory too)."""
    assert (a.status, a.ended, a.instructions, a.how_ended, a.verdict) == (b.status, b.ended, b.instructions,
                                                                          b.how_ended, b.verdict)
    for name in ARRAYS if ram else ARRAYS[:-1]:
        assert np.array_equal(getattr(a.machine, name), getattr(b.machine, name)), name
    assert (a.stdout, a.stderr, a.klog, a.disco) == (b.stdout, b.stderr, b.klog, b.disco)
    assert [r.name for r in a.regions] == [r.name for r in b.regions]
    for x, y in zip(a.regions, b.regions):
        assert x.visits == y.visits and np.array_equal(x.counters.stats, y.counters.stats), x.name
    assert [(v.status, v.stdout, v.failure) for v in a.vms or []] == [(v.status, v.stdout, v.failure)
                                                                       for v in b.vms or []]


def checkpointed(spec: RunSpec, at: str, tmp_path: Path) -> tuple[RunReport, Path]:
    """Run `spec` with a checkpoint at `at`: its report and the checkpoint's path."""
    said: list[str] = []
    report = run(replace(spec, checkpoint_at=at, checkpoint_dir=tmp_path), say=said.append)
    lines = [s for s in said if s.startswith("checkpoint: ")]
    assert len(lines) == 1, said
    return report, Path(lines[0].split(": ", 1)[1])


def round_trip(spec: RunSpec, at: str, tmp_path: Path) -> None:
    full = run(spec)
    assert full.how_ended == "halted"
    with_ckpt, path = checkpointed(spec, at, tmp_path)
    # taking a checkpoint does not change the run (memory aside: a guest OS's root file
    # system is made for each run, with that second's time stamps in it)
    same(full, with_ckpt, ram=spec.kind in ("bare", "splashos", "process"))
    same(with_ckpt, resume(path))        # resuming from it ends the same way, memory and all


def test_checkpoint_at_option():
    assert checkpoint_at_option("roi").kind == "roi"
    assert checkpoint_at_option("2_000_000").value == 2_000_000
    assert checkpoint_at_option("5ms").value == 5_000_000
    assert checkpoint_at_option("0.5s").value == 500_000_000
    for bad in ("0", "-3", "5 parsecs", "ms"):
        with pytest.raises(ValueError, match="--checkpoint-at"):
            checkpoint_at_option(bad)


@pytest.mark.parametrize("mode", ["functional", "timing"])
@pytest.mark.parametrize("at", ["roi", "3000000", "4ms"])
def test_bare_machine(mode, at, tmp_path):
    round_trip(RunSpec("bare", bare_program(), machine_config("flash1"), sim_mode=mode), at, tmp_path)


@pytest.mark.parametrize("mode", ["functional", "timing"])
@pytest.mark.parametrize("at", ["roi", "3000000"])
def test_process_mode(mode, at, tmp_path):
    """A static program without the OS: its memory, threads and fds (the host serves its calls)."""
    prog = user_program()
    spec = RunSpec("process", prog, machine_config("flash1"), sim_mode=mode, argv=(str(prog), "2"))
    round_trip(spec, at, tmp_path)


def test_process_mode_with_an_open_file(tmp_path):
    """The checkpoint holds the program's open host file; the resumed run reads on from its offset."""
    prog = build_user([Path(__file__).parent / "ckpt_read.c"], extra_flags=[f"-I{GUEST_INCLUDE_DIR}"],
                      name="ckpt_read")
    data = tmp_path / "input.bin"
    data.write_bytes(bytes((i * 7919) % 251 for i in range(9000)))
    spec = RunSpec("process", prog, machine_config("flash1"), argv=(str(prog), str(data)))
    full = run(spec)
    assert full.status == 0 and full.stdout.startswith(b"read 9000 bytes")
    round_trip(spec, "roi", tmp_path)


def test_process_mode_resumes_as_saved(tmp_path):
    prog = user_program()
    spec = RunSpec("process", prog, machine_config("flash1"), argv=(str(prog), "1"))
    _, path = checkpointed(spec, "roi", tmp_path)
    with pytest.raises(ValueError, match="process-mode checkpoint resumes as it was saved"):
        resume(path, mode="timing")


def os_spec(cpus: int, mode: str) -> RunSpec:
    prog = user_program()
    return RunSpec("os", prog, machine_with_cpus(machine_config("flash8"), cpus), sim_mode=mode,
                   argv=("/bin/roi_work", "1"), files={"/bin/roi_work": prog}, cpus=cpus)


@pytest.mark.parametrize("cpus,mode", [(1, "functional"), (1, "timing"), (8, "functional"), (8, "timing")])
def test_guest_os(cpus, mode, tmp_path):
    round_trip(os_spec(cpus, mode), "2000000", tmp_path)


def disco_spec(mode: str) -> RunSpec:
    prog = user_program()
    return RunSpec("disco", prog, machine_config("flash8"), sim_mode=mode, argv=("/bin/roi_work", "1"),
                   files={"/bin/roi_work": prog}, vms=4, cpus=1)


@pytest.mark.slow
@pytest.mark.parametrize("mode,at", [("functional", "roi"), ("timing", "3000000")])
def test_disco_with_4_vms(mode, at, tmp_path):
    round_trip(disco_spec(mode), at, tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["functional", "timing"])
def test_splashos(mode, tmp_path):
    prog = build_splashos([GUEST / "soak" / "radix.c"])
    spec = RunSpec("splashos", prog, machine_config("flash8"), sim_mode=mode, argv=("radix", "8", "16384"),
                   vms=2, cpus=4, vm_mem_mb=32)
    round_trip(spec, "500000", tmp_path)


def test_resume_in_timing_mode(tmp_path):
    """A functional checkpoint at the region resumes in timing mode: caches start cold,
    the region is measured from the switch on, and the program's output is unchanged."""
    spec = RunSpec("bare", bare_program(), machine_config("flash1"))
    full = run(spec)
    _, path = checkpointed(spec, "roi", tmp_path)
    timed = resume(path, mode="timing", options="latency.remote_ns=1000,l2.size=256K")
    assert timed.status == 0 and timed.stdout == full.stdout and timed.instructions == full.instructions
    work = {r.name: r for r in timed.regions}["work"].counters
    assert work.cycles.sum() > work.stats[:, S.S_INSNS].sum()       # memory stalls: timing from the switch on
    assert int(timed.machine.cpu[0, S.CYCLES]) > int(full.machine.cpu[0, S.CYCLES])
    assert timed.config.l2.size == 256 << 10 and timed.sim_mode == "timing"


def test_no_checkpoint_when_the_run_ends_first(tmp_path):
    said: list[str] = []
    spec = RunSpec("bare", bare_program(), machine_config("flash1"), checkpoint_at="1s", checkpoint_dir=tmp_path)
    assert run(spec, say=said.append).status == 0
    assert said == ["note: no checkpoint written: the run ended before --checkpoint-at 1s"]
    assert not list(tmp_path.iterdir())


def test_machine_options_errors():
    cfg = machine_config("flash1")
    assert machine_options(cfg, "latency.local_ns=400").latency.local_ns == 400.0
    for bad in ("nodes=2", "latency", "l2.size=12345", "latency.nothing=3"):
        with pytest.raises(ValueError, match="--machine-options"):
            machine_options(cfg, bad)


def test_damaged_and_old_files(tmp_path):
    _, path = checkpointed(RunSpec("bare", bare_program(), machine_config("flash1")), "1000000", tmp_path)
    read_checkpoint(path)
    old = tmp_path / "old.h5"
    old.write_bytes(path.read_bytes())
    with h5py.File(old, "a") as f:
        f.attrs["format"] = 0
    with pytest.raises(CheckpointError, match="checkpoint format 0.*make it again"):
        read_checkpoint(old)
    with h5py.File(old, "a") as f:
        f.attrs["format"], f.attrs["flashvm_version"] = 1, "0.0.1"
    with pytest.raises(CheckpointError, match="made by flashvm 0.0.1.*make it again"):
        read_checkpoint(old)
    cut = tmp_path / "cut.h5"
    cut.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(CheckpointError, match="damaged checkpoint.*make it again"):
        resume(cut)
    with pytest.raises(CheckpointError, match="no such checkpoint"):
        resume(tmp_path / "nothing.h5")


def flashvm(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run([sys.executable, "-c", "from flashvm.cli import app; app()", *args],
                          capture_output=True, env=env, cwd=ROOT, timeout=600)


@pytest.mark.slow
def test_command_line(tmp_path):
    """exec --checkpoint-at prints `checkpoint: PATH`; resume ends with the same results;
    a damaged file is one line."""
    prog = str(bare_program())
    p = flashvm("exec", "--bare", "--results", str(tmp_path / "full"), "--checkpoint-at", "roi", prog)
    assert p.returncode == 0, p.stderr
    line = [x for x in p.stderr.decode().splitlines() if x.startswith("checkpoint: ")]
    assert len(line) == 1
    ckpt = line[0].split(": ", 1)[1]
    p = flashvm("resume", "-q", "--results", str(tmp_path / "resumed"), ckpt)
    assert p.returncode == 0, p.stderr
    (a,), (b,) = (tmp_path / "full").glob("*.h5"), (tmp_path / "resumed").glob("*.h5")
    with h5py.File(a) as fa, h5py.File(b) as fb:
        for name in fa["cpu"]:
            assert np.array_equal(fa["cpu"][name][()], fb["cpu"][name][()]), name
    bad = tmp_path / "bad.h5"
    bad.write_bytes(b"not a checkpoint")
    p = flashvm("resume", str(bad))
    assert p.returncode == 2 and p.stderr.decode().count("\n") == 1 and "damaged checkpoint" in p.stderr.decode()
