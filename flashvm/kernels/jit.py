"""The JIT tier's policy: when it runs, what it translates, where translations are kept.

The JIT loop (`exec_cpu_jit_nb`, generated into interp_jit.py) counts how
often each jump target (by physical address) is reached; one that reaches
the threshold goes into a queue.  Between slices of `run` the queue is
translated here (flashvm/isa/jitgen.py writes the source, Numba compiles it
to one C-callable function per batch) and entered into the region table the
loop looks up.  Regions check their code words on entry, so a stale one
(exec, page reuse, self-modifying code) is dropped, never run.

Translations are cached on disk: with the llvm backend one object file per
region, named by a hash of its code words and the translator versions (the
newest `CACHE_OBJECTS` are kept); with the numba backend one module per batch
(the newest `CACHE_MODULES`).  A second run of the same program compiles
nothing.  New regions are compiled only while translating has cost at most
`TRANSLATE_FREE_S` plus `TRANSLATE_SHARE` of the time spent running guest
code, so a program with thousands of hot regions (pmake) pays at most 20 s
plus its own run time again the first time and fills the disk cache over its
next runs; regions found on disk are always taken.

The tier is on by default, in functional and timing mode.  `--no-jit`
(`set_enabled(False)`), FLASHVM_JIT=0 or FLASHVM_NO_JIT=1 turn it off
(FLASHVM_NO_JIT wins over everything, `--jit` over FLASHVM_JIT=0).  The test
suite runs the interpreter unless FLASHVM_JIT=1 (tests/conftest.py; tests/jit
turns the tier on itself).
Timing mode has its own tier and loop (flashvm/kernels/jittiming.py).

Call-context slots (jctx): 0 gpr, 1 cpu slots, 2 fpr, 3 RAM (addresses);
4-7 load/store soft-TLB tags and addends (addresses); 8-10 pc, npc, bpc (in
and out); 11 Status.CU1; 12 Status.FR; 13 RAM size; 14 instructions the region may
retire before the CPU's stop (a looping region goes round while they last);
15 the region's physical address.

The region table's length field (row 3) is what must fit before the CPU's stop for the loop or a
chaining region to enter the region: on a machine that runs one call per round (`per_round`) a
functional llvm region tests the stop itself at checkpoints (flashvm/isa/llvmstop.py), so its first
stretch; elsewhere, and for a numba region, all of it.
"""
from __future__ import annotations

import functools
import gc
import hashlib
import importlib.util
import json
import os
import sys
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import numba
import numpy as np

# The translators (flashvm/isa/jitgen.py, llvmgen.py and the ISA generator behind them: ~45 ms
# to import, 0.3 s without byte-code caches) are imported when the first region is translated:
# a run without the tier, or too short to translate anything, does not pay for them.
from flashvm.kernels.state import (
    EXIT_BUDGET, EXIT_WAIT, P_NCPU, P_QUANTUM, P_ROUND_START, P_TIMING, S_INSNS, Machine,
)

TABLE_SIZE = 1 << 15     # region-table slots (direct-mapped by physical address)
QUEUE_LEN = 64           # jump targets waiting for translation (at most one batch)
THRESHOLD = 5000         # arrivals at a jump target that make it hot
MIN_INSNS = 20_000_000   # Numba backend: compile nothing before this many instructions (short runs)
MIN_INSNS_NATIVE = 10_000_000   # LLVM backend: nothing is translated before this, not even from disk
# cycles between two looks at the queue (at most): code that gets hot waits up to this long for
# its translation, so a long slice left intloop's first round (45 M of its 360 M instructions)
# nearly all in the interpreter (89 % of the run in regions at 16 M, 96 % at 2 M); a slice
# costs ~30 us of Python, well under 1 % at 2 M cycles
SLICE = 1 << 21
FIRST_SLICE = 1 << 18    # the first slice; each next one twice as long, up to SLICE
CACHE_MODULES = 256      # translated modules kept on disk (numba backend)
CACHE_OBJECTS = 65536    # translated regions kept on disk (llvm backend, one object file each,
                         # ~9 KB: about 600 MB).  A full-size experiment's pmake touches ~8,000 in
                         # its first 13 minutes (functional and timing regions, each layout its
                         # own): at 16,384 two such runs at once pruned what the next one reuses
