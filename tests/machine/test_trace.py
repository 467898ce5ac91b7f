"""The trace (flashvm/machine/trace.py, docs/trace.md): a line per instruction,
exception and system call, and a traced run simulates exactly what an untraced
one does (same instructions, cycles, output and every machine array)."""
from __future__ import annotations

import inspect
import io
import re
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

from flashvm.disco import Disco, VmSpec
from flashvm.elf import load_elf
from flashvm.kernels import state as S
from flashvm.kernels.run import run as run_kernel
from flashvm.machine import trace as trace_module
from flashvm.machine.bare import BareMachine
from flashvm.machine.flash import FlashMachine
from flashvm.process import LinuxProcess
from flashvm.process.abi import SYSCALL_NAMES
from flashvm.machine.trace import KINDS, Tracer, parse_kinds, run_fn
from flashvm.guestos import boot_os, build_kernel
from flashvm.toolchain import build_bare, build_user

GUEST = Path(__file__).parents[1] / "guest"
BARE = GUEST / "bare"

INSN = re.compile(r"^insn cpu=\d+ pc=[0-9a-f]{8} word=[0-9a-f]{8}( <[^>]+>)? \S.*$")
EXC = re.compile(r"^exc cpu=\d+ \w+ epc=[0-9a-f]{8}( badva=[0-9a-f]{8})? vector=([0-9a-f]{8}|host)( <[^>]+>)?$")
SYSCALL = re.compile(r"^syscall cpu=\d+ \d+ \w+\((0x[0-9a-f]+, ){3}0x[0-9a-f]+\)( = -?(\d+|0x[0-9a-f]+))?$")


def same_machine(a, b) -> bool:
    """Every array of two kernel states is equal (registers, CP0, TLB, RAM, caches, statistics)."""
    return all(np.array_equal(x, y) for x, y in zip(a, b))


def bare(name: str, kinds=None, **kw):
    """Run a bare-machine program, traced with `kinds` (None: untraced)."""
    out = io.BytesIO()
    bm = BareMachine(out=out, **kw)
    image = load_elf(build_bare([BARE / name]))
    bm.load(image)
    trace = io.StringIO()
    if kinds is None:
        r = bm.run(max_insns=20_000_000)
    else:
        t = Tracer(kinds, trace, symbols=image.symbols)
        r = bm.run(max_insns=20_000_000, run_fn=t.run)
        t.flush()
    return bm, r, out.getvalue(), trace.getvalue().splitlines()


def process(name: str, kinds=None):
    exe = build_user([GUEST / f"{name}.c"])
    out = io.BytesIO()
    p = LinuxProcess(str(exe), [name], stdout=out, stderr=io.BytesIO())
    trace = io.StringIO()
    if kinds is None:
        r = p.run()
    else:
        t = Tracer(kinds, trace, symbols=p.image.symbols, syscall_names=SYSCALL_NAMES)
        r = p.run(run_fn=t.run)
        t.flush()
    return p, r, out.getvalue(), trace.getvalue().splitlines()


def kinds_of(lines) -> Counter:
    return Counter(line.split()[0] for line in lines)


# ------------------------------------------------------------------ the API
def test_parse_kinds():
    assert parse_kinds(None) == parse_kinds("") == parse_kinds("all") == set(KINDS)
    assert parse_kinds("insn, exc") == {"insn", "exc"}
    with pytest.raises(ValueError, match="unknown trace kind int"):
        parse_kinds("insn,int")
    with pytest.raises(ValueError):
        Tracer({"bogus"}, io.StringIO())


def test_tracing_off_leaves_the_plain_run_kernel():
    # nothing is traced: the machine keeps the kernel's own run function, nothing runs per instruction
    assert run_fn(None) is run_kernel
    assert run_fn(Tracer(set(), io.StringIO())) is run_kernel
    t = Tracer({"exc"}, io.StringIO())
    assert run_fn(t) == t.run
    for runner in (FlashMachine.run, BareMachine.run):
        assert inspect.signature(runner).parameters["run_fn"].default is run_kernel
    assert inspect.signature(LinuxProcess.run).parameters["run_fn"].default is None   # the kernel's run

    calls = []

    def counting(m, budget):
        calls.append(budget)
        return run_kernel(m, budget)
    out = io.BytesIO()
    bm = BareMachine(out=out)
    bm.load(load_elf(build_bare([BARE / "hello_bare.c"])))
    r = bm.run(run_fn=counting)
    assert r.status == 7 and r.instructions > 20_000
    assert len(calls) == sum(r.exits.values()) < 200      # once per exit, never per instruction


