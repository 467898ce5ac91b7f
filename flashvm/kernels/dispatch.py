"""The kernels' `njit`: Numba's, except that a call from compiled code compiles one version per
argument *type*, not one per constant.

Numba types a constant argument at a call site in compiled code as a literal (``Literal[int](0)``
rather than ``int64``) and compiles the callee once for each distinct tuple of literals it sees:
before this, ``cp0.enter_exception_nb`` and ``disco.reflect_nb`` were compiled 11 times each, and the
interpreter's call tree held 291 versions of 190 functions.  Every version costs compile time on a
cold cache and load time at every start.  Here the callee is typed with the literals' plain types,
so each function compiles once per genuinely different signature (say int64 against bool).  The
constants still reach the callee's code: the callee is linked into its caller's module and LLVM
inlines and folds it there as before.

A function whose constant argument must select code at typing time (a branch that only types
with that constant) can keep Numba's behaviour with ``njit(specialise=True, ...)``.
"""
from __future__ import annotations

from typing import Any, Callable

import numba
from numba.core import types
from numba.core.registry import CPUDispatcher


class OneVersionDispatcher(CPUDispatcher):
    """A CPU dispatcher that drops literal types from the arguments of calls made in compiled code."""

    def get_call_template(self, args: Any, kws: Any) -> Any:
        args = tuple(types.unliteral(a) for a in args)
        kws = {k: types.unliteral(v) for k, v in kws.items()}
        return super().get_call_template(args, kws)


def njit(*, specialise: bool = False, cache: bool = False, **options: Any) -> Callable[[Callable[..., Any]], Any]:
    """``numba.njit(cache=..., **options)`` as a decorator; unless `specialise`, its dispatcher
    compiles one version per argument types (OneVersionDispatcher)."""
    if specialise:
        return numba.njit(cache=cache, **options)
    targetoptions = dict(options, nopython=True, boundscheck=None)   # as numba.jit fills them in

    def wrap(fn: Callable[..., Any]) -> Any:
        disp = OneVersionDispatcher(py_func=fn, locals={}, targetoptions=targetoptions)
        if cache:
            disp.enable_caching()
        return disp
    return wrap


__all__ = ["OneVersionDispatcher", "njit"]
