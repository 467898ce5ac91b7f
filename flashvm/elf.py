"""ELF32 little-endian MIPS executable loader.

`load_elf(path)` parses a static mipsel executable (ET_EXEC) into an
`ElfImage`: entry point, loadable segments with their file bytes, where the
program header table lives in memory (for AT_PHDR), the PT_TLS template if any
and a symbol table that turns addresses into "func+0x10" for traces.

The parser is written with `struct` against the System V ABI and the MIPS
supplement; every problem raises `ElfError` (a ValueError) with a single line
that names the file and what is wrong with it.
"""
from __future__ import annotations

import bisect
import os
import struct
from dataclasses import dataclass, field

# e_ident
EI_CLASS = 4
EI_DATA = 5
ELFCLASS32 = 1
ELFCLASS64 = 2
ELFDATA2LSB = 1
ELFDATA2MSB = 2
# e_type
ET_REL = 1
ET_EXEC = 2
ET_DYN = 3
ET_CORE = 4
# e_machine
EM_MIPS = 8
EM_MIPS_RS3_LE = 10
# p_type
PT_NULL = 0
PT_LOAD = 1
PT_DYNAMIC = 2
PT_INTERP = 3
PT_PHDR = 6
PT_TLS = 7
# p_flags
PF_X = 1
PF_W = 2
PF_R = 4
# sh_type
SHT_SYMTAB = 2
SHT_STRTAB = 3
SHT_NOBITS = 8
# symbols
STB_LOCAL = 0
STB_GLOBAL = 1
STB_WEAK = 2
STT_NOTYPE = 0
STT_OBJECT = 1
STT_FUNC = 2
STT_SECTION = 3
STT_FILE = 4
STT_TLS = 6
SHN_UNDEF = 0
SHN_ABS = 0xFFF1

_EHDR = struct.Struct("<16sHHIIIIIHHHHHH")   # 52 bytes
_PHDR = struct.Struct("<IIIIIIII")           # 32 bytes
_SHDR = struct.Struct("<IIIIIIIIII")         # 40 bytes
_SYM = struct.Struct("<IIIBBH")              # 16 bytes

_TYPE_NAMES = {0: "ET_NONE", ET_REL: "a relocatable object (ET_REL)",
               ET_DYN: "a shared object or PIE (ET_DYN)", ET_CORE: "a core dump (ET_CORE)"}


class ElfError(ValueError):
    """A file that is not a loadable ELF32 little-endian MIPS executable."""


@dataclass(frozen=True)
class Segment:
    """One PT_LOAD segment: `memsz` bytes at `vaddr`, the first `filesz` from the file."""
    vaddr: int
    memsz: int
    filesz: int
    offset: int
    flags: int          # PF_R | PF_W | PF_X
    align: int
    data: bytes = field(repr=False)   # exactly filesz bytes

    @property
    def end(self) -> int:
        return self.vaddr + self.memsz

    @property
    def readable(self) -> bool:
        return bool(self.flags & PF_R)

    @property
    def writable(self) -> bool:
        return bool(self.flags & PF_W)

    @property
    def executable(self) -> bool:
        return bool(self.flags & PF_X)

    @property
    def perms(self) -> str:
        return ("r" if self.readable else "-") + ("w" if self.writable else "-") + \
            ("x" if self.executable else "-")


@dataclass(frozen=True)
class TlsInfo:
    """The PT_TLS template: `filesz` initialised bytes then zeros up to `memsz`."""
    vaddr: int
    memsz: int
    filesz: int
    align: int
    data: bytes = field(repr=False)


@dataclass(frozen=True)
class Symbol:
    name: str
    addr: int
    size: int
    kind: int      # STT_*
    bind: int      # STB_*


class SymbolTable:
    """Address <-> name lookups over the ELF .symtab (functions and objects)."""

    def __init__(self, symbols: list[Symbol] | tuple = ()):
        def rank(s: Symbol):
            # which of several names at one address to show: functions first,
            # then global over weak over local, fewer leading underscores, name
            return (s.kind != STT_FUNC, {STB_GLOBAL: 0, STB_WEAK: 1}.get(s.bind, 2),
                    len(s.name) - len(s.name.lstrip("_")), s.name)

        self._by_name: dict[str, Symbol] = {}
        best: dict[int, Symbol] = {}
        for s in symbols:
            old = self._by_name.get(s.name)
            if old is None or rank(s) < rank(old):
                self._by_name[s.name] = s
            b = best.get(s.addr)
            if b is None or rank(s) < rank(b):
                best[s.addr] = s
        self._addrs = sorted(best)
        self._best = best
        self.addr_to_name: dict[int, str] = {a: best[a].name for a in self._addrs}
        self.name_to_addr: dict[str, int] = {n: s.addr for n, s in self._by_name.items()}

    def __len__(self) -> int:
        return len(self._by_name)

    def __contains__(self, name: str) -> bool:
        return name in self._by_name

    def address(self, name: str) -> int:
        """Address of `name`; KeyError if the symbol is unknown."""
        return self._by_name[name].addr

    def get(self, name: str) -> Symbol | None:
        return self._by_name.get(name)

    def lookup(self, addr: int) -> tuple[str, int] | None:
        """(name, offset) of the symbol containing `addr`, or None.

        A symbol with a size contains [addr, addr+size); one without a size
        (hand-written assembly) is taken to run up to the next symbol.
        """
        i = bisect.bisect_right(self._addrs, addr) - 1
        if i < 0:
            return None
        start = self._addrs[i]
        s = self._best[start]
        if s.size and addr >= start + s.size:
            return None
        return s.name, addr - start

    def symbolize(self, addr: int) -> str:
        """"func+0x10" ("func" at offset 0), or "0x0040a000" when no symbol covers addr."""
        hit = self.lookup(addr)
        if hit is None:
            return f"0x{addr & 0xFFFFFFFF:08x}"
        name, off = hit
        return f"{name}+0x{off:x}" if off else name