# ------------------------------------------------------------------ bare machine
def test_bare_every_kind_and_same_simulation():
    plain = bare("traps_bare.c")
    traced = bare("traps_bare.c", KINDS)
    bm, r, out, lines = traced
    assert out == plain[2] and b"traps ok" in out
    assert (r.status, r.instructions, r.cycles, r.exits) == (plain[1].status, plain[1].instructions,
                                                            plain[1].cycles, plain[1].exits)
    assert same_machine(bm.m, plain[0].m)
    n = kinds_of(lines)
    exc = [x for x in lines if x.startswith("exc")]
    # every retired instruction, plus each one that raised an exception instead
    assert n["insn"] == r.instructions + len(exc)
    assert all(INSN.match(x) for x in lines if x.startswith("insn")), lines[:3]
    assert all(EXC.match(x) for x in exc), exc
    assert lines[0] == "insn cpu=0 pc=bfc00000 word=401a7801 mfc0 $k0, $15, 1"     # the reset vector
    assert any(x.startswith("insn cpu=0 pc=80001000 word=") and " <_start> " in x for x in lines)
    causes = Counter(x.split()[2] for x in exc)
    assert causes["Sys"] == 3 and causes["Bp"] == 1 and causes["TLBS"] >= 1
    refill = next(x for x in exc if " TLBS " in x)
    assert " badva=00400000 vector=80000000" in refill         # the TLB refill vector
    sys_lines = [x for x in lines if x.startswith("syscall")]
    assert len(sys_lines) == 3 and all(SYSCALL.match(x) for x in sys_lines)
    # each syscall line follows its Sys exception and the syscall instruction itself
    for k, x in enumerate(lines):
        if x.startswith("syscall"):
            assert " Sys " in lines[k - 1] and lines[k - 2].endswith(" syscall 0x0")


def test_bare_interrupts_come_before_the_handler_they_run():
    _, _, out, lines = bare("timer_bare.c", {"insn", "exc"})
    assert out.strip() == b"timer ok ticks=5"
    ints = [k for k, x in enumerate(lines) if x.startswith("exc")]
    assert len(ints) == 5
    for k in ints:
        assert re.match(r"exc cpu=0 Int epc=([0-9a-f]{8}) vector=80000180", lines[k]), lines[k]
        assert lines[k + 1].startswith("insn cpu=0 pc=80000180 ")
        assert lines[k - 1].endswith(" wait")      # the program waits for its ticks


@pytest.mark.parametrize("kinds", [{"insn"}, {"exc"}, {"syscall"}], ids=lambda k: next(iter(k)))
def test_bare_each_kind_alone(kinds):
    plain = bare("traps_bare.c")
    bm, r, out, lines = bare("traps_bare.c", kinds)
    assert set(kinds_of(lines)) == kinds
    assert (out, r.instructions, r.cycles) == (plain[2], plain[1].instructions, plain[1].cycles)
    assert same_machine(bm.m, plain[0].m)


def test_bare_timing_mode_same_simulation():
    plain = bare("timer_bare.c", mode="timing")
    bm, r, out, _ = bare("timer_bare.c", {"exc"}, mode="timing")
    assert (out, r.instructions, r.cycles) == (plain[2], plain[1].instructions, plain[1].cycles)
    assert same_machine(bm.m, plain[0].m)


@pytest.mark.slow
def test_bare_two_cpus_same_simulation():
    # the stepped scheduler keeps the kernel's rounds, so several CPUs interleave as untraced
    plain = bare("smp_numa.c", ncpu=2)
    bm, r, out, _ = bare("smp_numa.c", {"exc"}, ncpu=2)
    assert (out, r.instructions, r.cycles, r.exits) == (plain[2], plain[1].instructions, plain[1].cycles,
                                                        plain[1].exits)
    assert same_machine(bm.m, plain[0].m)


