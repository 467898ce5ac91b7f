"""Calling translated regions from Numba code: raw addresses to pointers, and an indirect call.

A translated region is a C-callable function `int64 region(int64 ctx)`:
`ctx` is the address of the int64 call-context array (flashvm/kernels/jit.py
says what each slot holds).  The JIT loop keeps such functions' addresses in
an int64 table and calls them through `call_region`; the regions turn the
addresses in the context back into arrays with `carray(ptr_i64(a), n)`.
"""
from llvmlite import ir
from numba import types
from numba.extending import intrinsic


@intrinsic
def call_region(typingctx, fn, ctx):
    """Call the region function at address `fn` with the context address `ctx`; returns its int64."""
    sig = types.int64(types.int64, types.int64)

    def codegen(context, builder, signature, args):
        fnty = ir.FunctionType(ir.IntType(64), [ir.IntType(64)])
        ptr = builder.inttoptr(args[0], fnty.as_pointer())
        return builder.call(ptr, [args[1]])
    return sig, codegen


def _pointer_intrinsic(dtype):
    def impl(typingctx, addr):
        ptype = types.CPointer(dtype)
        sig = ptype(types.int64)

        def codegen(context, builder, signature, args):
            return builder.inttoptr(args[0], context.get_value_type(ptype))
        return sig, codegen
    return impl


@intrinsic
def ptr_i64(typingctx, addr):
    """The int64 address `addr` as an int64 pointer (for numba.carray)."""
    return _pointer_intrinsic(types.int64)(typingctx, addr)


@intrinsic
def ptr_u32(typingctx, addr):
    """The int64 address `addr` as a uint32 pointer."""
    return _pointer_intrinsic(types.uint32)(typingctx, addr)


@intrinsic
def ptr_u16(typingctx, addr):
    """The int64 address `addr` as a uint16 pointer."""
    return _pointer_intrinsic(types.uint16)(typingctx, addr)


@intrinsic
def ptr_u8(typingctx, addr):
    """The int64 address `addr` as a uint8 pointer."""
    return _pointer_intrinsic(types.uint8)(typingctx, addr)


__all__ = ["call_region", "ptr_i64", "ptr_u16", "ptr_u32", "ptr_u8"]
