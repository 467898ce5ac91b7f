"""The MIPS32 Release 2 instruction table: the single source of truth.

Each `Insn` gives a mnemonic, its (match, mask) encoding, an operand format
for the disassembler, a few flags and its semantics as a short snippet of
Python.  `flashvm.isa.gen` turns the table into the Numba interpreter
(`flashvm/kernels/interp.py`), `flashvm.isa.disasm` prints instructions from
it, and the tests walk it to cover every instruction.

Snippet vocabulary (what the generated interpreter provides):
  r[i]          GPR i of the running CPU (int64 holding an unsigned 32-bit value)
  f[i]          FPR storage (64-bit patterns); use rd_s/rd_d/wr_s/wr_d with fr64
  st[SLOT]      per-CPU slots (HI, LO, FCSR, LLBIT, ...)
  pc, npc       address of this instruction, of the next one (the delay slot)
  npc2          what npc becomes after this instruction (branches set it)
  bpc           address of the last branch (set by branches: marks the delay slot)
  cyc           the CPU's cycle count at this instruction
  fields        rs rt rd sa funct simm uimm target fs ft fd fr cc8 cc18 sel code cond
  RAISE(code)   take exception `code` (precise: this instruction has no effect)
  RAISE_CPU(n)  coprocessor-unusable exception for coprocessor n
  RESYNC        finish this instruction, then reload the CPU mode (after CP0 changes)
  v = LOADn(va) / STOREn(va, v)    n = 8, 16, 32, 64 (64: FPU doubleword)
  v = LOADWORD(va)                  the aligned word holding va (lwl/lwr: faults name va itself)
  pa = XLAT_STORE(va)              store translation only (SC)
  pa = XLAT_STOREWORD(va)          the same for the word holding an unaligned va (swl/swr)
  FPU_COMMIT(cause)                 set FCSR cause/flags, raise FPE if enabled
Flags: "cop1" (needs Status.CU1), "priv" (kernel mode or Status.CU0),
       "branch" (has a delay slot), "likely" (branch-likely).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flashvm.isa.fields import assemble, match_mask


@dataclass(frozen=True)
class Insn:
    name: str
    match: int
    mask: int
    fmt: str                  # disassembler operands, e.g. "rd, rs, rt"
    sem: str                  # semantics snippet
    flags: frozenset = field(default_factory=frozenset)


TABLE: list[Insn] = []


def insn(name: str, enc: dict, fmt: str, sem: str, flags: str = "", extra_zero: tuple = ()) -> None:
    """Add an instruction; `extra_zero` names fields that must be zero."""
    fields = dict(enc)
    for z in extra_zero:
        fields[z] = 0
    match, mask = match_mask(**fields)
    TABLE.append(Insn(name, match, mask, fmt, sem.strip("\n"), frozenset(flags.split())))


# ----------------------------------------------------------------- SPECIAL (op 0)
def special(name, funct, fmt, sem, zero=(), flags="", **more):
    insn(name, dict(op=0, funct=funct, **more), fmt, sem, flags, zero)


special("sll", 0x00, "rd, rt, sa", "r[rd] = (r[rt] << sa) & M32", zero=("rs",))
special("srl", 0x02, "rd, rt, sa", "r[rd] = r[rt] >> sa", rs=0)
special("rotr", 0x02, "rd, rt, sa", "r[rd] = ((r[rt] >> sa) | (r[rt] << (32 - sa))) & M32", rs=1)
special("sra", 0x03, "rd, rt, sa", "r[rd] = (s32(r[rt]) >> sa) & M32", zero=("rs",))
special("sllv", 0x04, "rd, rt, rs", "r[rd] = (r[rt] << (r[rs] & 31)) & M32", zero=("sa",))
special("srlv", 0x06, "rd, rt, rs", "r[rd] = r[rt] >> (r[rs] & 31)", sa=0)
special("rotrv", 0x06, "rd, rt, rs", """
_s = r[rs] & 31
r[rd] = ((r[rt] >> _s) | (r[rt] << (32 - _s))) & M32""", sa=1)
special("srav", 0x07, "rd, rt, rs", "r[rd] = (s32(r[rt]) >> (r[rs] & 31)) & M32", zero=("sa",))
special("jr", 0x08, "rs", """
bpc = pc
npc2 = r[rs]""", zero=("rt", "rd"), flags="branch")
special("jalr", 0x09, "rd, rs", """
_t = r[rs]
r[rd] = (pc + 8) & M32
bpc = pc
npc2 = _t""", zero=("rt",), flags="branch")
special("movz", 0x0A, "rd, rs, rt", """
if r[rt] == 0:
    r[rd] = r[rs]""", zero=("sa",))
special("movn", 0x0B, "rd, rs, rt", """
if r[rt] != 0:
    r[rd] = r[rs]""", zero=("sa",))
special("syscall", 0x0C, "code", "RAISE(EXC_SYS)")
special("break", 0x0D, "code", "RAISE(EXC_BP)")
special("sync", 0x0F, "sa", "pass", zero=("rs", "rt", "rd"))
special("mfhi", 0x10, "rd", "r[rd] = st[HI]", zero=("rs", "rt", "sa"))
special("mthi", 0x11, "rs", "st[HI] = r[rs]", zero=("rt", "rd", "sa"))
special("mflo", 0x12, "rd", "r[rd] = st[LO]", zero=("rs", "rt", "sa"))
special("mtlo", 0x13, "rs", "st[LO] = r[rs]", zero=("rt", "rd", "sa"))
special("mult", 0x18, "rs, rt", """
_p = s32(r[rs]) * s32(r[rt])
st[LO] = _p & M32
st[HI] = (_p >> 32) & M32""", zero=("rd", "sa"))
special("multu", 0x19, "rs, rt", """
_p = r[rs] * r[rt]
st[LO] = _p & M32
st[HI] = (_p >> 32) & M32""", zero=("rd", "sa"))
special("div", 0x1A, "rs, rt", """
_q, _r = div32(s32(r[rs]), s32(r[rt]))
st[LO] = _q & M32
st[HI] = _r & M32""", zero=("rd", "sa"))
special("divu", 0x1B, "rs, rt", """
_q, _r = divu32(r[rs], r[rt])
st[LO] = _q
st[HI] = _r""", zero=("rd", "sa"))
special("add", 0x20, "rd, rs, rt", """
_v = s32(r[rs]) + s32(r[rt])
if _v > 0x7FFFFFFF or _v < -0x80000000:
    RAISE(EXC_OV)
