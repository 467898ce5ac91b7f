"""Disco's dynamic NUMA memory management (paper §4.2.4, Fig. 8, Table 3): page migration and
replication driven by FLASH's per-page, per-node MAGIC miss counters.

MAGIC raises a hot-page event when the misses of one node to one machine page reach
`hot_threshold` (flashvm/kernels/cache.py); the monitor then decides (`NumaState.decide`):

* a page whose remote misses come mostly (`migrate_share`) from one node, which misses it at
  least as often as its home node does, migrates there;
* a page read by several nodes (each with `reader_share` of its misses) is replicated read-only on
  each of them: the VM's translations on that node point at the local copy (`m.replica`, used by
  the monitor's TLB refill); the copies are write-protected (flashvm/disco/wprot.py), and a write to
  any of them collapses them back to one page before the write proceeds, so it is seen everywhere;
* a page moved `freeze_moves` times within `move_window_ms` of its first move is frozen for `freeze_ms`; a page
  collapsed is not replicated again for `collapse_ms`, doubled at each further collapse; a page
  with `written_lines` lines modified in some cache (being written) is not replicated;
* MAGIC's counters are halved every `decay_ms`; at most `max_moves` moves per decay period,
  at most `max_replica_pages` machine pages held by replicas.

Each move copies the page through the cache model of the CPU that took the event, updates pmap and
memmap, drops exactly the translations the back-map names (the VM's L2TLB entries, the real TLB
entries of the CPUs running its VCPUs: an IPI for each other CPU), and charges the time to the
CPUs concerned as monitor time; the policy's cycles are counted apart (`NumaState.stats`).

MAGIC's events come in batches (`hot_batch` per kernel exit); one kernel (`triage_nb`,
flashvm/kernels/numapolicy.py) decides them in order and deals with those that move nothing,
stopping at each move, made here; each event's work is done by the first CPU of its node.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, MutableMapping
from dataclasses import dataclass, fields
from typing import TYPE_CHECKING, NamedTuple

import numpy as np

from flashvm.disco.wprot import WriteFault
from flashvm.kernels import numapolicy as K
from flashvm.kernels import state as S
from flashvm.kernels.cache import dma_coherence_nb
from flashvm.kernels.pagecopy import copy_page_nb, modified_lines_nb
from flashvm.machine.config import MachineConfig

if TYPE_CHECKING:
    from flashvm.disco.monitor import Disco
    from flashvm.disco.vm import VirtualMachine

MODES = ("off", "migrate", "replicate", "both")
OWNER = "numa"                   # the write-protection owner of replicated pages
SHARE_OWNER = "share"            # flashvm/disco/share.py's (pages shared between VMs)


def default_numa_mode(cfg: MachineConfig) -> str:
    """Both on a NUMA machine (several nodes, memory not interleaved), off on UMA."""
    return "both" if cfg.nodes > 1 and not cfg.uma and not cfg.interleave else "off"


@dataclass
class NumaConfig:
    """The policy's knobs (docs/disco.md, "NUMA memory management")."""
    mode: str = "both"                 # off | migrate | replicate | both
    hot_threshold: int = 32            # MAGIC misses of one node to one page that make it hot
    decay_ms: float = 10.0             # MAGIC's counters are halved this often (simulated time)
    migrate_share: float = 0.7         # the hot node's share of the remote misses that moves the page there
    reader_share: float = 0.15         # a node with this share of the misses reads the page
    move_window_ms: float = 20.0       # moves of one page are counted over this window ...
    freeze_moves: int = 3              # ... and this many freeze it
    freeze_ms: float = 100.0           # for this long
    collapse_ms: float = 100.0         # no replication after a collapse for this long (doubling each time)
    max_moves: int = 2048              # moves per decay period
    max_replica_pages: int = 8192      # machine pages held by replicas (32 MB)
    written_lines: int = 1             # lines held modified in a cache that make a page written (not replicated)
    decide_cycles: int = 200           # the monitor's work for one hot-page event
    move_cycles: int = 1000            # ... for one move (allocation, pmap, memmap, bookkeeping)
    ipi_cycles: int = 300              # a shootdown IPI: the target CPU's interrupt and TLB work
    hot_batch: int = 32                # hot-page events the run kernel gathers before it exits for them

    def validate(self) -> NumaConfig:
        if self.mode not in MODES:
            raise ValueError(f"NUMA mode {self.mode!r}: one of {', '.join(MODES)}")
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name != "mode" and (isinstance(v, bool) or v < 0):
                raise ValueError(f"NUMA {f.name} = {v!r}: must be >= 0")
        if self.hot_batch > S.HOTQ_LEN // 2:
            raise ValueError(f"NUMA hot_batch = {self.hot_batch}: at most {S.HOTQ_LEN // 2} "
                             f"(the kernel's queue holds {S.HOTQ_LEN})")
        return self

    @property
    def migrates(self) -> bool:
        return self.mode in ("migrate", "both")

    @property
    def replicates(self) -> bool:
        return self.mode in ("replicate", "both")


