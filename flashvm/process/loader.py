"""Starting a process: the ELF segments into guest memory (the main program
and its interpreter, placed as `flashvm.process.image` says), the initial
stack (argc, argv, envp, auxv) as Linux's `create_elf_tables` lays it out for
o32, and CPU 0's registers at the entry point.

Stack, from the top (STACK_TOP) down: a NULL word, the file name
(AT_EXECFN), the argument and environment strings, the 16 AT_RANDOM bytes,
then (16-byte aligned) argc, argv[], NULL, envp[], NULL and the auxv pairs
AT_HWCAP AT_PAGESZ AT_CLKTCK AT_PHDR AT_PHENT AT_PHNUM AT_BASE AT_FLAGS
AT_ENTRY AT_UID AT_EUID AT_GID AT_EGID AT_SECURE AT_RANDOM AT_EXECFN AT_NULL.
No vDSO.
"""
from __future__ import annotations

import hashlib
import os
import struct
from dataclasses import dataclass

import numpy as np

from flashvm.elf import ElfImage
from flashvm.kernels.cp0 import reset_cpu
from flashvm.kernels.state import (
    NPC, PC, CP0_Config, CP0_Context, CP0_HWREna, CP0_Status, Machine, SEL_UserLocal, St_CU1, St_UM,
)
from flashvm.process.abi import (
    AT_BASE, AT_CLKTCK, AT_EGID, AT_ENTRY, AT_EUID, AT_EXECFN, AT_FLAGS, AT_GID, AT_HWCAP, AT_NULL,
    AT_PAGESZ, AT_PHDR, AT_PHENT, AT_PHNUM, AT_RANDOM, AT_SECURE, AT_UID, CLK_TCK, PAGE, PAGE_SHIFT,
    PROT_EXEC, PROT_READ, PROT_WRITE, page_up,
)
from flashvm.process.image import PIE_BASE, Program, interp_base
from flashvm.process.memory import STACK_SIZE, STACK_TOP, VM_MAPPED, GuestMemory

HWRENA_USER = 0x2000000F         # rdhwr $0..$3 and $29 (UserLocal) allowed in user mode
CONFIG3_ULRI = 1 << 13


@dataclass
class Placement:
    """Where exec put the program: its load bias, the interpreter's (AT_BASE,
    0 without one) and the first instruction."""
    bias: int
    interp_bias: int
    pc: int


@dataclass
class InitialStack:
    sp: int                          # the stack pointer at the entry point
    auxv: list[tuple[int, int]]      # the auxiliary vector written, AT_NULL included
    at_random: bytes                 # the 16 bytes AT_RANDOM points to


def load_program(mem: GuestMemory, prog: Program, interp: Program | None) -> Placement:
    """Map the main program (at PIE_BASE if position-independent) and its
    interpreter (top-down below the mmap base); the break follows the program."""
    bias = PIE_BASE - (prog.image.segments[0].vaddr & ~(PAGE - 1)) if prog.dynamic else 0
    load_segments(mem, prog.image, bias)
    if interp is None:
        return Placement(bias, 0, prog.image.entry + bias)
    asked = (interp.span + interp.align) >> PAGE_SHIFT
    ibias = interp_base(mem.find_free(asked), asked, interp) if interp.dynamic else 0
    load_segments(mem, interp.image, ibias, set_brk=False)
    return Placement(bias, ibias, interp.image.entry + ibias)


def load_segments(mem: GuestMemory, image: ElfImage, bias: int = 0, set_brk: bool = True) -> None:
    """Map the PT_LOAD segments where they ask to be (plus `bias`) and set the
    program break at the first page boundary after the highest one."""
    for seg in image.segments:
        prot = ((PROT_READ if seg.readable else 0) | (PROT_WRITE if seg.writable else 0) |
                (PROT_EXEC if seg.executable else 0))
        v0, v1 = (seg.vaddr + bias) >> PAGE_SHIFT, page_up(seg.end + bias) >> PAGE_SHIFT
        # pages shared with a previous segment keep both protections
        mem.vm[v0:v1] |= prot | VM_MAPPED
        # file bytes go to freshly allocated pages; pure-bss pages stay demand-zero
        data, va = seg.data, seg.vaddr + bias
        pos = 0
        while pos < len(data):
            vpn = (va + pos) >> PAGE_SHIFT
            off = (va + pos) & (PAGE - 1)
            n = min(PAGE - off, len(data) - pos)
            pa = int(mem.frame[vpn])
            if pa < 0:
                pa = mem.pages.alloc()
                mem.frame[vpn] = pa
            mem.m.ram8[pa + off:pa + off + n] = np.frombuffer(data, np.uint8, n, pos)
            pos += n
        for vpn in range(v0, v1):
            mem.set_pte(vpn)
    if set_brk:
        mem.brk_start = mem.brk_cur = page_up(image.end + bias)


