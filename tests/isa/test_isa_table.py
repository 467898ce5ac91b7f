"""The ISA table: encodings are disjoint and decode to themselves, the
disassembler prints every entry, the generated interpreter is up to date, and
the interpreter raises Reserved Instruction exactly for the words that match
no entry (or that an entry itself declares reserved)."""
from __future__ import annotations

import random
import re
import subprocess
import sys

import numpy as np
import pytest

from flashvm.isa.disasm import disasm
from flashvm.isa.fields import FIELDS, get
from flashvm.isa.table import BY_NAME, TABLE, lookup
from flashvm.kernels.cp0 import reset_cpu
from flashvm.kernels.run import run
from flashvm.kernels.state import (
    BRANCH_PC, CP0_Status, EXC_RI, EXIT_EXCEPTION, NPC, P_EXC_TO_HOST, PC, St_CU0, St_CU1, St_FR,
    X_A0, new_machine,
)

M32 = 0xFFFFFFFF


def fill(e, rng):
    """A word of entry `e` with random free bits."""
    return e.match | (rng.getrandbits(32) & ~e.mask & M32)


# ------------------------------------------------------------------ the table itself
def test_entries_are_well_formed():
    names = [e.name for e in TABLE]
    assert len(names) == len(set(names)), "duplicate mnemonics"
    for e in TABLE:
        assert e.match & ~e.mask == 0, f"{e.name}: match has bits outside its mask"
        assert e.mask >> 26 == 0x3F, f"{e.name}: the major opcode is not fixed"
        if "likely" in e.flags:
            assert "branch" in e.flags, e.name
    assert BY_NAME == {e.name: e for e in TABLE}


def test_no_two_entries_overlap():
    """No word matches two entries: for every pair, some bit both masks fix differs."""
    clashes = []
    for i, a in enumerate(TABLE):
        for b in TABLE[i + 1:]:
            common = a.mask & b.mask
            if (a.match ^ b.match) & common == 0:
                clashes.append(f"{a.name} ({a.match:#010x}/{a.mask:#010x}) vs {b.name} ({b.match:#010x}/{b.mask:#010x})")
    assert not clashes, "overlapping encodings:\n" + "\n".join(clashes)


def test_every_entry_decodes_to_itself():
    rng = random.Random(1234)
    for e in TABLE:
        words = [e.match, e.match | (~e.mask & M32)] + [fill(e, rng) for _ in range(64)]
        for w in words:
            got = lookup(w)
            assert got is e, f"{w:#010x}: expected {e.name}, decoded {got and got.name}"


def test_mips32r2_instruction_set_is_complete():
    """Every MIPS32 Release 2 instruction (no ASEs, no MIPS16e/microMIPS, no
    paired-single) has an entry."""
    expected = """
    add addi addiu addu and andi beq beql bgez bgezal bgezall bgezl bgtz bgtzl blez blezl bltz bltzal
    bltzall bltzl bne bnel break cache clo clz deret di div divu ei eret ext ins j jal jalr jr lb lbu
    lh lhu ll lui lw lwl lwr madd maddu mfc0 mfhi mflo movn movz msub msubu mtc0 mthi mtlo mul mult
    multu nor or ori pref rdhwr rdpgpr rotr rotrv sb sc sdbbp seb seh sh sll sllv slt slti sltiu sltu
    sra srav srl srlv sub subu sw swl swr sync synci syscall teq teqi tge tgei tgeiu tgeu tlbp tlbr
    tlbwi tlbwr tlt tlti tltiu tltu tne tnei wait wrpgpr wsbh xor xori
    movf movt mfc1 mtc1 mfhc1 mthc1 cfc1 ctc1 bc1f bc1t bc1fl bc1tl lwc1 swc1 ldc1 sdc1
    lwxc1 swxc1 ldxc1 sdxc1 luxc1 suxc1 prefx cvt.s.d cvt.d.s cvt.s.w cvt.d.w cvt.s.l cvt.d.l
    """.split()
    for f in "sd":
        for op in ("add sub mul div sqrt abs neg mov recip rsqrt round.w trunc.w ceil.w floor.w cvt.w "
                   "round.l trunc.l ceil.l floor.l cvt.l movf movt movz movn madd msub nmadd nmsub").split():
            expected.append(f"{op}.{f}")
        for c in ("f un eq ueq olt ult ole ule sf ngle seq ngl lt nge le ngt").split():
            expected.append(f"c.{c}.{f}")
    missing = sorted(set(expected) - set(BY_NAME))
    assert not missing, f"missing instructions: {missing}"


