"""flashvm.elf: the ELF32 LE MIPS executable loader, on a real musl binary and on
copies of it with bytes patched to hit every error path."""
from __future__ import annotations

import struct
from pathlib import Path

import pytest

from flashvm.toolchain import build_user
from flashvm.elf import (ET_DYN, ET_REL, PF_R, PF_W, PF_X, PT_LOAD, PT_NULL, ElfError,
                         load_elf, parse_elf)

HELLO_C = r"""
#include <stdio.h>
int counter = 7;
static int helper(int x) { return x * 3 + counter; }
int main(int argc, char **argv) {
    printf("hello %d\n", helper(argc));
    return 0;
}
"""


def build_guest(src_dir: Path, name: str, source: str) -> Path:
    """A static mipsel-linux-musl executable from C source (through the toolchain's cache)."""
    src = src_dir / f"{name}.c"
    src.write_text(source)
    return Path(build_user([src], opt="-O2", name=name))


@pytest.fixture(scope="module")
def hello(tmp_path_factory) -> Path:
    return build_guest(tmp_path_factory.mktemp("elf"), "elf_hello", HELLO_C)


@pytest.fixture
def blob(hello) -> bytearray:
    return bytearray(hello.read_bytes())


def _phdrs(b: bytes):
    phoff, = struct.unpack_from("<I", b, 28)
    phentsize, phnum = struct.unpack_from("<HH", b, 42)
    return [(phoff + i * phentsize, struct.unpack_from("<8I", b, phoff + i * phentsize))
            for i in range(phnum)]


def _loads(b: bytes):
    return [(off, ph) for off, ph in _phdrs(b) if ph[0] == PT_LOAD]


def _error_for(tmp_path, data: bytes, name="bad.elf") -> str:
    p = tmp_path / name
    p.write_bytes(bytes(data))
    with pytest.raises(ElfError) as ei:
        load_elf(p)
    msg = str(ei.value)
    assert "\n" not in msg, msg
    assert msg.startswith(f"{p}: "), msg
    assert isinstance(ei.value, ValueError)
    return msg


# ------------------------------------------------------------------ the real binary
def test_real_binary_header_and_segments(hello):
    img = load_elf(hello)
    from elftools.elf.elffile import ELFFile     # an independent parser to compare with
    with open(hello, "rb") as f:
        ef = ELFFile(f)
        assert img.entry == ef.header.e_entry
        assert img.phnum == ef.header.e_phnum
        assert img.phentsize == ef.header.e_phentsize == 32
        loads = [s for s in ef.iter_segments() if s["p_type"] == "PT_LOAD" and s["p_memsz"]]
        assert len(img.segments) == len(loads)
        for mine, theirs in zip(img.segments, sorted(loads, key=lambda s: s["p_vaddr"])):
            assert mine.vaddr == theirs["p_vaddr"]
            assert mine.memsz == theirs["p_memsz"]
            assert mine.filesz == theirs["p_filesz"]
            assert mine.flags == theirs["p_flags"]
            assert mine.data == theirs.data()
        phdr = [s for s in ef.iter_segments() if s["p_type"] == "PT_PHDR"]
        if phdr:
            assert img.phdr_addr == phdr[0]["p_vaddr"]
        tls = [s for s in ef.iter_segments() if s["p_type"] == "PT_TLS"]
        if tls:
            assert img.tls is not None and img.tls.memsz == tls[0]["p_memsz"]
    # code is r-x, data is rw-, and everything is sorted and disjoint
    assert any(s.flags == PF_R | PF_X and s.vaddr <= img.entry < s.end for s in img.segments)
    assert any(s.flags & PF_W and s.memsz > s.filesz for s in img.segments)   # .bss
    assert [s.vaddr for s in img.segments] == sorted(s.vaddr for s in img.segments)
    assert img.segment_at(img.entry).executable
    assert img.end == max(s.end for s in img.segments)
    # the program headers are in memory where AT_PHDR will say
    seg = img.segment_at(img.phdr_addr)
    assert seg is not None
    raw = hello.read_bytes()
    phoff, = struct.unpack_from("<I", raw, 28)
    off = img.phdr_addr - seg.vaddr
    assert seg.data[off:off + 32 * img.phnum] == raw[phoff:phoff + 32 * img.phnum]


def test_symbols(hello):
    img = load_elf(hello)
    syms = img.symbols
    main = syms.address("main")
    assert syms.name_to_addr["main"] == main
    assert "main" in syms and len(syms) > 10
    assert img.symbolize(main) == "main"
    assert img.symbolize(main + 0x10) == "main+0x10"
    assert syms.addr_to_name[main] == "main"
    assert img.symbolize(img.entry).startswith(("_start", "__start"))
    assert syms.lookup(main + 4) == ("main", 4)
    # data objects are there too, and unknown addresses fall back to hex
    assert syms.address("counter") == syms.get("counter").addr
    assert img.symbolize(0x100) == "0x00000100"
    assert syms.lookup(0x100) is None
    with pytest.raises(KeyError):
        syms.address("no_such_symbol_anywhere")