PRUNE_EVERY = 512        # a process prunes the cache at its first new object file, then every so many
# new translations are compiled while they cost at most TRANSLATE_FREE_S seconds plus this
# share of the time the tier has run guest code so far (None: no limit); regions found on disk
# are always taken.  FLASHVM_JIT_SHARE sets the share.  A program with a few hundred hot regions
# (the benchmarks, the ray tracer: 13 s) has them all compiled in its first run, so the next run
# finds them on disk; pmake's 9,372 took 323 s of a 365 s first run whose simulation alone is
# ~50 s: such a run now pays at most 20 s plus its own time again (117 s), later runs the rest
TRANSLATE_SHARE: float | None = 1.0
TRANSLATE_FREE_S = 20.0
NEVER = -(1 << 62)       # counter of a target that cannot be translated
CTX_ROOM = 32            # call-context slots (llvmgen.CTX_SLOTS, checked when a region is entered)

_forced: bool | None = None
# The run's profile: a name for what it runs (set_profile, by the session from the run's specification)
# and the functional regions it entered, {physical address: (words, with stop checks)}; the next run
# of the same specification loads them when it starts (preload) instead of after MIN_INSNS_NATIVE
# instructions and THRESHOLD arrivals at each of them.
_profile: list[str] = []
_used: dict[int, tuple[list[int], bool]] = {}
PROFILES = 256            # profiles kept on disk (the newest)
# the tiers of this process by id of their machine's CPU array, which they do not keep alive
_tiers: dict[int, tuple[weakref.ref, "Tier"]] = {}
_tier_sets: list[dict[int, tuple[weakref.ref, "Tier"]]] = [_tiers]    # and jittiming's (register_tiers)
_keep: list[object] = []          # compiled region functions stay alive while their addresses are used
STATS: dict[str, float] = {}


def set_enabled(on: bool | None) -> None:
    """--jit / --no-jit (None: the environment decides)."""
    global _forced
    _forced = on


def backend() -> str:
    """How regions become native code: "llvm" (IR from the table, llvmlite; the default) or
    "numba" (generated Python compiled by Numba).  FLASHVM_JIT_BACKEND chooses."""
    b = os.environ.get("FLASHVM_JIT_BACKEND", "") or "llvm"
    if b not in ("llvm", "numba"):
        raise ValueError(f"FLASHVM_JIT_BACKEND must be llvm or numba, not {b!r}")
    return b


def enabled() -> bool:
    """Is the tier on for the runs starting now?  On unless --no-jit, FLASHVM_NO_JIT=1, or
    FLASHVM_JIT=0 without --jit."""
    if os.environ.get("FLASHVM_NO_JIT", "") not in ("", "0") or _forced is False:
        return False
    return _forced is True or os.environ.get("FLASHVM_JIT", "") != "0"


def reset_stats() -> None:
    _used.clear()
    STATS.clear()
    STATS.update(regions=0, insns_translated=0, batches=0, disk_hits=0, translate_s=0.0,
                 code_bytes=0, hits=0, jit_insns=0, invalidated=0, empty=0, refused=0, preloaded=0,
                 code_renewals=0)


reset_stats()


def stats() -> dict[str, float]:
    """The tier's counters since the last reset (translation work and region entries)."""
    return dict(STATS)


class Tier:
    """The JIT state of one machine: region table, counters, queue, call context."""

    def __init__(self) -> None:
        self.jt = np.zeros((4, TABLE_SIZE), dtype=np.int64)    # pa, function, region number, length
        self.jt[0] = -1
        self.jcnt = np.zeros(TABLE_SIZE, dtype=np.int64)
        self.jq = np.zeros(QUEUE_LEN + 1, dtype=np.int64)
        self.jstat = np.zeros(8, dtype=np.int64)   # hits, insns, invalidated, empty, refused, .., 7: threshold
        self.jstat[7] = THRESHOLD
        # the call context; the slots regions chain through are filled when one is entered (_link)
        self.jctx = np.zeros(CTX_ROOM, dtype=np.int64)
        self.deferred = 0      # queue length last found not worth compiling yet
        self.slice = FIRST_SLICE
        # seconds in the run loop (the translation budget grows with it) and translating, by
        # perf_counter: process_time is a system call (0.7 us here) and the loop is timed at every
        # exit to the host (4 M times in a pmake build in one VM); both stretch alike under load
        self.cpu_run = 0.0
        self.cpu_translate = 0.0
        self.c_start = 0.0     # perf_counter when the current translation started
        self.preloaded = False  # the run's profile has been looked at (run_jit)


