"""Generate the Numba interpreter `flashvm/kernels/interp.py` from the ISA table.

    python -m flashvm.isa.gen          # rewrite the interpreter
    python -m flashvm.isa.gen --check  # fail if it is out of date (the tests do this)

The decoder is a tree on instruction fields built from the table's
match/mask pairs.  The hot loop walks it as lookup tables (a few loads per
instruction, `FlatDecoder`) down to a leaf number and then runs ONE `if/elif`
chain over leaf numbers, which LLVM turns into one jump table; words outside
the hot set go to a cold decoder written as `if/elif` chains.  Each
leaf checks the bits its path has not decided, extracts the fields its
snippet names, checks coprocessor usability, and expands the snippet's
macros (loads, stores, exceptions; see `flashvm.isa.table`).
"""
from __future__ import annotations

import re
import textwrap
import sys
from pathlib import Path

from flashvm.isa import macros
from flashvm.isa.fields import DERIVED, FIELDS, extract_expr
from flashvm.isa.macros import expand
from flashvm.isa.table import TABLE, Insn

OUT = Path(__file__).resolve().parent.parent / "kernels" / "interp.py"

# Fields the decoder may switch on, in order of preference.
SPLIT_FIELDS = ["op", "rs", "funct", "rt", "sa", "co", "tf", "b21", "b6", "b5"]

FPU_HELPERS = [
    f"{op}_{p}" for op in ("add", "sub", "mul", "div", "sqrt", "abs", "neg", "recip", "rsqrt",
                           "madd", "msub", "nmadd", "nmsub", "cmp",
                           "round_w", "trunc_w", "ceil_w", "floor_w", "cvt_w",
                           "round_l", "trunc_l", "ceil_l", "floor_l", "cvt_l")
    for p in ("s", "d")
] + ["cvt_s_d", "cvt_d_s", "cvt_s_w", "cvt_d_w", "cvt_s_l", "cvt_d_l"]


def _fmask(name: str) -> int:
    shift, width = FIELDS[name]
    return ((1 << width) - 1) << shift


# ------------------------------------------------------------------ decode tree
def build_tree(entries: list[Insn], covered: int = 0):
    """("leaf", insn, covered) or ("split", field, {value: subtree}, covered)."""
    if len(entries) == 1:
        return ("leaf", entries[0], covered)
    for name in SPLIT_FIELDS:
        fm = _fmask(name)
        if fm & covered == fm:
            continue
        if all(e.mask & fm == fm for e in entries):
            shift = FIELDS[name][0]
            groups: dict[int, list[Insn]] = {}
            for e in entries:
                groups.setdefault((e.match & fm) >> shift, []).append(e)
            if len(groups) > 1:
                return ("split", name, {v: build_tree(g, covered | fm) for v, g in sorted(groups.items())},
                        covered)
    raise ValueError("cannot tell apart: " + ", ".join(e.name for e in entries))


# ------------------------------------------------------------------ emission
_IDENT = re.compile(r"\b[a-z_][a-z0-9_]*\b")


_FIELD_NAMES = set(FIELDS) | set(DERIVED)
_PC_OR_MEMORY = re.compile(r"\b(pc|npc|npc2|bpc)\b|LOAD|STORE|XLAT|ram")
_BRANCH_STATE = re.compile(r"\b(pc|npc|npc2|bpc|cyc)\b|LOAD|STORE|XLAT|RESYNC|WAIT")


