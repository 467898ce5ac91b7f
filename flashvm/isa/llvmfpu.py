"""The FPU helpers' fast paths written inline into native regions (flashvm/isa/llvmgen.py).

An FPU operation in a leaf is `(result, cause) = helper(operands..., fcsr)` (the interpreter's
helpers, flashvm/kernels/fpu_*.py).  A region used to call every one of them through a C-callable
wrapper (flashvm/kernels/jitfpu.py), spilling its caller-saved registers around the call.  Here
the helper's own host fast path is written as IR, the same computation the helper makes (the same
host operations, the same error-free transforms for the inexact cause, the same range tests), so
its result and cause are the helper's bit for bit; what falls outside the fast path (NaN and
infinite operands or results, denormals, results near the ends of the range, a rounding mode other
than round-to-nearest where the helper's result depends on it) still calls the wrapper, in a block
of its own that the fast path branches round.

Operations whose every case is simple (abs, neg, the compares, int32 -> double) have no slow path.

`fast_path(b, module, name, args)` gives (ok, result, cause): `ok` an i1 saying the fast path's
answer holds (None: always), or None for the whole when `name` has no inline form.
"""
from __future__ import annotations

import struct
from typing import Callable

from flashvm.isa import irtext as ir

I64 = ir.IntType(64)
I32 = ir.IntType(32)
I1 = ir.IntType(1)
F64 = ir.Type("double")
F32 = ir.Type("float")
M32 = 0xFFFFFFFF
MAG64 = 0x7FFFFFFFFFFFFFFF
SIGN64 = -(1 << 63)
C_I = 1             # the cause bits (flashvm/kernels/fpu_core.py)
C_V = 16
RN_MAGIC = 6755399441055744.0        # 1.5 * 2**52: x + it - it rounds x to an integer, ties to even
ONE_S = 0x3F800000
ONE_D = 0x3FF0000000000000

Fast = tuple[ir.Value | None, ir.Value, ir.Value]


def _k(v: int) -> ir.Value:
    return ir.Constant(I64, v)


def _dconst(x: float) -> ir.Value:
    return ir.Value(F64, "0x%016X" % struct.unpack("<Q", struct.pack("<d", x))[0])


def _two_sum_error(fp: _Fp, x: ir.Value, y: ir.Value, r: ir.Value) -> ir.Value:
    """x + y - r exactly, r being x + y rounded (Knuth's two-sum): nonzero iff the sum was inexact."""
    bv = fp.bin("fsub", r, x)
    return fp.bin("fadd", fp.bin("fsub", x, fp.bin("fsub", r, bv)), fp.bin("fsub", y, bv))


class _Fp:
    """Floating-point instructions through an IRBuilder (irtext writes integer code only)."""

    def __init__(self, b: ir.IRBuilder, module: ir.Module) -> None:
        self.b = b
        self.module = module

    def bin(self, op: str, x: ir.Value, y: ir.Value) -> ir.Value:
        return self.b._emit(x.type, f"{op} {x.type} {x.ref}, {y.ref}")

    def neg(self, x: ir.Value) -> ir.Value:
        return self.b._emit(x.type, f"fneg {x.type} {x.ref}")

    def cmp(self, pred: str, x: ir.Value, y: ir.Value) -> ir.Value:
        return self.b._emit(I1, f"fcmp {pred} {x.type} {x.ref}, {y.ref}")

    def cast(self, op: str, v: ir.Value, ty: ir.Type) -> ir.Value:
        return self.b._emit(ty, f"{op} {v.type} {v.ref} to {ty}")

    def intrinsic(self, name: str, args: list[ir.Value]) -> ir.Value:
        fn = self.module.globals.get(name)
        if fn is None:
            fn = ir.Function(self.module, ir.FunctionType(F64, [F64] * len(args)), name=name)
        return self.b.call(fn, args)

    # ---- bit patterns (int64) and host values
    def d(self, a: ir.Value) -> ir.Value:
        """A binary64 pattern as a double."""
        return self.cast("bitcast", a, F64)

    def s(self, a: ir.Value) -> ir.Value:
        """The binary32 pattern in the low 32 bits as an exact double (not for NaNs)."""
        return self.cast("fpext", self.cast("bitcast", self.b.trunc(a, I32), F32), F64)

    def bits(self, x: ir.Value) -> ir.Value:
        return self.cast("bitcast", x, I64)

    def fma(self, x: ir.Value, y: ir.Value, z: ir.Value) -> ir.Value:
        return self.intrinsic("llvm.fma.f64", [x, y, z])

    def nonzero(self, x: ir.Value) -> ir.Value:
        """x != 0.0 for a number (the fast paths never meet a NaN here; a NaN says no)."""
        return self.cmp("one", x, _dconst(0.0))