def tier_of(m: Machine) -> Tier:
    return tier_in(_tiers, m, Tier)


def tier_in(tiers: dict[int, tuple[weakref.ref, Tier]], m: Machine, make: Callable[[], Tier]) -> Tier:
    """Machine m's tier in `tiers` (made by `make` the first time).  Kept by a weak reference to the
    machine's CPU array: a finished run's tier goes when its machine does (an experiment worker
    runs many), and a new array at a reused address gets a new tier."""
    key = id(m.cpu)
    got = tiers.get(key)
    if got is None or got[0]() is not m.cpu:
        got = (weakref.ref(m.cpu), make())
        tiers[key] = got
    return got[1]


def register_tiers(tiers: dict[int, tuple[weakref.ref, Tier]]) -> None:
    """Another set of tiers whose tables hold native code (jittiming's): `renew_code` updates them too."""
    _tier_sets.append(tiers)


def _live_tiers() -> list[Tier]:
    out = []
    for tiers in _tier_sets:
        for key, (cpu, t) in list(tiers.items()):
            if cpu() is None:
                del tiers[key]
            else:
                out.append(t)
    return out


def renew_code() -> None:
    """The native code engine holds as many regions as it may (jitnative.capacity, bounded by Linux's
    memory-map limit): drop all native code and load again from disk the regions the live tables
    still point to, at most half the capacity of them (the newest loaded); the other entries leave
    their tables, and come back when they get hot again.  Called between slices, when no region runs."""
    from flashvm.kernels import jitnative
    tiers = _live_tiers()
    used = [(t, np.flatnonzero(t.jt[0] >= 0)) for t in tiers]
    moved = jitnative.renew(sorted({int(a) for t, slots in used for a in t.jt[1, slots]}), jitnative.capacity() // 2)
    for t, slots in used:
        fns = np.array([moved.get(int(a), 0) for a in t.jt[1, slots]], dtype=np.int64)
        t.jt[1, slots] = fns
        gone = slots[fns == 0]
        t.jt[0, gone] = -1
        t.jt[1, gone] = 0
        t.jcnt[gone] = 0
    STATS["code_renewals"] += 1


def cache_dir() -> Path:
    """Where translations and profiles are kept: $FLASHVM_JIT_CACHE, else jit/ in $FLASHVM_CACHE or
    ~/.cache/flashvm (where the other caches are)."""
    return _cache_dir(os.environ.get("FLASHVM_JIT_CACHE", ""), os.environ.get("FLASHVM_CACHE", ""),
                      os.environ.get("HOME", ""))


@functools.lru_cache(maxsize=8)
def _cache_dir(env: str, root: str, home: str) -> Path:
    # asked for at every region loaded: the environment is read each time, the path made once
    if env:
        return Path(env)
    return (Path(root) if root else Path.home() / ".cache" / "flashvm") / "jit"


def _numba_cache() -> str:
    """Where Numba keeps compiled code (flashvm/kernels/__init__.py sets it; "" if unset)."""
    return str(getattr(numba.config, "CACHE_DIR", "") or "")


def _prune(d: Path) -> None:
    """Keep the newest CACHE_MODULES modules (and their compiled code, wherever Numba put it)."""
    mods = sorted(d.glob("r*.py"), key=lambda p: p.stat().st_mtime)
    old = mods[: max(0, len(mods) - CACHE_MODULES)]
    if not old:
        return
    compiled = [*(d / "__pycache__").glob("r*.*")]
    if _numba_cache():
        compiled += Path(_numba_cache()).rglob("r*.*")
    stems = {p.stem for p in old}
    for q in [*old, *(q for q in compiled if q.name.split(".")[0] in stems)]:
        q.unlink(missing_ok=True)


def _load(path: Path, name: str):
    spec = importlib.util.spec_from_file_location(f"flashvm_jit_{name}", path)
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mod    # Numba's cache finds the module of a cached function by name
    spec.loader.exec_module(mod)
    return mod


def _forget(path: Path) -> None:
    """Remove a module and its compiled code from the cache."""
    compiled = list((path.parent / "__pycache__").glob(path.stem + ".*"))
    if _numba_cache():
        compiled += Path(_numba_cache()).rglob(path.stem + ".*")
    for q in [path, *compiled]:
        q.unlink(missing_ok=True)


def _module_path(source: str) -> Path:
    from flashvm.isa import jitgen
    return cache_dir() / ("r" + hashlib.sha256((jitgen.VERSION + source).encode()).hexdigest()[:24] + ".py")


def _compile(source: str) -> list[int]:
    """Addresses of the region functions of this source, through the disk cache."""
    path = _module_path(source)
    d, name = path.parent, path.stem
    d.mkdir(parents=True, exist_ok=True)
    if path.exists():
        STATS["disk_hits"] += 1
        os.utime(path)
    else:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(source)
        tmp.replace(path)
        _prune(d)
    try:
        mod = _load(path, name)
    except Exception:       # a damaged or foreign cache entry: drop it and compile afresh
        _forget(path)
        path.write_text(source)
        mod = _load(path, name)
    _keep.append(mod)
    return [int(a) for a in mod.ADDRESSES]


def translate(m: Machine, t: Tier) -> None:
    """Translate the queued hot jump targets.  Before MIN_INSNS_NATIVE instructions (llvm backend)
    nothing is: loading the translator and the regions (even from disk) costs more than a
    shorter run can gain.  Before MIN_INSNS (numba backend) only batches on disk are taken."""
    k = int(t.jq[0])
    native = backend() == "llvm"
    early = int(m.stats[:, S_INSNS].sum()) < (MIN_INSNS_NATIVE if native else MIN_INSNS)
    if k == 0 or (early and (native or t.deferred == k or k < QUEUE_LEN)):
        return          # the queue waits
    if t.deferred == k and over_budget(t):
        return          # all of it waited last time (what was on disk was taken) and still must
    t0 = time.perf_counter()
    t.c_start = t0
    gc.disable()        # building IR makes many objects: a collection would walk the whole heap
    try:
        if native:
            _translate_native(m, t, k, early)
        else:
            _translate_numba(m, t, k, early)
    finally:
        gc.enable()
        dt = time.perf_counter() - t0
        STATS["translate_s"] += dt
        t.cpu_translate += dt
    if k >= QUEUE_LEN:
        _rearm(t)


def _rearm(t: Tier) -> None:
    """Targets that got hot while the queue was full were never queued (the loop queues a target
    when its count reaches the threshold, once): their counts start again, so they are queued
    when they reach it anew.  Those waiting in the queue keep theirs."""
    lost = (t.jcnt >= t.jstat[7]) & (t.jt[0] < 0)
    k = int(t.jq[0])
    lost[(t.jq[1:k + 1] >> 2) & (TABLE_SIZE - 1)] = False
    t.jcnt[lost] = 0


def _regions(m: Machine, t: Tier, pas: list[int], cut, ok) -> list[tuple[int, list[int]]]:
    """(physical address, words) of the queued targets not yet translated (`cut` says how many
    words a region takes, `ok` whether a word translates); the others that cannot start a
    region are marked so they are never queued again."""
    from flashvm.isa import jitgen
    mask = TABLE_SIZE - 1
    out: list[tuple[int, list[int]]] = []
    for pa in dict.fromkeys(pas):           # queue order: the first to get hot first
        h = (pa >> 2) & mask
        if t.jt[0, h] == pa:
            continue
        end = ((pa >> 12) + 1) << 10
        words = [int(w) for w in m.ram32[pa >> 2: min(end, (pa >> 2) + jitgen.MAX_INSNS)]]
        n = cut(words)
        if n < len(words) and not ok(words[n]):
            # the region stops before an instruction that cannot start one either: marked now,
            # the loop looks up the instruction after it, where a region can start
            x = ((pa + 4 * n) >> 2) & mask
            if t.jt[0, x] < 0:
                t.jcnt[x] = NEVER
        if n == 0:
            t.jcnt[h] = NEVER
            continue
        out.append((pa, words[:n]))
    return out


def _translate_native(m: Machine, t: Tier, k: int, early: bool) -> None:
    """The functional regions of the queue, through llvmgen (see translate_regions)."""
    from flashvm.isa import llvmgen, llvmstop
    mask = TABLE_SIZE - 1
    checks = per_round(m)

    def entered(pa: int, words: list[int]) -> None:
        # the region tests the CPU's stop at its checkpoints (flashvm/isa/llvmstop.py): it may be
        # entered whenever its first stretch fits, so the table gives that stretch's length
        t.jt[3, (pa >> 2) & mask] = llvmstop.first_stretch(words)

    translate_regions(m, t, k, early, llvmgen, _entry_path(), entered=entered if checks else None, checks=checks)


def per_round(m: Machine) -> bool:
    """Do the machine's CPUs run one call per round (several CPUs: flashvm/kernels/jitrun.py)?
    Then a round's end falls inside regions all the time, and they are compiled with the stop
    tests at checkpoints (flashvm/isa/llvmstop.py) so they can still be entered there.  A lone
    CPU, bare or running Disco's VCPUs, runs across rounds and its regions go without them
    (there they would only add work).  Both kinds may share the table: each has its own length
    there (first stretch, or all of it)."""
    return int(m.params[P_NCPU]) > 1


def translate_regions(m: Machine, t: Tier, k: int, early: bool, translator: ModuleType, entry_path: Path, *,
                      timing: bool = False, before_compile: Callable[[], None] | None = None,
                      entered: Callable[[int, list[int]], None] | None = None,
                      layout: Callable[[int], tuple[int, ...]] | None = None, checks: bool = True) -> None:
    """One object file per region (so the disk cache does not depend on what else was hot at
    the time): those on disk are loaded; new ones are compiled while the translation time
    stays within TRANSLATE_SHARE of the time spent running, the others wait in the queue.
    `translator` (llvmgen or llvmtiming) gives scan, supported and ENTRY_OK; `entered(pa, words)`
    runs after each region goes into the table; `layout(pa)`: what a timing region at pa is compiled for;
    `checks`: functional regions with the stop tests at checkpoints (flashvm/isa/llvmstop.py)."""
    from flashvm.kernels import jitnative
    _load_entry_table(translator.ENTRY_OK, entry_path)
    known = len(translator.ENTRY_OK)
    todo = _regions(m, t, [int(x) for x in t.jq[1:k + 1]], translator.scan, translator.supported)
    if len(translator.ENTRY_OK) != known:
        _save_entry_table(translator.ENTRY_OK, entry_path)
    waiting: list[int] = []
    written = 0
    for pa, words in todo:
        lay = layout(pa) if layout is not None else ()
        if not jitnative.cached([words], cache_dir(), timing=timing, layout=lay, checks=checks):
            if early or over_budget(t, t.cpu_translate + time.perf_counter() - t.c_start):
                waiting.append(pa)      # a short run does not pay for compiling
                continue
        if before_compile is not None:
            before_compile()
        if jitnative.full():
            renew_code()
        fns, size, hit = jitnative.compile_batch([words], cache_dir(), timing=timing, layout=lay, checks=checks)
        written += not hit
        STATS["disk_hits"] += int(hit)
        STATS["code_bytes"] += size
        _enter(t, [(pa, words)], fns)
        if entered is not None:
            entered(pa, words)
        if not timing:
            _used[pa] = (words, checks)
    t.jq[0] = len(waiting)
    t.jq[1:len(waiting) + 1] = waiting
    t.deferred = len(waiting)
    if written:             # only new object files can take the cache over its size
        _wrote(cache_dir(), written)


def over_budget(t: Tier, spent: float | None = None) -> bool:
    """Has this run's translating (`spent` seconds; default, up to the current translation)
    used up its allowance, TRANSLATE_FREE_S plus the share of its run time?"""
    share = _share()
    spent = t.cpu_translate if spent is None else spent
    return share is not None and spent > TRANSLATE_FREE_S + share * t.cpu_run


def _share() -> float | None:
    env = os.environ.get("FLASHVM_JIT_SHARE", "")
    return float(env) if env else TRANSLATE_SHARE


def _translate_numba(m: Machine, t: Tier, k: int, early: bool) -> None:
    """The whole queue as one generated module (Numba compiles it)."""
    from flashvm.isa import jitgen
    batch = _regions(m, t, sorted(set(int(x) for x in t.jq[1:k + 1])), jitgen.scan, jitgen.translated)
    t.jq[0] = 0
    if not batch:
        return
    source = jitgen.module_source([w for _, w in batch])
    if early and not _module_path(source).exists():
        t.jq[0] = k          # wait: a short run does not pay for compiling
        t.deferred = k
        return
    fns = _compile(source)
    _enter(t, batch, fns)
    STATS["code_bytes"] += len(source)


def _entry_path() -> Path:
    return cache_dir() / f"entries-{_entry_key()}.json"


@functools.lru_cache(maxsize=1)
def _entry_key() -> str:
    # a hash of the translator's sources: they do not change while the process runs
    from flashvm.isa import llvmgen
    return llvmgen.entry_table_key()


_entry_loaded: set[str] = set()


def _load_entry_table(table: dict[str, bool] | None = None, path: Path | None = None) -> None:
    """Which table entries translate, as found by earlier runs (no probe compiles on a warm start);
    `table`/`path`: another translator's table (timing regions), default llvmgen.ENTRY_OK."""
    from flashvm.isa import llvmgen
    table = llvmgen.ENTRY_OK if table is None else table
    path = _entry_path() if path is None else path
    if str(path) in _entry_loaded:
        return
    _entry_loaded.add(str(path))
    try:
        got = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    if isinstance(got, dict):
        table.update({str(a): bool(b) for a, b in got.items()})


def _save_entry_table(table: dict[str, bool] | None = None, path: Path | None = None) -> None:
    from flashvm.isa import llvmgen
    table = llvmgen.ENTRY_OK if table is None else table
    path = _entry_path() if path is None else path
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(table, sort_keys=True))
    tmp.replace(path)


