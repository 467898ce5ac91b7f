"""Tests of flashvm.toolchain and of the guest programs it builds.

The first run on a machine compiles musl and compiler_rt into the flashvm
cache (~1 minute); later runs reuse them and take a few seconds.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
import uuid
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from flashvm import toolchain  # noqa: E402
from flashvm.toolchain import ToolchainError, build_bare, build_user, cache_key  # noqa: E402

GUEST = ROOT / "tests" / "guest"
QEMU = "/usr/bin/qemu-mipsel"

needs_zig = pytest.mark.skipif(
    __import__("importlib").util.find_spec("ziglang") is None,
    reason="the ziglang package is not installed (pip install ziglang)")
needs_qemu = pytest.mark.skipif(
    not os.access(QEMU, os.X_OK),
    reason=f"{QEMU} is missing (apt-get install qemu-user) so guest programs cannot be run")


def _unique_source(tmp_path: Path, body: str, name: str = "prog.c") -> Path:
    """A source file whose content is new to the cache (so the first build compiles)."""
    src = tmp_path / name
    src.write_text(f"/* {uuid.uuid4()} */\n{body}")
    return src


HELLO = '#include <stdio.h>\nint main(void) { puts("hi"); return 3; }\n'


# --------------------------------------------------------------- cache layout
def test_cache_root_follows_env(monkeypatch, tmp_path):
    monkeypatch.setenv("FLASHVM_CACHE", str(tmp_path / "c"))
    assert toolchain.cache_root() == (tmp_path / "c").resolve()
    assert toolchain.build_dir() == (tmp_path / "c" / "build").resolve()
    env = toolchain._zig_env()
    assert env["ZIG_GLOBAL_CACHE_DIR"].startswith(str((tmp_path / "c").resolve()))
    assert env["ZIG_LOCAL_CACHE_DIR"].startswith(str((tmp_path / "c").resolve()))
    monkeypatch.delenv("FLASHVM_CACHE")
    assert toolchain.cache_root() == Path.home() / ".cache" / "flashvm"


@needs_zig
def test_key_depends_on_flags_sources_and_headers(tmp_path):
    src = tmp_path / "a.c"
    src.write_text("int main(void){return 0;}\n")
    k1 = cache_key("user", toolchain.USER_TARGET, [src], ["-O2"])
    assert k1 == cache_key("user", toolchain.USER_TARGET, [src], ["-O2"])
    assert k1 != cache_key("user", toolchain.USER_TARGET, [src], ["-O1"])
    assert k1 != cache_key("user", toolchain.USER_TARGET, [src], ["-O2", "-DX=1"])
    assert k1 != cache_key("bare", toolchain.BARE_TARGET, [src], ["-O2"])
    src.write_text("int main(void){return 1;}\n")
    k2 = cache_key("user", toolchain.USER_TARGET, [src], ["-O2"])
    assert k2 != k1
    (tmp_path / "a.h").write_text("#define X 1\n")
    k3 = cache_key("user", toolchain.USER_TARGET, [src], ["-O2"])
    assert k3 != k2
    (tmp_path / "a.h").write_text("#define X 2\n")
    assert cache_key("user", toolchain.USER_TARGET, [src], ["-O2"]) != k3


@needs_zig
def test_build_is_cached_and_flags_change_the_output(tmp_path, monkeypatch):
    src = _unique_source(tmp_path, HELLO)
    elf = build_user([src])
    assert elf.is_file() and elf.parent == toolchain.build_dir()
    assert elf.read_bytes()[:4] == b"\x7fELF"
    assert elf.with_suffix(".json").is_file()
    mtime = elf.stat().st_mtime_ns

    calls = []
    real_run = subprocess.run

    def spy(cmd, *a, **kw):
        calls.append(cmd)
        return real_run(cmd, *a, **kw)

    monkeypatch.setattr(toolchain.subprocess, "run", spy)
    assert build_user([src]) == elf           # cache hit: no compiler run at all
    assert calls == []
    assert elf.stat().st_mtime_ns == mtime

    elf2 = build_user([src], extra_flags=["-DFLAVOUR=2"])
    assert elf2 != elf
    assert len(calls) == 1 and "cc" in calls[0]
    # this program's temp files renamed away (another build killed midway may have left its own)
    assert not list(toolchain.build_dir().glob(f".{elf.name.rsplit('-', 1)[0]}-*.tmp"))


@needs_zig
def test_compile_error_raises_with_compiler_message(tmp_path):
    src = _unique_source(tmp_path, "int main(void) { return undefined_thing_xyz; }\n",
                         name="broken.c")
    with pytest.raises(ToolchainError) as ei:
        build_user([src])
    msg = str(ei.value)
    assert isinstance(ei.value, ValueError)
    assert "broken.c" in msg
    assert "undefined_thing_xyz" in msg and "error" in msg
    assert not list(toolchain.build_dir().glob("broken-*.elf"))


def test_missing_source_and_missing_ziglang(tmp_path, monkeypatch):
    with pytest.raises(ToolchainError, match="not found"):
        build_user([tmp_path / "nope.c"])
    src = tmp_path / "x.c"
    src.write_text(HELLO)
    monkeypatch.setattr(toolchain.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(ToolchainError, match="pip install ziglang"):
        build_user([src])


# ------------------------------------------------------------------ bare builds
@needs_zig
@pytest.mark.parametrize("name", ["hello_bare", "traps_bare"])
def test_bare_program_layout(name):
    from elftools.elf.elffile import ELFFile

    elf = build_bare([GUEST / "bare" / f"{name}.c"])
    with open(elf, "rb") as f:
        e = ELFFile(f)
        assert e["e_machine"] == "EM_MIPS" and e.little_endian and e.elfclass == 32
        syms = e.get_section_by_name(".symtab")
        start = syms.get_symbol_by_name("_start")[0]["st_value"]
        assert e["e_entry"] == start == 0x80001000
        loads = [s for s in e.iter_segments() if s["p_type"] == "PT_LOAD"]
        assert loads and min(s["p_vaddr"] for s in loads) == 0x80001000
        for s in loads:
            assert 0x80001000 <= s["p_vaddr"] < 0x84000000
        for sym in ("main", "__bss_start", "__bss_end", "__stack_top", "__heap_start"):
            assert syms.get_symbol_by_name(sym), sym
        top = syms.get_symbol_by_name("__stack_top")[0]["st_value"]
        assert top % 16 == 0
        if name == "traps_bare":
            assert syms.get_symbol_by_name("__bare_trap_entry")
            assert syms.get_symbol_by_name("__bare_vec_general")


# ----------------------------------------------------------- guest programs
def _programs() -> list[dict]:
    with open(GUEST / "programs.toml", "rb") as f:
        return tomllib.load(f)["program"]


@needs_zig
@needs_qemu
@pytest.mark.parametrize("prog", _programs(), ids=lambda p: p["name"])
def test_guest_program_under_qemu(prog):
    sources = [GUEST / s for s in prog.get("sources", [f"{prog['name']}.c"])]
    elf = build_user(sources, name=prog["name"])
    proc = subprocess.run([QEMU, str(elf), *prog.get("args", [])],
                          cwd=GUEST / prog.get("cwd", "."), env=dict(prog.get("env", {})),
                          capture_output=True, timeout=120)
    assert proc.returncode == prog["exit_status"], proc.stderr.decode(errors="replace")
    expected = (GUEST / prog["stdout"]).read_bytes()
    assert proc.stdout == expected


def _run_checksum(path: Path, args: list[str]) -> str:
    elf = build_user([path])
    proc = subprocess.run([QEMU, str(elf), *args], capture_output=True, timeout=300)
    assert proc.returncode == 0
    return proc.stdout.decode()


@needs_zig
@needs_qemu
def test_bench_programs_small():
    out = _run_checksum(ROOT / "bench" / "programs" / "intloop.c", ["1"])
    assert "intloop scale 1 checksum 2b47327c" in out
    out = _run_checksum(ROOT / "bench" / "programs" / "mixed.c", ["1"])
    assert "mixed scale 1 checksum a5db7e3659b8dd97" in out


@needs_zig
@needs_qemu
def test_raytrace_workload_checksum(tmp_path):
    wl_dir = ROOT / "workloads" / "raytrace"
    with open(wl_dir / "workload.toml", "rb") as f:
        wl = tomllib.load(f)
    assert wl["name"] == "raytrace" and wl["run"]["mode"] in ("process", "os")
    elf = build_user([wl_dir / s for s in wl["build"]["sources"]], opt=wl["build"]["opt"])
    # a small image with a PPM written (2 threads), then the workload's uniprocessor size
    ppm = tmp_path / "out.ppm"
    proc = subprocess.run([QEMU, str(elf), "2", "40", "30", "1", str(ppm)], capture_output=True,
                          timeout=60)
    assert proc.returncode == 0
    data = ppm.read_bytes()
    assert data.startswith(b"P6\n40 30\n255\n") and len(data) == len(b"P6\n40 30\n255\n") + 3600
    uni = wl["size"]["uni"]
    proc = subprocess.run([QEMU, str(elf), *uni["args"]], capture_output=True, timeout=300)
    assert proc.returncode == wl["check"]["exit_status"]
    assert uni["stdout_contains"] in proc.stdout.decode()
    assert proc.stdout.decode() == wl["reference"]["stdout_uni"]


def test_cli_reports_errors(tmp_path, capsys):
    assert toolchain._main(["user", str(tmp_path / "missing.c")]) == 1
    assert "not found" in capsys.readouterr().err


@pytest.mark.skipif(shutil.which("readelf") is None, reason="readelf missing")
@needs_zig
def test_user_binary_is_mips32r2_fp32():
    elf = build_user([GUEST / "exitcode.c"])
    out = subprocess.run(["readelf", "-h", "-A", str(elf)], capture_output=True,
                         text=True).stdout
    assert "mips32r2" in out and "o32" in out
    assert "Hard float (double precision)" in out   # o32 FP32 (FR=0), not FPXX / FP64
    assert "nan2008" not in out.lower()             # legacy NaN encoding


@needs_zig
def test_bare_without_runtime(tmp_path):
    from elftools.elf.elffile import ELFFile

    src = _unique_source(tmp_path, """
        .set noreorder
        .section .text.start, "ax", @progbits
        .globl _start