r[rd] = _v & M32""", zero=("sa",))
special("addu", 0x21, "rd, rs, rt", "r[rd] = (r[rs] + r[rt]) & M32", zero=("sa",))
special("sub", 0x22, "rd, rs, rt", """
_v = s32(r[rs]) - s32(r[rt])
if _v > 0x7FFFFFFF or _v < -0x80000000:
    RAISE(EXC_OV)
r[rd] = _v & M32""", zero=("sa",))
special("subu", 0x23, "rd, rs, rt", "r[rd] = (r[rs] - r[rt]) & M32", zero=("sa",))
special("and", 0x24, "rd, rs, rt", "r[rd] = r[rs] & r[rt]", zero=("sa",))
special("or", 0x25, "rd, rs, rt", "r[rd] = r[rs] | r[rt]", zero=("sa",))
special("xor", 0x26, "rd, rs, rt", "r[rd] = r[rs] ^ r[rt]", zero=("sa",))
special("nor", 0x27, "rd, rs, rt", "r[rd] = (r[rs] | r[rt]) ^ M32", zero=("sa",))
special("slt", 0x2A, "rd, rs, rt", "r[rd] = 1 if s32(r[rs]) < s32(r[rt]) else 0", zero=("sa",))
special("sltu", 0x2B, "rd, rs, rt", "r[rd] = 1 if r[rs] < r[rt] else 0", zero=("sa",))
special("tge", 0x30, "rs, rt", """
if s32(r[rs]) >= s32(r[rt]):
    RAISE(EXC_TR)""")
special("tgeu", 0x31, "rs, rt", """
if r[rs] >= r[rt]:
    RAISE(EXC_TR)""")
special("tlt", 0x32, "rs, rt", """
if s32(r[rs]) < s32(r[rt]):
    RAISE(EXC_TR)""")
special("tltu", 0x33, "rs, rt", """
if r[rs] < r[rt]:
    RAISE(EXC_TR)""")
special("teq", 0x34, "rs, rt", """
if r[rs] == r[rt]:
    RAISE(EXC_TR)""")
special("tne", 0x36, "rs, rt", """
if r[rs] != r[rt]:
    RAISE(EXC_TR)""")
# MOVCI: movf/movt on an FPU condition code (needs CU1)
insn("movf", dict(op=0, funct=0x01, tf=0), "rd, rs, cc18", """
if fcc(st[FCSR], cc18) == 0:
    r[rd] = r[rs]""", "cop1", ("sa",))
insn("movt", dict(op=0, funct=0x01, tf=1), "rd, rs, cc18", """
if fcc(st[FCSR], cc18) != 0:
    r[rd] = r[rs]""", "cop1", ("sa",))

# ----------------------------------------------------------------- REGIMM (op 1)
def regimm(name, rt, fmt, sem, flags=""):
    insn(name, dict(op=1, rt=rt), fmt, sem, flags)


def _branch(cond: str, link: bool = False, likely: bool = False) -> str:
    """Snippet of a conditional branch; the target is relative to the delay slot."""
    lines = [f"_c = {cond}"]
    if link:
        lines.append("r[31] = (pc + 8) & M32")
    if likely:
        lines += ["if _c:",
                  "    bpc = pc",
                  "    npc2 = (pc + 4 + (simm << 2)) & M32",
                  "else:",
                  "    npc = (pc + 8) & M32",
                  "    npc2 = (pc + 12) & M32"]
    else:
        lines += ["bpc = pc",
                  "if _c:",
                  "    npc2 = (pc + 4 + (simm << 2)) & M32"]
    return "\n".join(lines)


regimm("bltz", 0x00, "rs, btarget", _branch("s32(r[rs]) < 0"), "branch")
regimm("bgez", 0x01, "rs, btarget", _branch("s32(r[rs]) >= 0"), "branch")
regimm("bltzl", 0x02, "rs, btarget", _branch("s32(r[rs]) < 0", likely=True), "branch likely")
regimm("bgezl", 0x03, "rs, btarget", _branch("s32(r[rs]) >= 0", likely=True), "branch likely")
regimm("tgei", 0x08, "rs, simm", """
if s32(r[rs]) >= simm:
    RAISE(EXC_TR)""")
regimm("tgeiu", 0x09, "rs, simm", """
if r[rs] >= (simm & M32):
    RAISE(EXC_TR)""")
regimm("tlti", 0x0A, "rs, simm", """
if s32(r[rs]) < simm:
    RAISE(EXC_TR)""")
regimm("tltiu", 0x0B, "rs, simm", """
if r[rs] < (simm & M32):
    RAISE(EXC_TR)""")
regimm("teqi", 0x0C, "rs, simm", """
if r[rs] == (simm & M32):
    RAISE(EXC_TR)""")
regimm("tnei", 0x0E, "rs, simm", """
if r[rs] != (simm & M32):
    RAISE(EXC_TR)""")
regimm("bltzal", 0x10, "rs, btarget", _branch("s32(r[rs]) < 0", link=True), "branch")
regimm("bgezal", 0x11, "rs, btarget", _branch("s32(r[rs]) >= 0", link=True), "branch")
regimm("bltzall", 0x12, "rs, btarget", _branch("s32(r[rs]) < 0", link=True, likely=True), "branch likely")
regimm("bgezall", 0x13, "rs, btarget", _branch("s32(r[rs]) >= 0", link=True, likely=True), "branch likely")
regimm("synci", 0x1F, "simm(rs)", "pass")

# ------------------------------------------------------------ jumps, branches, ALU imm
insn("j", dict(op=0x02), "jtarget", """
bpc = pc
npc2 = (npc & 0xF0000000) | (target << 2)""", "branch")
insn("jal", dict(op=0x03), "jtarget", """
r[31] = (pc + 8) & M32
bpc = pc
npc2 = (npc & 0xF0000000) | (target << 2)""", "branch")
insn("beq", dict(op=0x04), "rs, rt, btarget", _branch("r[rs] == r[rt]"), "branch")
insn("bne", dict(op=0x05), "rs, rt, btarget", _branch("r[rs] != r[rt]"), "branch")
insn("blez", dict(op=0x06, rt=0), "rs, btarget", _branch("s32(r[rs]) <= 0"), "branch")
insn("bgtz", dict(op=0x07, rt=0), "rs, btarget", _branch("s32(r[rs]) > 0"), "branch")
insn("beql", dict(op=0x14), "rs, rt, btarget", _branch("r[rs] == r[rt]", likely=True), "branch likely")
insn("bnel", dict(op=0x15), "rs, rt, btarget", _branch("r[rs] != r[rt]", likely=True), "branch likely")
insn("blezl", dict(op=0x16, rt=0), "rs, btarget", _branch("s32(r[rs]) <= 0", likely=True), "branch likely")
insn("bgtzl", dict(op=0x17, rt=0), "rs, btarget", _branch("s32(r[rs]) > 0", likely=True), "branch likely")
insn("addi", dict(op=0x08), "rt, rs, simm", """
_v = s32(r[rs]) + simm
if _v > 0x7FFFFFFF or _v < -0x80000000:
    RAISE(EXC_OV)
