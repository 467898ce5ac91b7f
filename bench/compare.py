#!/usr/bin/env python3
"""Side-by-side speed of flashvm, qemu-mipsel and Unicorn on the same binaries.

usage: python bench/compare.py [--quick] [--repeat N] [--only NAME ...] [--no-qemu] [--no-unicorn]
                               [--jit] [--only-jit] [--jit-cold]

The benchmark programs (``intloop``, ``mixed``, ``raytrace``, ``raysort``; static
mipsel-linux-musl ELFs built once with ``flashvm.toolchain.build_user``) run
at the sizes of ``bench/test_speed.py`` (``--quick``: smaller ones) under

* flashvm process mode (``run_process`` in this Python process, after a
  warm-up run that loads the Numba interpreter from its cache),
* ``qemu-mipsel`` (user-mode QEMU, a subprocess; its time includes QEMU's
  start-up, ~10 ms),
* Unicorn (QEMU's MIPS CPU in system mode, driven from Python) with the tiny
  Linux-user loader below: PT_LOAD segments, an initial stack with
  argc/argv/envp/auxv, and the handful of system calls these programs make.

Every engine's stdout must end in the same checksum line (and it must be the
known-good one recorded from qemu-mipsel), so a wrong engine cannot post a
fast time.  Times are the best of ``--repeat`` runs (wall clock).  qemu and
Unicorn count no instructions, so their MIPS use the instruction count
flashvm retired for the same run.  Output: a markdown table.
"""
from __future__ import annotations

import argparse
import io
import json
import os
import resource
import shutil
import struct
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"


@dataclass(frozen=True)
class Program:
    name: str
    source: Path
    args: tuple[str, ...]           # benchmark size (bench/test_speed.py)
    checksum: str                   # known-good last stdout line (qemu-mipsel 7.2) at `args`
    quick_args: tuple[str, ...]     # --quick size
    quick_checksum: str


# Sizes: ~1-3 s each in flashvm process mode on the 2-core dev box (figures: bench/README.md).
PROGRAMS: dict[str, Program] = {p.name: p for p in (
    Program("intloop", BENCH / "programs" / "intloop.c", ("8",),
            "intloop scale 8 checksum 51232a12",
            ("1",), "intloop scale 1 checksum 2b47327c"),
    Program("mixed", BENCH / "programs" / "mixed.c", ("12",),
            "mixed scale 12 checksum f8fbabb8e362c1d9",
            ("1",), "mixed scale 1 checksum a5db7e3659b8dd97"),
    Program("raytrace", BENCH / "programs" / "raytrace.c", ("320", "240"),
            "checksum b5f47ea2",
            ("64", "48"), "checksum 90381df9"),
    # issue 16's long program: ~2.6 G instructions (1.24 G of ray tracing, 1.34 G of sorting)
    Program("raysort", BENCH / "programs" / "raysort.c", ("1200", "900", "1000000", "2"),
            "raysort checksum 01f56451",
            ("160", "120", "100000", "1"), "raysort checksum d388ef55"),
)}


def build(prog: Program) -> Path:
    """The program's ELF (built once, cached by flashvm.toolchain)."""
    from flashvm.toolchain import build_user
    return Path(build_user([prog.source]))


def last_line(out: bytes) -> str:
    lines = out.decode("utf-8", "replace").strip().splitlines()
    return lines[-1].strip() if lines else ""


# ============================================================ flashvm
@dataclass
class Run:
    wall: float                     # seconds, wall clock
    cpu: float                      # seconds of CPU (user + system) the engine used
    stdout: bytes
    insns: int | None = None        # instructions retired (flashvm only)


def run_flashvm(exe: Path, argv: list[str]) -> Run:
    """One flashvm process-mode run (in this Python process), in the interpreter (--no-jit)."""
    from flashvm.kernels import jit
    jit.set_enabled(False)
    return _run_here(exe, argv)


