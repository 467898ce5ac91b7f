"""The monitor's page zeroing is charged as its own MIPS code would run: the call's decoding plus an
unrolled loop of a store a word and two loop instructions a cache line, never less than a store a word."""
from __future__ import annotations

from flashvm.kernels.pagecopy import ZERO_CALL_INSNS, zero_loop_cycles, zero_page_nb
from flashvm.kernels.state import P_LSHIFT, new_machine


def test_zeroing_code_costs_a_store_a_word_and_its_loop_per_line() -> None:
    # 128-byte lines: 32 lines of 32 `sw`, an `addiu` and a `bne`; 32-byte lines: 128 lines of 8 + 2
    assert zero_loop_cycles(7) == ZERO_CALL_INSNS + 32 * 34 == 1114
    assert zero_loop_cycles(5) == ZERO_CALL_INSNS + 128 * 10
    for sh in range(4, 13):
        assert zero_loop_cycles(sh) > 1024          # more than a word a cycle: the loop and the call


def test_zero_page_zeroes_and_charges_the_loop() -> None:
    m = new_machine(ram_bytes=1 << 20)
    m.params[P_LSHIFT] = 7                           # 128-byte lines, as the machine's config sets
    base = 5 << 12
    m.ram8[base:base + 4096] = 0xA5
    m.ram8[base + 4096] = 0x5A
    cycles = zero_page_nb(m, 0, 5)
    assert not m.ram8[base:base + 4096].any() and m.ram8[base + 4096] == 0x5A
    assert cycles == zero_loop_cycles(7) == 1114     # functional mode: no cache misses on top
