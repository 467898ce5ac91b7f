"""The stop test of functional regions (a mixin of flashvm/isa/llvmgen.py's `_Region`).

The interpreter runs an instruction only while its count is below the CPU's
`stop` (the timer deadline or the end of the round).  A region used to be
entered only if all of it fitted before the stop, so near each round's end
(every 1,000 cycles, one call per CPU per round on a multiprocessor) the
region was refused and the rest of the round ran in the interpreter, up to
the next jump target.

A region now tests the stop itself, at *checkpoints*: its first word, every
loop top (the only words control enters other than by falling through), the
word after each branch's delay slot, and enough others that no stretch
between two checkpoints is longer than `SPAN` words.  At a checkpoint the
region tests that the whole stretch up to the next one still fits the
allowance (context slot 14, the instructions it may retire before the stop)
and otherwise leaves before the checkpoint with the exact count, so the
interpreter runs the few instructions left before the stop, as it would
have.  Inside a stretch there is no test.  The loop and chaining regions
may therefore enter a region whenever its first stretch fits (the region
table's length field holds that stretch's length: `first_stretch`).

Checkpoints are never put on a delay slot, so a region that leaves at one
leaves at a PC where the loop can look a region up again.

The tests are compiled only for machines whose CPUs run one call per round
(several CPUs: flashvm/kernels/jit.py's `per_round`); a lone CPU, bare or
running Disco's VCPUs, runs across rounds, where they would only cost time (`stop_checks` False:
none, and the region is entered only if all of it fits).
"""
from __future__ import annotations

from typing import Callable

from flashvm.isa import irtext as ir, jitgen
from flashvm.isa.llvmchain import CTX_BUDGET
from flashvm.isa.llvmfast import back_edges

I64 = ir.IntType(64)
SPAN = 8        # at most this many words between two checkpoints


def _branch(word: int) -> bool:
    e = jitgen.decode(word)
    return e is not None and "branch" in e.flags


def checkpoints(words: list[int], span: int = SPAN) -> dict[int, int]:
    """{checkpoint's index: index of the next checkpoint (or len(words))} for a region's words."""
    n = len(words)
    must = {0, *back_edges(words).values()}
    must.update(i + 2 for i, w in enumerate(words) if i + 2 < n and _branch(w))
    starts: list[int] = []
    for i in range(n):
        in_slot = i > 0 and _branch(words[i - 1])
        if i in must or (not in_slot and starts and i - starts[-1] >= span):
            starts.append(i)
    return {s: (starts[k + 1] if k + 1 < len(starts) else n) for k, s in enumerate(starts)}


def first_stretch(words: list[int], span: int = SPAN) -> int:
    """How many instructions must fit before the CPU's stop for the region to be entered."""
    return checkpoints(words, span)[0]


class StopChecks:
    """The checkpoints' tests (see the module doc)."""

    # provided by _Region (flashvm/isa/llvmgen.py)
    b: ir.IRBuilder
    pre: ir.IRBuilder
    fn: ir.Function
    vars: dict[str, ir.AllocaInstr]
    words: list[int]
    stop_checks = True      # False: no tests (the region is entered only if all of it fits)
    _stops: dict[int, int] | None = None
    _stop_i = 0
    _stop_room: ir.Value | None = None

    def ctx(self, slot: int, b: ir.IRBuilder | None = None) -> ir.Value:
        raise NotImplementedError

    def stop_check(self, before: Callable[[], ir.Block]) -> None:
        """Before the next instruction (called once per instruction, in order): at a checkpoint,
        leave before it unless the stretch up to the next checkpoint fits the allowance."""
        if not self.stop_checks:
            return
        if self._stops is None:
            self._stops = checkpoints(self.words)
            self._stop_room = self.ctx(CTX_BUDGET, self.pre)
        i = self._stop_i
        self._stop_i = i + 1
        end = self._stops.get(i)
        if end is None:
            return
        b = self.b
        assert self._stop_room is not None
        need = b.add(b.load(self.vars["done"]), ir.Constant(I64, end))
        go = self.fn.append_basic_block("fits")
        b.cbranch(b.icmp_signed(">", need, self._stop_room), before(), go)
        b.position_at_end(go)


__all__ = ["SPAN", "StopChecks", "checkpoints", "first_stretch"]