def _run_here(exe: Path, argv: list[str]) -> Run:
    """One flashvm process-mode run in this process, with the JIT tier as set."""
    from flashvm.process import run_process
    out = io.BytesIO()
    c0, t0 = time.process_time(), time.perf_counter()
    r = run_process(str(exe), argv, stdout=out, stderr=io.BytesIO())
    t1, c1 = time.perf_counter(), time.process_time()
    if r.status != 0:
        raise RuntimeError(f"flashvm: {argv} exited with status {r.status}: {r.message}")
    return Run(t1 - t0, c1 - c0, out.getvalue(), r.instructions)


# ============================================================ qemu-mipsel
def _children_cpu() -> float:
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run_qemu(exe: Path, argv: list[str], qemu: str = "qemu-mipsel") -> Run:
    """One qemu-mipsel run (a subprocess; its CPU time comes from getrusage)."""
    c0, t0 = _children_cpu(), time.perf_counter()
    p = subprocess.run([qemu, "-0", argv[0], str(exe), *argv[1:]], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, check=False)
    t1, c1 = time.perf_counter(), _children_cpu()
    if p.returncode != 0:
        raise RuntimeError(f"qemu-mipsel: {argv} exited with status {p.returncode}: "
                           f"{p.stderr.decode(errors='replace').strip()}")
    return Run(t1 - t0, c1 - c0, p.stdout)


# ============================================================ Unicorn
# A minimal Linux-user (o32) environment for static musl programs on Unicorn.
#
# Unicorn emulates a MIPS CPU in system mode.  At reset Status.ERL = 1, so
# the CPU is in kernel mode and kuseg (0 - 0x7fffffff) is mapped one to one
# onto physical memory without a TLB: guest virtual addresses can be used as
# Unicorn addresses directly.  Kernel mode also makes `rdhwr $3, $29` (musl's
# thread pointer read) legal: QEMU then returns CP0 UserLocal, which
# Unicorn exposes as UC_MIPS_REG_CP0_USERLOCAL, so set_thread_area just writes
# that register.  Status.CU1 is set for the FPU (FR = 0: the o32 FP32 model
# flashvm and the toolchain use).  `syscall` raises QEMU's EXCP_SYSCALL,
# delivered to the UC_HOOK_INTR callback, which serves it and resumes after
# the instruction.

EXCP_SYSCALL = 17                   # QEMU target/mips exception numbers
PAGE = 0x1000
STACK_TOP = 0x7FFF0000
MMAP_TOP = STACK_TOP - (128 << 20)
EXIT_PAGE = 0x1000                  # below vm.mmap_min_addr: no program maps it

PT_LOAD, PT_GNU_STACK = 1, 0x6474E551
AT_NULL, AT_PHDR, AT_PHENT, AT_PHNUM, AT_PAGESZ, AT_ENTRY = 0, 3, 4, 5, 6, 9
AT_UID, AT_EUID, AT_GID, AT_EGID, AT_HWCAP, AT_CLKTCK, AT_SECURE, AT_RANDOM = (
    11, 12, 13, 14, 16, 17, 23, 25)

# o32 numbers and MIPS errno values of what these programs use
SYS_exit, SYS_write, SYS_getpid, SYS_brk, SYS_ioctl, SYS_getppid = 4001, 4004, 4020, 4045, 4054, 4064
SYS_munmap, SYS_writev, SYS_rt_sigprocmask, SYS_mmap2 = 4091, 4146, 4195, 4210
SYS_sched_getaffinity, SYS_exit_group, SYS_set_tid_address = 4240, 4246, 4252
SYS_set_thread_area = 4283
ENOMEM, EBADF, EINVAL, ENOTTY, ENOSYS = 12, 9, 22, 25, 89
MAP_FIXED, MAP_ANONYMOUS = 0x10, 0x800


def _page_down(x: int) -> int:
    return x & ~(PAGE - 1)


def _page_up(x: int) -> int:
    return (x + PAGE - 1) & ~(PAGE - 1)