def _enter(t: Tier, batch: list[tuple[int, list[int]]], fns: list[int]) -> None:
    """Put a translated batch into the region table."""
    _link(t)
    mask = TABLE_SIZE - 1
    for rid, (pa, words) in enumerate(batch):
        h = (pa >> 2) & mask
        t.jt[:, h] = (pa, fns[rid], rid, len(words))
        t.jcnt[h] = 0
    STATS["regions"] += len(batch)
    STATS["insns_translated"] += sum(len(w) for _, w in batch)
    STATS["batches"] += 1


def _link(t: Tier) -> None:
    """The context slots through which regions chain to regions: the table and its size."""
    from flashvm.isa import llvmgen
    if llvmgen.CTX_SLOTS > len(t.jctx):
        raise RuntimeError(f"the region call context needs {llvmgen.CTX_SLOTS} slots, not {len(t.jctx)}")
    t.jctx[llvmgen.CTX_TABLE] = t.jt.ctypes.data
    t.jctx[llvmgen.CTX_TSIZE] = TABLE_SIZE


_unpruned = -1      # object files this process wrote since it last pruned (-1: it never has)


def _wrote(d: Path, n: int) -> None:
    """`n` new object files went into cache folder d: prune it at the process's first new file and
    then after every PRUNE_EVERY (a prune stats every file: after each batch it cost a long
    translating run, such as pmake's, a seventh of its time).  The cache then holds at most
    CACHE_OBJECTS + PRUNE_EVERY files per process writing to it."""
    global _unpruned
    if _unpruned >= 0 and _unpruned + n < PRUNE_EVERY:
        _unpruned += n
        return
    _unpruned = 0
    _prune_objects(d)