def test_parse_elf_matches_load_elf(hello):
    a = load_elf(hello)
    b = parse_elf(hello.read_bytes(), "x")
    assert (a.entry, a.segments, a.phdr_addr) == (b.entry, b.segments, b.phdr_addr)


# ------------------------------------------------------------------ error paths
def test_not_an_elf(tmp_path):
    msg = _error_for(tmp_path, b"#!/bin/sh\necho hi\n")
    assert "not an ELF" in msg
    assert "not an ELF" in _error_for(tmp_path, b"", "empty")


def test_bad_magic(tmp_path, blob):
    blob[1] = ord("X")
    assert "not an ELF" in _error_for(tmp_path, blob)


def test_elf64(tmp_path, blob):
    blob[4] = 2
    assert "ELF64" in _error_for(tmp_path, blob)


def test_big_endian(tmp_path, blob):
    blob[5] = 2
    assert "big-endian" in _error_for(tmp_path, blob)


def test_wrong_machine(tmp_path, blob):
    struct.pack_into("<H", blob, 18, 62)   # EM_X86_64
    msg = _error_for(tmp_path, blob)
    assert "wrong machine 62" in msg and "EM_MIPS" in msg


@pytest.mark.parametrize("etype,what", [(ET_REL, "ET_REL"), (ET_DYN, "ET_DYN"), (4, "ET_CORE")])
def test_not_an_executable(tmp_path, blob, etype, what):
    struct.pack_into("<H", blob, 16, etype)
    msg = _error_for(tmp_path, blob)
    assert "not an executable" in msg and what in msg


def test_truncated_header(tmp_path, blob):
    assert "truncated" in _error_for(tmp_path, blob[:40])


def test_truncated_program_headers(tmp_path, blob):
    assert "truncated" in _error_for(tmp_path, blob[:60])


def test_segment_data_past_eof(tmp_path, blob):
    last = max(_loads(blob), key=lambda x: x[1][1] + x[1][4])[1]
    end = last[1] + last[4]               # p_offset + p_filesz of the furthest segment
    msg = _error_for(tmp_path, blob[:end - 1])
    assert "truncated" in msg and "PT_LOAD" in msg and "past end of file" in msg


def test_segment_filesz_past_eof_by_header(tmp_path, blob):
    off, ph = _loads(blob)[0]
    struct.pack_into("<I", blob, off + 16, len(blob) + 4096)   # p_filesz
    struct.pack_into("<I", blob, off + 20, len(blob) + 8192)   # p_memsz
    assert "past end of file" in _error_for(tmp_path, blob)


def test_truncated_section_headers(tmp_path, blob):
    shoff, = struct.unpack_from("<I", blob, 32)
    assert "section header" in _error_for(tmp_path, blob[:shoff + 20])


def test_overlapping_loads(tmp_path, blob):
    loads = _loads(blob)
    assert len(loads) >= 2
    (_, first), (off2, second) = loads[0], loads[1]
    # move the second segment onto the first one's last page, keeping the
    # vaddr/offset congruence so overlap is the only problem
    new_vaddr = first[2] + first[5] - 16
    new_vaddr -= (new_vaddr - second[1]) % 4096
    if new_vaddr <= first[2]:
        new_vaddr += 4096 if first[5] > 4096 else 0
    struct.pack_into("<I", blob, off2 + 8, new_vaddr)
    struct.pack_into("<I", blob, off2 + 12, new_vaddr)
    msg = _error_for(tmp_path, blob)
    assert "overlapping PT_LOAD" in msg


def test_no_loadable_segments(tmp_path, blob):
    for off, _ in _loads(blob):
        struct.pack_into("<I", blob, off, PT_NULL)
    assert "no loadable" in _error_for(tmp_path, blob)


def test_dynamically_linked(tmp_path, blob):
    # turn a non-load header into PT_INTERP pointing at a string in the file
    off = next(o for o, ph in _phdrs(blob) if ph[0] not in (PT_LOAD, 6))
    struct.pack_into("<8I", blob, off, 3, 0, 0, 0, 1, 1, PF_R, 1)
    assert "dynamically linked" in _error_for(tmp_path, blob)


def test_missing_file(tmp_path):
    with pytest.raises(ElfError) as ei:
        load_elf(tmp_path / "nope")
    assert "cannot read" in str(ei.value) and "\n" not in str(ei.value)