class Emitter:
    """Writes decode trees as Python.

    Three kinds of code come out: the hot dispatch inside `exec_cpu_nb`,
    FPU-arithmetic subtrees outlined into small functions (`fpu_opN_nb`), and
    one function for the cold instructions (`exec_cold_nb`), which the hot
    dispatch calls for any word it does not decode itself.  Every leaf gets
    temporaries and field variables of its own (suffix _<n>): a name defined
    once needs no SSA merge, which keeps Numba's compile time in check."""

    def __init__(self) -> None:
        self.counter = 0
        self.outlined: list[str] = []

    def fresh(self) -> int:
        self.counter += 1
        return self.counter

    @staticmethod
    def fpu_outlinable(node) -> bool:
        if node[0] == "leaf":
            e = node[1]
            return "cop1" in e.flags and not _BRANCH_STATE.search(e.sem)
        return all(Emitter.fpu_outlinable(ch) for ch in node[2].values())

    def miss(self, mode: str) -> list[str]:
        """Code for a word this tree does not decode."""
        if mode == "main":
            return ["exc = exec_cold_nb(m, c, insn, kmode, cu0, cu1, fr64, cyc0 + n)",
                    "if exc != -1:",
                    "    if exc >= 0x10000:",
                    "        ce = exc >> 16",
                    "        exc = exc & 0xFFFF",
                    "    break"]
        return ["return EXC_RI"]

    def leaf(self, e: Insn, covered: int, ind: str, mode: str) -> list[str]:
        k = self.fresh()
        lines = []
        used = set(_IDENT.findall(e.sem))
        for name in sorted(used & _FIELD_NAMES):
            lines.append(f"{name} = {extract_expr(name)}")
        if "priv" in e.flags:
            lines += ["if not cu0:", "    exc = EXC_CPU", "    ce = 0", "    break"]
        if "cop1" in e.flags and mode != "fpu":
            lines += ["if not cu1:", "    exc = EXC_CPU", "    ce = 1", "    break"]
        lines += expand(e.sem)
        text = "\n".join(lines)
        text = re.sub(r"\bcyc\b", "(cyc0 + n)" if mode == "main" else "cyc", text)
        text = re.sub(r"\b(_[a-z]\w*)\b", lambda mt: f"{mt.group(1)}_{k}", text)
        text = re.sub(r"\b[a-z_][a-z0-9_]*\b",
                      lambda mt: f"{mt.group(0)}_{k}" if mt.group(0) in _FIELD_NAMES else mt.group(0), text)
        rest = e.mask & ~covered & 0xFFFFFFFF
        if rest:  # bits the decode path has not checked: a mismatch is some other (cold) word
            text = "\n".join([f"if insn & {rest:#010x} != {e.match & rest:#010x}:"]
                              + ["    " + x for x in self.miss(mode)]
                              + ["else:"] + ["    " + x for x in text.splitlines()])
        text = f"# {e.name}\n" + text
        if mode != "main":
            # out of line: report the exception instead of leaving the loop
            if _PC_OR_MEMORY.search(e.sem):
                raise ValueError(f"{e.name} touches the PC or memory and cannot be out of line")
            text = re.sub(r"^(\s*)ce = (\d)\n\s*break$", r"\1return exc | (\2 << 16)", text, flags=re.M)
            text = re.sub(r"^(\s*)exc = (X_RESYNC|X_WAIT)\n\s*break$", r"\1return \2", text, flags=re.M)
            text = re.sub(r"^(\s*)break$", r"\1return exc", text, flags=re.M)
        return [ind + x for x in text.splitlines()]

    def node(self, node, ind: str, mode: str) -> list[str]:
        if node[0] == "leaf":
            return self.leaf(node[1], node[2], ind, mode)
        if mode == "main" and self.fpu_outlinable(node):
            hot = {v for v, ch in node[2].items() if ch[0] == "leaf" and "hotfp" in ch[1].flags}
            if not hot:
                return self.outline_fpu(node, ind)
            # frequent operations inline; the whole subtree also out of line for the rest
            call = self.outline_fpu(node, "")
            _, name, children, _ = node
            var = f"_k{self.fresh()}"
            lines = [ind + f"{var} = {extract_expr(name)}"]
            for i, value in enumerate(sorted(hot)):
                lines.append(ind + ("if" if i == 0 else "elif") + f" {var} == {value}:")
                lines += self.leaf(children[value][1], children[value][2], ind + "    ", "main")
            lines += [ind + "else:"] + [ind + "    " + x for x in call]
            return lines
        _, name, children, _ = node
        var = f"_k{self.fresh()}"
        lines = [ind + f"{var} = {extract_expr(name)}"]
        for i, (value, child) in enumerate(children.items()):
            lines.append(ind + ("if" if i == 0 else "elif") + f" {var} == {value}:")
            lines += self.node(child, ind + "    ", mode)
        lines += [ind + "else:"] + [ind + "    " + x for x in self.miss(mode)]
        return lines

    def outline_fpu(self, node, ind: str) -> list[str]:
        fname = f"fpu_op{len(self.outlined)}_nb"
        body = self.node(node, "    ", "fpu")
        self.outlined.append(OUTLINED_FPU.format(name=fname, body="\n".join(body)))
        return [ind + x for x in (
            "if not cu1:", "    exc = EXC_CPU", "    ce = 1", "    break",
            f"exc = {fname}(st, r, f, insn, fr64)",
            "if exc >= 0:", "    break",
        )]

    def cold(self, tree) -> str:
        body = self.node(tree, "    ", "cold")
        return COLD_FN.format(body="\n".join(body))