@dataclass(frozen=True)
class ElfImage:
    path: str
    entry: int
    segments: tuple[Segment, ...]      # PT_LOAD, sorted by vaddr
    phdr_addr: int                     # AT_PHDR: where the program headers are in memory
    phentsize: int                     # AT_PHENT
    phnum: int                         # AT_PHNUM
    tls: TlsInfo | None
    symbols: SymbolTable = field(repr=False)
    e_flags: int = 0
    stack_size: int = 0                # PT_GNU_STACK p_memsz (0 if absent)

    @property
    def end(self) -> int:
        """First address past the highest segment (where brk starts, page-aligned up)."""
        return max(s.end for s in self.segments)

    def symbolize(self, addr: int) -> str:
        return self.symbols.symbolize(addr)

    def segment_at(self, addr: int) -> Segment | None:
        for s in self.segments:
            if s.vaddr <= addr < s.end:
                return s
        return None


PT_GNU_STACK = 0x6474E551


def load_elf(path) -> ElfImage:
    """Parse the static ELF32 LE MIPS executable at `path`; ElfError if it is not one."""
    name = os.fspath(path)
    try:
        with open(name, "rb") as f:
            blob = f.read()
    except OSError as e:
        raise ElfError(f"{name}: cannot read: {e.strerror or e}") from None
    return parse_elf(blob, name)


def parse_elf(blob: bytes, name: str = "<memory>") -> ElfImage:
    """Like load_elf, on bytes already read (`name` is used in error messages)."""

    def fail(msg: str):
        raise ElfError(f"{name}: {msg}")

    n = len(blob)
    if n < 4 or blob[:4] != b"\x7fELF":
        fail("not an ELF file (bad magic)")
    if n < 16:
        fail(f"truncated ELF identification ({n} bytes)")
    cls, data = blob[EI_CLASS], blob[EI_DATA]
    if cls == ELFCLASS64:
        fail("wrong ELF class: ELF64, expected ELF32 (mipsel o32)")
    if cls != ELFCLASS32:
        fail(f"invalid ELF class {cls}, expected ELF32")
    if data == ELFDATA2MSB:
        fail("big-endian ELF (mips), expected little-endian (mipsel)")
    if data != ELFDATA2LSB:
        fail(f"invalid ELF data encoding {data}, expected little-endian")
    if n < _EHDR.size:
        fail(f"truncated ELF header ({n} of {_EHDR.size} bytes)")
    (_, e_type, e_machine, _ver, e_entry, e_phoff, e_shoff, e_flags, _ehsize,
     e_phentsize, e_phnum, e_shentsize, e_shnum, e_shstrndx) = _EHDR.unpack_from(blob, 0)
    if e_machine not in (EM_MIPS, EM_MIPS_RS3_LE):
        fail(f"wrong machine {e_machine}, expected EM_MIPS (8)")
    if e_type != ET_EXEC:
        what = _TYPE_NAMES.get(e_type, f"of unknown type {e_type}")
        fail(f"not an executable: {what}, expected ET_EXEC")
    if e_phnum == 0:
        fail("no program headers, nothing to load")
    if e_phentsize != _PHDR.size:
        fail(f"program header entry size {e_phentsize}, expected {_PHDR.size}")
    if e_phoff + e_phnum * e_phentsize > n:
        fail(f"truncated: program header table at 0x{e_phoff:x} "
             f"({e_phnum} x {e_phentsize} bytes) runs past end of file ({n} bytes)")

    loads: list[Segment] = []
    tls = None
    phdr_addr = None
    stack_size = 0
    for i in range(e_phnum):
        p_type, p_offset, p_vaddr, _paddr, p_filesz, p_memsz, p_flags, p_align = \
            _PHDR.unpack_from(blob, e_phoff + i * e_phentsize)
        if p_type == PT_INTERP:
            interp = blob[p_offset:p_offset + p_filesz].split(b"\0")[0].decode("latin-1")
            fail(f"dynamically linked (needs interpreter {interp}); only static executables run")
        if p_type == PT_DYNAMIC:
            fail("dynamically linked (has PT_DYNAMIC); only static executables run")
        if p_type in (PT_LOAD, PT_TLS):
            what = "PT_LOAD" if p_type == PT_LOAD else "PT_TLS"
            if p_filesz > p_memsz:
                fail(f"{what} segment {i} has file size 0x{p_filesz:x} > memory size 0x{p_memsz:x}")
            if p_offset + p_filesz > n:
                fail(f"truncated: {what} segment {i} data 0x{p_offset:x}..0x{p_offset + p_filesz:x} "
                     f"runs past end of file ({n} bytes)")
            if p_vaddr + p_memsz > 1 << 32:
                fail(f"{what} segment {i} at 0x{p_vaddr:x} (+0x{p_memsz:x}) wraps past 4 GiB")
            seg_data = bytes(blob[p_offset:p_offset + p_filesz])
            if p_type == PT_LOAD:
                if p_memsz == 0:
                    continue
                if p_align > 1 and (p_vaddr - p_offset) % min(p_align, 4096):
                    fail(f"PT_LOAD segment {i} at 0x{p_vaddr:x} is not congruent to its file "
                         f"offset 0x{p_offset:x} modulo the page size")
                loads.append(Segment(p_vaddr, p_memsz, p_filesz, p_offset, p_flags, p_align, seg_data))
            else:
                tls = TlsInfo(p_vaddr, p_memsz, p_filesz, max(p_align, 1), seg_data)
        elif p_type == PT_PHDR:
            phdr_addr = p_vaddr
        elif p_type == PT_GNU_STACK:
            stack_size = p_memsz
    if not loads:
        fail("no loadable (PT_LOAD) segments")
    loads.sort(key=lambda s: s.vaddr)
    for a, b in zip(loads, loads[1:]):
        if b.vaddr < a.end:
            fail(f"overlapping PT_LOAD segments 0x{a.vaddr:x}..0x{a.end:x} and "
                 f"0x{b.vaddr:x}..0x{b.end:x}")
    if phdr_addr is None:
        # like Linux: the table is in memory if a PT_LOAD maps its file bytes
        for s in loads:
            if s.offset <= e_phoff and e_phoff + e_phnum * e_phentsize <= s.offset + s.filesz:
                phdr_addr = s.vaddr + (e_phoff - s.offset)
                break
        else:
            phdr_addr = 0
    if not any(s.vaddr <= e_entry < s.end for s in loads):
        fail(f"entry point 0x{e_entry:x} is outside every loadable segment")

    symbols = _read_symbols(blob, name, e_shoff, e_shnum, e_shentsize, fail)
    return ElfImage(path=name, entry=e_entry, segments=tuple(loads), phdr_addr=phdr_addr,
                    phentsize=e_phentsize, phnum=e_phnum, tls=tls, symbols=symbols,
                    e_flags=e_flags, stack_size=stack_size)


