"""The regions' IR writer (flashvm/isa/irtext.py) and the per-entry leaf templates of
flashvm/isa/llvmgen.py: constants folded while the IR is written are what LLVM computes for the
same operations, and building a region makes no leaf per instruction word."""
from __future__ import annotations

import ctypes
import random

import llvmlite.binding as llvm

from flashvm.isa import irtext as ir
from flashvm.isa import jitgen, llvmgen
from flashvm.kernels import jitnative

I64 = ir.IntType(64)
ALL = (1 << 64) - 1
BINARY = ("add", "sub", "mul", "and_", "or_", "xor", "shl", "lshr", "ashr")
COMPARE = [(signed, op) for signed in (True, False) for op in ("==", "!=", "<", "<=", ">", ">=")]
VALUES = ([0, 1, 2, 4, 31, 32, 63, 0xFFF, 0xFFFFFFFF, 1 << 31, 1 << 32, 1 << 63, ALL, ALL - 4]
          + [random.Random(16 + k).getrandbits(64) for k in range(6)])
Fn = ctypes.CFUNCTYPE(ctypes.c_uint64, ctypes.c_uint64, ctypes.c_uint64)


def _runtime_functions() -> dict[str, Fn]:
    """Each operation as a compiled function of two arguments, so LLVM computes it."""
    module = ir.Module("fold")
    names = {}
    for k, op in enumerate(BINARY + tuple(COMPARE)):
        fn = ir.Function(module, ir.FunctionType(I64, [I64, I64]), name=f"op{k}")
        b = ir.IRBuilder(fn.append_basic_block())
        x, y = fn.args
        if isinstance(op, tuple):
            signed, pred = op
            got = b.zext((b.icmp_signed if signed else b.icmp_unsigned)(pred, x, y), I64)
        else:
            got = getattr(b, op)(x, y)
        b.ret(got)
        names[op if isinstance(op, str) else f"{op[0]}{op[1]}"] = fn.name
    tm = jitnative._machine()[0]
    mod = llvm.parse_assembly(str(module))
    mod.triple = tm.triple
    engine = llvm.create_mcjit_compiler(mod, tm)
    engine.finalize_object()
    _keep.append(engine)
    return {key: Fn(engine.get_function_address(name)) for key, name in names.items()}


_keep: list[object] = []


def test_constants_fold_as_llvm_computes():
    run = _runtime_functions()
    b = ir.IRBuilder(ir.Block("scratch"))
    for x in VALUES:
        for y in VALUES:
            cx, cy = ir.Constant(I64, x), ir.Constant(I64, y)
            for op in BINARY:
                if op in ("shl", "lshr", "ashr") and y >= 64:
                    continue        # poison in LLVM: not folded, not compared
                got = getattr(b, op)(cx, cy)
                assert got.const is not None, op
                assert got.const == run[op](x, y) & ALL, (op, x, y)
            for signed, pred in COMPARE:
                got = (b.icmp_signed if signed else b.icmp_unsigned)(pred, cx, cy)
                assert got.const == run[f"{signed}{pred}"](x, y), (signed, pred, x, y)
    assert not b.block.lines           # everything folded: no instruction written


def test_identities_and_casts_write_nothing():
    fn = ir.Function(ir.Module("m"), ir.FunctionType(I64, [I64]), name="f")
    b = ir.IRBuilder(fn.append_basic_block())
    x = fn.args[0]
    zero, ones = ir.Constant(I64, 0), ir.Constant(I64, -1)
    assert b.add(x, zero) is x and b.or_(zero, x) is x and b.and_(x, ones) is x and b.shl(x, zero) is x
    assert b.select(ir.Constant(ir.IntType(1), 1), x, zero) is x
    assert b.sext(ir.Constant(ir.IntType(32), 0xFFFFFFFF), I64).const == ALL
    assert b.zext(ir.Constant(ir.IntType(32), 0xFFFFFFFF), I64).const == 0xFFFFFFFF
    assert b.trunc(ir.Constant(I64, 0x123456789), ir.IntType(32)).const == 0x23456789
    assert not b.block.lines


def test_a_region_is_built_from_its_table_entries_templates(monkeypatch):
    first = [0x24020005, 0x00421821, 0x8C850000]     # addiu v0, zero, 5; addu v1, v0, v0; lw a1, 0(a0)
    assert llvmgen.scan(first) == 3
    llvmgen.module_ir([first], "a")

    def no_leaf(word: int) -> None:
        raise AssertionError(f"a leaf generated for {word:#x}")
    monkeypatch.setattr(jitgen, "leaf", no_leaf)
    # other registers and immediates of the same entries: only the field values change
    other = [0x24030007, 0x00631021, 0x8C860004]     # addiu v1, zero, 7; addu v0, v1, v1; lw a2, 4(a0)
    text = llvmgen.module_ir([other], "b")
    assert "@\"b_0\"" in text and " 7" in text