def _exp_in(b: ir.IRBuilder, bits: ir.Value, shift: int, mask: int, lo: int, hi: int) -> ir.Value:
    """lo <= the biased exponent field of `bits` <= hi."""
    e = b.and_(b.ashr(bits, _k(shift)), _k(mask))
    return b.icmp_unsigned("<=", b.sub(e, _k(lo)), _k(hi - lo))


def _all(b: ir.IRBuilder, *conds: ir.Value) -> ir.Value:
    out = conds[0]
    for c in conds[1:]:
        out = b.and_(out, c)
    return out


def _cause(b: ir.IRBuilder, inexact: ir.Value) -> ir.Value:
    return b.zext(inexact, I64)


class _Ops:
    """The fast path of each helper, as fpu_arith.py / fpu_convert.py / fpu_compare.py write it."""

    def __init__(self, b: ir.IRBuilder, module: ir.Module, rn: ir.Value | None = None) -> None:
        self.b = b
        self.fp = _Fp(b, module)
        self.known_rn = rn

    def rn(self, fcsr: ir.Value) -> ir.Value:
        """The rounding mode is round-to-nearest (the fast paths below are written for it)."""
        if self.known_rn is not None:
            return self.known_rn
        return self.b.icmp_unsigned("==", self.b.and_(fcsr, _k(3)), _k(0))

    def fin_s(self, r: ir.Value, err: ir.Value | None) -> tuple[ir.Value, ir.Value, ir.Value]:
        """fpu_core._fin_s in round-to-nearest: (ok, binary32 pattern, inexact) of r, a double
        rounded once already, whose own error has the sign of err (None: r is exact)."""
        b, fp = self.b, self.fp
        f = fp.cast("fptrunc", r, F32)
        sb = b.zext(fp.cast("bitcast", f, I32), I64)
        ok = _exp_in(b, sb, 23, 0xFF, 2, 254)
        inexact = fp.cmp("one", r, fp.cast("fpext", f, F64))
        if err is not None:
            inexact = b.or_(inexact, fp.nonzero(err))
        return ok, sb, inexact

    # ---- add, sub, mul, div, sqrt
    def addsub_d(self, a: ir.Value, y_bits: ir.Value, fcsr: ir.Value, sub: bool) -> Fast:
        b, fp = self.b, self.fp
        x = fp.d(a)
        y = fp.d(y_bits)
        if sub:
            y = fp.neg(y)
        r = fp.bin("fadd", x, y)
        rb = fp.bits(r)
        # round-to-nearest: a normal result or an exact zero (x + y rounds to 0 only when exact)
        ok = b.and_(self.rn(fcsr), b.or_(_exp_in(b, rb, 52, 0x7FF, 1, 0x7FE),
                                          b.icmp_unsigned("==", b.and_(rb, _k(MAG64)), _k(0))))
        return ok, rb, _cause(b, fp.nonzero(_two_sum_error(fp, x, y, r)))

    def mul_d(self, a: ir.Value, c: ir.Value, fcsr: ir.Value) -> Fast:
        b, fp = self.b, self.fp
        x, y = fp.d(a), fp.d(c)
        r = fp.bin("fmul", x, y)
        rb = fp.bits(r)
        big = _exp_in(b, rb, 52, 0x7FF, 64, 0x7FE)
        zero = b.and_(fp.cmp("oeq", r, _dconst(0.0)),
                      b.or_(fp.cmp("oeq", x, _dconst(0.0)), fp.cmp("oeq", y, _dconst(0.0))))
        ok = b.and_(self.rn(fcsr), b.or_(big, zero))
        return ok, rb, _cause(b, fp.nonzero(fp.fma(x, y, fp.neg(r))))

    def div_d(self, a: ir.Value, c: ir.Value, fcsr: ir.Value) -> Fast:
        b, fp = self.b, self.fp
        x, y = fp.d(a), fp.d(c)
        r = fp.bin("fdiv", x, y)
        rb = fp.bits(r)
        main = b.and_(_exp_in(b, rb, 52, 0x7FF, 1, 0x7FE), _exp_in(b, a, 52, 0x7FF, 64, 0x7FF))
        zero = b.and_(fp.cmp("oeq", r, _dconst(0.0)), fp.cmp("oeq", x, _dconst(0.0)))
        ok = b.and_(self.rn(fcsr), b.or_(main, zero))
        return ok, rb, _cause(b, fp.nonzero(fp.fma(fp.neg(r), y, x)))

    def sqrt_d(self, a: ir.Value, fcsr: ir.Value) -> Fast:
        b, fp = self.b, self.fp
        x = fp.d(a)
        r = fp.intrinsic("llvm.sqrt.f64", [x])
        ok = _all(b, self.rn(fcsr), b.icmp_signed(">", a, _k(0)), _exp_in(b, a, 52, 0x7FF, 64, 0x7FE))
        return ok, fp.bits(r), _cause(b, fp.nonzero(fp.fma(fp.neg(r), r, x)))

    def addsub_s(self, a: ir.Value, c: ir.Value, fcsr: ir.Value, sub: bool) -> Fast:
        b, fp = self.b, self.fp
        x = fp.s(a)
        y = fp.s(c)
        if sub:
            y = fp.neg(y)
        r = fp.bin("fadd", x, y)
        ok, sb, inexact = self.fin_s(r, _two_sum_error(fp, x, y, r))
        ok = b.and_(self.rn(fcsr), b.or_(ok, fp.cmp("oeq", r, _dconst(0.0))))
        return ok, sb, _cause(b, inexact)

    def mul_s(self, a: ir.Value, c: ir.Value, fcsr: ir.Value) -> Fast:
        b, fp = self.b, self.fp
        r = fp.bin("fmul", fp.s(a), fp.s(c))       # exact: 24 x 24 bits
        ok, sb, inexact = self.fin_s(r, None)
        ok = b.and_(self.rn(fcsr), b.or_(ok, fp.cmp("oeq", r, _dconst(0.0))))
        return ok, sb, _cause(b, inexact)

    def div_s(self, a: ir.Value, c: ir.Value, fcsr: ir.Value) -> Fast:
        b, fp = self.b, self.fp
        x, y = fp.s(a), fp.s(c)
        r = fp.bin("fdiv", x, y)
        ok, sb, inexact = self.fin_s(r, fp.fma(fp.neg(r), y, x))
        zero = b.and_(fp.cmp("oeq", r, _dconst(0.0)), fp.cmp("oeq", x, _dconst(0.0)))
        return b.and_(self.rn(fcsr), b.or_(ok, zero)), sb, _cause(b, inexact)

    def sqrt_s(self, a: ir.Value, fcsr: ir.Value) -> Fast:
        b, fp = self.b, self.fp
        x = fp.s(a)
        r = fp.intrinsic("llvm.sqrt.f64", [x])
        ok, sb, inexact = self.fin_s(r, fp.fma(fp.neg(r), r, x))
        pos = b.icmp_unsigned("<", b.sub(a, _k(1)), _k(0x7F800000 - 1))     # 0 < a < 0x7F800000
        return _all(b, self.rn(fcsr), pos, ok), sb, _cause(b, inexact)

    # ---- conversions
    def cvt_s_d(self, a: ir.Value, fcsr: ir.Value) -> Fast:
        ok, sb, inexact = self.fin_s(self.fp.d(a), None)
        return self.b.and_(self.rn(fcsr), ok), sb, _cause(self.b, inexact)

    def cvt_d_s(self, a: ir.Value, fcsr: ir.Value) -> Fast:
        b = self.b
        normal = _exp_in(b, a, 23, 0xFF, 1, 0xFE)
        zero = b.icmp_unsigned("==", b.and_(a, _k(0x7FFFFFFF)), _k(0))
        return b.or_(normal, zero), self.fp.bits(self.fp.s(a)), _k(0)

    def cvt_s_w(self, a: ir.Value, fcsr: ir.Value) -> Fast:
        fp = self.fp
        r = fp.cast("sitofp", self.b.trunc(a, I32), F64)      # exact; then rounded once to binary32
        _, sb, inexact = self.fin_s(r, None)                  # an int32 is always in range
        return self.rn(fcsr), sb, _cause(self.b, inexact)

    def cvt_d_w(self, a: ir.Value, fcsr: ir.Value) -> Fast:
        fp = self.fp
        return None, fp.bits(fp.cast("sitofp", self.b.trunc(a, I32), F64)), _k(0)

    def to_int(self, a: ir.Value, fcsr: ir.Value, single: bool, mode: str, wide: bool) -> Fast:
        """fpu_convert._to_int: round / trunc / ceil / floor / cvt (mode "cur": the FCSR's, done
        here in round-to-nearest only) to int32 or (wide) int64."""
        b, fp = self.b, self.fp
        x = fp.s(a) if single else fp.d(a)
        lim = 2251799813685248.0 if wide else 2147483647.0
        ok = b.and_(fp.cmp("olt", x, _dconst(lim)), fp.cmp("ogt", x, _dconst(-lim)))
        if mode == "cur":
            ok = b.and_(ok, self.rn(fcsr))
            mode = "rn"
        if mode == "rn":
            y = fp.bin("fsub", fp.bin("fadd", x, _dconst(RN_MAGIC)), _dconst(RN_MAGIC))
        elif mode == "rz":
            y = x
        else:
            y = fp.intrinsic("llvm.ceil.f64" if mode == "rp" else "llvm.floor.f64", [x])
        t = fp.cast("fptosi", y, I64)
        inexact = fp.cmp("une", fp.cast("sitofp", t, F64), x)
        return ok, t if wide else b.and_(t, _k(M32)), _cause(b, inexact)

    # ---- compares, abs, neg
    def cmp(self, a: ir.Value, c: ir.Value, cond: ir.Value, fcsr: ir.Value, single: bool) -> Fast | None:
        """c.cond.fmt: cond bits 1 unordered, 2 equal, 4 less, 8 Invalid on a quiet NaN too; an
        operand that is a signalling NaN (legacy MIPS: the fraction's top bit set) is Invalid."""
        if cond.const is None:
            return None
        k = cond.const
        b, fp = self.b, self.fp
        if single:
            x = fp.cast("bitcast", b.trunc(a, I32), F32)
            y = fp.cast("bitcast", b.trunc(c, I32), F32)
        else:
            x, y = fp.d(a), fp.d(c)
        pred = ("false", "uno", "oeq", "ueq", "olt", "ult", "ole", "ule")[k & 7]
        t = ir.Constant(I1, 0) if pred == "false" else fp.cmp(pred, x, y)
        if k & 8:
            invalid = fp.cmp("uno", x, y)
        else:
            mag, snan = (0x7FFFFFFF, 0x7FC00000) if single else (MAG64, 0x7FF8000000000000)
            invalid = b.or_(b.icmp_signed(">=", b.and_(a, _k(mag)), _k(snan)),
                            b.icmp_signed(">=", b.and_(c, _k(mag)), _k(snan)))
        return None, b.zext(t, I64), b.select(invalid, _k(C_V), _k(0))

    # ---- composites (the helpers built from others)
    def chain(self, first: Fast, second: Callable[[ir.Value], Fast], flip: int = 0) -> Fast:
        b = self.b
        ok1, v1, c1 = first
        ok2, v2, c2 = second(v1)
        oks = [o for o in (ok1, ok2) if o is not None]
        ok = _all(b, *oks) if oks else None
        return ok, b.xor(v2, _k(flip)) if flip else v2, b.or_(c1, c2)