# ------------------------------------------------------------------ the disassembler
KNOWN = [
    (0x27BDFFE0, 0, "addiu $sp, $sp, -32"),
    (0x03E00008, 0, "jr $ra"),
    (0x00000000, 0, "nop"),
    (0x8FBF001C, 0, "lw $ra, 28($sp)"),
    (0xAFBF001C, 0, "sw $ra, 28($sp)"),
    (0x3C1C0042, 0, "lui $gp, 0x42"),
    (0x0320F809, 0, "jalr $ra, $t9"),
    (0x00851021, 0, "addu $v0, $a0, $a1"),
    (0x00801025, 0, "or $v0, $a0, $zero"),
    (0x00021080, 0, "sll $v0, $v0, 2"),
    (0x1040000A, 0x400000, "beq $v0, $zero, 0x40002c"),
    (0x1000FFFF, 0x400000, "beq $zero, $zero, 0x400000"),
    (0x0C100010, 0x400000, "jal 0x400040"),
    (0x04110003, 0x400000, "bgezal $zero, 0x400010"),
    (0x0062001A, 0, "div $v1, $v0"),
    (0x70621002, 0, "mul $v0, $v1, $v0"),
    (0x7C6220C0, 0, "ext $v0, $v1, 3, 5"),
    (0x7C6228C4, 0, "ins $v0, $v1, 3, 3"),
    (0x7C03E83B, 0, "rdhwr $v1, $29"),
    (0x0000000C, 0, "syscall 0x0"),
    (0x40026000, 0, "mfc0 $v0, $12, 0"),
    (0x42000018, 0, "eret"),
    (0x44C2F800, 0, "ctc1 $v0, $31"),
    (0x46241000, 0, "add.d $f0, $f2, $f4"),
    (0x4624103C, 0, "c.lt.d 0, $f2, $f4"),
    (0xC7A40010, 0, "lwc1 $f4, 16($sp)"),
    (0xD7A00018, 0, "ldc1 $f0, 24($sp)"),
    (0x4C8500A0, 0, "madd.s $f2, $f4, $f0, $f5"),
    (0xFC000000, 0, ".word 0xfc000000"),
]


@pytest.mark.parametrize("word,pc,text", KNOWN, ids=[t for _, _, t in KNOWN])
def test_disasm_known_words(word, pc, text):
    assert disasm(word, pc) == text


def test_disasm_prints_every_entry():
    rng = random.Random(99)
    for e in TABLE:
        for w in [e.match] + [fill(e, rng) for _ in range(8)]:
            text = disasm(w, 0x80001000)
            if w == 0:
                assert text == "nop"
                continue
            assert text.split(" ")[0] == e.name, (hex(w), text)
            assert "  " not in text and not text.endswith(",") and ", ," not in text, (hex(w), text)
            # every operand token of the format was expanded
            operands = text.split(" ", 1)[1] if " " in text else ""
            left = set(re.findall(r"[a-z_][a-z_0-9]*", operands.replace("$", " "))) & FMT_TOKENS
            assert not left, (e.name, text, left)


FMT_TOKENS = {t for e in TABLE for t in re.findall(r"[a-z_][a-z_0-9]*", e.fmt)}


