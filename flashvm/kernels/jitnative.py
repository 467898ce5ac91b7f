"""Native code for translated regions: LLVM IR (flashvm/isa/llvmgen.py) to machine code.

One batch of regions is one LLVM module, optimised and compiled to an object
file by llvmlite, then loaded into one MCJIT engine kept for the process.
Object files are cached on disk (named by a hash of the IR, which holds the
code words, and of the translator versions), so a warm start loads machine
code and compiles nothing.

MCJIT maps each object's sections on their own and never frees them while
its engine lives, so a long run that loads tens of thousands of regions
(a full-size pmake: every gcc compilation brings other hot code) would use
up Linux's per-process limit on memory maps (vm.max_map_count, 65,530 by
default) and die in LLVM ("Unable to allocate section memory").  One engine
therefore holds at most `capacity()` objects; the tier (jit.py) then calls
`renew`, which drops the engine with all its code and loads the regions the
tables still use again from disk, as QEMU flushes a full translation cache.
"""
from __future__ import annotations

import functools
import hashlib
import os
import re
from pathlib import Path

import llvmlite.binding as llvm

from flashvm.isa import jitgen, llvmgen

OPT_LEVEL = 2
# functional regions get the whole O2 pipeline, straight ones too (translator llvm-15): with the FPU
# operations inline, instcombine, CSE and GVN pay for themselves (raysort 9.10 -> 7.95 s warm, in an
# A/B in one process; its 64 regions take ~3 s more to compile cold: 5.6-6.5 -> 8.2-10.3 s)
FULL_O2 = True
_engine: list[object] = []      # [target machine, engine] once made
_loaded: dict[str, list[int]] = {}      # batch name -> its function addresses, in load order
_made: dict[str, tuple] = {}            # batch name -> compile_batch's arguments (to load it again)
_named: dict[int, str] = {}             # function address -> its batch's name

MAPS_PER_OBJECT = 2      # memory maps one loaded object takes (its code and its data; llvmlite 0.50, measured)
RESERVED_MAPS = 16384    # left to the rest of the process: Python, numpy, Numba's kernels, dask
MAX_OBJECTS = 32768      # objects one engine holds at most whatever the limit (~256 MB of mappings)
MAP_COUNT_PATH = Path("/proc/sys/vm/max_map_count")


def _machine():
    if not _engine:
        llvm.initialize_native_target()
        llvm.initialize_native_asmprinter()
        target = llvm.Target.from_default_triple()
        tm = target.create_target_machine(cpu=llvm.get_host_cpu_name(), features=llvm.get_host_cpu_features().flatten(),
                                          opt=OPT_LEVEL, reloc="default", codemodel="jitdefault")
        backing = llvm.parse_assembly("")
        backing.triple = target.triple
        _engine.extend([tm, llvm.create_mcjit_compiler(backing, tm)])
    return _engine[0], _engine[1]