r[rt] = _v & M32""")
insn("addiu", dict(op=0x09), "rt, rs, simm", "r[rt] = (r[rs] + simm) & M32")
insn("slti", dict(op=0x0A), "rt, rs, simm", "r[rt] = 1 if s32(r[rs]) < simm else 0")
insn("sltiu", dict(op=0x0B), "rt, rs, simm", "r[rt] = 1 if r[rs] < (simm & M32) else 0")
insn("andi", dict(op=0x0C), "rt, rs, uimm", "r[rt] = r[rs] & uimm")
insn("ori", dict(op=0x0D), "rt, rs, uimm", "r[rt] = r[rs] | uimm")
insn("xori", dict(op=0x0E), "rt, rs, uimm", "r[rt] = r[rs] ^ uimm")
insn("lui", dict(op=0x0F, rs=0), "rt, uimm", "r[rt] = uimm << 16")

# ------------------------------------------------------------------ loads / stores
insn("lb", dict(op=0x20), "rt, simm(rs)", """
_v = LOAD8((r[rs] + simm) & M32)
r[rt] = ((_v ^ 0x80) - 0x80) & M32""")
insn("lh", dict(op=0x21), "rt, simm(rs)", """
_v = LOAD16((r[rs] + simm) & M32)
r[rt] = ((_v ^ 0x8000) - 0x8000) & M32""")
insn("lwl", dict(op=0x22), "rt, simm(rs)", """
_a = (r[rs] + simm) & M32
_v = LOADWORD(_a)
_sh = 8 * (3 - (_a & 3))
r[rt] = ((_v << _sh) | (r[rt] & ((1 << _sh) - 1))) & M32""")
insn("lw", dict(op=0x23), "rt, simm(rs)", "r[rt] = LOAD32((r[rs] + simm) & M32)")
insn("lbu", dict(op=0x24), "rt, simm(rs)", "r[rt] = LOAD8((r[rs] + simm) & M32)")
insn("lhu", dict(op=0x25), "rt, simm(rs)", "r[rt] = LOAD16((r[rs] + simm) & M32)")
insn("lwr", dict(op=0x26), "rt, simm(rs)", """
_a = (r[rs] + simm) & M32
_v = LOADWORD(_a)
_sh = 8 * (_a & 3)
r[rt] = (_v >> _sh) | (r[rt] & (M32 ^ (M32 >> _sh)))""")
insn("sb", dict(op=0x28), "rt, simm(rs)", "STORE8((r[rs] + simm) & M32, r[rt] & 0xFF)")
insn("sh", dict(op=0x29), "rt, simm(rs)", "STORE16((r[rs] + simm) & M32, r[rt] & 0xFFFF)")
insn("swl", dict(op=0x2A), "rt, simm(rs)", """
_a = (r[rs] + simm) & M32
_pa = XLAT_STOREWORD(_a)
_v = np.int64(ram32[_pa >> 2])
_sh = 8 * (3 - (_a & 3))
ram32[_pa >> 2] = (_v & (M32 ^ (M32 >> _sh))) | (r[rt] >> _sh)""")
insn("sw", dict(op=0x2B), "rt, simm(rs)", "STORE32((r[rs] + simm) & M32, r[rt])")
insn("swr", dict(op=0x2E), "rt, simm(rs)", """
_a = (r[rs] + simm) & M32
_pa = XLAT_STOREWORD(_a)
_v = np.int64(ram32[_pa >> 2])
_sh = 8 * (_a & 3)
ram32[_pa >> 2] = (_v & ((1 << _sh) - 1)) | ((r[rt] << _sh) & M32)""")
insn("cache", dict(op=0x2F), "rt, simm(rs)", "pass", "priv")
insn("ll", dict(op=0x30), "rt, simm(rs)", """
_a = (r[rs] + simm) & M32
r[rt] = LOAD32(_a)
st[LLBIT] = 1
st[LLADDR] = last_pa""")
insn("pref", dict(op=0x33), "rt, simm(rs)", "pass")
insn("sc", dict(op=0x38), "rt, simm(rs)", """
_a = (r[rs] + simm) & M32
_pa = XLAT_STORE(_a)
if st[LLBIT] != 0 and st[LLADDR] == _pa:
    ram32[_pa >> 2] = r[rt]
    r[rt] = 1