# ------------------------------------------------------------------ the generator
def test_generated_interpreter_is_up_to_date():
    r = subprocess.run([sys.executable, "-m", "flashvm.isa.gen", "--check"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


# ------------------------------------------------------------------ RI in the interpreter
@pytest.fixture(scope="module")
def m():
    return new_machine(1, 1 << 20)


CODE_PA = 0x1000


def run_word(m, word, fr, seed=0):
    """Execute one instruction; returns the ExcCode it raised, or None."""
    reset_cpu(m, 0)
    m.cp0[0, CP0_Status, 0] = St_CU0 | St_CU1 | (St_FR if fr else 0)
    m.params[P_EXC_TO_HOST] = 1
    rng = np.random.default_rng(seed)
    # base registers point into RAM (kseg0) so most loads/stores are ordinary
    m.gpr[0, 1:] = 0x80010000 + rng.integers(0, 0x1000, 31) * 4
    m.ram32[CODE_PA // 4] = word
    m.cpu[0, PC] = 0x80000000 + CODE_PA
    m.cpu[0, NPC] = 0x80000000 + CODE_PA + 4
    m.cpu[0, BRANCH_PC] = -1
    reason = run(m, 1)
    return int(m.exitrec[X_A0]) if reason == EXIT_EXCEPTION else None


_EVEN_RE = re.compile(r"if not fr64 and \(([a-z0-9 |]+)\) & 1:")
RI_CASES = {"ext", "ins", "rdhwr", "cfc1", "ctc1", "sdbbp", "deret"}


def ri_expected(e, w, fr):
    """Whether the entry itself defines RI for this word (kernel mode)."""
    if e.name in ("sdbbp", "deret"):
        return True
    if e.name == "ext":
        return get(w, "sa") + get(w, "rd") > 31
    if e.name == "ins":
        return get(w, "sa") > get(w, "rd")
    if e.name == "rdhwr":
        return get(w, "rd") not in (0, 1, 2, 3, 29)
    if e.name == "cfc1":
        return get(w, "rd") not in (0, 25, 26, 28, 31)
    if e.name == "ctc1":
        return get(w, "rd") not in (25, 26, 28, 31)
    mt = _EVEN_RE.search(e.sem)
    if mt and not fr:
        regs = [x.strip() for x in mt.group(1).split("|")]
        return any(get(w, r) & 1 for r in regs)
    return False


def test_ri_predicate_covers_every_ri_in_the_table():
    """Every entry whose semantics can raise RI is known to ri_expected."""
    for e in TABLE:
        if "RAISE(EXC_RI)" in e.sem:
            assert e.name in RI_CASES or _EVEN_RE.search(e.sem), e.name


def test_matched_words_do_not_raise_ri(m):
    """Every entry, random free bits, both FPU register models: RI exactly where
    the instruction itself defines it."""
    rng = random.Random(2024)
    bad = []
    for e in TABLE:
        for k in range(12):
            w = fill(e, rng) if k else e.match
            for fr in (False, True):
                exc = run_word(m, w, fr, seed=k)
                if (exc == EXC_RI) != ri_expected(e, w, fr):
                    bad.append(f"{e.name} {w:#010x} FR={int(fr)}: exception {exc}")
    assert not bad, "\n".join(bad[:40])


def test_ri_is_defined_by_the_table(m):
    """Words the instruction-specific RI rules say are reserved do raise RI."""
    cases = [
        ("ext", dict(sa=20, rd=20)), ("ins", dict(sa=10, rd=5)), ("rdhwr", dict(rd=4)),
        ("cfc1", dict(rd=1)), ("ctc1", dict(rd=0)), ("add.d", dict(fd=1, fs=2, ft=4)),
        ("ldc1", dict(ft=3)), ("sdbbp", {}),
    ]
    from flashvm.isa.fields import assemble
    for name, f in cases:
        w = assemble(BY_NAME[name].match, **f)
        assert run_word(m, w, fr=False) == EXC_RI, name


def test_unmatched_words_raise_ri(m):
    """Random words that match no entry: Reserved Instruction, always."""
    rng = random.Random(77)
    majors = [0, 1, 0x10, 0x11, 0x13, 0x1C, 0x1F]      # where most holes are
    n = bad = 0
    errors = []
    while n < 3000:
        w = rng.getrandbits(32)
        if rng.random() < 0.6:
            w = (w & 0x03FFFFFF) | (rng.choice(majors) << 26)
        if lookup(w) is not None:
            continue
        n += 1
        exc = run_word(m, w, fr=bool(n & 1), seed=n)
        if exc != EXC_RI:
            bad += 1
            errors.append(f"{w:#010x}: exception {exc}")
    assert not bad, "\n".join(errors[:40])


def test_unmatched_words_of_every_major_opcode(m):
    """For each of the 64 major opcodes, flipping a fixed bit of an entry (or any
    word of an unused opcode) gives either another entry or RI."""
    rng = random.Random(5)
    errors = []
    for e in TABLE:
        for _ in range(6):
            bit = rng.choice([b for b in range(26) if e.mask >> b & 1] or [0])
            w = fill(e, rng) ^ (1 << bit)
            if lookup(w) is None:
                exc = run_word(m, w, fr=True)
                if exc != EXC_RI:
                    errors.append(f"{w:#010x} (from {e.name}, bit {bit}): exception {exc}")
    assert not errors, "\n".join(errors[:40])


def test_field_layout_is_mips32():
    assert FIELDS["op"] == (26, 6) and FIELDS["rs"] == (21, 5) and FIELDS["rt"] == (16, 5)
    assert FIELDS["rd"] == (11, 5) and FIELDS["sa"] == (6, 5) and FIELDS["funct"] == (0, 6)