@functools.lru_cache(maxsize=1)
def capacity() -> int:
    """Object files one engine may hold: what the process's memory-map limit leaves after
    RESERVED_MAPS, at MAPS_PER_OBJECT each, at most MAX_OBJECTS (FLASHVM_JIT_OBJECTS sets it)."""
    env = os.environ.get("FLASHVM_JIT_OBJECTS", "")
    if env:
        if not env.isdigit() or int(env) < 2:
            raise ValueError(f"FLASHVM_JIT_OBJECTS must be a whole number of regions, at least 2, not {env!r}")
        return int(env)
    limit = map_count_limit() or 65530      # Linux's default
    return max(256, min(MAX_OBJECTS, (limit - RESERVED_MAPS) // MAPS_PER_OBJECT))


def map_count_limit(path: Path = MAP_COUNT_PATH) -> int | None:
    """Linux's limit on a process's memory maps (vm.max_map_count), or None where it cannot be read."""
    try:
        return int(path.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def full() -> bool:
    """Does the engine hold as many objects as it may (the tier must `renew` it before loading more)?"""
    return len(_loaded) >= capacity()


def renew(addresses: list[int], keep: int) -> dict[int, int]:
    """Drop the engine and every region's machine code with it, then load again from the disk
    cache the batches of the function `addresses` still in use (the newest loaded `keep` of
    them; one not on disk is not compiled again).  Returns {old address: new address} for those
    loaded; the caller must forget every other address it holds."""
    order = {name: k for k, name in enumerate(_loaded)}
    names = sorted({_named[a] for a in addresses if a in _named}, key=order.__getitem__)
    again = [(_loaded[n], _made[n]) for n in (names[-keep:] if keep > 0 else [])]
    if _engine:
        _engine[1].close()      # type: ignore[attr-defined]   # unmaps every section it loaded
        _engine.clear()
    _loaded.clear()
    _made.clear()
    _named.clear()
    moved: dict[int, int] = {}
    for old, (regions, cache, timing, layout, checks) in again:
        if cache is None or not cached(regions, cache, timing, layout, checks):
            continue
        new, _, _ = compile_batch(regions, cache, timing, layout, checks)
        moved.update(zip(old, new))
    return moved


def _fpu_symbols(obj: bytes) -> None:
    """Make the FPU helpers' wrappers this object calls known to the linker (each made on first use)."""
    from flashvm.kernels import jitfpu
    for raw in sorted(set(re.findall(rb"flashvm_fpu_(\w+)", obj))):
        name = raw.decode()
        if name not in _fpu_done:
            llvm.add_symbol(llvmgen.fpu_symbol(name), int(jitfpu.address(name)))
            _fpu_done.add(name)


_fpu_done: set[str] = set()


# The passes a straight timing region needs: its locals into SSA registers and its blocks merged
# (the IR has a block per exit and per instruction).  Instcombine, which cost as much as all the
# rest of the compile, is left out: constants are folded as the IR is written (irtext.py), the
# code generator's own combiner does the rest.  A region that loops in itself gets O2 (its loop
# invariants hoisted: mixed's FPU loops ran 1.5x slower without), and so does every functional
# region since llvm-15 (FULL_O2).
PASSES = ("sroa", "simplify_cfg")


def _optimise(mod, tm, full: bool) -> None:
    pto = llvm.create_pipeline_tuning_options(speed_level=OPT_LEVEL)
    pb = llvm.create_pass_builder(tm, pto)
    if full:
        pto.loop_vectorization = False      # nothing to vectorise or unroll in a region
        pto.slp_vectorization = False
        pto.loop_unrolling = False
        pb.getModulePassManager().run(mod, pb)
        return
    fpm = llvm.create_new_function_pass_manager()
    for name in PASSES:
        getattr(fpm, f"add_{name}_pass")()
    for fn in mod.functions:
        if not fn.is_declaration:
            fpm.run(fn, pb)


@functools.lru_cache(maxsize=1)
def _host_cpu() -> str:
    # LLVM works it out anew at each call (~50 us): a queue of regions waiting for the
    # translation budget asked it at every slice
    return str(llvm.get_host_cpu_name())


def key(regions: list[list[int]], timing: bool = False, layout: tuple[int, ...] = (), checks: bool = True) -> str:
    """The cache name of a batch: its code words, the translators' versions (and a timing batch's layout;
    whether functional regions test the stop at checkpoints, flashvm/isa/llvmstop.py)."""
    h = hashlib.sha256(f"{jitgen.VERSION}/{llvmgen.VERSION}/{_host_cpu()}".encode())
    if timing:      # timing-mode regions (flashvm/isa/llvmtiming.py): other code for the same words
        from flashvm.isa import llvmtiming
        h.update(f"{llvmtiming.VERSION}/{layout}".encode())
    elif not checks:
        h.update(b"/no-stop-checks")
    for words in regions:
        h.update(len(words).to_bytes(4, "little"))
        h.update(b"".join(w.to_bytes(4, "little") for w in words))
    return "n" + h.hexdigest()[:24]


def cached(regions: list[list[int]], cache: Path, timing: bool = False, layout: tuple[int, ...] = (),
           checks: bool = True) -> bool:
    """Is this batch's machine code loaded or on disk?"""
    name = key(regions, timing, layout, checks)
    return name in _loaded or (cache / (name + ".o")).exists()


def compile_batch(regions: list[list[int]], cache: Path | None, timing: bool = False,
                  layout: tuple[int, ...] = (), checks: bool = True) -> tuple[list[int], int, bool]:
    """(function addresses, object size, found on disk) of a batch of regions (`timing`: timing-mode
    regions, compiled for `layout`, see llvmtiming.Layout; `checks`: functional regions with the stop
    tests at checkpoints, flashvm/isa/llvmstop.py)."""
    name = key(regions, timing, layout, checks)
    if name in _loaded:
        return _loaded[name], 0, True
    tm, engine = _machine()
    path = cache / (name + ".o") if cache is not None else None
    obj = None
    hit = False
    if path is not None:
        try:            # another process may prune it at any time (jit._prune_objects): then compile
            obj = path.read_bytes()
            os.utime(path)
            hit = True
        except FileNotFoundError:
            pass
    if obj is None:
        if timing:
            from flashvm.isa import llvmtiming
            mod = llvm.parse_assembly(llvmtiming.module_ir(regions, name, layout or llvmtiming.DEFAULT))
        else:
            mod = llvm.parse_assembly(llvmgen.module_ir(regions, name, checks))
        mod.triple = tm.triple
        mod.data_layout = str(tm.target_data)
        _optimise(mod, tm, (FULL_O2 and not timing) or any(llvmgen.loops(w) for w in regions))
        obj = tm.emit_object(mod)
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_bytes(obj)
            tmp.replace(path)
    if b"flashvm_fpu_" in obj:
        _fpu_symbols(obj)
    engine.add_object_file(llvm.ObjectFileRef.from_data(obj))   # type: ignore[attr-defined]
    engine.finalize_object()                                     # type: ignore[attr-defined]
    addrs = [int(engine.get_function_address(llvmgen.region_name(name, k)))   # type: ignore[attr-defined]
             for k in range(len(regions))]
    if not all(addrs):
        raise RuntimeError(f"region functions of {name} not found after loading")
    _loaded[name] = addrs
    _made[name] = (regions, cache, timing, layout, checks)
    _named.update(dict.fromkeys(addrs, name))
    return addrs, len(obj), hit


__all__ = ["OPT_LEVEL", "cached", "capacity", "compile_batch", "full", "key", "map_count_limit", "renew"]
