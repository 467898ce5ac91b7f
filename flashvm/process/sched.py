"""Threads and processes on the one simulated CPU: saved contexts, the
deterministic round-robin scheduler, blocking and waking, futex queues, and
the run loop that serves the CPU's exits (QEMU's cpu_loop, for many tasks).

Only one thread is on CPU 0 at a time.  A thread off the CPU keeps its
registers, HI/LO, FPU registers and FCSR, the branch state and UserLocal
(`Context`); the LL bit is cleared on every switch, so an SC across a switch
fails as it would after an interrupt.  A switch to a thread of another process
also swaps the machine's page table (`m.ptab`) and flushes the translation
cache.

Scheduling is fixed by the program alone: the runnable threads form a queue;
the head runs until it blocks, exits, or has run `slice` cycles while
another thread exists (then it goes to the back, and blocked threads whose
condition now holds are woken).  A lone thread runs with the caller's full
budget, so the single-thread path costs what it did.
When no thread is runnable, the earliest futex deadline is reached by
advancing the clock; with no deadline either, the run ends with a deadlock
diagnostic naming what each thread waits for.
"""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np

from flashvm.kernels.state import (
    BRANCH_PC, EXIT_BUDGET, EXIT_EXCEPTION, EXIT_HOT_PAGE, EXIT_NAMES, FCSR, HI, INSNS, LLBIT, LO, NPC, P_HOTQ_N, P_HOTQ_PEND,
    PC, X_A0, X_A1, X_A2, X_A3, CP0_Context, Machine, SEL_UserLocal,
)
from flashvm.machine.flash import chunk_hook
from flashvm.process.abi import CLOCK_MONOTONIC, SIGKILL, SIGXCPU, E
from flashvm.process.errors import Blocked, GuestFault, ProcessExit, SyscallError, ThreadExit
from flashvm.process.signals import die

if TYPE_CHECKING:
    from flashvm.process.process import LinuxProcess

TIME_SLICE = 100_000                 # cycles a thread runs while other threads exist
SAVED_SLOTS = np.array([PC, NPC, HI, LO, BRANCH_PC, FCSR])


class Context:
    """The user-visible CPU state of a thread off the CPU."""

    def __init__(self, m: Machine):
        self.slots = m.cpu[0, SAVED_SLOTS]
        self.gpr = m.gpr[0].copy()
        self.fpr = m.fpr[0].copy()
        self.user_local = int(m.cp0[0, CP0_Context, SEL_UserLocal])

    def load(self, m: Machine) -> None:
        m.cpu[0, SAVED_SLOTS] = self.slots
        m.cpu[0, LLBIT] = 0
        m.gpr[0] = self.gpr
        m.fpr[0] = self.fpr
        m.cp0[0, CP0_Context, SEL_UserLocal] = self.user_local

    def finish_syscall(self, pc: int, result: int) -> None:
        """Complete the system call at pc with result (negative: -errno), as the
        dispatcher would have."""
        if result < 0:
            self.gpr[2], self.gpr[7] = -result, 1
        else:
            self.gpr[2], self.gpr[7] = result & 0xFFFFFFFF, 0
        self.slots[0] = (pc + 4) & 0xFFFFFFFF
        self.slots[1] = (pc + 8) & 0xFFFFFFFF


class Thread:
    """One thread: its id, its process, and (while off the CPU) its context."""

    def __init__(self, proc: LinuxProcess, tid: int, ctx: Context | None = None):
        self.proc = proc
        self.tid = tid
        self.ctx = ctx                   # None while on the CPU
        self.clear_tid = 0               # CLONE_CHILD_CLEARTID / set_tid_address
        self.blocked: Blocked | None = None
        self.syscall_pc = 0              # the syscall instruction it blocked in

    def describe(self) -> str:
        b = self.blocked
        return f"tid {self.tid} (pid {self.proc.pid}) {b.what if b else 'runnable'}"

    def waits_for(self) -> Blocked:
        """What this thread waits for; only for a thread in the scheduler's `waiting` list."""
        assert self.blocked is not None, f"tid {self.tid} is not blocked"
        return self.blocked

    def saved(self) -> Context:
        """The context of this thread, which is off the CPU."""
        assert self.ctx is not None, f"tid {self.tid} is on the CPU"
        return self.ctx