KINDS = ("none", "migrate", "replicate")


class Decision(NamedTuple):
    """What to do with a hot page: kind is "none", "migrate" or "replicate"; nodes: where to;
    why: a word for the counters and tests."""
    kind: str
    nodes: tuple[int, ...] = ()
    why: str = ""


STAT_NAMES = K.COUNTER_NAMES[:-1]       # the counters in the results (the last is the period's moves)


class Counters(MutableMapping[str, int]):
    """The policy's counters by name, kept in one int64 array the decision kernels update."""

    def __init__(self) -> None:
        self.a = np.zeros(K.NC, np.int64)
        self._index = {n: i for i, n in enumerate(K.COUNTER_NAMES)}

    def __getitem__(self, name: str) -> int:
        return int(self.a[self._index[name]])

    def __setitem__(self, name: str, value: int) -> None:
        self.a[self._index[name]] = value

    def __delitem__(self, name: str) -> None:
        raise TypeError("the policy's counters are fixed")

    def __iter__(self) -> Iterator[str]:
        return iter(STAT_NAMES)

    def __len__(self) -> int:
        return len(STAT_NAMES)


class NumaState:
    """The policy's memory of pages (per VM and guest page) and its decisions; plain arrays, no
    machine: unit tests build miss patterns by hand."""

    def __init__(self, cfg: NumaConfig, nvm: int, vm_pages: int, nnodes: int, cycles_per_ms: int):
        self.cfg = cfg.validate()
        self.nnodes = nnodes
        self.cpms = cycles_per_ms
        self.moves = np.zeros((nvm, vm_pages), np.int32)          # moves in the page's current move window
        self.window_start = np.zeros((nvm, vm_pages), np.int64)   # cycles: the first move of that window
        self.frozen_until = np.zeros((nvm, vm_pages), np.int64)   # cycles
        self.no_repl_until = np.zeros((nvm, vm_pages), np.int64)  # cycles
        self.collapsed = np.zeros((nvm, vm_pages), np.int32)      # collapses so far
        self.stats = Counters()
        self.next_decay = self.ms(cfg.decay_ms)
        # the knobs as the decision kernels read them (flashvm/kernels/numapolicy.py)
        self.icfg = np.zeros(K.NI, np.int64)
        self.icfg[[K.I_OFF, K.I_MIGRATES, K.I_REPLICATES, K.I_MIGRATE_ONLY]] = (
            cfg.mode == "off", cfg.migrates, cfg.replicates, cfg.mode == "migrate")
        self.icfg[[K.I_MAX_MOVES, K.I_WRITTEN_LINES, K.I_DECIDE_CYCLES]] = (
            cfg.max_moves, cfg.written_lines, cfg.decide_cycles)
        self.icfg[[K.I_NUMA_TAG, K.I_SHARE_TAG, K.I_NNODES]] = (-1, -1, nnodes)
        self.fcfg = np.array([cfg.migrate_share, cfg.reader_share], np.float64)

    @property
    def period_moves(self) -> int:
        return int(self.stats.a[K.C_PERIOD_MOVES])

    def ms(self, x: float) -> int:
        return int(x * self.cpms)

    def decide(self, vm: int, gpage: int, counts: np.ndarray | Callable[[], np.ndarray], home: int,
               hot_node: int, now: int, *, copies: tuple[int, ...] = (),
               written: bool | Callable[[], bool] = False) -> Decision:
        """The decision for guest page `gpage` of VM `vm`, held on node `home`, after MAGIC counted
        `counts[node]` misses to it (`hot_node` just reached the threshold).  `copies`: nodes that
        already have a replica; `written`: its lines are held exclusive (being written).  `counts`
        and `written` may be functions, called only when the decision needs them.  The decision is
        the kernel's (`decide_nb`), the one a batch of events gets."""
        cs = np.asarray(counts() if callable(counts) else counts, np.int64)
        mask = sum(1 << n for n in set(copies))
        args = (self.icfg, self.fcfg, self.stats.a, int(self.frozen_until[vm, gpage]),
                int(self.no_repl_until[vm, gpage]), now, home, hot_node, mask, cs)
        kind, nodes, why = K.decide_nb(*args, 2 if callable(written) else int(bool(written)))
        if kind == K.K_NEED_WRITTEN:
            kind, nodes, why = K.decide_nb(*args, int(bool(written())))   # type: ignore[operator]
        return Decision(KINDS[kind], tuple(n for n in range(64) if (nodes >> n) & 1), K.WHY[why])

    def moved(self, vm: int, gpage: int, now: int) -> None:
        """A migration or replication of the page happened: count it, freeze it if it keeps moving."""
        self.stats.a[K.C_PERIOD_MOVES] += 1
        # each page's window opens at its first move: `freeze_moves` moves within `move_window_ms`
        # of it freeze the page, whenever they come (a window common to all pages would let a page
        # that moves every few ms around the window's end escape)
        if now - self.window_start[vm, gpage] > self.ms(self.cfg.move_window_ms) or not self.moves[vm, gpage]:
            self.window_start[vm, gpage] = now
            self.moves[vm, gpage] = 0
        self.moves[vm, gpage] += 1
        if self.moves[vm, gpage] >= self.cfg.freeze_moves:
            self.frozen_until[vm, gpage] = now + self.ms(self.cfg.freeze_ms)
            self.moves[vm, gpage] = 0
            self.stats["frozen"] += 1

    def collapse(self, vm: int, gpage: int, now: int) -> None:
        """The page's replicas were collapsed by a write: no replication for a while, longer each time."""
        k = min(int(self.collapsed[vm, gpage]), 20)
        self.collapsed[vm, gpage] += 1
        self.no_repl_until[vm, gpage] = now + (self.ms(self.cfg.collapse_ms) << k)
        self.stats["collapses"] += 1

    def tick(self, now: int) -> bool:
        """Periodic work at simulated time `now`: True when MAGIC's counters are due to be halved."""
        decay = False
        if now >= self.next_decay:
            self.stats.a[K.C_PERIOD_MOVES] = 0
            self.next_decay = now + max(1, self.ms(self.cfg.decay_ms))
            decay = True
        return decay


