"""One CPU in functional mode runs across rounds with the JIT tier (flashvm/kernels/jitrun.py): the
stretches end only at exits, WAIT, the timer and the budget's last round, and every counter, register,
RAM word and run-loop parameter (the current round, its end, the idle flag) is still the interpreter's
(under Disco too, where the monitor's charges move the clock inside a trap).
A 37-cycle quantum puts a round's end inside nearly every region and makes exits fall on round
boundaries often; the tier then hardly ever refuses a region (it refused most of them per round)."""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from flashvm.kernels import jit
from flashvm.machine.config import machine_config
from flashvm.session import run
from flashvm.spec import RunSpec
from flashvm.toolchain import build_user
from tests.jit import test_jit_equivalence as eq
from tests.support import GUEST, OS_PROGRAMS

_quick_tier = eq._quick_tier      # the equivalence tests' settings: low threshold, a cache of its own


def _both(spec: RunSpec) -> tuple[dict, dict, dict]:
    """Like the equivalence tests' `both`, with the run loop's parameters compared too."""
    out = []
    for on in (False, True):
        jit.set_enabled(on)
        report = run(spec)
        state = eq._state(report)
        state["params"] = np.array(report.machine.params)
        out.append((state, report.jit))
    (ref, _), (got, st) = out
    assert st is not None
    return ref, got, st


def _same(ref: dict, got: dict) -> None:
    eq.assert_same(ref, got)
    bad = np.nonzero(ref["params"] != got["params"])[0]
    assert len(bad) == 0, [(int(i), int(ref["params"][i]), int(got["params"][i])) for i in bad]


def _flash1(quantum: int):
    return dataclasses.replace(machine_config("flash1"), quantum=quantum)


@pytest.mark.slow
def test_a_process_across_rounds():
    """qsort's system calls are exits to the host, many of them on a round boundary."""
    exe = build_user([GUEST / "qsort.c"])
    spec = RunSpec("process", exe, _flash1(37), argv=("qsort",), max_insns=2_000_000_000)
    ref, got, st = _both(spec)
    _same(ref, got)
    assert st["jit_insns"] > 0
    assert st["refused"] * 20 < st["hits"]


@pytest.mark.slow
def test_the_guest_os_across_rounds(monkeypatch):
    """Timer interrupts, TLB refills, system calls and device exits of the guest OS on one CPU."""
    monkeypatch.setattr(jit, "THRESHOLD", 3000)
    exe = build_user([OS_PROGRAMS / "procs.c"])
    spec = RunSpec("os", exe, _flash1(37), argv=("/bin/procs",), files={"/bin/procs": exe})
    ref, got, st = _both(spec)
    _same(ref, got)
    assert st["jit_insns"] > 0


@pytest.mark.slow
@pytest.mark.parametrize("vms", [1, 2])
def test_disco_vms_on_one_cpu_across_rounds(monkeypatch, vms):
    """Disco's VCPUs on one CPU (two VMs: time-sliced) run across rounds too.  The monitor's
    charge for a trap moves the clock inside it, often past a round's end here: an exit from a
    trap is booked to the round the trap began in (cpu slot TRAP_AT), as the per-round loop
    books it (the first version, without it, booked such exits a round late, and the CPU kept
    one call per round: ~20 refused regions per entry when regions were entered only whole)."""
    monkeypatch.setattr(jit, "THRESHOLD", 3000)
    exe = build_user([OS_PROGRAMS / "hello.c"])
    spec = RunSpec("disco", exe, _flash1(37), argv=("/bin/hello",), files={"/bin/hello": exe},
                   vms=vms, vm_mem_mb=12)
    ref, got, st = _both(spec)
    _same(ref, got)
    assert st["jit_insns"] > 0
    assert st["refused"] * 20 < st["hits"]
