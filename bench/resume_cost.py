"""What a checkpoint saves: a workload's whole run against the run to its checkpoint and the
run resumed from it, with the resume's steps timed apart (docs/checkpoints.md).

    python bench/resume_cost.py workloads/raytrace [--mode timing] [--at roi] [--repeat 2]

CPU seconds of the main thread, in one process (the interpreter loaded first).  Printed per
repeat: the whole run; the run with --checkpoint-at (to the checkpoint, and the writing);
the resume: reading the file, restoring the objects, the run from there.
"""
from __future__ import annotations

import argparse
import dataclasses
import tempfile
import time
from pathlib import Path

from flashvm.machine.checkpoint import read_checkpoint
from flashvm.machine.config import machine_config
from flashvm.machine.snapshot import restore
from flashvm.session import options, resume, run
from flashvm.workload import load_workload


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("workload", type=Path)
    ap.add_argument("--mode", default="functional")
    ap.add_argument("--at", default="roi")
    ap.add_argument("--repeat", type=int, default=2)
    a = ap.parse_args()
    w = load_workload(a.workload)
    spec = options.workload_spec(w, w.build(), machine_config(w.machine), a.mode, cpus=None, variant=None,
                                 max_insns=None, timeout=None)
    run(spec)                                    # loads the interpreter, builds the disk images once
    tmp = Path(tempfile.mkdtemp(prefix="resume_cost"))
    for i in range(a.repeat):
        t = time.thread_time()
        full = run(spec)
        t_full = time.thread_time() - t
        said: list[str] = []
        t = time.thread_time()
        run(dataclasses.replace(spec, checkpoint_at=a.at, checkpoint_dir=tmp), say=said.append)
        t_ckpt_run = time.thread_time() - t
        path = Path([s for s in said if s.startswith("checkpoint: ")][0].split(": ", 1)[1])
        t = time.thread_time()
        snap, notes = read_checkpoint(path)
        t_read = time.thread_time() - t
        t = time.thread_time()
        restore(snap, {})
        t_restore = time.thread_time() - t
        t = time.thread_time()
        resumed = resume(path)
        t_resume = time.thread_time() - t
        assert resumed.instructions == full.instructions
        print(f"{a.mode} #{i}: whole run {t_full:.2f} s (machine {full.host_seconds:.2f} s wall); "
              f"with checkpoint {t_ckpt_run:.2f} s, checkpoint at {notes['host_seconds']:.2f} s wall "
              f"({notes['instructions']:,} insns), file {path.stat().st_size / 1e6:.1f} MB; "
              f"resume {t_resume:.2f} s = read {t_read:.2f} + restore {t_restore:.2f} + the rest; "
              f"saved {t_full - t_resume:.2f} s")
        path.unlink()


if __name__ == "__main__":
    main()
