"""Cross-compile guest programs (C and assembly) for the simulated mipsel machine.

The compiler is the ``ziglang`` PyPI package (``python -m ziglang cc``, i.e.
clang + lld + musl shipped by Zig); nothing else needs to be installed.

Two kinds of guest are produced:

* :func:`build_user` -- a static Linux user program,
  ``-target mipsel-linux-musleabihf -mcpu=mips32r2 -static``, linked against
  musl (libm lives inside musl's libc.a; ``-lm`` is passed anyway).
* :func:`build_bare` -- a freestanding kernel-mode program,
  ``-target mipsel-freestanding-none -ffreestanding -nostdlib``, linked with
  the bare runtime of ``flashvm/guest/bare`` (crt0, exception trampolines and
  a tiny libc) and Zig's compiler_rt (64-bit division, int<->double
  conversions ...).

Both produce o32, little-endian, MIPS32r2 code with *hard float* in Zig's
default FP ABI: ``.MIPS.abiflags`` says ``fp_abi = Val_GNU_MIPS_ABI_FP_DOUBLE``
(o32 FP32, 32-bit FPRs, doubles in even/odd register pairs, i.e. the CPU runs
with Status.FR = 0) and the legacy MIPS NaN encoding (``.nan legacy``: a quiet
NaN has the top fraction bit *clear*).  We deliberately pass neither
``-mfpxx`` nor ``-mfp64``.

Builds are cached outside the source tree::

    $FLASHVM_CACHE (default ~/.cache/flashvm)/
        build/<name>-<key>.elf     the linked program
        build/<name>-<key>.json    how it was built (command, sources, key)
        zig/global/, zig/local/    Zig's own caches (musl, compiler_rt, objects)

``<key>`` is the sha256 of: the kind of build, the target, the Zig version
(``python -m ziglang version``), the flags, and the names and contents of the
sources, of the ``*.h`` files next to them or in ``-I`` directories, of the
bare runtime (for bare builds) and of the linker script.  A finished ELF is
written under a temporary name and renamed into place, so concurrent builds
of the same thing are safe.  The first user build compiles musl into
``zig/global`` (~40 s); later builds take well under a second.
"""
from __future__ import annotations

import functools
import hashlib
import importlib.util
import json
import logging
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Iterable, Sequence

__all__ = [
    "ToolchainError",
    "USER_TARGET",
    "BARE_TARGET",
    "BARE_DIR",
    "GUEST_INCLUDE_DIR",
    "BARE_RUNTIME_SOURCES",
    "BARE_LINKER_SCRIPT",
    "build_user",
    "build_bare",
    "build_splashos",
    "SPLASHOS_DIR",
    "cache_root",
    "build_dir",
    "zig_version",
    "cache_key",
]

log = logging.getLogger(__name__)

USER_TARGET = "mipsel-linux-musleabihf"
BARE_TARGET = "mipsel-freestanding-none"
CPU_FLAGS: tuple[str, ...] = ("-mcpu=mips32r2",)

BARE_DIR = Path(__file__).resolve().parent / "guest" / "bare"
#: headers shared by all guest code (mips_cp0.h, the generated flash_layout.h); on every bare build's include path
GUEST_INCLUDE_DIR = Path(__file__).resolve().parent / "guest" / "include"
#: runtime sources added to every bare build unless ``runtime=False``
BARE_RUNTIME_SOURCES: tuple[Path, ...] = (
    BARE_DIR / "crt0.S",
    BARE_DIR / "trap.S",
    BARE_DIR / "bare.c",
)
BARE_LINKER_SCRIPT = BARE_DIR / "link.ld"
#: SPLASHOS, the library OS for parallel programs under Disco (docs/splashos.md)
SPLASHOS_DIR = Path(__file__).resolve().parent / "guest" / "splashos"
SPLASHOS_SOURCES: tuple[Path, ...] = tuple(SPLASHOS_DIR / f for f in ("start.S", "splashos.c", "console.c", "libm.c",
                                                                             "files.c"))

#: bump this when the way commands are formed changes, to invalidate old builds
_KEY_FORMAT = "flashvm-toolchain-2"     # 2: __FILE__ relative (_path_maps)
_CHECKOUT = Path(__file__).resolve().parent.parent
_COMPILE_TIMEOUT = 900  # seconds; a first build of musl takes ~40 s