def reserve_stack(mem: GuestMemory, image: ElfImage) -> int:
    """Map the stack below STACK_TOP: 8 MiB, or PT_GNU_STACK's size if larger; return its size."""
    size = max(STACK_SIZE, page_up(image.stack_size))
    mem.reserve(STACK_TOP - size, size, PROT_READ | PROT_WRITE)
    return size


def build_stack(mem: GuestMemory, image: ElfImage, argv: list[bytes], env: list[bytes], *,
                uid: int, gid: int, seed: int, place: Placement | None = None,
                execfn: bytes | None = None) -> InitialStack:
    """Write the strings, AT_RANDOM bytes and vectors below STACK_TOP (`place`:
    where the program and its interpreter went; `execfn`: the name exec was
    given, default the image's path)."""
    place = place or Placement(0, 0, image.entry)
    p = STACK_TOP - 4                       # a NULL word ends the strings area
    execfn = (os.fsencode(image.path) if execfn is None else execfn) + b"\0"
    p -= len(execfn)
    execfn_addr = p
    strings = [a + b"\0" for a in argv] + [e + b"\0" for e in env]
    total = sum(len(s) for s in strings)
    p -= total
    addrs = []
    q = p
    for s in strings:
        addrs.append(q)
        q += len(s)
    mem.write(p, b"".join(strings))
    mem.write(execfn_addr, execfn)
    mem.write(STACK_TOP - 4, bytes(4))
    p &= ~7                                # arch_align_stack: o32 ALMASK
    random_bytes = hashlib.sha256(b"flashvm AT_RANDOM %d" % seed).digest()[:16]
    p -= 16
    random_addr = p
    mem.write(random_addr, random_bytes)
    auxv = [
        (AT_HWCAP, 0), (AT_PAGESZ, PAGE), (AT_CLKTCK, CLK_TCK),
        (AT_PHDR, image.phdr_addr + place.bias), (AT_PHENT, image.phentsize), (AT_PHNUM, image.phnum),
        (AT_BASE, place.interp_bias), (AT_FLAGS, 0), (AT_ENTRY, image.entry + place.bias),
        (AT_UID, uid), (AT_EUID, uid), (AT_GID, gid), (AT_EGID, gid),
        (AT_SECURE, 0), (AT_RANDOM, random_addr), (AT_EXECFN, execfn_addr), (AT_NULL, 0),
    ]
    argc = len(argv)
    argv_addrs, env_addrs = addrs[:argc], addrs[argc:]
    words = ([argc] + argv_addrs + [0] + env_addrs + [0] +
             [w for pair in auxv for w in pair])
    items = (argc + 1) + (len(env_addrs) + 1) + 1
    sp = p - 2 * len(auxv) * 4
    sp = (sp - items * 4) & ~15
    mem.write(sp, struct.pack(f"<{len(words)}I", *[w & 0xFFFFFFFF for w in words]))
    return InitialStack(sp, auxv, random_bytes)


def init_cpu(m: Machine, entry: int, sp: int) -> None:
    """CPU 0 reset, in user mode with the FPU usable, at `entry` with `sp`."""
    reset_cpu(m, 0)          # the CPU model's reset values (PRId, Config*, FIR, BRANCH_PC = -1, ...)
    m.gpr[0, 29] = sp
    m.cpu[0, PC] = entry
    m.cpu[0, NPC] = (entry + 4) & 0xFFFFFFFF
    m.cp0[0, CP0_Status, 0] = St_UM | St_CU1
    m.cp0[0, CP0_HWREna, 0] = HWRENA_USER
    m.cp0[0, CP0_Config, 3] |= CONFIG3_ULRI
    m.cp0[0, CP0_Context, SEL_UserLocal] = 0
    m.tc_tag.fill(-1)