class UnicornLinux:
    """Load a static mipsel ELF into a fresh Unicorn and run it as a Linux process."""

    def __init__(self, exe: Path, argv: list[str], env: list[str] | None = None):
        import unicorn
        from unicorn import mips_const as M
        self.U, self.M = unicorn, M
        self.uc = uc = unicorn.Uc(unicorn.UC_ARCH_MIPS,
                                  unicorn.UC_MODE_MIPS32 | unicorn.UC_MODE_LITTLE_ENDIAN)
        uc.ctl_set_cpu_model(M.UC_CPU_MIPS32_24KF)
        self.out: dict[int, bytearray] = {1: bytearray(), 2: bytearray()}
        self.status: int | None = None
        self.syscalls: dict[int, int] = {}
        self.mapped: set[int] = set()                 # mapped page numbers
        data = Path(exe).read_bytes()
        self._load(data)
        sp = self._stack([os.fsencode(a) for a in argv], [os.fsencode(e) for e in env or []])
        uc.reg_write(M.UC_MIPS_REG_SP, sp)
        st = uc.reg_read(M.UC_MIPS_REG_CP0_STATUS)
        uc.reg_write(M.UC_MIPS_REG_CP0_STATUS, st | (1 << 29))       # CU1
        uc.hook_add(unicorn.UC_HOOK_INTR, self._intr)

    # ---------------------------------------------------------- memory
    def _map(self, start: int, end: int) -> None:
        """Map [start, end) (page-rounded), skipping pages already mapped."""
        run = None
        for pn in range(_page_down(start) // PAGE, _page_up(end) // PAGE):
            if pn in self.mapped:
                if run is not None:
                    self.uc.mem_map(run * PAGE, (pn - run) * PAGE)
                    run = None
                continue
            self.mapped.add(pn)
            if run is None:
                run = pn
        if run is not None:
            self.uc.mem_map(run * PAGE, (_page_up(end) // PAGE - run) * PAGE)

    def _load(self, data: bytes) -> None:
        if data[:4] != b"\x7fELF" or data[4] != 1 or data[5] != 1:
            raise ValueError("not a 32-bit little-endian ELF")
        (e_type, e_machine, _v, entry, phoff, _sh, _fl, _eh, phentsize, phnum) = struct.unpack_from(
            "<HHIIIIIHHH", data, 16)
        if e_machine != 8 or e_type != 2:
            raise ValueError("not a static MIPS executable (ET_EXEC, EM_MIPS)")
        self.entry, self.phnum, self.phent = entry, phnum, phentsize
        self.phdr = 0
        self.stack_size = 8 << 20
        end = 0
        for i in range(phnum):
            p_type, off, vaddr, _pa, filesz, memsz, _flags, _al = struct.unpack_from(
                "<8I", data, phoff + i * phentsize)
            if p_type == PT_GNU_STACK and memsz:
                self.stack_size = max(self.stack_size, _page_up(memsz))
            if p_type != PT_LOAD:
                continue
            if off <= phoff < off + filesz:
                self.phdr = vaddr + phoff - off
            self._map(vaddr, vaddr + memsz)
            self.uc.mem_write(vaddr, data[off:off + filesz])     # the rest stays zero (bss)
            end = max(end, vaddr + memsz)
        self.brk_start = self.brk = _page_up(end)
        self.mmap_next = MMAP_TOP

    def _stack(self, argv: list[bytes], env: list[bytes]) -> int:
        """Linux's o32 initial stack: argc, argv[], 0, envp[], 0, auxv, then the strings."""
        self._map(STACK_TOP - self.stack_size, STACK_TOP)
        sp = STACK_TOP - 16
        strings = []
        for s in [*argv, *env]:
            sp -= len(s) + 1
            self.uc.mem_write(sp, s + b"\0")
            strings.append(sp)
        sp -= 16
        random_at = sp
        self.uc.mem_write(random_at, bytes(range(1, 17)))
        auxv = [AT_HWCAP, 0, AT_PAGESZ, PAGE, AT_CLKTCK, 100, AT_PHDR, self.phdr,
                AT_PHENT, self.phent, AT_PHNUM, self.phnum, AT_ENTRY, self.entry,
                AT_UID, 0, AT_EUID, 0, AT_GID, 0, AT_EGID, 0, AT_SECURE, 0,
                AT_RANDOM, random_at, AT_NULL, 0]
        words = [len(argv), *strings[:len(argv)], 0, *strings[len(argv):], 0, *auxv]
        sp = (sp - 4 * len(words)) & ~15          # o32: 8-byte alignment (16 is fine)
        self.uc.mem_write(sp, struct.pack(f"<{len(words)}I", *words))
        return sp

    # ---------------------------------------------------------- system calls
    def _intr(self, uc, intno: int, _user) -> None:
        M = self.M
        if intno != EXCP_SYSCALL:
            pc = uc.reg_read(M.UC_MIPS_REG_PC)
            self.status = 128 + 4
            uc.emu_stop()
            raise RuntimeError(f"unicorn: unexpected exception {intno} at pc=0x{pc:08x}")
        num = uc.reg_read(M.UC_MIPS_REG_V0)
        a = [uc.reg_read(r) for r in (M.UC_MIPS_REG_A0, M.UC_MIPS_REG_A1,
                                      M.UC_MIPS_REG_A2, M.UC_MIPS_REG_A3)]
        self.syscalls[num] = self.syscalls.get(num, 0) + 1
        res = self._syscall(num, a)
        if res is None:               # exited
            uc.emu_stop()
            return
        if -4096 < res < 0:
            uc.reg_write(M.UC_MIPS_REG_V0, -res)
            uc.reg_write(M.UC_MIPS_REG_A3, 1)
        else:
            uc.reg_write(M.UC_MIPS_REG_V0, res & 0xFFFFFFFF)
            uc.reg_write(M.UC_MIPS_REG_A3, 0)
        # Unicorn has already moved PC past the syscall instruction: resume there

    def _syscall(self, num: int, a: list[int]) -> int | None:
        uc = self.uc
        if num in (SYS_exit_group, SYS_exit):
            self.status = a[0] & 0xFF
            return None
        if num == SYS_set_thread_area:
            uc.reg_write(self.M.UC_MIPS_REG_CP0_USERLOCAL, a[0])
            return 0
        if num == SYS_set_tid_address:
            return 1000
        if num in (SYS_getpid,):
            return 1000
        if num == SYS_getppid:
            return 999
        if num == SYS_ioctl:
            return -ENOTTY if a[0] in self.out or a[0] == 0 else -EBADF
        if num == SYS_write:
            if a[0] not in self.out:
                return -EBADF
            self.out[a[0]] += uc.mem_read(a[1], a[2])
            return a[2]
        if num == SYS_writev:
            if a[0] not in self.out:
                return -EBADF
            n = 0
            for i in range(a[2]):
                base, ln = struct.unpack("<II", uc.mem_read(a[1] + 8 * i, 8))
                if ln:
                    self.out[a[0]] += uc.mem_read(base, ln)
                n += ln
            return n
        if num == SYS_brk:
            want = a[0]
            if want == 0 or want < self.brk_start:
                return self.brk
            if want > self.brk:
                if _page_up(want) >= self.mmap_next - (1 << 20):
                    return self.brk
                self._map(self.brk, want)
            self.brk = want
            return self.brk
        if num == SYS_mmap2:
            addr, length, flags = a[0], a[1], a[3]       # prot in a2; fd, pgoff on the stack
            if not flags & MAP_ANONYMOUS or length == 0:
                return -ENOSYS if length else -EINVAL
            length = _page_up(length)
            if flags & MAP_FIXED:
                self._map(addr, addr + length)
                uc.mem_write(addr, bytes(length))
                return addr
            self.mmap_next -= length
            if self.mmap_next <= self.brk:
                return -ENOMEM
            self._map(self.mmap_next, self.mmap_next + length)
            return self.mmap_next
        if num == SYS_munmap:
            return 0                   # keep the pages (never reused: mmap only grows down)
        if num in (SYS_rt_sigprocmask,):
            return 0
        if num == SYS_sched_getaffinity:
            return -ENOSYS
        return -ENOSYS

    # ---------------------------------------------------------- run
    def run(self) -> int:
        # `until` must lie in mapped memory (else emu_start reports UC_ERR_READ_UNMAPPED
        # even after emu_stop): a page below the program that is never executed.
        self._map(EXIT_PAGE, EXIT_PAGE + PAGE)
        self.uc.emu_start(self.entry, EXIT_PAGE)
        if self.status is None:
            pc = self.uc.reg_read(self.M.UC_MIPS_REG_PC)
            raise RuntimeError(f"unicorn: stopped without exit at pc=0x{pc:08x}")
        return self.status


def run_unicorn(exe: Path, argv: list[str]) -> Run:
    """One Unicorn run (in this Python process), loading included."""
    c0, t0 = time.process_time(), time.perf_counter()
    u = UnicornLinux(exe, argv)
    status = u.run()
    t1, c1 = time.perf_counter(), time.process_time()
    if status != 0:
        raise RuntimeError(f"unicorn: {argv} exited with status {status}")
    return Run(t1 - t0, c1 - c0, bytes(u.out[1]))


# ============================================================ table
ENGINES = ("flashvm", "qemu", "unicorn")
TITLES = {"flashvm": "flashvm", "jit": "flashvm --jit", "jitcold": "flashvm --jit (cold)",
          "qemu": "qemu-mipsel", "unicorn": "Unicorn"}


def run_flashvm_jit(exe: Path, argv: list[str]) -> Run:
    """The same with the JIT tier on (docs/jit.md); its translations persist in its disk cache."""
    from flashvm.kernels import jit
    jit.set_enabled(True)
    try:
        return _run_here(exe, argv)
    finally:
        jit.set_enabled(False)


COLD_CHILD = """
import json, sys, tempfile, os
sys.path.insert(0, sys.argv[1])
import compare
from flashvm.kernels import jit
from flashvm.process import run_process
exe, argv = sys.argv[2], sys.argv[3:]
with tempfile.TemporaryDirectory(prefix="flashvm-jit-cold-") as d:
    os.environ["FLASHVM_JIT_CACHE"] = d
    jit.set_enabled(True)
    run_process(exe, argv, stdout=compare.io.BytesIO(), stderr=compare.io.BytesIO(),
                max_insns=1_000_000)            # loads the loop's compiled code, translates nothing
    jit.set_enabled(False)
    r = compare.run_flashvm_jit(compare.Path(exe), argv)
print(json.dumps([r.wall, r.cpu, r.stdout.decode("latin-1"), r.insns]))
"""


def run_flashvm_jit_cold(exe: Path, argv: list[str]) -> Run:
    """--jit with an empty translation cache, in a new process (this one keeps the regions it
    loaded): every region is compiled, as on a first run.  The child first runs the program's
    first million instructions, which translates nothing but loads the loop's compiled code."""
    p = subprocess.run([sys.executable, "-c", COLD_CHILD, str(BENCH), str(exe), *argv],
                       capture_output=True, check=False, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    if p.returncode != 0:
        raise RuntimeError(f"flashvm --jit (cold): {argv}: {p.stderr.decode(errors='replace')[-2000:]}")
    wall, cpu, out, insns = json.loads(p.stdout.decode().strip().splitlines()[-1])
    return Run(wall, cpu, out.encode("latin-1"), insns)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="small sizes (seconds in total)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per engine, best counts (default 3)")
    ap.add_argument("--wall", action="store_true",
                    help="rank by wall-clock time instead of CPU time (user + system)")
    ap.add_argument("--only", nargs="+", choices=sorted(PROGRAMS), help="programs to run")
    ap.add_argument("--no-qemu", action="store_true")
    ap.add_argument("--no-unicorn", action="store_true")
    ap.add_argument("--jit", action="store_true", help="also flashvm with the JIT tier (docs/jit.md)")
    ap.add_argument("--only-jit", action="store_true", help="flashvm with the JIT tier only")
    ap.add_argument("--jit-cold", action="store_true",
                    help="also flashvm --jit with an empty translation cache each run")
    o = ap.parse_args(argv)

    engines = {} if o.only_jit else {"flashvm": run_flashvm}
    if o.jit or o.only_jit:
        engines["jit"] = run_flashvm_jit
    if o.jit_cold:
        engines["jitcold"] = run_flashvm_jit_cold
    qemu = None if o.no_qemu else shutil.which("qemu-mipsel")
    if qemu:
        engines["qemu"] = lambda exe, a: run_qemu(exe, a, qemu)
    elif not o.no_qemu:
        print("qemu-mipsel not found: no qemu column", file=sys.stderr)
    if not o.no_unicorn:
        try:
            import unicorn  # noqa: F401
            engines["unicorn"] = run_unicorn
        except ImportError:
            print("unicorn not installed: no Unicorn column", file=sys.stderr)

    progs = [PROGRAMS[n] for n in (o.only or PROGRAMS)]
    exes = {p.name: build(p) for p in progs}
    print("warming up flashvm (Numba cache load, or a compile after a kernel change) ...",
          file=sys.stderr, flush=True)
    p0 = progs[0]
    for eng in ("flashvm", "jit"):
        if eng in engines:
            engines[eng](exes[p0.name], [p0.name, *p0.quick_args])

    key = (lambda r: r.wall) if o.wall else (lambda r: r.cpu)
    rows = []
    for p in progs:
        args = list(p.quick_args if o.quick else p.args)
        want = p.quick_checksum if o.quick else p.checksum
        argv_ = [p.name, *args]
        print(f"{p.name} {' '.join(args)}:", end="", file=sys.stderr, flush=True)
        best: dict[str, Run] = {}
        insns = None
        for _ in range(o.repeat):           # engines interleaved: they see the same host load
            for eng, fn in engines.items():
                r = fn(exes[p.name], argv_)
                got = last_line(r.stdout)
                if got != want:
                    raise SystemExit(f"\n{TITLES[eng]}: {p.name} printed {got!r}, expected {want!r}")
                if r.insns is not None:
                    insns = r.insns
                if eng not in best or key(r) < key(best[eng]):
                    best[eng] = r
                print(f" {eng} {key(r):.2f}s", end="", file=sys.stderr, flush=True)
        print(" -- checksums agree", file=sys.stderr, flush=True)
        rows.append((f"{p.name} {' '.join(args)}", insns, best))

    what = "wall-clock" if o.wall else "CPU (user + system)"
    print(f"\nBest of {o.repeat} runs, {what} seconds; all engines printed the known-good checksum. "
          f"MIPS = instructions flashvm retired / seconds (qemu and Unicorn count none).\n")
    head = ["program (args)", "instructions"]
    for eng in engines:
        head += [f"{TITLES[eng]} s", f"{TITLES[eng]} MIPS"]
    mine = [e for e in ("flashvm", "jit", "jitcold") if e in engines]
    for ours in mine:
        for eng in engines:
            if eng not in mine:
                head.append(f"{TITLES[ours]} time / {TITLES[eng]}")
    print("| " + " | ".join(head) + " |")
    print("| --- |" + " ---: |" * (len(head) - 1))
    for name, insns, best in rows:
        cells = [name, f"{insns / 1e6:,.1f} M"]
        for eng in engines:
            t = key(best[eng])
            cells += [f"{t:.2f}", f"{insns / t / 1e6:,.0f}"]
        for ours in mine:
            for eng in engines:
                if eng not in mine:
                    cells.append(f"{key(best[ours]) / key(best[eng]):.1f}x")
        print("| " + " | ".join(cells) + " |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