class ToolchainError(ValueError):
    """A guest program could not be built (compile/link error, missing compiler)."""


# --------------------------------------------------------------------- paths
def cache_root() -> Path:
    """Root of flashvm's caches: ``$FLASHVM_CACHE`` or ``~/.cache/flashvm``."""
    env = os.environ.get("FLASHVM_CACHE")
    if env:
        return Path(env).expanduser().resolve()
    return Path.home() / ".cache" / "flashvm"


def build_dir() -> Path:
    """Directory holding the cached ELF files (``cache_root()/build``)."""
    return cache_root() / "build"


def _zig_env() -> dict[str, str]:
    root = cache_root()
    env = dict(os.environ)
    env["ZIG_GLOBAL_CACHE_DIR"] = str(root / "zig" / "global")
    env["ZIG_LOCAL_CACHE_DIR"] = str(root / "zig" / "local")
    return env


# ------------------------------------------------------------------ compiler
def _check_ziglang() -> None:
    if importlib.util.find_spec("ziglang") is None:
        raise ToolchainError(
            "the C cross-compiler is missing: the Python package 'ziglang' is not "
            f"installed for {sys.executable}; install it with `pip install ziglang`"
        )


def _zig_cmd() -> list[str]:
    return [sys.executable, "-m", "ziglang"]


@functools.lru_cache(maxsize=None)
def _zig_version_cached(executable: str) -> str:
    _check_ziglang()
    try:
        proc = subprocess.run(
            [executable, "-m", "ziglang", "version"],
            capture_output=True, text=True, timeout=120, env=_zig_env(),
        )
    except (OSError, subprocess.TimeoutExpired) as exc:  # pragma: no cover
        raise ToolchainError(f"cannot run `python -m ziglang version`: {exc}") from exc
    if proc.returncode != 0:
        raise ToolchainError(
            "`python -m ziglang version` failed (reinstall with `pip install ziglang`):\n"
            + proc.stderr
        )
    return proc.stdout.strip()


def zig_version() -> str:
    """Version string of the ziglang compiler (e.g. ``"0.17.1"``)."""
    return _zig_version_cached(sys.executable)


# ---------------------------------------------------------------- cache keys
def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise ToolchainError(f"cannot read source {path}: {exc}") from exc


def _include_dirs(flags: Sequence[str]) -> list[Path]:
    dirs: list[Path] = []
    it = iter(flags)
    for f in it:
        if f in ("-I", "-isystem", "-iquote"):
            nxt = next(it, None)
            if nxt is not None:
                dirs.append(Path(nxt))
        elif f.startswith("-I") and len(f) > 2:
            dirs.append(Path(f[2:]))
    return dirs


def _headers_near(sources: Iterable[Path], flags: Sequence[str]) -> list[Path]:
    """``*.h`` files that sit beside the sources or in ``-I`` directories."""
    seen: set[Path] = set()
    out: list[Path] = []
    dirs = {p.parent for p in sources} | set(_include_dirs(flags))
    for d in sorted(dirs):
        try:
            headers = sorted(d.glob("*.h"))
        except OSError:
            continue
        for h in headers:
            r = h.resolve()
            if r not in seen and r.is_file():
                seen.add(r)
                out.append(r)
    return out


def cache_key(kind: str, target: str, sources: Sequence[Path], flags: Sequence[str],
              extra_inputs: Sequence[Path] = ()) -> str:
    """sha256 (hex) identifying one build.

    Covers *kind* and *target*, the Zig version, every flag (in order), the
    basenames and contents of *sources* and *extra_inputs* (linker script,
    runtime files), and nearby headers (see module doc).
    """
    h = hashlib.sha256()

    def add(tag: str, data: bytes) -> None:
        h.update(tag.encode())
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)

    add("format", _KEY_FORMAT.encode())
    add("kind", kind.encode())
    add("target", target.encode())
    add("zig", zig_version().encode())
    for f in flags:
        add("flag", f.encode())
    for s in sources:
        add("source-name", s.name.encode())
        add("source", _read(s))
    for x in extra_inputs:
        add("input-name", x.name.encode())
        add("input", _read(x))
    for hdr in _headers_near(list(sources) + list(extra_inputs), flags):
        add("header-name", hdr.name.encode())
        add("header", _read(hdr))
    return h.hexdigest()


