"""The program image of a process: a static executable where it asks to be,
or a position-independent one (ET_DYN) at a load bias, and the program
interpreter its PT_INTERP names (glibc's /lib/ld.so.1), as Linux's
`load_elf_binary` places them.

* A static ET_EXEC goes where its segments ask (`flashvm.elf` reads it, with
  its symbols for traces and diagnostics).
* A PIE main program (ET_DYN) is loaded at bias ``PIE_BASE`` =
  0x55550000, Linux's ELF_ET_DYN_BASE for mips32 (TASK_SIZE / 3 * 2) without
  randomisation.
* The interpreter (ET_DYN) is mapped like an mmap without a hint: top-down
  below MMAP_BASE, at its largest segment alignment (64 KiB for Debian's).
  The CPU starts at its entry; AT_BASE is its bias, AT_PHDR/AT_ENTRY the main
  program's, biased.
* The program break starts at the first page after the main program.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

from flashvm.elf import (
    EM_MIPS, EM_MIPS_RS3_LE, ET_DYN, ET_EXEC, PT_INTERP, PT_LOAD, PT_PHDR, PT_TLS, ElfError, ElfImage,
    Segment, SymbolTable, TlsInfo, parse_elf,
)
from flashvm.process.abi import PAGE, PAGE_SHIFT, page_up

PIE_BASE = 0x55550000
PT_GNU_STACK = 0x6474E551
_EHDR = struct.Struct("<16sHHIIIIIHHHHHH")
_PHDR = struct.Struct("<IIIIIIII")


@dataclass(frozen=True)
class Program:
    """An executable file as the loader needs it."""
    image: ElfImage                  # segments at their link addresses (add `bias` when loaded)
    dynamic: bool                    # ET_DYN: loaded at a bias
    interp: str | None               # PT_INTERP's path, if any
    align: int                       # largest PT_LOAD alignment (at least a page)

    @property
    def span(self) -> int:
        """Bytes from the lowest segment's page to the end of the highest one."""
        lo = self.image.segments[0].vaddr & ~(PAGE - 1)
        return page_up(self.image.end) - lo


def read_program(path: str, blob: bytes | None = None) -> Program:
    """Read the mipsel ELF at host path `path` (static, PIE or dynamically linked)."""
    if blob is None:
        try:
            with open(path, "rb") as f:
                blob = f.read()
        except OSError as e:
            raise ElfError(f"{path}: cannot read: {e.strerror or e}") from None
    try:
        image = parse_elf(blob, path)
        return Program(image, False, None, _max_align(image))
    except ElfError as err:
        if len(blob) < _EHDR.size or blob[:4] != b"\x7fELF" or blob[4] != 1 or blob[5] != 1:
            raise
        e_type, e_machine = struct.unpack_from("<HH", blob, 16)
        if e_machine not in (EM_MIPS, EM_MIPS_RS3_LE) or e_type not in (ET_EXEC, ET_DYN):
            raise
        if e_type == ET_EXEC and "dynamically linked" not in str(err):
            raise
    return _parse_dynamic(blob, path)


def _max_align(image: ElfImage) -> int:
    return max([PAGE] + [s.align for s in image.segments if s.align & (s.align - 1) == 0])


def _parse_dynamic(blob: bytes, name: str) -> Program:
    """Program headers of a PIE or dynamically linked executable (no symbols kept)."""
    def fail(msg: str):
        raise ElfError(f"{name}: {msg}")

    (_, e_type, _m, _v, e_entry, e_phoff, _sh, e_flags, _eh, e_phentsize, e_phnum,
     *_rest) = _EHDR.unpack_from(blob, 0)
    if e_phentsize != _PHDR.size or e_phoff + e_phnum * e_phentsize > len(blob):
        fail("bad or truncated program header table")
    loads, interp, phdr, tls, stack = [], None, None, None, 0
    for i in range(e_phnum):
        p_type, off, vaddr, _pa, filesz, memsz, flags, align = \
            _PHDR.unpack_from(blob, e_phoff + i * e_phentsize)
        if p_type in (PT_LOAD, PT_TLS) and (filesz > memsz or off + filesz > len(blob)):
            fail(f"segment {i} is truncated or has file size > memory size")
        if p_type == PT_LOAD and memsz:
            if (vaddr - off) % PAGE:
                fail(f"PT_LOAD segment {i} at 0x{vaddr:x} is not congruent to its file offset")
            loads.append(Segment(vaddr, memsz, filesz, off, flags, align, bytes(blob[off:off + filesz])))
        elif p_type == PT_INTERP:
            interp = blob[off:off + filesz].split(b"\0")[0].decode("latin-1")
        elif p_type == PT_PHDR:
            phdr = vaddr
        elif p_type == PT_TLS:
            tls = TlsInfo(vaddr, memsz, filesz, max(align, 1), bytes(blob[off:off + filesz]))
        elif p_type == PT_GNU_STACK:
            stack = memsz
    if not loads:
        fail("no loadable (PT_LOAD) segments")
    loads.sort(key=lambda s: s.vaddr)
    if phdr is None:
        for s in loads:
            if s.offset <= e_phoff and e_phoff + e_phnum * e_phentsize <= s.offset + s.filesz:
                phdr = s.vaddr + (e_phoff - s.offset)
                break
        else:
            phdr = 0
    image = ElfImage(path=name, entry=e_entry, segments=tuple(loads), phdr_addr=phdr,
                     phentsize=e_phentsize, phnum=e_phnum, tls=tls, symbols=SymbolTable(),
                     e_flags=e_flags, stack_size=stack)
    return Program(image, e_type == ET_DYN, interp, _max_align(image))


def interp_base(free_vpn: int, npages_asked: int, prog: Program) -> int:
    """Where an interpreter goes in a free run of `npages_asked` pages from
    `free_vpn` (asked for as span + align): the highest aligned base that fits."""
    top = (free_vpn + npages_asked) << PAGE_SHIFT
    lo = prog.image.segments[0].vaddr & ~(PAGE - 1)
    return ((top - prog.span) & ~(prog.align - 1)) - lo