def _prune_objects(d: Path) -> None:
    """Keep the newest CACHE_OBJECTS object files of the native backend."""
    objs = list(d.glob("n*.o"))
    if len(objs) <= CACHE_OBJECTS:
        return
    objs.sort(key=_mtime)      # one another process pruned since the glob counts as oldest
    for p in objs[: len(objs) - CACHE_OBJECTS]:
        p.unlink(missing_ok=True)


def run_jit(m: Machine, budget: int) -> int:
    """`flashvm.kernels.run.run` with the tier: the same result, in slices on the quantum grid."""
    from flashvm.kernels.jitrun import run_jit_nb
    from flashvm.kernels.run import run_nb
    if m.params[P_TIMING]:
        from flashvm.kernels import jittiming      # timing regions: their own tier and loop
        if jittiming.enabled():
            return jittiming.run(m, budget)
        return int(run_nb(m, budget))
    t = tier_of(m)
    if not t.preloaded:
        t.preloaded = True
        if _profile and backend() == "llvm":
            preload(m, t, profile_path(_profile[0]))
    return run_slices(m, t, budget, run_jit_nb, translate)


def set_profile(name: str | None) -> None:
    """Name what the next runs of this process run (None: nothing; no profile is read or written)."""
    _profile.clear()
    if name:
        _profile.append(name)


