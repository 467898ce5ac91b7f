"""What a checkpoint saves: a workload's whole run against the run to its checkpoint and the
run resumed from it, with the resume's steps timed apart (docs/checkpoints.md).

    python bench/resume_cost.py workloads/raytrace [--mode timing] [--at roi] [--repeat 2]

CPU seconds of the main thread, in one process (the interpreter loaded first).  Printed per
repeat: the whole run and the resumed one, each split into the time inside the interpreter and
the time around it (building the guest's disks, symbols; for the resume reading and restoring
the file), so the saving is seen apart from the machine's noise.
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
import flashvm.session.running as session   # run() and the run functions it looks up
from flashvm.session import options, resume, run
from flashvm.workload import load_workload


class KernelClock:
    """CPU seconds spent inside the interpreter (the session's run function, wrapped)."""

    def __init__(self) -> None:
        self.seconds = 0.0
        plain = session.run_fn

        def timed(tracer):
            inner = plain(tracer)

            def call(m, budget: int) -> int:
                t = time.thread_time()
                try:
                    return inner(m, budget)
                finally:
                    self.seconds += time.thread_time() - t
            return call
        session.run_fn = timed

    def measure(self, fn) -> tuple[float, float, object]:
        """(all CPU seconds, those inside the interpreter, fn's result)."""
        k0, t0 = self.seconds, time.thread_time()
        out = fn()
        return time.thread_time() - t0, self.seconds - k0, out


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
    clock = KernelClock()
    run(spec)                                    # loads the interpreter, builds the disk images once
    tmp = Path(tempfile.mkdtemp(prefix="resume_cost"))
    for i in range(a.repeat):
        t_full, k_full, full = clock.measure(lambda: run(spec))
        said: list[str] = []
        run(dataclasses.replace(spec, checkpoint_at=a.at, checkpoint_dir=tmp), say=said.append)
        path = Path([s for s in said if s.startswith("checkpoint: ")][0].split(": ", 1)[1])
        t = time.thread_time()
        snap, notes = read_checkpoint(path)
        t_read = time.thread_time() - t
        t = time.thread_time()
        restore(snap, {})
        t_restore = time.thread_time() - t
        t_res, k_res, resumed = clock.measure(lambda: resume(path))
        assert resumed.instructions == full.instructions
        print(f"{a.mode} at {a.at} #{i}: whole run {t_full:.2f} s ({k_full:.2f} in the interpreter, "
              f"{t_full - k_full:.2f} around it); resumed {t_res:.2f} s ({k_res:.2f} + {t_res - k_res:.2f}; "
              f"reading the file {t_read:.2f}, restoring {t_restore:.2f}); checkpoint after "
              f"{notes['instructions']:,} insns, {path.stat().st_size / 1e6:.1f} MB; saved {t_full - t_res:.2f} s, "
              f"of which the interpreter's run to the checkpoint {k_full - k_res:.2f} s")
        path.unlink()

if __name__ == "__main__":
    main()