OUTLINED_FPU = '''

@njit(cache=True, _nrt=False)
def {name}(st, r, f, insn, fr64):
    exc = -1
{body}
    return -1
'''

COLD_FN = '''

@njit(cache=True, _nrt=False)
def exec_cold_nb(m, c, insn, kmode, cu0, cu1, fr64, cyc):
    """Instructions rare in compiled code.  Returns -1 when done, X_RESYNC or
    X_WAIT when done and the loop must react, else an exception code
    (coprocessor-unusable carries the coprocessor number << 16)."""
    cp0 = m.cp0
    st = m.cpu[c]
    r = m.gpr[c]
    f = m.fpr[c]
    exc = -1
    ce = 0
{body}
    return -1
'''


TEMPLATE = '''\
"""The MIPS32 interpreter.  GENERATED by flashvm/isa/gen.py from flashvm/isa/table.py: do not edit."""
# flake8: noqa
import numpy as np
from numba import njit

from flashvm.kernels.bits import M32, clz32, div32, divu32, fcc, rd_d, rd_s, s32, set_fcc, wr_d, wr_s
from flashvm.kernels.cp0 import (cfc1_nb, ctc1_nb, eret_nb, irq_pending, mfc0_nb, mtc0_nb,
                                 random_index_nb, rdhwr_nb)
from flashvm.kernels.trap import exception_nb
from flashvm.kernels.fpu import ({fpu})
from flashvm.kernels.cache import access_nb
from flashvm.kernels.devfast import mmio_fast_nb
from flashvm.kernels.mmu import (TC_MASK, XL_MMIO, XL_MMIO_LOAD, load_xlate_nb, mmu_index, store_xlate_nb,
                                 tlbp_nb, tlbr_nb, tlbwi_nb, xlate_nb)
from flashvm.kernels.state import *  # noqa: F403  slot, register and code constants

# exc values beyond architectural ExcCodes: why the inner loop stopped
X_RESYNC = 0x1000      # instruction done; reload mode-dependent state (CP0 changed)
X_WAIT = 0x1001        # instruction done; the CPU waits for an interrupt
X_MMIO_STORE = 0x1002  # instruction done; the host must perform a device store
X_MMIO_LOAD = 0x1003   # instruction NOT done; the host serves the load, then it is replayed
STOP_LIMIT = 0
STOP_WAIT = 1
STOP_EXIT = 2

# decode tables (see FlatDecoder in flashvm/isa/gen.py); leaf 0 = the cold decoder
{tables}


{exec_functional}

{exec_timing}'''