# --------------------------------------------------------------------- build
def _normalize_sources(sources: Sequence[Path | str]) -> list[Path]:
    if isinstance(sources, (str, Path)):
        sources = [sources]
    out = [Path(s).expanduser().resolve() for s in sources]
    if not out:
        raise ToolchainError("no source files given")
    for s in out:
        if not s.is_file():
            raise ToolchainError(f"source file not found: {s}")
    return out


def _path_maps(sources: Sequence[Path]) -> list[str]:
    """__FILE__ (in the guest kernel's asserts and panics) relative to the checkout, not absolute:
    the same sources then give the same loaded bytes wherever the project is checked out."""
    maps = []
    for d in sorted({str(_CHECKOUT)} | {str(s.parent) for s in sources if not s.is_relative_to(_CHECKOUT)},
                    key=len, reverse=True):
        maps.append(f"-fmacro-prefix-map={d}/=")
    return maps


def _run_build(kind: str, target: str, sources: list[Path], flags: list[str],
               extra_inputs: list[Path], name: str) -> Path:
    _check_ziglang()
    key = cache_key(kind, target, sources, flags, extra_inputs)
    out_dir = build_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    safe_name = "".join(c if (c.isalnum() or c in "-_.") else "_" for c in name) or "prog"
    out = out_dir / f"{safe_name}-{key[:24]}.elf"
    if out.is_file():
        log.debug("toolchain cache hit: %s", out)
        return out

    fd, tmp_name = tempfile.mkstemp(prefix=f".{safe_name}-", suffix=".tmp", dir=out_dir)
    os.close(fd)
    tmp = Path(tmp_name)
    cmd = _zig_cmd() + ["cc", "-target", target] + flags + _path_maps(sources) + [str(s) for s in sources] + [
        "-o", str(tmp)]
    # cc's trailing link flags (libraries) must follow the objects
    if kind == "user":
        cmd.append("-lm")
    else:
        cmd.append("-lcompiler_rt")
    log.info("toolchain: %s", shlex.join(cmd))
    try:
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True,
                                  timeout=_COMPILE_TIMEOUT, env=_zig_env())
        except subprocess.TimeoutExpired as exc:
            raise ToolchainError(
                f"compiling {', '.join(s.name for s in sources)} timed out after "
                f"{_COMPILE_TIMEOUT} s") from exc
        except OSError as exc:
            raise ToolchainError(f"cannot run the compiler ({cmd[0]}): {exc}") from exc
        if proc.returncode != 0 or tmp.stat().st_size == 0:
            srcs = ", ".join(str(s) for s in sources)
            raise ToolchainError(
                f"failed to build {srcs} (zig cc exit status {proc.returncode})\n"
                f"command: {shlex.join(cmd)}\n"
                f"{proc.stderr.strip()}")
        meta = {
            "key": key,
            "kind": kind,
            "target": target,
            "zig_version": zig_version(),
            "sources": [str(s) for s in sources],
            "extra_inputs": [str(x) for x in extra_inputs],
            "flags": flags,
            "command": cmd,
            "stderr": proc.stderr,
        }
        meta_tmp = out.with_suffix(f".json.{os.getpid()}.tmp")
        meta_tmp.write_text(json.dumps(meta, indent=1))
        os.replace(meta_tmp, out.with_suffix(".json"))
        os.chmod(tmp, 0o755)
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    return out


def build_user(sources: list[Path], *, opt: str = "-O2", extra_flags: Sequence[str] = (),
               name: str | None = None) -> Path:
    """Build a static mipsel Linux (musl) user program and return the cached ELF path.

    Args:
        sources: C (``.c``) and assembly (``.S``/``.s``) files; the first one
            names the program unless *name* is given.
        opt: optimisation flag passed to the compiler (``-O0`` .. ``-O3``,
            ``-Os``).  Note that Zig enables UBSan traps at ``-O0`` unless
            ``-fno-sanitize=undefined`` is in *extra_flags*.
        extra_flags: further compiler/linker flags (``-DX=1``, ``-Idir`` ...).
        name: base name of the produced file.

    The target is ``mipsel-linux-musleabihf`` with ``-mcpu=mips32r2 -static``;
    the code is o32 with hard float in Zig's default FP32 ABI (Status.FR=0)
    and legacy NaNs.  Linked with ``-lm``.

    Raises:
        ToolchainError: the compiler is missing or the build failed (the
            message names the sources and holds the compiler's stderr).
    """
    srcs = _normalize_sources(sources)
    flags = [*CPU_FLAGS, "-static", opt, *extra_flags]
    return _run_build("user", USER_TARGET, srcs, flags, [], name or srcs[0].stem)


