"""A GDB remote stub for the simulated CPUs (`flashvm exec --gdb [PORT] [--gdb-wait]`).

    stub = GdbStub(1234, wait=True, clock_mhz=cfg.clock_mhz, say=note)
    fm.run(run_fn=stub.run)            # the stub is the machine's run function
    stub.finish(status)                # tell gdb the program exited

Threads are the CPUs (thread id = CPU number + 1; under Disco a CPU's extra info
names the VCPU it runs).  All-stop: when one CPU stops, they all do.

How the machine is driven.  While gdb has no breakpoint or watchpoint and is not
single-stepping, `run` calls the run kernel itself for the whole budget and only
looks at the socket (Ctrl-C, a new gdb) between two calls: the hot loop pays
nothing, and without --gdb the stub does not exist.  Once gdb sets one, the
machine runs through flashvm/machine/stepper.py one instruction at a time (as the
trace does, about a hundred times slower), the stub checking each CPU's pc
against the breakpoints before its instruction and the data address of each
load/store against the watchpoints.  When the last one goes, the stepper's call
ends early (an EXIT_BUDGET exit) and the kernel takes over again.

Limits: software and hardware breakpoints are the same table (no instruction is
patched, so memory reads show the original code); watchpoints see the loads and
stores of the CPU instruction set (not DMA by devices, not the host's system call
emulation in process mode) and stop before the access, as MIPS watch exceptions
do (gdb then steps over it and compares the values itself); a breakpoint on the first
instruction of an interrupt vector can be passed over when the interrupt entry
and that instruction share one step.  Memory goes through the stopped CPU's
current translation (flashvm/machine/vmem.py): an address its TLB does not map
now (Disco keeps more in its second-level TLB) cannot be read.
"""
from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Literal

from flashvm.kernels.interp import STOP_EXIT, exec_cpu_nb, exec_cpu_timing_nb
from flashvm.kernels.run import run as run_kernel
from flashvm.kernels.state import (
    ACC_FETCH, EXIT_BUDGET, HALTED, PC, S_EXC_BASE, VCPU, WAITING, X_CPU, X_REASON, Machine,
)
from flashvm.machine.flash import StopRun
from flashvm.machine.gdbmonitor import monitor
from flashvm.machine.gdbpacket import INTERRUPT, PacketConn, unescape
from flashvm.machine.gdbregs import NUM_REGS, encode, get_register, read_g, set_register, write_g
from flashvm.machine.gdbwatch import access_of, overlaps
from flashvm.machine.stepper import run_stepped
from flashvm.machine.vmem import host_address, read_virtual, write_virtual

DEFAULT_PORT = 1234          # as qemu -s
SIGINT, SIGTRAP = 2, 5
POLL_STEPS = 1024            # steps between two looks for Ctrl-C while stepping
RunFn = Callable[[Machine, int], int]