class FlatDecoder:
    """The hot loop's decoder: the decode tree as lookup tables, walked with a
    few loads, then ONE `if/elif` chain over leaf numbers (one jump table,
    one indirect branch per instruction).  Nested jump tables cost an
    unpredictable indirect branch per level; real code pays for each."""

    def __init__(self, em: Emitter) -> None:
        self.em = em
        self.shift: list[int] = []
        self.mask: list[int] = []
        self.base: list[int] = []
        self.next: list[int] = []
        self.leaves: list[list[str]] = []     # code of each leaf (unindented)
        self.lmask: list[int] = []
        self.lmatch: list[int] = []
        self.cold = self.add_leaf(self.em.miss("main"), 0, 0)

    def add_leaf(self, code: list[str], mask: int, match: int) -> int:
        self.leaves.append(code)
        self.lmask.append(mask)
        self.lmatch.append(match)
        return len(self.leaves) - 1

    def insn_leaf(self, e: Insn) -> int:
        code = self.em.leaf(e, e.mask, "", "main")   # the table checks the whole mask
        return self.add_leaf(code, e.mask, e.match)

    def ref(self, node) -> int:
        """DEC_NEXT value for a subtree: a leaf number (>= 0) or -1 - table node."""
        if node[0] == "leaf":
            return self.insn_leaf(node[1])
        _, name, children, _ = node
        if self.em.fpu_outlinable(node):
            call = self.em.outline_fpu(node, "")
            outlined = self.add_leaf(call, 0, 0)
            hot = {v: ch for v, ch in children.items() if ch[0] == "leaf" and "hotfp" in ch[1].flags}
            if not hot:
                return outlined
            return self.table(name, {v: self.insn_leaf(ch[1]) for v, ch in hot.items()}, outlined)
        return self.table(name, {v: self.ref(ch) for v, ch in children.items()}, self.cold)

    def table(self, name: str, entries: dict[int, int], default: int) -> int:
        shift, width = FIELDS[name]
        nid = len(self.shift)
        self.shift.append(shift)
        self.mask.append((1 << width) - 1)
        self.base.append(0)
        slots = [default] * (1 << width)
        for v, ref in entries.items():
            slots[v] = ref
        self.base[nid] = len(self.next)
        self.next.extend(slots)
        return -1 - nid

    def dispatch(self, ind: str) -> str:
        lines = []
        for i, code in enumerate(self.leaves):
            lines.append(ind + ("if" if i == 0 else "elif") + f" leaf == {i}:")
            lines += [ind + "    " + x for x in (code or ["pass"])]
        return "\n".join(lines)

    def tables(self) -> str:
        def arr(name, values, dt):
            return f"{name} = np.array({values!r}, dtype=np.{dt})"
        return "\n".join([
            f"DEC_ROOT = {self.root}",
            arr("DEC_SHIFT", self.shift, "int64"), arr("DEC_MASK", self.mask, "int64"),
            arr("DEC_BASE", self.base, "int64"), arr("DEC_NEXT", self.next, "int64"),
            arr("LEAF_MASK", self.lmask, "int64"), arr("LEAF_MATCH", self.lmatch, "int64"),
        ])