# ------------------------------------------------------------------ process mode
def test_process_every_kind_and_same_simulation():
    p0, r0, out0, _ = process("exitcode")
    p, r, out, lines = process("exitcode", KINDS)
    assert (out, r.status, r.instructions, r.cycles) == (out0, r0.status, r0.instructions, r0.cycles)
    assert same_machine(p.m, p0.m)
    n = kinds_of(lines)
    assert n["insn"] == r.instructions + n["exc"]      # the syscall instructions fault to the host
    assert n["syscall"] == sum(p.syscalls_by_number.values())
    assert all(INSN.match(x) or EXC.match(x) or SYSCALL.match(x) for x in lines)
    sys_lines = [x for x in lines if x.startswith("syscall")]
    # the host's result, read back from v0/a3; exit_group never returns
    assert re.match(r"syscall cpu=0 4146 writev\(0x1, 0x[0-9a-f]+, 0x2, 0x[0-9a-f]+\) = \d+$", sys_lines[-2])
    assert sys_lines[-1] == "syscall cpu=0 4246 exit_group(0x2a, " + sys_lines[-1].split(", ", 1)[1]
    assert " = " not in sys_lines[-1]
    assert any(x.endswith(" = -25") for x in sys_lines)           # ioctl(TCGETS) on a pipe: ENOTTY
    exc = [x for x in lines if x.startswith("exc")]
    assert exc and all(" Sys " in x and " vector=host " in x for x in exc)


@pytest.mark.parametrize("kinds", [{"exc", "syscall"}, {"syscall"}], ids=["exc,syscall", "syscall"])
def test_process_without_insn_needs_no_stepping(kinds, monkeypatch):
    # every exception of process mode already exits to the host: the kernel's own loop runs
    monkeypatch.setattr(trace_module, "run_stepped", lambda *a: pytest.fail("stepped"))
    p0, r0, out0, _ = process("exitcode")
    p, r, out, lines = process("exitcode", kinds)
    assert (out, r.instructions) == (out0, r0.instructions) and same_machine(p.m, p0.m)
    assert set(kinds_of(lines)) == kinds
    assert kinds_of(lines)["syscall"] == sum(p.syscalls_by_number.values())


# ------------------------------------------------------------------ guest OS
@pytest.mark.parametrize("ncpu", [1, 2])
def test_guest_os_syscalls_and_same_simulation(ncpu):
    exe = build_user([GUEST / "os" / "hello.c"])
    files, argv = {"/bin/hello": exe}, ["/bin/hello", "x"]
    plain = boot_os(files, argv, ncpu=ncpu)
    trace = io.StringIO()
    t = Tracer({"syscall"}, trace, symbols=[load_elf(build_kernel()).symbols, load_elf(exe).symbols],
               syscall_names=SYSCALL_NAMES)
    traced = boot_os(files, argv, ncpu=ncpu, run_fn=t.run)
    t.flush()
    assert ((traced.status, traced.stdout, traced.stderr, traced.klog, traced.instructions, traced.cycles)
            == (plain.status, plain.stdout, plain.stderr, plain.klog, plain.instructions, plain.cycles))
    assert same_machine(traced.machine.m, plain.machine.m)
    lines = trace.getvalue().splitlines()
    assert all(SYSCALL.match(x) for x in lines), lines
    # the guest's SYSCALL exceptions, logged at entry: number, name, a0..a3
    names = [x.split()[3].split("(")[0] for x in lines]
    assert names[-3:] == ["writev", "writev", "exit_group"]
    assert lines[-1].startswith("syscall cpu=0 4246 exit_group(0x3, ")
    assert len(lines) == int(traced.machine.m.stats[:, S.S_SYSCALL].sum())


# ------------------------------------------------------------------ Disco
def test_disco_guest_exceptions_are_the_guests():
    # under Disco the guest's exception state is its VCPU's CP0, which the trace reads
    prog = build_bare([BARE / "traps_bare.c"], extra_flags=["-DBARE_KSSEG"], name="traps_bare_ksseg",
                      linker_script=Path(__file__).parents[2] / "flashvm/guest/bare/link-ksseg.ld")

    def run(kinds=None):
        d = Disco("flash1", [VmSpec(ncpu=1, mem=16 << 20)], out=io.BytesIO())
        d.boot(d.vms[0], load_elf(prog), ["guest"])
        trace = io.StringIO()
        t = Tracer(kinds or (), trace)
        r = d.fm.run(max_insns=100_000_000, run_fn=run_fn(t))
        return d, r, trace.getvalue().splitlines()
    d0, r0, _ = run()
    d, r, lines = run({"exc", "syscall"})
    assert (r.instructions, r.cycles, bytes(d.vms[0].out)) == (r0.instructions, r0.cycles, bytes(d0.vms[0].out))
    assert same_machine(d.fm.m, d0.fm.m)
    assert [x.split()[2] for x in lines if x.startswith("exc")] == ["Sys", "Sys", "Bp", "TLBS", "Sys"]
    assert " badva=00400000 vector=c0000000" in next(x for x in lines if " TLBS " in x)
    assert kinds_of(lines)["syscall"] == 3