class Scheduler:
    """Every thread of every process of one simulation, and the CPU they share."""

    def __init__(self, root: LinuxProcess):
        self.root = root
        self.pages = root.mem.pages
        self.procs: dict[int, LinuxProcess] = {root.pid: root}
        main = Thread(root, root.pid)
        self.current = main
        self.runnable: list[Thread] = [main]   # the head is on the CPU
        self.waiting: list[Thread] = []        # blocked, in the order they blocked
        self.next_id = root.pid + 1
        self.slice = TIME_SLICE
        self.time_offset_ns = 0                # the deterministic clocks' advance by sleeps
        self.switched_at = 0                   # instruction count at the last switch

    @property
    def m(self) -> Machine:
        return self.pages.m

    def new_id(self) -> int:
        i = self.next_id
        self.next_id += 1
        return i

    def threads_of(self, p: LinuxProcess) -> list[Thread]:
        return [t for t in self.runnable + self.waiting if t.proc is p]

    # ----------------------------------------------------------- creating and ending
    def spawn(self, proc: LinuxProcess, tid: int, ctx: Context, first: bool = False) -> Thread:
        """Make a new thread runnable (at the back of the queue; right after the
        current thread with `first`)."""
        t = Thread(proc, tid, ctx)
        self.procs.setdefault(proc.pid, proc)
        if first:
            self.runnable.insert(1, t)
        else:
            self.runnable.append(t)
        return t

    def end_thread(self, t: Thread) -> None:
        """Remove t (exited); clear and wake its clear_child_tid word, as Linux's mm_release."""
        if t.clear_tid:
            try:
                t.proc.write_u32(t.clear_tid, 0)
                self.futex_wake(self.futex_key(t.proc, t.clear_tid), 1)
            except (GuestFault, SyscallError):   # an unmapped word is simply skipped
                pass
        self._forget(t)

    def _forget(self, t: Thread) -> None:
        if t in self.runnable:
            self.runnable.remove(t)
        if t in self.waiting:
            self.waiting.remove(t)

    def end_process(self, p: LinuxProcess, e: ProcessExit) -> None:
        """A process other than the first ended: drop its threads, release its
        memory and files, and leave it a zombie for its parent's wait4."""
        for t in self.threads_of(p):
            self._forget(t)
        p.exited = e
        if e.message:
            p.diag_line(e.message)
        p.close_all()
        p.mem.release()
        for c in p.children:
            c.parent = None
        parent = p.parent
        if parent is not None and parent.exited is None:
            parent.child_exited(p)

    # ----------------------------------------------------------- switching
    def switch_to(self, t: Thread) -> None:
        cur = self.current
        if t is cur and t.ctx is None:
            return
        m = self.m
        insns = int(m.cpu[0, INSNS])
        cur.proc.cpu_insns += insns - self.switched_at
        self.switched_at = insns
        if cur is not t and cur.ctx is None and (cur in self.runnable or cur in self.waiting):
            cur.ctx = Context(m)
        if t.proc.mem.ptab is not m.ptab:
            self.pages.m = m = m._replace(ptab=t.proc.mem.ptab)
            m.tc_tag.fill(-1)
        t.saved().load(m)
        t.ctx = None
        self.current = t

    def block(self, t: Thread, b: Blocked) -> None:
        t.blocked = b
        t.syscall_pc = t.proc.syscall_pc
        self.runnable.remove(t)
        self.waiting.append(t)
        if t is self.current:
            t.ctx = Context(self.m)

    def wake(self, t: Thread, result: int | None = None) -> None:
        """Make t runnable; a futex waiter's call completes with result."""
        if result is not None:
            t.saved().finish_syscall(t.syscall_pc, result)
        t.blocked = None
        self.waiting.remove(t)
        self.runnable.append(t)

    def pick(self) -> Thread:
        """The next thread to run (waking whom can be woken); the clock jumps to
        the earliest deadline when nobody can run; deadlock ends the run."""
        while True:
            for t in list(self.waiting):
                b = t.waits_for()
                if b.done:
                    self.wake(t, 0)
                elif b.ready is not None and b.ready():
                    self.wake(t)
                elif b.deadline is not None and t.proc.now_ns(CLOCK_MONOTONIC) >= b.deadline:
                    self.wake(t, -E.ETIMEDOUT)
            if self.runnable:
                return self.runnable[0]
            timed = [(deadline, t) for t in self.waiting if (deadline := t.waits_for().deadline) is not None]
            if not timed:
                waits = "; ".join(t.describe() for t in self.waiting)
                die(self.root, SIGKILL, f": deadlock: every thread waits and none can wake it ({waits})")
            deadline, t = min(timed, key=lambda dt: dt[0])
            ahead = deadline - t.proc.now_ns(CLOCK_MONOTONIC)
            if t.proc.clock == "host":
                time.sleep(max(ahead, 0) / 1e9)
            else:
                self.time_offset_ns += max(ahead, 0)

    # ----------------------------------------------------------- futexes
    @staticmethod
    def futex_key(p: LinuxProcess, va: int) -> int:
        """The physical address of the futex word (shared by threads, and by processes sharing the page)."""
        return p.mem.phys_addr(va)

    def futex_wake(self, key: int, n: int, bitset: int = 0xFFFFFFFF) -> int:
        woken = 0
        for t in list(self.waiting):
            if woken >= n:
                break
            b = t.waits_for()
            if b.futex == key and b.bitset & bitset:
                self.wake(t, 0)
                woken += 1
        return woken

    def futex_requeue(self, key: int, n_wake: int, key2: int, n_move: int) -> int:
        done = self.futex_wake(key, n_wake)
        moved = 0
        for t in self.waiting:
            if moved >= n_move:
                break
            b = t.waits_for()
            if b.futex == key:
                b.futex = key2
                moved += 1
        return done + moved

    # ----------------------------------------------------------- the run loop
    def run(self, budget_per_slice: int, max_insns: int | None,
            run_fn: Callable[[Machine, int], int]) -> None:
        """Run every thread until the first process ends (ProcessExit of the root)."""
        root, pages, runnable, waiting = self.root, self.pages, self.runnable, self.waiting
        while True:
            # here the whole run is in the objects, none in this loop's locals: a checkpoint
            # taken here resumes exactly (flashvm/session/checkpointing.py)
            hook = chunk_hook.get()
            if hook is not None:
                hook(root)
            t = self.current
            p = t.proc
            m = pages.m
            budget = budget_per_slice if len(runnable) == 1 and not waiting else \
                min(budget_per_slice, self.slice)
            if max_insns is not None:
                left = max_insns - root.insns
                if left <= 0:
                    die(root, SIGXCPU, f": instruction limit {max_insns} reached at "
                                       f"pc=0x{int(m.cpu[0, PC]):08x} "
                                       f"<{p.image.symbolize(int(m.cpu[0, PC]))}>")
                budget = min(budget, left)
            reason = int(run_fn(m, budget))
            try:
                if reason == EXIT_BUDGET:
                    if len(runnable) > 1 or waiting:
                        runnable.append(runnable.pop(0))
                        self.switch_to(self.pick())
                    continue
                if reason == EXIT_EXCEPTION:
                    x = m.exitrec
                    p.handle_exception(int(x[X_A0]), int(x[X_A1]) & 0xFFFFFFFF,
                                       int(x[X_A2]) & 0xFFFFFFFF, int(x[X_A3]))
                    continue
                if reason == EXIT_HOT_PAGE:
                    # MAGIC's hot-page events (timing mode, hot_page_threshold > 0) have
                    # no consumer in process mode: no OS migrates pages here.  Drop them
                    # and go on; the per-page miss counters and the exit count stay.
                    m.params[P_HOTQ_N] = 0
                    m.params[P_HOTQ_PEND] = 0
                    continue
                name = EXIT_NAMES[reason] if 0 <= reason < len(EXIT_NAMES) else str(reason)
                raise RuntimeError(f"process mode: unexpected exit reason {name} from the CPU "
                                   f"at pc=0x{int(m.cpu[0, PC]):08x}")
            except Blocked as b:
                self.block(t, b)
            except ThreadExit:
                self.end_thread(t)
            except ProcessExit as e:
                victim = e.process or p
                if victim is root:
                    raise
                self.end_process(victim, e)
            self.switch_to(self.pick())
