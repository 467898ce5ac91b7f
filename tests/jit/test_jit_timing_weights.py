"""Timing regions mark their rare ways out (L1 misses, leaving before an instruction, the stop test)
with branch weights, so the code generator keeps the miss calls' spills and reloads off the common
path; the IR still parses and verifies."""
from __future__ import annotations

import re

import llvmlite.binding as llvm

from flashvm.isa import llvmtiming
from tests.jit import test_jit_timing_equiv as teq

BRANCH = re.compile(r"br i1 %\w+, label %(\S+), label %(\S+?)(, !prof !0)?$")


def _branches(text: str) -> list[tuple[str, str, bool]]:
    got = []
    for line in text.splitlines():
        m = BRANCH.search(line.strip())
        if m:
            got.append((m.group(1), m.group(2), m.group(3) is not None))
    return got


def test_miss_and_leave_branches_are_weighted_rare():
    text = llvmtiming.module_ir([[teq.ADDIU, teq.LW, teq.SW, teq.ADDIU]], "t")
    assert text.rstrip().endswith(llvmtiming.RARE_NODE)
    br = _branches(text)
    rare_first = ("d_miss", "fetch_miss", "leave_early")
    weighted = [yes for yes, _, w in br if w]
    for kind in rare_first:
        hits = [(yes, w) for yes, _, w in br if yes.endswith("." + kind)]
        assert hits and all(w for _, w in hits), kind
    # the stop test: leaving is the rare way, going on ("in_time") the common one
    stops = [(no, w) for _, no, w in br if no.endswith(".in_time")]
    assert len(stops) == 4 and all(w for _, w in stops)
    # nothing common is marked: the first instruction's line test is taken on every pass of a loop
    assert not any(yes.endswith(".fetch_test") for yes in weighted)
    mod = llvm.parse_assembly(text)
    mod.verify()


def test_a_region_holding_ll_leaves_on_a_miss_rarely_too():
    """Without call-outs (LL) an L1 miss leaves the region: that branch is weighted rare as well."""
    text = llvmtiming.module_ir([[teq.LL, teq.LW, teq.SW]], "u")
    br = _branches(text)
    assert "in_time" not in text
    assert any(w and yes.endswith(".leave_early") for yes, _, w in br)
    assert any(w and yes.endswith(".fetch_miss") for yes, _, w in br)
    llvm.parse_assembly(text).verify()