else:
    r[rt] = 0
st[LLBIT] = 0""")

# ------------------------------------------------------------- SPECIAL2 (op 0x1C)
def special2(name, funct, fmt, sem, zero=()):
    insn(name, dict(op=0x1C, funct=funct), fmt, sem, "", zero)


special2("madd", 0x00, "rs, rt", """
_acc = ((st[HI] << 32) | st[LO]) + s32(r[rs]) * s32(r[rt])
st[LO] = _acc & M32
st[HI] = (_acc >> 32) & M32""", ("rd", "sa"))
special2("maddu", 0x01, "rs, rt", """
_acc = ((st[HI] << 32) | st[LO]) + r[rs] * r[rt]
st[LO] = _acc & M32
st[HI] = (_acc >> 32) & M32""", ("rd", "sa"))
special2("mul", 0x02, "rd, rs, rt", "r[rd] = (s32(r[rs]) * s32(r[rt])) & M32", ("sa",))
special2("msub", 0x04, "rs, rt", """
_acc = ((st[HI] << 32) | st[LO]) - s32(r[rs]) * s32(r[rt])
st[LO] = _acc & M32
st[HI] = (_acc >> 32) & M32""", ("rd", "sa"))
special2("msubu", 0x05, "rs, rt", """
_acc = ((st[HI] << 32) | st[LO]) - r[rs] * r[rt]
st[LO] = _acc & M32
st[HI] = (_acc >> 32) & M32""", ("rd", "sa"))
special2("clz", 0x20, "rd, rs", "r[rd] = clz32(r[rs])", ("sa",))
special2("clo", 0x21, "rd, rs", "r[rd] = clz32(r[rs] ^ M32)", ("sa",))
special2("sdbbp", 0x3F, "code", "RAISE(EXC_RI)")

# ------------------------------------------------------------- SPECIAL3 (op 0x1F)
insn("ext", dict(op=0x1F, funct=0x00), "rt, rs, sa, ext_size", """
if sa + rd > 31:
    RAISE(EXC_RI)
r[rt] = (r[rs] >> sa) & ((1 << (rd + 1)) - 1)""")
insn("ins", dict(op=0x1F, funct=0x04), "rt, rs, sa, ins_size", """
if sa > rd:
    RAISE(EXC_RI)
