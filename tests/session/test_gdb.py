"""`flashvm exec --gdb PORT --gdb-wait` driven by Debian's gdb-multiarch in batch
mode: a process-mode program (breakpoints, registers, memory, stepping, a
watchpoint, stepping over a system call) and the guest kernel (a breakpoint on
a system call, the backtrace, stepping over the dispatch)."""
from __future__ import annotations

import os
import re
import select
import shutil
import socket
import subprocess
import sys
import time

import pytest

from flashvm.elf import load_elf
from flashvm.guestos import OS_DIR, build_kernel
from flashvm.isa.disasm import listing
from flashvm.machine.gdbpacket import PacketConn
from flashvm.toolchain import build_user
from support import OS_PROGRAMS, ROOT

GDB = shutil.which("gdb-multiarch")
pytestmark = pytest.mark.skipif(GDB is None, reason="gdb-multiarch not installed (Debian package gdb-multiarch, "
                                                    ".ci/run installs it): the gdb stub tests are skipped")


def _flashvm(*args: str) -> tuple[subprocess.Popen, int]:
    """Start `flashvm exec --gdb 0 --gdb-wait ARGS` and return it with the port it listens on."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    p = subprocess.Popen([sys.executable, "-m", "flashvm.cli", "exec", "--gdb", "0", "--gdb-wait", "-q", *args],
                         cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    seen = b""
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if select.select([p.stderr], [], [], 1.0)[0]:
            line = p.stderr.readline()
            if not line:
                break
            seen += line
            hit = re.search(rb"localhost:(\d+)", line)
            if hit:
                return p, int(hit.group(1))
    p.kill()
    raise AssertionError(f"flashvm never listened for gdb: {seen.decode(errors='replace')}")


def _gdb(elf, port: int, *commands: str) -> str:
    argv = [GDB, "-batch", "-nx", str(elf), "-ex", "set architecture mips:isa32r2",
            "-ex", f"target remote :{port}"]
    for c in commands:
        argv += ["-ex", c]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    return r.stdout + r.stderr


def _finish(p: subprocess.Popen) -> tuple[int, str, str]:
    out, err = p.communicate(timeout=120)
    return p.returncode, out.decode(), err.decode()


@pytest.mark.slow
def test_program_breaks_steps_reads_and_exits(guest_program):
    elf = guest_program("exitcode.c")
    main = load_elf(elf).symbols
    syscall_at = next(int(line.split()[0], 16) for line in listing(load_elf(elf), "__stdio_write", 200)
                      if " syscall" in line)
    p, port = _flashvm(str(elf))
    text = _gdb(elf, port, "break main", "continue", "info registers", "x/4wx $sp", "stepi", "print/x $pc",
                "info threads", "monitor machine", f"break *{syscall_at:#x}", "continue", "print/x $v0",
                "stepi", "print/x $pc", "print $a3", "delete", "continue")
    status, out, err = _finish(p)
    assert "Breakpoint 1, main ()" in text, text
    assert re.search(r"sr\s+lo\s+hi\s+bad\s+cause\s+pc", text), text
    assert re.search(r"0x7ffe[0-9a-f]{4}:\s+0x[0-9a-f]{8}", text), text          # x/4wx $sp
    values = {int(n): int(v, 0) for n, v in re.findall(r"\$(\d+) = (0x[0-9a-f]+|\d+)", text)}
    main_addr = next(a for a in range(0x10000, 0x80000, 4) if main.lookup(a) == ("main", 0))
    assert values[1] == main_addr + 4 or main_addr < values[1] < main_addr + 0x100, text   # stepi moved on
    assert values[2] == 4146, text                                                 # v0 = writev, before
    assert values[3] == syscall_at + 4, text                                       # the host served it
    assert values[4] == 0, text                                                    # a3 = 0: no error
    assert "Thread 1 (CPU 0 running)" in text and "simulated time" in text, text
    assert "exited with code 052" in text, text
    assert status == 42 and "exiting with 42" in out, (out, err)


@pytest.mark.slow
def test_watchpoints_and_monitor(guest_program):
    elf = guest_program("exitcode.c")
    p, port = _flashvm(str(elf))
    text = _gdb(elf, port, "break main", "continue", "watch -l *(int *)($sp - 8)", "continue", "delete",
                "rwatch -l *(int *)($sp - 8)", "continue", "delete", "monitor tlb", "monitor cpus", "continue")
    status, out, _ = _finish(p)
    assert "Hardware watchpoint 2: -location" in text, text                  # Z2, not gdb single-stepping
    assert "Old value = " in text and "New value = " in text, text
    assert "Hardware read watchpoint 3: -location" in text and "\nValue = " in text, text
    assert "process mode: no TLB" in text and "CPU 0 (thread 1)" in text, text
    assert status == 42, out


@pytest.mark.slow
def test_guest_kernel_breakpoint_backtrace_and_step_over_a_syscall(guest_program):
    kernel = build_kernel("kseg0")
    prog = OS_PROGRAMS / "hello.c"
    elf = guest_program(str(prog.relative_to(prog.parents[1])))
    # the dispatcher's line that calls the handler, and the line after it, found in the source
    lines = (OS_DIR / "syscall.c").read_text().splitlines()
    call = next(i for i, line in enumerate(lines, 1) if "long r = sc && sc->fn ? sc->fn(a, tf)" in line)
    p, port = _flashvm("--os", str(elf))
    text = _gdb(kernel, port, "break sys_writev", "continue", "bt", "monitor tlb", "delete",
                f"break syscall.c:{call}", "continue", "next", "print r", "info threads", "delete", "continue")
    status, out, err = _finish(p)
    assert "Breakpoint 1, sys_writev" in text, text
    assert re.search(r"#1 .* in syscall \(", text) and re.search(r"#2 .* in trap \(", text), text
    assert "CPU 0 TLB" in text and "vpn2=" in text, text
    assert "Breakpoint 2, syscall" in text, text
    assert re.search(rf"\n{call + 1}\s", text), text                                   # stepped over the call
    assert "exited with code 03" in text, text
    assert status == 3 and "hello from the flashvm guest OS" in out, (out, err)


SPIN = "int main(void) { volatile unsigned n = 0; for (;;) n++; }\n"


@pytest.mark.slow
def test_ctrl_c_stops_a_free_run_and_kill_ends_it(tmp_path):
    """The protocol by hand (no gdb needed): continue at full speed, 0x03 stops it, k ends the run."""
    src = tmp_path / "spin.c"
    src.write_text(SPIN)
    elf = build_user([src])
    p, port = _flashvm(str(elf))
    conn = PacketConn(socket.create_connection(("127.0.0.1", port)))

    def ask(packet: bytes) -> bytes:
        conn.send(packet)
        return conn.receive()
    assert ask(b"?") == b"T05thread:1;"
    assert ask(b"qfThreadInfo") == b"m1"
    assert ask(b"vCont?") == b"vCont;c;C;s;S"
    conn.send(b"vCont;c")
    time.sleep(1.0)
    conn.sock.sendall(b"\x03")
    assert conn.receive() == b"T02thread:1;"
    pc = int.from_bytes(bytes.fromhex(ask(b"p25").decode()), "little")
    assert load_elf(elf).symbols.lookup(pc)[0] == "main"
    assert ask(b"qRcmd," + b"cpus".hex().encode()).startswith(b"CPU 0 (thread 1)".hex().encode())
    conn.send(b"k")
    status, _, err = _finish(p)
    assert status == 130 and "interrupted" in err, err                      # as a SIGINT would
