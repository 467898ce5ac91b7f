"""The bare machine: freestanding programs boot at the reset vector, print through
the UART, take exceptions into their own handlers and halt through POWER."""
from __future__ import annotations

import io
from pathlib import Path

import pytest

from flashvm.elf import load_elf
from flashvm.machine.bare import BareMachine, GuestError
from flashvm.kernels import state as S
from flashvm.toolchain import build_bare

BARE = Path(__file__).parents[1] / "guest" / "bare"


def boot(name: str, max_insns: int = 20_000_000) -> tuple[BareMachine, int, str]:
    out = io.BytesIO()
    bm = BareMachine(out=out)
    bm.load(load_elf(build_bare([BARE / name])))
    r = bm.run(max_insns=max_insns)
    return bm, r.status, out.getvalue().decode()


def test_hello_prints_and_halts_with_status():
    bm, status, out = boot("hello_bare.c")
    assert status == 7
    assert out.splitlines() == [
        "hello from bare metal",
        "bss=0 42 ff FF z ok    -3|-3   |-0003",
        "1234567890 11f71fb04cb",
        "506",
        "status=20000000 ebase=80000000",
        "0x1234 6",
    ]
    # the program ran from the reset vector: the boot ROM's stub was executed
    assert bm.m.stats[0, S.S_INSNS] > 1000


def test_traps_syscall_break_tlb_refill_and_user_mode():
    bm, status, out = boot("traps_bare.c")
    assert "traps ok" in out, out
    assert status == 0
    st = bm.m.stats[0]
    assert st[S.S_EXC_BASE + S.EXC_SYS] == 3
    assert st[S.S_EXC_BASE + S.EXC_BP] == 1
    assert st[S.S_TLB_REFILL] >= 1


def test_timer_interrupts_wake_wait():
    bm, status, out = boot("timer_bare.c")
    assert out.strip() == "timer ok ticks=5"
    assert status == 0
    assert bm.m.stats[0, S.S_INTERRUPT] == 5
    assert bm.m.stats[0, S.S_IDLE_CYCLES] > 0   # WAIT let simulated time pass without instructions


def test_address_errors_user_load_and_misaligned_store():
    bm, status, out = boot("adel_user_bare.c")
    assert out.startswith("adel ok"), out
    assert status == 0
    assert bm.m.stats[0, S.S_EXC_BASE + S.EXC_ADEL] == 1
    assert bm.m.stats[0, S.S_EXC_BASE + S.EXC_ADES] == 1


def test_runaway_guest_stops_with_a_clear_error(tmp_path):
    src = tmp_path / "spin.c"
    src.write_text('#include "bare.h"\nint main(void) { for (;;) ; }\n')
    bm = BareMachine(out=io.BytesIO())
    bm.load(load_elf(build_bare([src])))
    with pytest.raises(GuestError, match="without halting"):
        bm.run(max_insns=100_000)


def test_unhandled_exception_with_bev_is_reported(tmp_path):
    # no runtime: the program keeps BEV=1, so the boot ROM's vector reports the fault
    src = tmp_path / "fault.S"
    src.write_text(".globl _start\n_start:\n lui $8, 0x8000\n lw $9, 1($8)\n nop\n")
    exe = build_bare([src], runtime=False)
    bm = BareMachine(out=io.BytesIO())
    bm.load(load_elf(exe))
    with pytest.raises(GuestError, match=r"unhandled AdEL exception on CPU 0 at EPC=0x8000100[0-9a-f] "
                                         r"BadVAddr=0x80000001"):
        bm.run(max_insns=10_000)


def test_segment_outside_kseg_is_refused(tmp_path):
    src = tmp_path / "low.S"
    src.write_text(".globl _start\n_start:\n b _start\n nop\n")
    ld = tmp_path / "low.ld"
    ld.write_text("ENTRY(_start)\nSECTIONS { . = 0x00400000; .text : { *(.text*) } }\n")
    exe = build_bare([src], runtime=False, linker_script=ld)
    bm = BareMachine(out=io.BytesIO())
    with pytest.raises(GuestError, match="not in kseg0/kseg1"):
        bm.load(load_elf(exe))