_m = ((1 << (rd - sa + 1)) - 1) << sa
r[rt] = (r[rt] & (_m ^ M32)) | ((r[rs] << sa) & _m)""")
insn("wsbh", dict(op=0x1F, funct=0x20, sa=0x02, rs=0), "rd, rt", """
_x = r[rt]
r[rd] = ((_x & 0x00FF00FF) << 8) | ((_x >> 8) & 0x00FF00FF)""")
insn("seb", dict(op=0x1F, funct=0x20, sa=0x10, rs=0), "rd, rt", "r[rd] = (((r[rt] & 0xFF) ^ 0x80) - 0x80) & M32")
insn("seh", dict(op=0x1F, funct=0x20, sa=0x18, rs=0), "rd, rt", "r[rd] = (((r[rt] & 0xFFFF) ^ 0x8000) - 0x8000) & M32")
insn("rdhwr", dict(op=0x1F, funct=0x3B, rs=0, sa=0), "rt, hwr", """
_v = rdhwr_nb(m, c, rd, kmode, cyc)
if _v < 0:
    RAISE(EXC_RI)
r[rt] = _v""")

# ------------------------------------------------------------------- COP0 (op 0x10)
insn("mfc0", dict(op=0x10, rs=0x00), "rt, c0rd, sel", "r[rt] = mfc0_nb(m, c, rd, sel, cyc)",
     "priv", ("sa",))
insn("mtc0", dict(op=0x10, rs=0x04), "rt, c0rd, sel", """
mtc0_nb(m, c, rd, sel, r[rt], cyc)
RESYNC""", "priv", ("sa",))
insn("rdpgpr", dict(op=0x10, rs=0x0A), "rd, rt", "r[rd] = r[rt]", "priv", ("sa", "funct"))
insn("di", dict(op=0x10, rs=0x0B, rd=12, funct=0x00), "rt", """
r[rt] = cp0[c, CP0_Status, 0]
cp0[c, CP0_Status, 0] = r[rt] & ~St_IE
RESYNC""", "priv", ("sa",))
insn("ei", dict(op=0x10, rs=0x0B, rd=12, funct=0x20), "rt", """
r[rt] = cp0[c, CP0_Status, 0]
cp0[c, CP0_Status, 0] = r[rt] | St_IE
RESYNC""", "priv", ("sa",))
insn("wrpgpr", dict(op=0x10, rs=0x0E), "rd, rt", "r[rd] = r[rt]", "priv", ("sa", "funct"))


def cop0_co(name, funct, sem):
    insn(name, dict(op=0x10, co=1, funct=funct), "", sem, "priv", ())


def _zero_co_bits(name):
    """tlbr/tlbwi/... require bits 24..6 zero; wait leaves them implementation-defined."""
    i = TABLE[-1]
    TABLE[-1] = Insn(i.name, i.match, i.mask | 0x01FFFFC0, i.fmt, i.sem, i.flags)


cop0_co("tlbr", 0x01, """
tlbr_nb(m, c)
RESYNC""")
_zero_co_bits("tlbr")
cop0_co("tlbwi", 0x02, """
tlbwi_nb(m, c, -1)
RESYNC""")
_zero_co_bits("tlbwi")
cop0_co("tlbwr", 0x06, """
tlbwi_nb(m, c, random_index_nb(m, c, cyc))
RESYNC""")
_zero_co_bits("tlbwr")
cop0_co("tlbp", 0x08, "tlbp_nb(m, c)")
_zero_co_bits("tlbp")
cop0_co("eret", 0x18, """
npc2 = eret_nb(m, c)
npc = npc2
npc2 = (npc2 + 4) & M32
bpc = -1
RESYNC""")
_zero_co_bits("eret")
cop0_co("deret", 0x1F, "RAISE(EXC_RI)")
_zero_co_bits("deret")
cop0_co("wait", 0x20, """
st[WAITING] = 1
WAIT""")

# ------------------------------------------------------------------- COP1 (op 0x11)
FMT_S, FMT_D, FMT_W, FMT_L = 0x10, 0x11, 0x14, 0x15
# Double-precision register operands must be even when Status.FR=0.
_EVEN = "if not fr64 and ({regs}) & 1:\n    RAISE(EXC_RI)\n"


def cop1(name, enc, fmt, sem, zero=()):
    insn(name, dict(op=0x11, **enc), fmt, sem, "cop1", zero)


cop1("mfc1", dict(rs=0x00), "rt, fs", "r[rt] = f[fs] & M32", ("sa", "funct"))
cop1("cfc1", dict(rs=0x02), "rt, fcr", """
_v = cfc1_nb(m, c, rd)
if _v < 0:
    RAISE(EXC_RI)
r[rt] = _v""", ("sa", "funct"))
cop1("mfhc1", dict(rs=0x03), "rt, fs", "r[rt] = (f[fs] >> 32) & M32 if fr64 else f[fs | 1] & M32",
     ("sa", "funct"))
cop1("mtc1", dict(rs=0x04), "rt, fs", "f[fs] = (f[fs] & ~M32) | r[rt]", ("sa", "funct"))
cop1("ctc1", dict(rs=0x06), "rt, fcr", """
_e = ctc1_nb(m, c, rd, r[rt])
if _e < 0:
    RAISE(EXC_RI)
