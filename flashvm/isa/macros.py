"""The ISA table's snippet macros (loads, stores, alignment, exceptions) expanded into Python
lines for the generated interpreters and the JIT's leaves (`expand`).  Two switches say which
variant to write: `TIMING` (the timing-mode interpreter's inline L1 look-up) and `JIT` (a
translated region, where an exception leaves the region)."""
from __future__ import annotations

import re


def _balanced(s: str, start: int) -> int:
    """Index just past the parenthesis group that opens at s[start]."""
    depth = 0
    for i in range(start, len(s)):
        if s[i] == "(":
            depth += 1
        elif s[i] == ")":
            depth -= 1
            if depth == 0:
                return i + 1
    raise ValueError(f"unbalanced parentheses in {s!r}")


def _split_args(s: str) -> list[str]:
    out, depth, cur = [], 0, ""
    for ch in s:
        if ch == "," and depth == 0:
            out.append(cur.strip())
            cur = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        cur += ch
    out.append(cur.strip())
    return out


_RAM = {1: ("ram8", 0), 2: ("ram16", 1), 4: ("ram32", 2)}


def _read(size: int, pa: str) -> str:
    if size == 8:
        return f"np.int64(ram32[{pa} >> 2]) | (np.int64(ram32[({pa} >> 2) + 1]) << 32)"
    arr, sh = _RAM[size]
    return f"np.int64({arr}[{pa} >> {sh}])"


def _writes(size: int, pa: str, v: str) -> list[str]:
    if size == 8:
        return [f"ram32[{pa} >> 2] = {v} & M32", f"ram32[({pa} >> 2) + 1] = ({v} >> 32) & M32"]
    arr, sh = _RAM[size]
    return [f"{arr}[{pa} >> {sh}] = {v}"]


def _align(size: int, va: str, code: str) -> list[str]:
    if size == 1:
        return []
    return [f"if {va} & {size - 1}:", f"    badva = {va}", f"    exc = {code}", "    break"]


# Set while the timing-mode interpreter is generated: memory macros then also
# look the line up in the L1 (way 0 inline, the rest in cache.access_nb).
TIMING = False
# Set while a translated region is generated (flashvm/isa/jitgen.py): a soft-TLB
# miss, like any exception, leaves the region before the instruction ("break").
JIT = False


def _cache_check(pa: str, store: bool) -> list[str]:
    if not TIMING:
        return []
    hit = "(_ln << 2) | 3" if store else None
    test = (f"d1[(_ln & d1m) * d1w] != {hit}" if store else "(d1[(_ln & d1m) * d1w] >> 2) != _ln")
    return [f"_ln = {pa} >> lsh", f"if {test}:",
            f"    _lat = access_nb(m, c, _ln, {'ACC_STORE' if store else 'ACC_LOAD'})",
            "    cyc0 += _lat", "    stop -= _lat", "    stall += _lat"]


def _jit_cache_check(pa: str, store: bool) -> list[str]:
    """Timing mode inside a translated region (flashvm/isa/llvmtiming.py): the L1D way-0 hit
    test, placed before any state is written; a miss leaves the region before the instruction
    and the interpreter runs it (and its miss through cache.access_nb)."""
    if not TIMING:
        return []
    test = "d1[(_ln & d1m) * d1w] != (_ln << 2) | 3" if store else "(d1[(_ln & d1m) * d1w] >> 2) != _ln"
    return [f"_ln = {pa} >> lsh", f"if {test}:", "    break"]


def _load_block(size: int, var: str, addr: str, word: bool = False) -> list[str]:
    """Translation-cache hit inline; a miss (or a device) goes to load_xlate_nb.
    `word`: read the aligned word holding an unaligned address (lwl/lwr)."""
    if JIT:
        return [f"_va = {addr}"] + ([] if word else _align(size, "_va", "EXC_ADEL")) + [
            "_s = (_va >> 12) & TC_MASK", "if ltag[_s] != _va >> 12:", "    break",
            "last_pa = _va + ladd[_s]"] + _jit_cache_check("last_pa", False) + [f"{var} = {_read(size, 'last_pa')}"]
    return [f"_va = {addr}"] + ([] if word else _align(size, "_va", "EXC_ADEL")) + [
        "_s = (_va >> 12) & TC_MASK",
        "if ltag[_s] == _va >> 12:",
        "    last_pa = _va + ladd[_s]",
        "else:",
        f"    last_pa = load_xlate_nb(m, c, mi, _va, {size})",
        "    if last_pa < 0:",
        "        badva = _va",
        "        exc = X_MMIO_LOAD if last_pa == XL_MMIO_LOAD else -1 - last_pa",
        "        break",
    ] + _cache_check("last_pa", False) + [f"{var} = {_read(size, 'last_pa')}"]