def fast_path(b: ir.IRBuilder, module: ir.Module, name: str, args: list[ir.Value],
              rn: ir.Value | None = None) -> Fast | None:
    """(ok, result, cause) of FPU helper `name` on `args` (its operands and the FCSR) written
    inline at b, or None: no inline form (the caller calls the helper).  `rn`: an i1 that says the
    rounding mode is round-to-nearest (else the FCSR argument is tested)."""
    ops = _Ops(b, module, rn)
    base, _, fmt = name.rpartition("_")
    single = fmt == "s"
    if name in ("cvt_s_d", "cvt_d_s", "cvt_s_w", "cvt_d_w"):
        return getattr(ops, name)(*args)      # type: ignore[no-any-return]
    if fmt not in ("s", "d"):
        return None
    if base in ("add", "sub"):
        f = ops.addsub_s if single else ops.addsub_d
        return f(args[0], args[1], args[2], base == "sub")
    arith = {"mul": ops.mul_s if single else ops.mul_d, "div": ops.div_s if single else ops.div_d}
    if base in arith:
        return arith[base](*args)
    sqrt = ops.sqrt_s if single else ops.sqrt_d
    if base == "sqrt":
        return sqrt(*args)
    if base in ("abs", "neg"):
        a = args[0]
        if base == "abs":
            return None, b.and_(a, _k(0x7FFFFFFF if single else MAG64)), _k(0)
        return None, (b.and_(b.xor(a, _k(0x80000000)), _k(M32)) if single else b.xor(a, _k(SIGN64))), _k(0)
    if base == "cmp":
        return ops.cmp(args[0], args[1], args[2], args[3], single)
    modes = {"round": "rn", "trunc": "rz", "ceil": "rp", "floor": "rm", "cvt": "cur"}
    head, _, width = base.rpartition("_")
    if head in modes and width in ("w", "l"):
        return ops.to_int(args[0], args[1], single, modes[head], width == "l")
    fcsr = args[-1]
    one = _k(ONE_S if single else ONE_D)
    div = ops.div_s if single else ops.div_d
    if base == "recip":
        return div(one, args[0], fcsr)
    if base == "rsqrt":
        return ops.chain(sqrt(args[0], fcsr), lambda r: div(one, r, fcsr))
    if base in ("madd", "msub", "nmadd", "nmsub"):
        fr, fs, ft = args[0], args[1], args[2]
        mul = arith["mul"]
        add = ops.addsub_s if single else ops.addsub_d
        sub = base.endswith("sub")
        flip = (0x80000000 if single else SIGN64) if base.startswith("n") else 0
        return ops.chain(mul(fs, ft, fcsr), lambda p: add(p, fr, fcsr, sub), flip)
    return None


# ---- where a fast path does not hold: the helper's C-callable wrapper (flashvm/kernels/jitfpu.py)
FPU_ARGS = 4        # every wrapper: int64 fn(int64 x0..x3, int64 cause_address), operands then FCSR, 0-padded


def fpu_symbol(name: str) -> str:
    return f"flashvm_fpu_{name}"


def wrapper_call(b: ir.IRBuilder, module: ir.Module, name: str, args: list[ir.Value], cause: ir.Value) -> ir.Value:
    """The helper's result from a call of its wrapper, its FCSR cause stored at `cause`."""
    i64 = ir.IntType(64)
    sym = fpu_symbol(name)
    fn = module.globals.get(sym) or ir.Function(module, ir.FunctionType(i64, [i64] * FPU_ARGS + [i64.as_pointer()]),
                                                name=sym)
    return b.call(fn, args + [ir.Constant(i64, 0)] * (FPU_ARGS - len(args)) + [cause])


__all__ = ["FPU_ARGS", "fast_path", "fpu_symbol", "wrapper_call"]