class NumaPolicy:
    """The policy at work on a Disco monitor: hot-page events in, moves out."""

    def __init__(self, disco: Disco, cfg: NumaConfig):
        self.d = disco
        m = disco.m
        self.m = m
        fc = disco.cfg
        self.state = NumaState(cfg, len(disco.vms), m.pmap.shape[1], fc.nodes, int(fc.clock_mhz * 1000))
        self.cfg = self.state.cfg
        self.lines = 4096 >> int(m.params[S.P_LSHIFT]) if m.params[S.P_TIMING] else 0
        self.master_of = np.full(fc.ram_bytes >> 12, -1, np.int64)     # replica page -> its master
        # page colors of the L2 (pages per way); free machine pages by node and color
        p = m.params
        self.colors = max(1, (int(p[S.P_L2_SETS]) << int(p[S.P_LSHIFT])) >> 12) if p[S.P_TIMING] else 1
        self.free: list[dict[int, list[int]]] = [{} for _ in range(fc.nodes)]
        self.home_shift, self.nnodes = int(p[S.P_HOME_SHIFT]), int(p[S.P_NNODES])
        self.vm_cpu_nodes = [m.cpu_node[np.array(vm.cpus, np.int64)].copy() for vm in disco.vms]
        # the CPU that handles a node's hot-page events (MAGIC interrupts the node's first CPU): the
        # same CPU whenever the event is taken, so a batch of events is charged and copied as one by one
        self.node_cpu = np.full(fc.nodes, -1, np.int64)
        # moves refused because the target node had no free page (of the page's color, or at all):
        # a page left remote raises its event again (docs/experiments.md, full fig8's engineering)
        self.refused = 0
        for cpu in range(m.cpu_node.shape[0] - 1, -1, -1):
            self.node_cpu[int(m.cpu_node[cpu])] = cpu
        self.active = self.cfg.mode != "off" and bool(m.params[S.P_TIMING])
        if self.active:
            m.params[S.P_HOT_THRESHOLD] = self.cfg.hot_threshold
            m.params[S.P_HOT_REMOTE] = 1                # local misses never move a page: no event for them
            m.params[S.P_HOTQ_BATCH] = self.cfg.hot_batch   # one kernel exit per batch of events
        disco.write_protection.register(OWNER, self.on_write)
        self._out = np.zeros(K.NO, np.int64)                # a move the triage kernel asks for
        ncpu = m.cpu.shape[0]                               # the shootdown kernel's scratch, per VM
        self._shoot = [(np.zeros(len(vm.vcpus), np.int64), np.zeros(len(vm.vcpus), np.bool_),
                        np.zeros(1 + ncpu, np.int64)) for vm in disco.vms]
        self._cs = np.zeros(fc.nodes, np.int64)             # its scratch: misses per node
        self.state.icfg[K.I_HOME_SHIFT] = self.home_shift
        self.state.icfg[K.I_NNODES] = max(1, self.nnodes)

    # ------------------------------------------------------------ helpers
    def node_of(self, mp: int) -> int:
        return ((mp << 12) >> self.home_shift) % self.nnodes

    def _now(self) -> int:
        return int(self.m.params[S.P_ROUND_START])

    def _charge(self, c: int, cycles: int, what: str) -> None:
        """Monitor time on CPU c (kernel mode), counted under `what` too."""
        if c < 0 or cycles <= 0:
            return
        self.m.cpu[c, S.CYCLES] += cycles
        self.m.stats[c, S.S_CYC_BASE] += cycles
        self.state.stats[what] += cycles

    def _new_page(self, node: int, vm: int, color: int) -> int | None:
        """A free machine page on `node` of the cache color `color` (the same L2 sets as the page it
        replaces or copies: a moved page must not pile up on a few colors and thrash the 2-way L2).
        Pages skipped to find it stay free for later moves.  None (a move refused, and counted) when
        the node has none."""
        mp = self._free_page_on(node, vm, color)
        if mp is None:
            self.refused += 1
        return mp

    def _free_page_on(self, node: int, vm: int, color: int) -> int | None:
        free = self.free[node]
        if free.get(color):
            return free[color].pop()
        d = self.d
        for _ in range(self.colors):
            try:
                mp = int(d._allocate(4096, node, vm)[0])
            except Exception:                           # the machine is full: no move
                return None
            n = self.node_of(mp)
            if n == node and mp % self.colors == color:
                return mp
            self.free[n].setdefault(mp % self.colors, []).append(mp)
            if n != node:
                return None                             # the node is full
        return None

    def _free_page(self, mp: int) -> None:
        self.d.memmap[mp] = -1
        self.free[self.node_of(mp)].setdefault(mp % self.colors, []).append(mp)
        self.m.magic[mp, :] = 0
        dma_coherence_nb(self.m, mp << 12, 4096)

    def _copy(self, c: int, src: int, dst: int) -> None:
        """Copy machine page src to dst; CPU c does it, through its caches."""
        self._charge(c, int(copy_page_nb(self.m, c, src, dst)), "copy_cycles")

    def drop_translations(self, vm: VirtualMachine, mpages: set[int], nodes: set[int] | None, c: int) -> int:
        """Drop exactly the monitor's translations of `vm` that map one of `mpages` (the back-map:
        its VCPUs' L2TLB entries, the real TLB entries of the CPUs running them), only for VCPUs on
        `nodes` (None: all).  CPU c does it; every other CPU that loses an entry takes an IPI.
        Returns the real TLB entries dropped."""
        # one kernel: the VCPUs concerned, the drop, the IPIs and their counters (numapolicy.py)
        mask = -1 if nodes is None else sum(1 << n for n in nodes)
        pages = np.array(sorted(mpages), np.int64)
        return int(K.shootdown_nb(self.m, vm.vcpus[0], np.array(self.d.running, np.int64), self.vm_cpu_nodes[vm.index],
                                  mask, pages, c, self.cfg.ipi_cycles, self.state.stats.a, *self._shoot[vm.index]))

    # ------------------------------------------------------------ events
    def tick(self) -> None:
        """Between chunks: the counters' decay and the move window."""
        if self.active and self.state.tick(self._now()):
            self.d.fm.magic_decay(1)

    def on_hot_page(self, page: int, node: int, count: int) -> None:
        """One hot-page event (a batch of one)."""
        self.on_hot_batch(np.array([[page, node, count]], np.int64))

    def on_hot_batch(self, events: np.ndarray) -> None:
        """MAGIC's hot-page events (rows page, node, count), in the order MAGIC raised them.  The
        kernel (`triage_nb`) decides event after event and deals with those that move nothing; it
        stops at each one that needs a move, made here, and goes on with the next.  Each event's
        work is charged to the first CPU of the node that missed (the CPU MAGIC interrupts): the same
        CPU however many events a batch holds."""
        if not self.active or len(events) == 0:
            return
        d = self.d
        m = self.m
        st = self.state
        wp = d.write_protection
        st.icfg[K.I_NUMA_TAG] = wp.tag(OWNER)
        st.icfg[K.I_SHARE_TAG] = wp.tag(SHARE_OWNER) if d.share else -1
        done = np.array([vm.done for vm in d.vms], np.bool_)
        ev = np.ascontiguousarray(events, np.int64)
        out = self._out
        i = 0
        while True:
            i = int(K.triage_nb(m, ev, i, d.memmap, self.master_of, done, self.node_cpu, st.icfg, st.fcfg,
                                st.stats.a, st.frozen_until, st.no_repl_until, self._cs, out))
            if i >= len(ev):
                return
            kind, vmi, g, master, c, nodes, shared = (int(x) for x in out)
            target = tuple(n for n in range(self.nnodes) if (nodes >> n) & 1)
            if shared:
                moved = self.migrate_shared(master, target[0], c)
            elif kind == K.K_MIGRATE:
                moved = self.migrate(d.vms[vmi], g, target[0], c)
            else:
                moved = self.replicate(d.vms[vmi], g, target, c) > 0
            if not moved:
                m.magic[ev[i, 0], ev[i, 1]] = 0          # as the kernel does for an event that moves nothing
            i += 1

    def _written(self, mp: int) -> bool:
        """The page is being written: `written_lines` of its lines are held modified in a cache."""
        most = self.cfg.written_lines
        return most == 0 or int(modified_lines_nb(self.m, mp, most)) >= most

    # ------------------------------------------------------------ moves
    def migrate(self, vm: VirtualMachine, g: int, node: int, c: int) -> bool:
        d = self.d
        m = self.m
        old = int(m.pmap[vm.index, g])
        new = self._new_page(node, vm.index, old % self.colors)
        if new is None:
            return False
        self._charge(c, self.cfg.move_cycles, "policy_cycles")
        self._copy(c, old, new)
        self.drop_translations(vm, {old}, None, c)
        m.pmap[vm.index, g] = new
        d.memmap[new] = (vm.index << 20) | g
        d.footprint.remap(vm.index, g, old, new)
        self._free_page(old)
        m.magic[new, :] = 0
        self.state.stats["migrations"] += 1
        d.migrations += 1
        self.state.moved(vm.index, g, self._now())
        return True

    def migrate_shared(self, old: int, node: int, c: int) -> bool:
        """Migrate machine page `old`, which several VMs share read-only (flashvm/disco/share.py),
        to `node`: one copy there, every mapper re-pointed, each mapping VM's translations of the
        old page dropped."""
        d = self.d
        m = self.m
        first = int(d.memmap[old])
        new = self._new_page(node, first >> 20, old % self.colors)
        if new is None:
            return False
        self._charge(c, self.cfg.move_cycles, "policy_cycles")
        self._copy(c, old, new)
        mappers = d.move_shared(old, new)
        for vmi in sorted({v for v, _ in mappers}):
            self.drop_translations(d.vms[vmi], {old}, None, c)
        self._free_page(old)
        m.magic[new, :] = 0
        self.state.stats["migrations"] += 1
        self.state.stats["shared_migrations"] += 1
        d.migrations += 1
        self.state.moved(first >> 20, first & 0xFFFFF, self._now())
        return True

    def replicate(self, vm: VirtualMachine, g: int, nodes: tuple[int, ...], c: int) -> int:
        d = self.d
        m = self.m
        st = self.state
        master = int(m.pmap[vm.index, g])
        made: set[int] = set()
        for n in nodes:
            if m.replica[master, n] >= 0 or n == self.node_of(master):
                continue
            if st.stats["replica_pages"] >= self.cfg.max_replica_pages:
                st.stats["limit_skips"] += 1
                break
            new = self._new_page(n, vm.index, master % self.colors)
            if new is None:
                continue
            if not made and not d.write_protection.is_protected(master):
                d.write_protection.protect(master, OWNER)     # before the copy: no store may slip in
            self._charge(c, self.cfg.move_cycles, "policy_cycles")
            self._copy(c, master, new)
            d.write_protection.protect(new, OWNER)
            m.replica[master, n] = new
            self.master_of[new] = master
            d.memmap[new] = (vm.index << 20) | g
            m.magic[new, :] = 0
            made.add(n)
            st.stats["replications"] += 1
            st.stats["replica_pages"] += 1
        if not made:
            return 0
        st.stats["replica_pages_peak"] = max(st.stats["replica_pages_peak"], st.stats["replica_pages"])
        m.magic[master, :] = 0
        self.drop_translations(vm, {master}, made, c)     # readers there refill onto their copy
        st.moved(vm.index, g, self._now())
        return len(made)

    def on_write(self, f: WriteFault) -> None:
        """A write to a replicated page: collapse to one copy (the writer's local one if it has one)."""
        d = self.d
        m = self.m
        st = self.state
        vm, g, master = f.vm, f.gpage, f.mpage
        c = f.cpu if f.cpu >= 0 else int(d.fm.current_cpu)
        copies = {int(m.replica[master, n]) for n in range(st.nnodes) if m.replica[master, n] >= 0}
        keep = master
        if f.cpu >= 0:
            local = int(m.replica[master, int(m.cpu_node[f.cpu])])
            if local >= 0:
                keep = local
        self._charge(c, self.cfg.move_cycles, "policy_cycles")
        self.drop_translations(vm, copies | {master}, None, c)
        m.replica[master, :] = -1
        for p in copies | {master}:
            d.write_protection.unprotect(p)
            self.master_of[p] = -1
            if p != keep:
                self._free_page(p)
        st.stats["replica_pages"] -= len(copies)
        d.footprint.remap(vm.index, g, int(m.pmap[vm.index, g]), keep)
        m.pmap[vm.index, g] = keep
        d.memmap[keep] = (vm.index << 20) | g
        m.magic[keep, :] = 0
        st.collapse(vm.index, g, self._now())

    # ------------------------------------------------------------ results
    def summary(self) -> dict[str, int | float | str]:
        """The counters for the results (/disco/numa) and the summary line."""
        m = self.m
        local = int(m.stats[:, S.S_MISS_LOCAL].sum())
        remote = int(m.stats[:, S.S_MISS_REMOTE].sum()) + int(m.stats[:, S.S_MISS_DIRTY].sum())
        out: dict[str, int | float | str] = {"mode": self.cfg.mode if self.active else "off",
                                             "configured_mode": self.cfg.mode}
        out.update(self.state.stats)
        out["local_miss_share"] = local / (local + remote) if local + remote else 0.0
        out["frozen_pages"] = int((self.state.frozen_until > self._now()).sum())
        out["moves_refused"] = self.refused
        out["monitor_cycles"] = int(self.state.stats["policy_cycles"] + self.state.stats["copy_cycles"]
                                    + self.state.stats["shootdown_cycles"])
        return out


__all__ = ["MODES", "Decision", "NumaConfig", "NumaPolicy", "NumaState", "default_numa_mode"]