def _store_block(size: int, addr: str, value: str) -> list[str]:
    lines = [f"_va = {addr}", f"_sv = {value}"] + _align(size, "_va", "EXC_ADES")
    if JIT:
        # a store into the region's own page ends the region after it (self-modifying code)
        return lines + ["_s = (_va >> 12) & TC_MASK", "if stag[_s] != _va >> 12:", "    break",
                        "_pa = _va + sadd[_s]"] + _jit_cache_check("_pa", True) + _writes(size, "_pa", "_sv") + [
                        "if ((_pa ^ rpa) >> 12) == 0:", "    smc = 1"]
    lines += ["_s = (_va >> 12) & TC_MASK", "if stag[_s] == _va >> 12:"]
    if TIMING:
        lines += ["    _pa = _va + sadd[_s]"] + ["    " + w for w in _writes(size, "_pa", "_sv")]
    else:
        lines += ["    " + w for w in _writes(size, "(_va + sadd[_s])", "_sv")]
    lines += ["else:", f"    _pa = store_xlate_nb(m, c, mi, _va, {size})", "    if _pa < 0:",
              "        badva = _va", "        exc = -1 - _pa", "        break"]
    lines += ["    " + w for w in _writes(size, "_pa", "_sv")]
    lines += ["    if _pa == ram_size:", "        exc = X_MMIO_STORE", "        break"]
    return lines + _cache_check("_pa", True)


def _xlat_store_block(var: str, addr: str, word: bool = False) -> list[str]:
    if JIT and word:
        # swl/swr in a region: a soft-TLB miss leaves it; a write into its own page ends it after
        return [f"_va = {addr}", "_s = (_va >> 12) & TC_MASK", "if stag[_s] != _va >> 12:", "    break",
                f"{var} = _va + sadd[_s]"] + _jit_cache_check(var, True) + [
                f"if (({var} ^ rpa) >> 12) == 0:", "    smc = 1"]
    return [f"_va = {addr}"] + ([] if word else _align(4, "_va", "EXC_ADES")) + [
        "_s = (_va >> 12) & TC_MASK",
        "if stag[_s] == _va >> 12:",
        f"    {var} = _va + sadd[_s]",
        "else:",
        f"    {var} = xlate_nb(m, c, mi, _va, ACC_STORE)",
        f"    if {var} < 0:",
        "        badva = _va",
        f"        exc = EXC_DBE if {var} == XL_MMIO else -1 - {var}",
        "        break",
    ] + _cache_check(var, True)


def expand(sem: str) -> list[str]:
    """Expand the macros of a snippet into plain Python lines."""
    out: list[str] = []
    counter = 0
    for line in sem.splitlines():
        ind = line[: len(line) - len(line.lstrip())]
        body = line.strip()
        # hoist loads out of expressions
        while True:
            mt = re.search(r"\bLOAD(8|16|32|64|WORD)\(", body)
            if not mt:
                break
            end = _balanced(body, mt.end() - 1)
            arg = body[mt.end(): end - 1]
            var = f"_ld{counter}"
            counter += 1
            word = mt.group(1) == "WORD"
            out += [ind + x for x in _load_block(4 if word else int(mt.group(1)) // 8, var, arg, word)]
            body = body[: mt.start()] + var + body[end:]
        mt = re.fullmatch(r"STORE(8|16|32|64)\((.*)\)", body)
        if mt:
            addr, value = _split_args(mt.group(2))
            out += [ind + x for x in _store_block(int(mt.group(1)) // 8, addr, value)]
            continue
        mt = re.fullmatch(r"(\w+) = XLAT_STORE(WORD)?\((.*)\)", body)
        if mt:
            out += [ind + x for x in _xlat_store_block(mt.group(1), mt.group(3), bool(mt.group(2)))]
            continue
        mt = re.fullmatch(r"RAISE\((\w+)\)", body)
        if mt:
            out += [ind + f"exc = {mt.group(1)}", ind + "break"]
            continue
        mt = re.fullmatch(r"RAISE_CPU\((\d)\)", body)
        if mt:
            out += [ind + "exc = EXC_CPU", ind + f"ce = {mt.group(1)}", ind + "break"]
            continue
        if body in ("RESYNC", "WAIT"):
            out += [ind + f"exc = X_{body}", ind + "break"]
            continue
        mt = re.fullmatch(r"FPU_COMMIT\((\w+)\)", body)
        if mt:
            x = mt.group(1)
            out += [ind + s for s in (
                f"_fc = (st[FCSR] & ~0x3F000) | ({x} << 12)",
                f"if {x} & (((_fc >> 7) & 0x1F) | 0x20):",
                "    st[FCSR] = _fc",
                "    exc = EXC_FPE",
                "    break",
                f"st[FCSR] = _fc | (({x} & 0x1F) << 2)",
            )]
            continue
        out.append(ind + body)
    return out
