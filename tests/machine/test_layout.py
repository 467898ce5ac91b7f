"""The machine contract (flashvm/machine/layout.py): the generated C header is
current, the table is consistent, the CPU kernels agree with it, and the
boot info builder puts every word where the table says."""
from __future__ import annotations

import struct
import subprocess
import sys

import pytest

from flashvm.kernels import disco as kdisco
from flashvm.kernels import moncore
from flashvm.kernels import state as S
from flashvm.machine import layout as L
from flashvm.machine.bootinfo import BootInfo, BootInfoTooLarge, OsWords
from flashvm.machine.flash import FlashMachine, GuestError


def test_generated_header_is_up_to_date():
    r = subprocess.run([sys.executable, "-m", "flashvm.machine.layout", "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


def test_header_marks_itself_generated():
    text = L.generate_header()
    assert "GENERATED" in text and "do not edit" in text
    for c in L.CONSTS:
        assert f"#define FLASH_{c.name} " in text


def test_table_names_are_the_module_names():
    names = [c.name for c in L.CONSTS]
    assert len(names) == len(set(names))
    for c in L.CONSTS:
        assert getattr(L, c.name) == c.value, c.name
        assert 0 <= c.value < 1 << 32 and c.meaning


def test_device_blocks_do_not_overlap_and_sit_in_the_window():
    blocks = [(L.UART_BASE, L.DEV_BLOCK), (L.POWER_BASE, L.DEV_BLOCK), (L.TIMER_BASE, L.DEV_BLOCK),
              (L.SMP_BASE, L.SMP_SIZE), (L.DISK_BASE, L.DISK_STRIDE * L.MAX_DISKS),
              (L.NET_BASE, L.NET_STRIDE * L.MAX_NETS), (L.MAGIC_BASE, L.MAGIC_SIZE), (L.ROM_BASE, L.ROM_SIZE)]
    blocks.sort()
    for (a, n), (b, _) in zip(blocks, blocks[1:]):
        assert a + n <= b, (hex(a), hex(b))
    assert blocks[0][0] >= L.DEV_BASE and blocks[-1][0] + blocks[-1][1] <= 0x20000000


def test_boot_info_fields_are_words_in_their_areas():
    offs = [f.offset for f in L.BOOTINFO_FIELDS]
    assert offs == sorted(offs) and len(set(offs)) == len(offs)
    for f in L.BOOTINFO_FIELDS:
        assert f.offset % 4 == 0
        if f.os_private:
            assert L.BOOTINFO_OS_AREA <= f.offset < L.BOOTINFO_STRINGS, f.name
        else:
            assert f.offset + 4 <= L.BOOTINFO_OS_AREA, f.name
    assert L.BOOTINFO_STRINGS < L.BOOTINFO_SIZE
    assert L.OS_WORDS == [name for name in OsWords.__dataclass_fields__]


def test_cpu_kernels_agree_with_the_table():
    # the kernels sit below the machine and keep their own copies of these
    assert S.ROM_PA == L.ROM_BASE
    assert kdisco.KSSEG == L.KSSEG
    for name in ("HAL_PAGE", "HAL_MCALL", "HAL_EBASE", "HAL_MC_ZERO", "HAL_MC_FREE", "HAL_MC_DISK"):
        assert getattr(moncore, name) == getattr(L, name), name
    assert L.RESET_VECTOR == 0xBFC00000        # kernels/cp0.py reset_cpu's PC


def _word(block: bytes, name: str) -> int:
    f = next(f for f in L.BOOTINFO_FIELDS if f.name == name)
    return struct.unpack_from("<I", block, f.offset)[0]


@pytest.mark.parametrize("argv,envp", [([], []), (["init"], []), (["/bin/sh", "-c", "echo hi"], ["PATH=/bin", "A="])])
def test_pack_puts_every_word_where_the_table_says(argv, envp):
    os_words = OsWords(initrd_pa=0x3F00000, initrd_size=1234, console_mode=L.CONSOLE_FRAMED, verbose=2)
    info = BootInfo(ncpu=8, ram_bytes=128 << 20, nnodes=8, node_bytes=16 << 20, clock_hz=150_000_000,
                    interleave=0, ndisks=2, nnets=1, flags=L.BOOT_HALT_ON_EXIT | L.BOOT_VIRTUAL, vmnum=3,
                    argv=argv, envp=envp, os=os_words)
    block = info.pack()
    assert len(block) == L.BOOTINFO_SIZE
    want = dict(magic=L.BOOTINFO_MAGIC, version=L.BOOTINFO_VERSION, ncpu=8, ram_bytes=128 << 20, nnodes=8,
                node_bytes=16 << 20, interleave=0, clock_hz=150_000_000, ndisks=2, nnets=1, argc=len(argv),
                envc=len(envp), flags=3, vmnum=3, initrd_pa=0x3F00000, initrd_size=1234, console_mode=1, verbose=2)
    assert {f.name: _word(block, f.name) for f in L.BOOTINFO_FIELDS} == want
    strings = b"".join(s.encode() + b"\0" for s in argv + envp)
    assert block[L.BOOTINFO_STRINGS:L.BOOTINFO_STRINGS + len(strings)] == strings
    assert not any(block[L.BOOTINFO_STRINGS + len(strings):])
    covered = {f.offset + i for f in L.BOOTINFO_FIELDS for i in range(4)}
    assert not any(block[i] for i in range(L.BOOTINFO_STRINGS) if i not in covered)   # padding stays zero


def test_pack_refuses_strings_that_do_not_fit():
    room = L.BOOTINFO_SIZE - L.BOOTINFO_STRINGS
    BootInfo(ncpu=1, ram_bytes=1 << 20, nnodes=1, node_bytes=1 << 20, clock_hz=1, argv=["x" * (room - 1)]).pack()
    with pytest.raises(BootInfoTooLarge):
        BootInfo(ncpu=1, ram_bytes=1 << 20, nnodes=1, node_bytes=1 << 20, clock_hz=1, argv=["x" * room]).pack()


def test_write_bootinfo_describes_the_machine():
    fm = FlashMachine("flash8")
    fm.write_bootinfo(["prog", "arg"], ["E=1"], ndisks=1, os_words=OsWords(verbose=1))
    block = fm.ram8[L.BOOTINFO_PA:L.BOOTINFO_PA + L.BOOTINFO_SIZE].tobytes()
    cfg = fm.cfg
    assert _word(block, "magic") == L.BOOTINFO_MAGIC
    assert _word(block, "ncpu") == cfg.ncpu and _word(block, "nnodes") == cfg.nodes
    assert _word(block, "ram_bytes") == fm.ram_bytes
    assert _word(block, "argc") == 2 and _word(block, "envc") == 1 and _word(block, "ndisks") == 1
    assert _word(block, "flags") == L.BOOT_HALT_ON_EXIT and _word(block, "verbose") == 1
    with pytest.raises(GuestError, match="the boot info block holds"):
        fm.write_bootinfo(["x" * 4096])