_start: lui   $8, 0xBF00
        addiu $9, $0, 5
        sw    $9, 0x100($8)      # POWER: halt(5)
1:      b     1b
        nop
""", name="tiny.S")
    elf = build_bare([src], runtime=False)
    with open(elf, "rb") as f:
        e = ELFFile(f)
        assert e["e_entry"] == 0x80001000
        syms = e.get_section_by_name(".symtab")
        assert not syms.get_symbol_by_name("printf")     # no runtime linked in


@needs_zig
@needs_qemu
def test_bare_printf_lite_matches_musl():
    """bare.c's printf-lite and string helpers, run as a user program under qemu."""
    elf = build_user([GUEST / "bare" / "printf_lite_check.c"],
                     extra_flags=[f"-I{toolchain.GUEST_INCLUDE_DIR}"])
    proc = subprocess.run([QEMU, str(elf)], capture_output=True, timeout=60)
    assert proc.returncode == 0, proc.stdout.decode()
    assert proc.stdout.startswith(b"printf-lite ok")


def _loaded_bytes(path: Path) -> bytes:
    """The code and data the guest runs (not the ELF header: its section-table offset moves with
    the debug information, which names the source's directory)."""
    from elftools.elf.elffile import ELFFile
    with open(path, "rb") as f:
        elf = ELFFile(f)
        return b"".join(elf.get_section_by_name(n).data() for n in (".text", ".rodata", ".data")
                        if elf.get_section_by_name(n) is not None)


def test_the_same_source_in_two_places_loads_the_same_bytes(tmp_path):
    """__FILE__ is written relative (the guest kernel's asserts hold it): a checkout elsewhere
    must not move the guest's code and data, or its counters."""
    src = f'#include <stdio.h>\nint main(void) {{ puts(__FILE__); return {uuid.uuid4().int % 100}; }}\n'
    outs = []
    for where in ("a", "some/longer/dir"):
        d = tmp_path / where
        d.mkdir(parents=True)
        (d / "file_macro.c").write_text(src)
        # an include path of its own, as each checkout's guest builds have: two real compiles
        outs.append(_loaded_bytes(build_user([d / "file_macro.c"], extra_flags=[f"-I{d}"])))
    assert outs[0] == outs[1]
