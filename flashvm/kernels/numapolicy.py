"""Disco's NUMA policy decisions inside the JIT (flashvm/disco/numa.py): the decision for one hot
page (`decide_nb`, shared by the single-page API and the batch), and the triage of a batch of
MAGIC's hot-page events (`triage_nb`): the events that end in no move are dealt with here, in order,
and the kernel stops at the first one that needs a move, which the monitor makes with its own
kernels (pagecopy.py, pageprot.py) before it resumes the triage at the next event.

The policy's knobs come in two vectors (int and float, indices I_* and F_*), its counters in one
int64 vector (C_*: NumaState's statistics and the move count of the current period)."""
from flashvm.kernels.dispatch import njit

from flashvm.kernels.pagecopy import drop_translations_nb, modified_lines_nb
from flashvm.kernels.state import CYCLES, P_ROUND_START, S_CYC_BASE

# the int knobs
I_OFF, I_MIGRATES, I_REPLICATES, I_MIGRATE_ONLY, I_MAX_MOVES, I_WRITTEN_LINES, I_DECIDE_CYCLES = range(7)
I_NUMA_TAG, I_SHARE_TAG, I_HOME_SHIFT, I_NNODES = range(7, 11)
NI = 11
# the float knobs
F_MIGRATE_SHARE, F_READER_SHARE = range(2)
NF = 2

# the counters (NumaState.STAT_NAMES, in that order, then the period's moves)
COUNTER_NAMES = ("events", "migrations", "shared_migrations", "replications", "collapses", "frozen", "frozen_skips",
                 "decisions_none", "limit_skips", "policy_cycles", "copy_cycles", "shootdown_cycles", "ipis",
                 "tlb_entries_dropped", "l2tlb_entries_dropped", "replica_pages", "replica_pages_peak",
                 "period_moves")
C_EVENTS, C_FROZEN_SKIPS, C_DECISIONS_NONE, C_LIMIT_SKIPS, C_POLICY_CYCLES, C_PERIOD_MOVES = (
    COUNTER_NAMES.index(n) for n in ("events", "frozen_skips", "decisions_none", "limit_skips", "policy_cycles",
                                     "period_moves"))
C_SHOOTDOWN_CYCLES, C_IPIS, C_TLB_DROPPED, C_L2TLB_DROPPED = (
    COUNTER_NAMES.index(n) for n in ("shootdown_cycles", "ipis", "tlb_entries_dropped", "l2tlb_entries_dropped"))
NC = len(COUNTER_NAMES)

# decisions: kinds, and why (WHY[code] is the word NumaState.decide gives)
K_NONE, K_MIGRATE, K_REPLICATE, K_NEED_WRITTEN = range(4)
WHY = ("", "off", "frozen", "limit", "local", "reader", "replicated", "one node", "readers", "most", "shared")
W_OFF, W_FROZEN, W_LIMIT, W_LOCAL, W_READER, W_REPLICATED, W_ONE_NODE, W_READERS, W_MOST, W_SHARED = range(1, 11)

# what triage_nb hands back for a move (out[...])
O_KIND, O_VM, O_GPAGE, O_MASTER, O_CPU, O_NODES, O_SHARED = range(7)
NO = 7


@njit(cache=True, _nrt=False)
def decide_nb(icfg, fcfg, ctr, frozen_until, no_repl_until, now, home, hot, copies, cs, written):
    """The decision for a hot page (NumaState.decide): its freeze and no-replication times,
    `home` its node, `hot` the node that reached the threshold, `copies` a bit set of the nodes
    holding a replica, cs[node] the misses of each node to all its copies; `written` 0 or 1, or 2
    when not known yet: then the kind is K_NEED_WRITTEN if the decision needs it (ask again with it).
    Returns (kind, bit set of target nodes, why)."""
    if icfg[I_OFF]:
        return K_NONE, 0, W_OFF
    if now < frozen_until:
        ctr[C_FROZEN_SKIPS] += 1
        return K_NONE, 0, W_FROZEN
    if ctr[C_PERIOD_MOVES] >= icfg[I_MAX_MOVES]:
        ctr[C_LIMIT_SKIPS] += 1
        return K_NONE, 0, W_LIMIT
    if hot == home or (copies >> hot) & 1:
        return K_NONE, 0, W_LOCAL
    total = 0
    for k in cs:
        total += k
    h = cs[hot]
    if copies:                                       # replicated: one more reader gets its copy
        if icfg[I_REPLICATES]:
            return K_REPLICATE, 1 << hot, W_READER
        return K_NONE, 0, W_REPLICATED
    remote = total - cs[home]
    if icfg[I_MIGRATES] and h >= fcfg[F_MIGRATE_SHARE] * remote and h >= cs[home]:
        return K_MIGRATE, 1 << hot, W_ONE_NODE
    if written == 2:
        return K_NEED_WRITTEN, 0, 0
    least = fcfg[F_READER_SHARE] * total
    readers = 0
    nread = 0
    for n in range(len(cs)):
        if cs[n] > 0 and cs[n] >= least:
            readers |= 1 << n
            nread += 1
    if icfg[I_REPLICATES] and nread >= 2 and not written and now >= no_repl_until:
        return K_REPLICATE, readers & ~(1 << home), W_READERS
    if icfg[I_MIGRATE_ONLY] and not written and h > total // 2:
        return K_MIGRATE, 1 << hot, W_MOST
    return K_NONE, 0, W_SHARED