def profile_path(name: str) -> Path:
    return cache_dir() / "profiles" / f"{name}.json"


def save_profile() -> None:
    """Write the functional regions this run entered as the profile named by set_profile (if any)."""
    if not _profile or not _used:
        return
    path = profile_path(_profile[0])
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {"version": 1, "regions": [[pa, words, checks] for pa, (words, checks) in sorted(_used.items())]}
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(body))
    tmp.replace(path)
    kept = sorted(path.parent.glob("*.json"), key=_mtime)
    for old in kept[: max(0, len(kept) - PROFILES)]:
        old.unlink(missing_ok=True)


def _mtime(p: Path) -> float:
    try:
        return p.stat().st_mtime
    except FileNotFoundError:       # removed by another process since it was listed
        return 0.0


def preload(m: Machine, t: Tier, path: Path) -> int:
    """Put the regions of the profile at `path` that are on disk into `t`'s table before the run starts
    (nothing is compiled).  Safe whatever the profile says: a region checks its code words when it is
    entered and is dropped if they are not the ones in memory (not yet loaded, or other code).  Returns
    how many were loaded."""
    try:
        body = json.loads(path.read_text())
        regions = [(int(pa), [int(w) for w in words], bool(checks)) for pa, words, checks in body["regions"]]
    except (OSError, ValueError, KeyError, TypeError):
        return 0
    from flashvm.isa import llvmstop
    from flashvm.kernels import jitnative
    t0 = time.perf_counter()
    checks_here = per_round(m)
    ram = len(m.ram32) * 4
    n = 0
    for pa, words, checks in regions:
        if checks != checks_here or not words or pa < 0 or pa + 4 * len(words) > ram:
            continue
        if not jitnative.cached([words], cache_dir(), checks=checks):
            continue
        if jitnative.full():
            renew_code()
        fns, size, _ = jitnative.compile_batch([words], cache_dir(), checks=checks)
        _enter(t, [(pa, words)], fns)
        if checks:
            t.jt[3, (pa >> 2) & (TABLE_SIZE - 1)] = llvmstop.first_stretch(words)
        _used[pa] = (words, checks)
        STATS["disk_hits"] += 1
        STATS["code_bytes"] += size
        n += 1
    STATS["preloaded"] += n
    STATS["translate_s"] += time.perf_counter() - t0
    return n