class GdbStub:
    """Serves one gdb at a time on localhost:`port` (0: any free port, see `.port`)."""

    def __init__(self, port: int = DEFAULT_PORT, *, wait: bool = False, clock_mhz: float = 400.0,
                 say: Callable[[str], None] = lambda s: None, inner: RunFn = run_kernel) -> None:
        self.port = port
        self.wait = wait
        self.clock_mhz = clock_mhz
        self.say = say
        self.inner = inner
        self.listener: socket.socket | None = None
        self.conn: PacketConn | None = None
        self.m: Machine | None = None
        self.breaks: set[int] = set()                      # Z0 and Z1 addresses
        self.watches: dict[tuple[int, int, int], None] = {}  # (kind 2/3/4, addr, len)
        self.g_cpu = 0                                     # registers and memory (Hg)
        self.stop_cpu = 0                                  # the thread of the last stop
        self.c_cpu = -1                                    # the thread to step (Hc; -1: the stopped one)
        self.step_cpu: int | None = None
        self.pending: tuple[int, int] | None = None        # (cpu, pc): a step the host finishes
        self.skip: dict[int, int] = {}                     # cpu -> pc not to break at on resume
        self.last_stop = b"S05"
        self.waiting_reply = False                         # gdb resumed us and waits for a stop reply
        self.steps = 0

    # ------------------------------------------------------------ the run function
    def run(self, m: Machine, budget: int) -> int:
        """The run kernel's `run(m, budget)` with gdb in control."""
        self.m = m
        if self.listener is None:
            self._listen()
        if self.conn is None:
            self._accept(block=self.wait and self.steps == 0)
            self.steps += 1
        if self.pending is not None:
            c, pc = self.pending
            self.pending = None
            if int(m.cpu[c, PC]) & 0xFFFFFFFF != pc:       # the host has finished the stepped instruction
                self._stop(c, SIGTRAP)
        if self._stepping():
            return run_stepped(m, budget, self._step)
        why = self.inner(m, budget)
        if self.conn is not None and self.conn.interrupted():
            self._stop(self._stopped_cpu(m), SIGINT)
        return why

    def _stepping(self) -> bool:
        return self.conn is not None and bool(self.breaks or self.watches or self.step_cpu is not None
                                              or self.pending is not None)

    def _machine(self) -> Machine:
        """The machine gdb is served on: `run` sets it before anything can connect."""
        assert self.m is not None
        return self.m

    def _stopped_cpu(self, m: Machine) -> int:
        return int(m.exitrec[X_CPU]) % m.cpu.shape[0]

    def _step(self, m: Machine, c: int, timing: bool) -> tuple[int, int]:
        """One step of CPU c, stopping before a breakpoint or a watched access, and after a single step."""
        st = m.cpu[c]
        pc = int(st[PC]) & 0xFFFFFFFF
        skip = self.skip.pop(c, None) if self.skip else None
        if pc != skip:
            if pc in self.breaks:
                self._stop(c, SIGTRAP)
            elif self.watches:
                host = host_address(m, c, pc, ACC_FETCH)
                hit = self._watch_hit(access_of(int(m.ram32[host >> 2]), m.gpr[c])) if host is not None else None
                if hit is not None:                    # before the access, as a MIPS watch exception
                    kind, addr = hit
                    self._stop(c, SIGTRAP, b"%s:%x;" % ((b"watch", b"rwatch", b"awatch")[kind - 2], addr))
        stepping = self.step_cpu == c
        nexc = int(m.stats[c, S_EXC_BASE:S_EXC_BASE + 32].sum()) if stepping else 0
        status, n = (exec_cpu_timing_nb if timing else exec_cpu_nb)(m, c, 1)
        status, n = int(status), int(n)
        if stepping:
            if status == STOP_EXIT:
                self.pending = (c, pc)                     # the host serves it: stop when it is done
            elif n or int(m.stats[c, S_EXC_BASE:S_EXC_BASE + 32].sum()) != nexc:
                self._stop(c, SIGTRAP)
        self.steps += 1
        if self.steps % POLL_STEPS == 0 and self.conn is not None and self.conn.interrupted():
            self._stop(c, SIGINT)
        if status != STOP_EXIT and not self._stepping():
            m.exitrec[X_REASON] = EXIT_BUDGET               # nothing left to watch: back to the kernel
            m.exitrec[X_CPU] = c
            return STOP_EXIT, n
        return status, n

    def _watch_hit(self, access: tuple[int, int, bool] | None) -> tuple[int, int] | None:
        """(kind, address) of the first watchpoint `access` (addr, size, is_store) touches."""
        if access is None:
            return None
        addr, size, store = access
        for kind, waddr, wlen in self.watches:
            if (kind == 4 or (kind == 2) == store) and overlaps(addr, size, waddr, wlen):
                return kind, max(addr, waddr)
        return None

    # ------------------------------------------------------------ connection
    def _listen(self) -> None:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", self.port))
        s.listen(1)
        self.listener = s
        self.port = s.getsockname()[1]
        how = "waiting for gdb" if self.wait else "listening for gdb"
        self.say(f"gdb: {how} on localhost:{self.port} (gdb-multiarch PROGRAM -ex 'target remote :{self.port}')")

    def _accept(self, block: bool) -> None:
        """Take a gdb that connects (waiting for one when `block`); the machine stops for it."""
        assert self.listener is not None
        self.listener.settimeout(None if block else 0.0)
        try:
            sock, _ = self.listener.accept()
        except (BlockingIOError, socket.timeout):
            return
        sock.setblocking(True)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.conn = PacketConn(sock)
        self.waiting_reply = False
        self._stop(self._stopped_cpu(self._machine()) if self.steps else 0, SIGTRAP)

    def finish(self, status: int | None) -> None:
        """The run is over: tell gdb the program exited with `status` (None: it was killed), hang up."""
        if self.conn is not None and not self.conn.closed:
            self.conn.send(b"W%02x" % (status & 0xFF) if status is not None else b"X09")
            self.conn.close()
        self.conn = None
        if self.listener is not None:
            self.listener.close()
            self.listener = None

    def _detach(self) -> None:
        """gdb has gone: forget its breakpoints and run on at full speed."""
        if self.conn is not None:
            self.conn.close()
        self.conn = None
        self.breaks.clear()
        self.watches.clear()
        self.step_cpu = None
        self.pending = None

    # ------------------------------------------------------------ stopped: serving gdb
    def _stop(self, c: int, sig: int, why: bytes = b"") -> None:
        """Stop the machine with CPU c as the thread that stopped; serve gdb until it resumes us."""
        if self.conn is None:
            return
        self.step_cpu = None
        self.g_cpu = self.stop_cpu = c
        self.last_stop = b"T%02xthread:%x;%s" % (sig, c + 1, why)
        if self.waiting_reply:
            self.conn.send(self.last_stop)
            self.waiting_reply = False
        while self.conn is not None:
            pkt = self.conn.receive()
            if pkt is None:
                self._detach()
                return
            if pkt == INTERRUPT:
                continue
            reply = self._command(pkt)
            if reply is True:                     # resumed
                self.waiting_reply = True
                return
            if self.conn is not None:
                self.conn.send(reply)
                if pkt == b"QStartNoAckMode":
                    self.conn.ack = False
            if pkt[:1] == b"D":
                self._detach()
                return

    def _command(self, pkt: bytes) -> bytes | Literal[True]:
        """The reply to one packet, or True when it resumes the machine."""
        m = self._machine()
        head = pkt[:1]
        try:
            if pkt == b"?":
                return self.last_stop
            if head == b"q" or head == b"Q":
                return self._query(pkt)
            if head == b"H":
                tid = _tid(pkt[2:])
                if tid >= m.cpu.shape[0]:
                    return b"E01"
                if pkt[1:2] == b"g":
                    self.g_cpu = max(tid, 0) if tid >= 0 else self.g_cpu
                else:
                    self.c_cpu = tid
                return b"OK"
            if head == b"T":
                return b"OK" if 0 <= _tid(pkt[1:]) < m.cpu.shape[0] else b"E01"
            if head == b"g":
                return read_g(m, self.g_cpu)
            if head == b"G":
                write_g(m, self.g_cpu, pkt[1:])
                return b"OK"
            if head == b"p":
                n = int(pkt[1:], 16)
                return encode(get_register(m, self.g_cpu, n)) if n < NUM_REGS else b"E01"
            if head == b"P":
                reg, v = pkt[1:].split(b"=")
                value = int.from_bytes(bytes.fromhex(v.decode()), "little")
                return b"OK" if set_register(m, self.g_cpu, int(reg, 16), value) else b"E01"
            if head == b"m":
                addr, n = (int(x, 16) for x in pkt[1:].split(b","))
                data = read_virtual(m, self.g_cpu, addr, min(n, 0x1000))
                return data.hex().encode() if data is not None else b"E14"
            if head in (b"M", b"X"):
                where, data = pkt[1:].split(b":", 1)
                addr, _ = (int(x, 16) for x in where.split(b","))
                raw = bytes.fromhex(data.decode()) if head == b"M" else unescape(data)
                return b"OK" if write_virtual(m, self.g_cpu, addr, raw) else b"E14"
            if head in (b"Z", b"z"):
                return self._point(pkt)
            if head in (b"c", b"s", b"C", b"S"):
                return self._resume(step=head in (b"s", b"S"), cpu=self.c_cpu)
            if pkt.startswith(b"vCont"):
                return self._vcont(pkt)
            if head == b"D":
                return b"OK"
            if head == b"k" or pkt.startswith(b"vKill"):
                self._detach()
                raise StopRun("interrupted", "killed by gdb")
        except (ValueError, IndexError):
            return b"E01"
        return b""                                # not supported

    def _query(self, pkt: bytes) -> bytes:
        m = self._machine()
        n = m.cpu.shape[0]
        if pkt.startswith(b"qSupported"):
            return b"PacketSize=4000;QStartNoAckMode+;vContSupported+"
        if pkt == b"QStartNoAckMode":
            return b"OK"
        if pkt == b"qAttached":
            return b"1"
        if pkt == b"qC":
            return b"QC%x" % (self.g_cpu + 1)
        if pkt == b"qfThreadInfo":
            return b"m" + b",".join(b"%x" % (c + 1) for c in range(n))
        if pkt == b"qsThreadInfo":
            return b"l"
        if pkt.startswith(b"qThreadExtraInfo,"):
            c = _tid(pkt.split(b",")[1])
            if not 0 <= c < n:
                return b"E01"
            st = m.cpu[c]
            state = "halted" if st[HALTED] else "waiting" if st[WAITING] else "running"
            text = f"CPU {c} {state}" + (f", VCPU {int(st[VCPU]) - 1}" if st[VCPU] else "")
            return text.encode().hex().encode()
        if pkt.startswith(b"qRcmd,"):
            text = bytes.fromhex(pkt[6:].decode()).decode(errors="replace")
            return monitor(m, text, self.g_cpu, self.clock_mhz).encode().hex().encode()
        if pkt.startswith(b"qSymbol"):
            return b"OK"
        return b""

    def _point(self, pkt: bytes) -> bytes:
        """Z/z: set or clear a breakpoint (0, 1) or a watchpoint (2 write, 3 read, 4 access)."""
        k, a, n = pkt[1:].split(b";")[0].split(b",")
        kind, addr, length = int(k), int(a, 16), int(n, 16)
        insert = pkt[:1] == b"Z"
        if kind in (0, 1):
            (self.breaks.add if insert else self.breaks.discard)(addr)
        elif kind in (2, 3, 4):
            if insert:
                self.watches[(kind, addr, max(length, 1))] = None
            else:
                self.watches.pop((kind, addr, max(length, 1)), None)
        else:
            return b""
        return b"OK"

    def _resume(self, *, step: bool, cpu: int) -> Literal[True]:
        """Resume: every CPU runs; with `step`, CPU `cpu` (-1/0: the one that stopped) stops after one instruction."""
        m = self._machine()
        if step:
            self.step_cpu = cpu if cpu >= 0 else self.g_cpu
        c = self.stop_cpu                  # it may sit on a breakpoint it reported: not again
        self.skip = {c: int(m.cpu[c, PC]) & 0xFFFFFFFF}
        return True

    def _vcont(self, pkt: bytes) -> bytes | Literal[True]:
        if pkt == b"vCont?":
            return b"vCont;c;C;s;S"
        step = None
        for action in pkt.split(b";")[1:]:
            verb, _, tid = action.partition(b":")
            if verb[:1] in (b"s", b"S"):
                step = _tid(tid) if tid else -1
                break
        return self._resume(step=step is not None, cpu=step if step is not None else -1)


def _tid(text: bytes) -> int:
    """A thread id as a CPU number: -1 for "all" (-1) or "any" (0)."""
    t = int(text, 16) if text and text != b"-1" else 0
    return t - 1 if t > 0 else -1


__all__ = ["DEFAULT_PORT", "GdbStub"]
