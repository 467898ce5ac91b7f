"""The gdb stub's pieces without gdb: packet framing, registers, watch decoding,
memory through the translation, monitor text."""
from __future__ import annotations

import socket

import numpy as np

from flashvm.kernels.state import (
    CP0_Status, HI, LO, MMU_FLAT, NPC, PC, TLB_ENTRYHI, TLB_LO0, TLB_LO1, TLB_PAGEMASK, new_machine,
)
from flashvm.machine.gdbmonitor import monitor
from flashvm.machine.gdbpacket import (
    INTERRUPT, PacketConn, checksum, decode_rle, escape, frame, unescape,
)
from flashvm.machine.gdbregs import G_REGS, get_register, read_g, set_register, write_g
from flashvm.machine.gdbwatch import access_of, overlaps
from flashvm.machine.vmem import read_virtual, write_virtual


def test_checksum_and_frame():
    assert checksum(b"") == 0
    assert checksum(b"OK") == (ord("O") + ord("K")) & 0xFF
    assert frame(b"OK") == b"$OK#9a"
    assert frame(b"g") == b"$g#67"


def test_escape_round_trip():
    data = bytes(range(256))
    esc = escape(data)
    assert not any(b in esc for b in b"#$*") and unescape(esc) == data
    assert escape(b"a}b") == b"a}]b"


def test_run_length_decoding():
    assert decode_rle(b"0* ") == b"0000"          # ' ' is 32: three more
    assert decode_rle(b"ab*\"c") == b"abbbbbbc"   # '"' is 34: five more
    assert decode_rle(b"plain") == b"plain"


def _pair():
    a, b = socket.socketpair()
    return PacketConn(a), b


def test_receive_acks_good_and_nacks_bad_packets():
    conn, peer = _pair()
    peer.sendall(b"+$g#00$m0,4#fd")               # a stray ack, a bad checksum, then a good one
    assert conn.receive() == b"m0,4"
    assert peer.recv(10) == b"-+"
    peer.close()
    assert conn.receive() is None


def test_interrupt_between_packets():
    conn, peer = _pair()
    peer.sendall(b"\x03$?#3f")
    assert conn.interrupted()
    assert conn.receive() == b"?"
    peer.sendall(INTERRUPT)
    assert conn.receive() == INTERRUPT


def test_send_waits_for_ack_and_resends_on_nack():
    conn, peer = _pair()
    peer.sendall(b"-+")
    conn.send(b"OK")
    assert peer.recv(100) == b"$OK#9a$OK#9a"
    conn.ack = False
    conn.send(b"S05")
    assert peer.recv(100) == frame(b"S05")


def test_registers_layout_and_writes():
    m = new_machine(ncpu=2, ram_bytes=1 << 16)
    m.gpr[1, 29] = 0x7FFF0000
    m.gpr[1, 4] = -1
    m.cpu[1, PC] = 0x80001000
    m.cpu[1, HI], m.cpu[1, LO] = 7, 9
    m.fpr[1, 2] = 0x1234567800000000 | 0x3F800000
    g = read_g(m, 1)
    assert len(g) == 2 * 4 * G_REGS
    word = lambda n: g[8 * n:8 * n + 8]                              # noqa: E731
    assert word(29) == b"0000ff7f" and word(4) == b"ffffffff"
    assert word(37) == b"00100080" and word(33) == b"09000000" and word(34) == b"07000000"
    assert word(38 + 2) == b"0000803f"
    assert set_register(m, 1, 37, 0x80002000) and m.cpu[1, NPC] == 0x80002004
    assert set_register(m, 1, 38 + 2, 0x40000000) and m.fpr[1, 2] == 0x1234567840000000
    set_register(m, 1, 0, 5)
    assert m.gpr[1, 0] == 0
    write_g(m, 0, read_g(m, 1))
    assert get_register(m, 0, 29) == 0x7FFF0000 and m.cpu[0, PC] == 0x80002000


def test_watch_decoding():
    gpr = np.zeros(32, dtype=np.int64)
    gpr[29] = 0x7FFF0000
    sw = (0x2B << 26) | (29 << 21) | (4 << 16) | 0xFFFC      # sw a0, -4(sp)
    assert access_of(sw, gpr) == (0x7FFEFFFC, 4, True)
    lbu = (0x24 << 26) | (29 << 21) | (2 << 16) | 3            # lbu v0, 3(sp)
    assert access_of(lbu, gpr) == (0x7FFF0003, 1, False)
    lwl = (0x22 << 26) | (29 << 21) | (2 << 16) | 6
    assert access_of(lwl, gpr) == (0x7FFF0004, 4, False)
    assert access_of(0x00851021, gpr) is None                   # addu
    assert overlaps(0x100, 4, 0x103, 1) and not overlaps(0x100, 4, 0x104, 4)


def test_memory_through_a_flat_page_table():
    m = new_machine(ram_bytes=1 << 16, mmu=MMU_FLAT)
    m.ptab[0x400] = 0x3000                     # page 0x400000 -> physical 0x3000
    assert write_virtual(m, 0, 0x400FFE, b"\x01\x02")
    assert m.ram8[0x3FFE:0x4000].tobytes() == b"\x01\x02"
    assert read_virtual(m, 0, 0x400FFE, 2) == b"\x01\x02"
    assert read_virtual(m, 0, 0x400FFE, 4) is None               # the next page is not mapped
    assert not write_virtual(m, 0, 0x400FFF, b"\x00\x00") and m.ram8[0x3FFF] == 2


def test_memory_through_kseg0_and_the_tlb_without_refill():
    m = new_machine(ram_bytes=1 << 20)
    m.cp0[0, CP0_Status, 0] = 0                # kernel mode
    m.ram8[0x2000:0x2004] = [1, 2, 3, 4]
    assert read_virtual(m, 0, 0x80002000, 4) == b"\x01\x02\x03\x04"
    assert read_virtual(m, 0, 0x00400000, 4) is None             # TLB miss: nothing refilled
    t = m.tlb[0, 3]
    t[TLB_PAGEMASK], t[TLB_ENTRYHI] = 0, 0x00400000
    t[TLB_LO0], t[TLB_LO1] = (2 << 6) | 2 | 1, 0                # pfn 2, valid, global
    assert read_virtual(m, 0, 0x00400000, 4) == b"\x01\x02\x03\x04"
    assert read_virtual(m, 0, 0x00401000, 4) is None             # odd page invalid
    assert "3: vpn2=00400000" in monitor(m, "tlb", 0, 400.0)
    assert "CPU 0 (thread 1)" in monitor(m, "machine", 0, 400.0)
    assert "monitor commands" in monitor(m, "help", 0, 400.0)


def test_gdb_options():
    import pytest
    from flashvm.session.options import OptionError, gdb_port
    assert gdb_port(None, False, frozenset()) is None
    assert gdb_port("1234", True, frozenset()) == 1234
    for args in (("x.elf", False, frozenset()), (None, True, frozenset()), ("1", False, frozenset({"insn"})),
                 ("70000", False, frozenset())):
        with pytest.raises(OptionError):
            gdb_port(*args)