if _e > 0:
    RAISE(EXC_FPE)""", ("sa", "funct"))
cop1("mthc1", dict(rs=0x07), "rt, fs", """
if fr64:
    f[fs] = (f[fs] & M32) | (r[rt] << 32)
else:
    f[fs | 1] = (f[fs | 1] & ~M32) | r[rt]""", ("sa", "funct"))
for _nd in (0, 1):
    for _tf in (0, 1):
        _n = "bc1" + ("t" if _tf else "f") + ("l" if _nd else "")
        _cond = f"fcc(st[FCSR], cc18) {'!=' if _tf else '=='} 0"
        cop1(_n, dict(rs=0x08, tf=_nd * 2 + _tf), "cc18, btarget", _branch(_cond, likely=bool(_nd)))
        TABLE[-1] = Insn(TABLE[-1].name, TABLE[-1].match, TABLE[-1].mask, TABLE[-1].fmt, TABLE[-1].sem,
                         TABLE[-1].flags | {"branch"} | ({"likely"} if _nd else set()))

# FP arithmetic, s and d forms.  rd_/wr_ choose the register layout by Status.FR.
_FP2 = {  # name: (funct, helper)  fd = op(fs, ft)
    "add": (0x00, "add"), "sub": (0x01, "sub"), "mul": (0x02, "mul"), "div": (0x03, "div"),
}
_FP1 = {  # fd = op(fs)
    "sqrt": (0x04, "sqrt"), "recip": (0x15, "recip"), "rsqrt": (0x16, "rsqrt"),
}
_FP_SIGN = {"abs": (0x05, "abs"), "neg": (0x07, "neg")}  # sign-bit ops: FCSR untouched
_CVT_INT = {  # name: (funct, helper, result is long)
    "round.l": (0x08, "round_l", True), "trunc.l": (0x09, "trunc_l", True),
    "ceil.l": (0x0A, "ceil_l", True), "floor.l": (0x0B, "floor_l", True),
    "round.w": (0x0C, "round_w", False), "trunc.w": (0x0D, "trunc_w", False),
    "ceil.w": (0x0E, "ceil_w", False), "floor.w": (0x0F, "floor_w", False),
    "cvt.w": (0x24, "cvt_w", False), "cvt.l": (0x25, "cvt_l", True),
}
COND_NAMES = ["f", "un", "eq", "ueq", "olt", "ult", "ole", "ule",
              "sf", "ngle", "seq", "ngl", "lt", "nge", "le", "ngt"]

for _p, _fmtv in (("s", FMT_S), ("d", FMT_D)):
    _rd = "rd_s(f, {r})" if _p == "s" else "rd_d(f, fr64, {r})"
    _wr = ("wr_s(f, {r}, _res)" if _p == "s" else "wr_d(f, fr64, {r}, _res)")
    _ev = (lambda regs: _EVEN.format(regs=regs)) if _p == "d" else (lambda regs: "")
    for _name, (_fn, _h) in _FP2.items():
        cop1(f"{_name}.{_p}", dict(rs=_fmtv, funct=_fn), "fd, fs, ft",
             _ev("fd | fs | ft")
             + f"_res, _cause = {_h}_{_p}({_rd.format(r='fs')}, {_rd.format(r='ft')}, st[FCSR])\n"
             + "FPU_COMMIT(_cause)\n" + _wr.format(r="fd"))
    for _name, (_fn, _h) in _FP1.items():
        cop1(f"{_name}.{_p}", dict(rs=_fmtv, funct=_fn), "fd, fs",
             _ev("fd | fs")
             + f"_res, _cause = {_h}_{_p}({_rd.format(r='fs')}, st[FCSR])\n"
             + "FPU_COMMIT(_cause)\n" + _wr.format(r="fd"), ("ft",))
    for _name, (_fn, _h) in _FP_SIGN.items():
        cop1(f"{_name}.{_p}", dict(rs=_fmtv, funct=_fn), "fd, fs",
             _ev("fd | fs")
             + f"_res, _cause = {_h}_{_p}({_rd.format(r='fs')}, st[FCSR])\n"
             + _wr.format(r="fd"), ("ft",))
    cop1(f"mov.{_p}", dict(rs=_fmtv, funct=0x06), "fd, fs",
         _ev("fd | fs") + _wr.format(r="fd").replace("_res", _rd.format(r="fs")), ("ft",))
    for _name, (_fn, _h, _long) in _CVT_INT.items():
        _w = "wr_d(f, fr64, fd, _res)" if _long else "wr_s(f, fd, _res)"
        _chk = ("fd | fs" if _p == "d" and _long else "fs" if _p == "d" else "fd" if _long else "0")
        cop1(f"{_name}.{_p}", dict(rs=_fmtv, funct=_fn), "fd, fs",
             (_EVEN.format(regs=_chk) if _chk != "0" else "")
             + f"_res, _cause = {_h}_{_p}({_rd.format(r='fs')}, st[FCSR])\n"
             + "FPU_COMMIT(_cause)\n" + _w, ("ft",))
    # movf.fmt / movt.fmt / movz.fmt / movn.fmt
    for _tf, _n in ((0, "movf"), (1, "movt")):
        cop1(f"{_n}.{_p}", dict(rs=_fmtv, funct=0x11, tf=_tf), "fd, fs, cc18",
             _ev("fd | fs")
             + f"if fcc(st[FCSR], cc18) {'!=' if _tf else '=='} 0:\n    "
             + _wr.format(r="fd").replace("_res", _rd.format(r="fs")))
    cop1(f"movz.{_p}", dict(rs=_fmtv, funct=0x12), "fd, fs, rt",
         _ev("fd | fs") + "if r[rt] == 0:\n    " + _wr.format(r="fd").replace("_res", _rd.format(r="fs")))
    cop1(f"movn.{_p}", dict(rs=_fmtv, funct=0x13), "fd, fs, rt",
         _ev("fd | fs") + "if r[rt] != 0:\n    " + _wr.format(r="fd").replace("_res", _rd.format(r="fs")))
    for _ci, _cn in enumerate(COND_NAMES):
        cop1(f"c.{_cn}.{_p}", dict(rs=_fmtv, funct=0x30 | _ci), "cc8, fs, ft",
             _ev("fs | ft")
             + f"_t, _cause = cmp_{_p}({_rd.format(r='fs')}, {_rd.format(r='ft')}, cond, st[FCSR])\n"
             + "FPU_COMMIT(_cause)\n"
             + "st[FCSR] = set_fcc(st[FCSR], cc8, _t)", ("b76",))
# conversions between formats
cop1("cvt.s.d", dict(rs=FMT_D, funct=0x20), "fd, fs",
     _EVEN.format(regs="fs") + "_res, _cause = cvt_s_d(rd_d(f, fr64, fs), st[FCSR])\nFPU_COMMIT(_cause)\n"
     "wr_s(f, fd, _res)", ("ft",))
cop1("cvt.d.s", dict(rs=FMT_S, funct=0x21), "fd, fs",
     _EVEN.format(regs="fd") + "_res, _cause = cvt_d_s(rd_s(f, fs), st[FCSR])\nFPU_COMMIT(_cause)\n"
     "wr_d(f, fr64, fd, _res)", ("ft",))
cop1("cvt.s.w", dict(rs=FMT_W, funct=0x20), "fd, fs",
     "_res, _cause = cvt_s_w(rd_s(f, fs), st[FCSR])\nFPU_COMMIT(_cause)\nwr_s(f, fd, _res)", ("ft",))
cop1("cvt.d.w", dict(rs=FMT_W, funct=0x21), "fd, fs",
     _EVEN.format(regs="fd") + "_res, _cause = cvt_d_w(rd_s(f, fs), st[FCSR])\nFPU_COMMIT(_cause)\n"
     "wr_d(f, fr64, fd, _res)", ("ft",))
cop1("cvt.s.l", dict(rs=FMT_L, funct=0x20), "fd, fs",
     _EVEN.format(regs="fs") + "_res, _cause = cvt_s_l(rd_d(f, fr64, fs), st[FCSR])\nFPU_COMMIT(_cause)\n"
     "wr_s(f, fd, _res)", ("ft",))
cop1("cvt.d.l", dict(rs=FMT_L, funct=0x21), "fd, fs",
     _EVEN.format(regs="fd | fs") + "_res, _cause = cvt_d_l(rd_d(f, fr64, fs), st[FCSR])\nFPU_COMMIT(_cause)\n"
     "wr_d(f, fr64, fd, _res)", ("ft",))

# FPU loads and stores
insn("lwc1", dict(op=0x31), "ft, simm(rs)", "f[ft] = (f[ft] & ~M32) | LOAD32((r[rs] + simm) & M32)", "cop1")
insn("ldc1", dict(op=0x35), "ft, simm(rs)", _EVEN.format(regs="ft")
     + "wr_d(f, fr64, ft, LOAD64((r[rs] + simm) & M32))", "cop1")
insn("swc1", dict(op=0x39), "ft, simm(rs)", "STORE32((r[rs] + simm) & M32, f[ft] & M32)", "cop1")
insn("sdc1", dict(op=0x3D), "ft, simm(rs)", _EVEN.format(regs="ft")
     + "STORE64((r[rs] + simm) & M32, rd_d(f, fr64, ft))", "cop1")
# COP2 does not exist: any use is "coprocessor unusable"
for _n, _op in (("cop2", 0x12), ("lwc2", 0x32), ("ldc2", 0x36), ("swc2", 0x3A), ("sdc2", 0x3E)):
    insn(_n, dict(op=_op), "", "RAISE_CPU(2)")


# ------------------------------------------------------------------ COP1X (op 0x13)
def cop1x(name, funct, fmt, sem, zero=()):
    insn(name, dict(op=0x13, funct=funct), fmt, sem, "cop1", zero)


cop1x("lwxc1", 0x00, "fd, rt(rs)", "f[sa] = (f[sa] & ~M32) | LOAD32((r[rs] + r[rt]) & M32)", ("rd",))
cop1x("ldxc1", 0x01, "fd, rt(rs)", _EVEN.format(regs="sa")
      + "wr_d(f, fr64, sa, LOAD64((r[rs] + r[rt]) & M32))", ("rd",))
cop1x("luxc1", 0x05, "fd, rt(rs)", _EVEN.format(regs="sa")
      + "wr_d(f, fr64, sa, LOAD64((r[rs] + r[rt]) & 0xFFFFFFF8))", ("rd",))
cop1x("swxc1", 0x08, "fs, rt(rs)", "STORE32((r[rs] + r[rt]) & M32, f[rd] & M32)", ("sa",))
cop1x("sdxc1", 0x09, "fs, rt(rs)", _EVEN.format(regs="rd")
      + "STORE64((r[rs] + r[rt]) & M32, rd_d(f, fr64, rd))", ("sa",))
cop1x("suxc1", 0x0D, "fs, rt(rs)", _EVEN.format(regs="rd")
      + "STORE64((r[rs] + r[rt]) & 0xFFFFFFF8, rd_d(f, fr64, rd))", ("sa",))
cop1x("prefx", 0x0F, "rd, rt(rs)", "pass", ("sa",))
for _n, _fn in (("madd", 0x20), ("msub", 0x28), ("nmadd", 0x30), ("nmsub", 0x38)):
    cop1x(f"{_n}.s", _fn, "fd, fr, fs, ft",
          f"_res, _cause = {_n}_s(rd_s(f, fr), rd_s(f, fs), rd_s(f, ft), st[FCSR])\n"
          "FPU_COMMIT(_cause)\nwr_s(f, fd, _res)")
    cop1x(f"{_n}.d", _fn | 1, "fd, fr, fs, ft",
          _EVEN.format(regs="fd | fr | fs | ft")
          + f"_res, _cause = {_n}_d(rd_d(f, fr64, fr), rd_d(f, fr64, fs), rd_d(f, fr64, ft), st[FCSR])\n"
          "FPU_COMMIT(_cause)\nwr_d(f, fr64, fd, _res)")

BY_NAME: dict[str, Insn] = {i.name: i for i in TABLE}


def lookup(word: int) -> Insn | None:
    """The table entry that encodes `word`, or None (a reserved instruction)."""
    for i in TABLE:
        if word & i.mask == i.match:
            return i
    return None

# Instructions the interpreter decodes in a second, out-of-line function:
# rare in compiled code, they need not cost compile time and code size in
# the hot dispatch loop.  (They cannot touch the PC or memory.)
COLD = {
    "tge", "tgeu", "tlt", "tltu", "teq", "tne", "tgei", "tgeiu", "tlti", "tltiu", "teqi", "tnei",
    "sync", "synci", "pref", "cache", "sdbbp", "div", "divu", "madd", "maddu", "msub", "msubu",
    "clz", "clo", "wsbh", "rdhwr", "rotr", "rotrv", "mthi", "mtlo", "movf", "movt",
    "mfc0", "mtc0", "rdpgpr", "wrpgpr", "di", "ei", "tlbr", "tlbwi", "tlbwr", "tlbp", "deret", "wait",
    "cfc1", "ctc1", "mfhc1", "mthc1", "cop2", "lwc2", "ldc2", "swc2", "sdc2", "prefx",
}


def _mark(names: set[str], flag: str) -> None:
    """Add `flag` to the entries named in `names`."""
    missing = names - {i.name for i in TABLE}
    assert not missing, f"unknown instructions {sorted(missing)}"
    TABLE[:] = [Insn(i.name, i.match, i.mask, i.fmt, i.sem, i.flags | {flag}) if i.name in names else i
                for i in TABLE]


_mark(COLD, "cold")

# FPU arithmetic frequent in compiled C (the ray tracer, n-body, matrix code):
# decoded inline in the hot loop; every other FPU operation is decoded in an
# out-of-line function per format.
HOT_FP = {
    "add.d", "sub.d", "mul.d", "div.d", "mov.d", "neg.d", "abs.d", "sqrt.d",
    "add.s", "sub.s", "mul.s", "div.s", "mov.s",
    "cvt.d.w", "cvt.d.s", "cvt.s.d", "trunc.w.d", "cvt.s.w",
    "madd.d", "msub.d", "nmadd.d", "nmsub.d",
    "movf.d", "movt.d", "movz.d", "movn.d",
} | {f"c.{c}.d" for c in COND_NAMES} | {f"c.{c}.s" for c in ("eq", "lt", "le", "olt", "ole", "ult", "ule")}
_mark(HOT_FP, "hotfp")
BY_NAME = {i.name: i for i in TABLE}


def encode(name: str, **fields: int) -> int:
    """Instruction word of table entry `name` with the given fields (simm: 16-bit immediate)."""
    return assemble(BY_NAME[name].match, **fields)