# jstat[0:5] as booked in STATS: region entries, instructions run in them, regions dropped as
# stale, entries that retired nothing (left before their first instruction), regions found but
# not entered (in a delay slot, or past the CPU's stop)
_STAT_NAMES = ("hits", "jit_insns", "invalidated", "empty", "refused")


def run_slices(m: Machine, t: Tier, budget: int, loop: Callable[..., int],
               translate_queue: Callable[[Machine, Tier], None]) -> int:
    """Run `loop` (a tier's run loop: run_jit_nb, or the timing one) for `budget` cycles in slices on
    the quantum grid, booking its counters and translating what got hot between slices.  Called
    once per exit to the host (~25 K times in a radix run), so its own work is plain ints."""
    params = m.params
    jstat = t.jstat
    rs = params.item(P_ROUND_START)
    target = rs + budget
    q = params.item(P_QUANTUM)
    while True:
        left = target - rs
        end = ((rs + t.slice) // q) * q
        t.slice = min(SLICE, 2 * t.slice)     # short slices first: hot code is translated early
        step = end - rs if rs < end < target else left
        before = jstat[:5].tolist()
        c0 = time.perf_counter()
        reason = int(loop(m, step, t.jt, t.jcnt, t.jq, jstat, t.jctx))
        t.cpu_run += time.perf_counter() - c0
        after = jstat[:5].tolist()
        if after != before:
            for name, a, b in zip(_STAT_NAMES, after, before):
                STATS[name] += a - b
        if t.jq.item(0):
            translate_queue(m, t)
        rs = params.item(P_ROUND_START)
        if reason in (EXIT_BUDGET, EXIT_WAIT) and step < left and rs < target:
            continue
        return reason


__all__ = ["Tier", "enabled", "over_budget", "preload", "profile_path", "register_tiers", "renew_code",
           "reset_stats", "run_jit", "run_slices", "save_profile", "set_enabled", "set_profile", "stats",
           "tier_in", "translate"]