EXEC = '''\
@njit(cache=True, _nrt=False)
def {name}(m, c, limit):
    """Run CPU `c` for at most `limit` cycles ({what}).  Returns (STOP_*,
    instructions retired).  On STOP_EXIT the exit record m.exitrec says what
    the host must do."""
    cpu = m.cpu
    cp0 = m.cp0
    ram8 = m.ram8
    ram16 = m.ram16
    ram32 = m.ram32
    st = cpu[c]
    r = m.gpr[c]
    f = m.fpr[c]
    ram_size = m.params[P_RAM_SIZE]
{setup}
    n = 0
    cend = st[CYCLES] + limit
    while st[CYCLES] < cend:
        # ---- mode-dependent state, timer and interrupts (between instructions)
        status = cp0[c, CP0_Status, 0]
        if st[CYCLES] >= st[TIMER_DUE]:
            cp0[c, CP0_Cause, 0] |= Ca_TI | (1 << 15)
            st[TIMER_DUE] += 1 << 33
        cause = cp0[c, CP0_Cause, 0]
        if st[WAITING] != 0:
            if status & cause & Ca_IP == 0:
                return STOP_WAIT, n
            st[WAITING] = 0
        if irq_pending(status, cause):
            if exception_nb(m, c, EXC_INT, st[PC], st[NPC], st[BRANCH_PC], 0, 0):
                return STOP_EXIT, n
            status = cp0[c, CP0_Status, 0]
        t_top = st[CYCLES]
        cyc0 = t_top - n
        mi = mmu_index(status)
        kmode = mi == MMU_KERNEL
        cu0 = kmode or (status & St_CU0) != 0
        cu1 = (status & St_CU1) != 0
        fr64 = (status & St_FR) != 0
        ftag = m.tc_tag[c, mi, ACC_FETCH]
        fadd = m.tc_add[c, mi, ACC_FETCH]
        ltag = m.tc_tag[c, mi, ACC_LOAD]
        ladd = m.tc_add[c, mi, ACC_LOAD]
        stag = m.tc_tag[c, mi, ACC_STORE]
        sadd = m.tc_add[c, mi, ACC_STORE]
        pc = st[PC]
        npc = st[NPC]
        bpc = st[BRANCH_PC]
        stop = cend - cyc0
        if st[TIMER_DUE] - cyc0 < stop:
            stop = st[TIMER_DUE] - cyc0
        fpage = -1
        fbase = 0
        exc = -1
        badva = 0
        ce = 0
        last_pa = 0
        npc2 = 0
{loop_setup}
        while n < stop:
{fetch}
            insn = np.int64(ram32[(fbase | (pc & 0xFFF)) >> 2])
            npc2 = (npc + 4) & M32
            # ---- decode: walk the tables to a leaf number, check its fixed bits
            _e = DEC_NEXT[DEC_BASE[DEC_ROOT] + ((insn >> DEC_SHIFT[DEC_ROOT]) & DEC_MASK[DEC_ROOT])]
            while _e < 0:
                _t = -1 - _e
                _e = DEC_NEXT[DEC_BASE[_t] + ((insn >> DEC_SHIFT[_t]) & DEC_MASK[_t])]
            leaf = _e
            if insn & LEAF_MASK[leaf] != LEAF_MATCH[leaf]:
                leaf = 0
{dispatch}
            r[0] = 0
            pc = npc
            npc = npc2
            n += 1
        # ---- the inner loop stopped: finish the instruction if it completed
        if exc >= X_RESYNC and exc != X_MMIO_LOAD:
            r[0] = 0
            pc = npc
            npc = npc2
            n += 1
        st[PC] = pc
        st[NPC] = npc
        st[BRANCH_PC] = bpc
        st[CYCLES] = cyc0 + n
        m.stats[c, S_CYC_BASE + mi] += st[CYCLES] - t_top
{loop_account}
        if exc == -1 or exc == X_RESYNC:
            continue
        if exc == X_WAIT:
            return STOP_WAIT, n
        x = m.exitrec
        if exc == X_MMIO_STORE:
            value = np.int64(ram32[ram_size >> 2]) & ((1 << (8 * st[MMIO_SIZE])) - 1)
            if mmio_fast_nb(m, c, st[MMIO_PA], st[MMIO_SIZE], value, True):
                continue               # an IPI: served as the host's device would (devfast.py)
            x[X_REASON] = EXIT_MMIO_STORE
            x[X_CPU] = c
            x[X_A0] = st[MMIO_PA]
            x[X_A1] = st[MMIO_SIZE]
            x[X_A2] = value
            return STOP_EXIT, n
        if exc == X_MMIO_LOAD:
            if mmio_fast_nb(m, c, st[MMIO_PA], st[MMIO_SIZE], 0, False):
                continue               # a timer word, pending for the load's replay
            x[X_REASON] = EXIT_MMIO_LOAD
            x[X_CPU] = c
            x[X_A0] = st[MMIO_PA]
            x[X_A1] = st[MMIO_SIZE]
            return STOP_EXIT, n
        if exception_nb(m, c, exc, pc, npc, bpc, badva, ce):
            return STOP_EXIT, n
        st[CYCLES] += 1                # an exception costs a cycle, so an exception loop still ends
        m.stats[c, S_CYC_BASE + MMU_KERNEL] += 1
    return STOP_LIMIT, n
'''
# the fetch: the current code page is cached in fpage/fbase
FETCH_PAGE = '''\
if (pc ^ fpage) & 0xFFFFF003:
    if pc & 3:
        badva = pc
        exc = EXC_ADEL
        break
    _s = (pc >> 12) & TC_MASK
    if ftag[_s] == pc >> 12:
        fbase = (pc & 0xFFFFF000) + fadd[_s]
    else:
        _pa = xlate_nb(m, c, mi, pc, ACC_FETCH)
        if _pa < 0:
            badva = pc
            exc = EXC_IBE if _pa == XL_MMIO else -1 - _pa
            break
        fbase = _pa & ~0xFFF
    fpage = pc & 0xFFFFF000'''