def build_bare(sources: list[Path], *, opt: str = "-O2", extra_flags: Sequence[str] = (),
               linker_script: Path | None = None, runtime: bool = True,
               name: str | None = None) -> Path:
    """Build a freestanding kernel-mode program for the bare machine.

    Args:
        sources: C and assembly files of the program.
        opt: optimisation flag.
        extra_flags: further compiler/linker flags.
        linker_script: defaults to ``flashvm/guest/bare/link.ld`` (code at
            kseg0 0x80001000, exception vectors below it at EBase=0x80000000).
        runtime: add the bare runtime (``crt0.S`` with the ``_start`` entry,
            ``trap.S`` exception trampolines, ``bare.c`` tiny libc and
            ``bare.h``'s directory on the include path).  With ``False`` the
            program must provide ``_start`` itself.
        name: base name of the produced file (default: first source's stem).

    Flags used: ``-target mipsel-freestanding-none -mcpu=mips32r2
    -ffreestanding -nostdlib -I flashvm/guest/include -T <script> -Wl,-e,_start ...
    -lcompiler_rt``.

    Raises:
        ToolchainError: as for :func:`build_user`.
    """
    srcs = _normalize_sources(sources)
    script = Path(linker_script).expanduser().resolve() if linker_script else BARE_LINKER_SCRIPT
    if not script.is_file():
        raise ToolchainError(f"linker script not found: {script}")
    extra_inputs: list[Path] = [script]
    flags = [*CPU_FLAGS, "-ffreestanding", "-nostdlib", opt, f"-I{GUEST_INCLUDE_DIR}"]
    if runtime:
        flags.append(f"-I{BARE_DIR}")
        rt = [p for p in BARE_RUNTIME_SOURCES if p not in srcs]
        srcs = srcs + rt
        extra_inputs.append(BARE_DIR / "bare.h")
    flags += ["-T", str(script), "-Wl,-e,_start", *extra_flags]
    return _run_build("bare", BARE_TARGET, srcs, flags, extra_inputs, name or srcs[0].stem)


def build_splashos(sources: list[Path], *, opt: str = "-O2", extra_flags: Sequence[str] = (),
                   name: str | None = None) -> Path:
    """Build a program linked with SPLASHOS (a freestanding build: SPLASHOS's
    sources, its include directory first on the path, so that the program's
    <pthread.h>, <stdio.h>, <stdlib.h>, <string.h> and <math.h> are SPLASHOS's,
    and its linker script).  The ELF runs in a Disco VM
    (flashvm.disco.splashos, ``flashvm exec --splashos``).  Raises
    ToolchainError as :func:`build_user` does."""
    srcs = _normalize_sources(sources)
    flags = [f"-I{SPLASHOS_DIR / 'include'}", "-DFLASHVM_SPLASHOS=1", *extra_flags]   # roi.h: SPLASHOS's call
    return build_bare(srcs + [p for p in SPLASHOS_SOURCES if p not in srcs], opt=opt, extra_flags=flags,
                      linker_script=SPLASHOS_DIR / "link.ld", runtime=False,
                      name=name or f"{srcs[0].stem}_splashos")


def _main(argv: Sequence[str] | None = None) -> int:
    import argparse

    ap = argparse.ArgumentParser(prog="python -m flashvm.toolchain",
                                 description="Build a guest program and print the ELF path.")
    ap.add_argument("kind", choices=["user", "bare", "splashos"])
    ap.add_argument("sources", nargs="+", type=Path)
    ap.add_argument("-O", dest="opt", default="2", help="optimisation level (default 2)")
    ap.add_argument("-f", "--flag", action="append", default=[], help="extra flag (repeatable)")
    ap.add_argument("--name")
    args = ap.parse_args(argv)
    try:
        if args.kind == "user":
            out = build_user(args.sources, opt=f"-O{args.opt}", extra_flags=args.flag,
                             name=args.name)
        elif args.kind == "splashos":
            out = build_splashos(args.sources, opt=f"-O{args.opt}", extra_flags=args.flag, name=args.name)
        else:
            out = build_bare(args.sources, opt=f"-O{args.opt}", extra_flags=args.flag,
                             name=args.name)
    except ToolchainError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(out)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(_main())