@njit(cache=True, _nrt=False)
def triage_nb(m, ev, start, memmap, master_of, vm_done, node_cpu, icfg, fcfg, ctr, frozen_until, no_repl_until,
              cs, out):
    """Go over the hot-page events ev[start:] (page, node, count) in order, as the monitor takes them
    (NumaPolicy.on_hot_page): charge each its decision to the CPU of its node, drop those that
    concern nothing the policy moves, and decide the others.  An event that ends in no move has
    its node's count of the page started again.  Returns the index of the first event that needs a
    move (out[] says which), or len(ev).  `cs` is scratch (one int64 per node)."""
    now = m.params[P_ROUND_START]
    nnodes = icfg[I_NNODES]
    shift = icfg[I_HOME_SHIFT]
    cost = icfg[I_DECIDE_CYCLES]
    for i in range(start, ev.shape[0]):
        page = ev[i, 0]
        node = ev[i, 1]
        c = node_cpu[node]
        ctr[C_EVENTS] += 1
        if cost > 0:
            m.cpu[c, CYCLES] += cost
            m.stats[c, S_CYC_BASE] += cost
            ctr[C_POLICY_CYCLES] += cost
        if node == ((page << 12) >> shift) % nnodes:
            continue                                 # misses served locally: nothing to gain
        master = master_of[page]
        if master < 0:
            master = page
        e = memmap[master]
        if e < 0:
            continue                                 # the monitor's own page, or free
        vm = e >> 20
        g = e & 0xFFFFF
        if vm_done[vm] or m.pmap[vm, g] != master:
            continue
        shared = 0
        tag = m.wprot[master]
        if tag != 0:
            if tag == icfg[I_SHARE_TAG] and master_of[page] < 0:
                shared = 1                           # shared between VMs: it may migrate (all its mappers)
            elif tag != icfg[I_NUMA_TAG]:
                continue                             # another part of the monitor's
        copies = 0
        for n in range(nnodes):
            cs[n] = m.magic[master, n]
        for n in range(nnodes):
            r = m.replica[master, n]
            if r >= 0:
                copies |= 1 << n
                for k in range(nnodes):
                    cs[k] += m.magic[r, k]
        home = ((master << 12) >> shift) % nnodes
        kind, nodes, why = decide_nb(icfg, fcfg, ctr, frozen_until[vm, g], no_repl_until[vm, g], now, home, node,
                                     copies, cs, 2)
        if kind == K_NEED_WRITTEN:                   # not replicated: is it being written?
            most = icfg[I_WRITTEN_LINES]
            written = 1 if most == 0 or modified_lines_nb(m, master, most) >= most else 0
            kind, nodes, why = decide_nb(icfg, fcfg, ctr, frozen_until[vm, g], no_repl_until[vm, g], now, home,
                                         node, copies, cs, written)
        if shared and kind != K_MIGRATE:             # never written: no replicas, a move at most
            kind = K_NONE
        if kind == K_NONE:
            ctr[C_DECISIONS_NONE] += 1
            # MAGIC raises an event when a count reaches the threshold: start this node's count
            # again, or a page that stays hot (frozen, shared, at a limit) is never looked at again
            m.magic[page, node] = 0
            continue
        out[O_KIND] = kind
        out[O_VM] = vm
        out[O_GPAGE] = g
        out[O_MASTER] = master
        out[O_CPU] = c
        out[O_NODES] = nodes
        out[O_SHARED] = shared
        return i
    return ev.shape[0]


@njit(cache=True, _nrt=False)
def _charge(m, ctr, c, cycles, what):
    if c >= 0 and cycles > 0:
        m.cpu[c, CYCLES] += cycles
        m.stats[c, S_CYC_BASE] += cycles
        ctr[what] += cycles


@njit(cache=True, _nrt=False)
def shootdown_nb(m, v0, running, vnodes, nodemask, pages, c, ipi_cycles, ctr, cpus, use, out):
    """Drop the translations of the VM whose VCPUs are v0, v0+1, ... that map one of `pages`
    (NumaPolicy.drop_translations): only for its VCPUs on the nodes of bit set `nodemask` (-1:
    all; vnodes[k] is the node of VCPU v0+k's CPU), the real TLB entries on the CPU running each
    (running[cpu] is the VCPU it runs).  CPU c does it; each other CPU that loses an entry takes an
    IPI.  Counts into ctr; returns the real TLB entries dropped.  cpus, use, out: scratch."""
    nv = len(use)
    for k in range(nv):
        use[k] = nodemask < 0 or ((nodemask >> vnodes[k]) & 1) == 1
        cpus[k] = -1
    for cpu in range(len(running)):
        v = running[cpu]
        if v0 <= v < v0 + nv:
            cpus[v - v0] = cpu
    for i in range(len(out)):
        out[i] = 0
    drop_translations_nb(m, v0, cpus, use, pages, out)
    ctr[C_L2TLB_DROPPED] += out[0]
    total = 0
    for cpu in range(len(out) - 1):
        n = out[1 + cpu]
        if n == 0:
            continue
        total += n
        if cpu != c:
            ctr[C_IPIS] += 1
            _charge(m, ctr, cpu, ipi_cycles, C_SHOOTDOWN_CYCLES)
            _charge(m, ctr, c, ipi_cycles // 4, C_SHOOTDOWN_CYCLES)
    ctr[C_TLB_DROPPED] += total
    return total


__all__ = ["COUNTER_NAMES", "WHY", "decide_nb", "shootdown_nb", "triage_nb"]