FETCH = ("            # ---- fetch: the current code page is cached in fpage/fbase\n"
         + textwrap.indent(FETCH_PAGE, " " * 12))
# timing mode: the same inside a test for a new cache line, then the L1I hit test
TIMING_FETCH = ("            # ---- fetch: the current code line is cached in fline, its page in fpage/fbase\n"
                "            if (pc ^ fline) & lmask:\n" + textwrap.indent(FETCH_PAGE, " " * 16) + "\n"
                + textwrap.indent('''\
fline = pc & lmask
_ln = (fbase | (pc & 0xFFF)) >> lsh
if (i1[(_ln & i1m) * i1w] >> 2) != _ln:
    _lat = access_nb(m, c, _ln, ACC_FETCH)
    cyc0 += _lat
    stop -= _lat
    stall += _lat''', " " * 16))
TIMING_SETUP = """    # timing mode: L1 geometry for the inline hit tests (cache.py)
    lsh = m.params[P_LSHIFT]
    lmask = (M32 << lsh) & M32 | 3
    i1 = m.l1i[c]
    i1m = m.params[P_L1I_SETS] - 1
    i1w = m.params[P_L1I_WAYS]
    d1 = m.l1d[c]
    d1m = m.params[P_L1D_SETS] - 1
    d1w = m.params[P_L1D_WAYS]"""


def build_decoder(timing: bool):
    macros.TIMING = timing
    try:
        em = Emitter()
        flat = FlatDecoder(em)
        root = flat.ref(build_tree([e for e in TABLE if "cold" not in e.flags]))
        assert root < 0, "the decode tree has a split at its root"
        flat.root = -1 - root
        return em, flat, flat.dispatch(" " * 12)
    finally:
        macros.TIMING = False


def generate() -> str:
    em, flat, dispatch = build_decoder(False)
    em_t, flat_t, dispatch_t = build_decoder(True)
    # both variants share the decode tables and the out-of-line functions
    assert flat_t.tables() == flat.tables() and em_t.outlined == em.outlined
    functional = EXEC.format(name="exec_cpu_nb", what="functional mode", setup="", loop_setup="",
                             fetch=FETCH, dispatch=dispatch, loop_account="")
    timing = EXEC.format(name="exec_cpu_timing_nb", what="timing mode: caches and stall cycles",
                         setup=TIMING_SETUP, loop_setup="        fline = -1\n        stall = 0",
                         fetch=TIMING_FETCH, dispatch=dispatch_t,
                         loop_account="        m.stats[c, S_STALL_BASE + mi] += stall")
    cold = em.cold(build_tree([e for e in TABLE if "cold" in e.flags]))
    return (TEMPLATE.format(exec_functional=functional, exec_timing=timing,
                            fpu=", ".join(FPU_HELPERS), tables=flat.tables())
            + "".join(em.outlined) + cold)


def main(argv: list[str]) -> int:
    from flashvm.isa.genjit import OUT_JIT, generate_jit     # it builds on this module
    from flashvm.isa.genjittiming import OUT_JIT_TIMING, generate_jit_timing
    outs = [(OUT, generate()), (OUT_JIT, generate_jit()), (OUT_JIT_TIMING, generate_jit_timing())]
    if "--check" in argv:
        for out, src in outs:
            if not out.exists() or out.read_text() != src:
                print(f"{out} is out of date: run python -m flashvm.isa.gen", file=sys.stderr)
                return 1
        return 0
    for out, src in outs:
        if not out.exists() or out.read_text() != src:
            out.write_text(src)
        print(f"wrote {out} ({len(src.splitlines())} lines, {len(TABLE)} instructions)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