def _read_symbols(blob: bytes, name: str, shoff: int, shnum: int, shentsize: int, fail) -> SymbolTable:
    n = len(blob)
    if shoff == 0 or shnum == 0:
        return SymbolTable()
    if shentsize != _SHDR.size:
        fail(f"section header entry size {shentsize}, expected {_SHDR.size}")
    if shoff + shnum * shentsize > n:
        fail(f"truncated: section header table at 0x{shoff:x} ({shnum} x {shentsize} bytes) "
             f"runs past end of file ({n} bytes)")
    shdrs = [_SHDR.unpack_from(blob, shoff + i * shentsize) for i in range(shnum)]
    syms: list[Symbol] = []
    for i, (_nm, sh_type, _fl, _addr, off, size, link, _info, _al, entsize) in enumerate(shdrs):
        if sh_type != SHT_SYMTAB:
            continue
        if off + size > n:
            fail(f"truncated: symbol table (section {i}) runs past end of file ({n} bytes)")
        if link >= shnum:
            fail(f"symbol table (section {i}) links to missing string table {link}")
        str_type, str_off, str_size = shdrs[link][1], shdrs[link][4], shdrs[link][5]
        if str_type != SHT_STRTAB:
            fail(f"symbol table (section {i}) links to section {link}, not a string table")
        if str_off + str_size > n:
            fail(f"truncated: string table (section {link}) runs past end of file ({n} bytes)")
        strtab = blob[str_off:str_off + str_size]
        esz = entsize or _SYM.size
        if esz < _SYM.size:
            fail(f"symbol table (section {i}) entry size {esz}, expected {_SYM.size}")
        for k in range(1, size // esz):
            st_name, st_value, st_size, st_info, _other, st_shndx = _SYM.unpack_from(blob, off + k * esz)
            kind, bind = st_info & 0xF, st_info >> 4
            if kind not in (STT_NOTYPE, STT_OBJECT, STT_FUNC) or st_shndx == SHN_UNDEF:
                continue
            if st_name >= len(strtab):
                continue
            end = strtab.find(b"\0", st_name)
            sname = strtab[st_name:end if end >= 0 else len(strtab)].decode("utf-8", "replace")
            if not sname or sname.startswith("$") or (kind == STT_NOTYPE and sname.startswith(".L")):
                continue
            syms.append(Symbol(sname, st_value, st_size, kind, bind))
    return SymbolTable(syms)
