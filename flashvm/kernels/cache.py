"""The FLASH memory system in timing mode: per-CPU L1 I/D and L2 caches, a
directory at each home node, NUMA latencies and the MAGIC page counters.

Caches hold no data: values live in the one RAM array, and the model tracks
which CPU holds which line in which state and what each miss costs.  A tag
word is `line << 2 | state` (MESI: 1 = Shared, 2 = Exclusive clean,
3 = Modified), -1 for an empty way.  The ways of a set are kept in
most-recently-used order, so the interpreter's hit test reads way 0 only:

    load / fetch hit:  tags[set * ways] >> 2 == line
    store hit:         tags[set * ways] == line << 2 | M

Anything else calls `access_nb`, which finds the line in another way, in the
L2, or asks the home directory.  L1 lines are always also in the L2 of the
same CPU (inclusion) and the directory tracks L2 contents exactly (evictions
send PUTS/PUTE/PUTM), so its sharer set equals the set of caches holding
the line.

The directory protocol is the table DIR_TABLE below: for each directory
state (I, S, E) and request (GETS, GETX, UPG, PUTS, PUTE, PUTM) the actions
to carry out and the state that must follow.  ERROR entries can only be
reached if the caches and the directory disagree; the kernel counts them in
params[P_DIR_ERRORS] (the random tester checks it stays 0).

Latency of a request, in cycles (the config turns ns into cycles):
    L1 miss, L2 hit:               lat_l2
    data from memory:              lat_local if the home is the requester's node, else lat_remote
    data from an owning cache:     by the number of distinct nodes among requester, home, owner:
                                   1 -> lat_local, 2 -> lat_remote, 3 -> lat_dirty (3 hops)
    upgrade (S -> M, no data):     lat_local / lat_remote by home distance
    plus, for every invalidation the home sends, lat_inval (directory occupancy).
Evictions cost the requester nothing (write buffers).
"""
import numpy as np
from flashvm.kernels.dispatch import njit

from flashvm.kernels.state import (
    ACC_FETCH, ACC_STORE, HOTQ_LEN, LLADDR, LLBIT, N_DIR_OPS, N_FORWARDS, N_INVALS, N_LOCAL, N_REMOTE,
    N_WRITEBACKS, P_DIR_ERRORS, P_HOME_SHIFT, P_HOT_REMOTE, P_HOT_THRESHOLD, P_HOTQ_BATCH, P_HOTQ_DROPS, P_HOTQ_N, P_HOTQ_PEND,
    P_L1D_SETS, P_L1D_WAYS,
    P_L1I_SETS, P_L1I_WAYS, P_L2_SETS, P_L2_WAYS, P_LAT_DIRTY, P_LAT_INVAL, P_LAT_L2, P_LAT_LOCAL,
    P_LAT_REMOTE, P_LSHIFT, P_NCPU, P_NLINES, P_NNODES, S_INVALS, S_L1D_MISS, S_L1I_MISS, S_L2_HITS,
    S_L2_MISS, S_MISS_DIRTY, S_MISS_LOCAL, S_MISS_REMOTE, S_UPGRADES, S_WRITEBACKS,
)

# line states in cache tags
ST_S = 1
ST_E = 2
ST_M = 3

# directory states (derived from dir_owner / dir_sharers)
DIR_I = 0
DIR_S = 1
DIR_E = 2
DIR_STATE_NAMES = ["I", "S", "E"]

# requests to the home directory
GETS = 0     # read miss
GETX = 1     # write miss
UPG = 2      # write to a line held Shared
PUTS = 3     # eviction of a Shared line (replacement hint)
PUTE = 4     # eviction of a clean Exclusive line
PUTM = 5     # eviction of a Modified line (writeback)
EVENT_NAMES = ["GETS", "GETX", "UPG", "PUTS", "PUTE", "PUTM"]

# actions
A_MEM = 1          # data from the home's memory
A_FWD_SHARE = 2    # data from the owner's cache; the owner keeps a Shared copy (writes back if Modified)
A_FWD_INV = 4      # data from the owner's cache; the owner's copy is invalidated
A_INV = 8          # invalidate every sharer but the requester
A_ADD = 16         # the requester joins the sharers
A_OWN = 32         # the requester becomes the exclusive owner (sharers cleared)
A_DEL = 64         # the requester leaves the sharers / gives up ownership
A_WB = 128         # the line is written back to memory
A_HOME = 256       # a message to the home without data (upgrade latency)
A_ERROR = 1 << 15

# DIR_TABLE[state][event] = (actions, next state); next state -1: I or S, by
# whether sharers remain.  This is the protocol; the kernel only interprets it.
_E = (A_ERROR, -2)
DIR_TABLE = [
    #  GETS                           GETX                             UPG                        PUTS           PUTE            PUTM
    [(A_MEM | A_OWN, DIR_E),          (A_MEM | A_OWN, DIR_E),          _E,                        _E,            _E,             _E],              # I
    [(A_MEM | A_ADD, DIR_S),          (A_MEM | A_INV | A_OWN, DIR_E),  (A_HOME | A_INV | A_OWN, DIR_E), (A_DEL, -1), _E,          _E],              # S
    [(A_FWD_SHARE | A_ADD, DIR_S),    (A_FWD_INV | A_OWN, DIR_E),      _E,                        _E,            (A_DEL, DIR_I), (A_DEL | A_WB, DIR_I)],  # E
]
DIR_ACT = np.array([[a for a, _ in row] for row in DIR_TABLE], np.int64)
DIR_NEXT = np.array([[n for _, n in row] for row in DIR_TABLE], np.int64)


@njit(cache=True, _nrt=False)
def dir_state(m, ln):
    if m.dir_owner[ln] >= 0:
        return DIR_E
    if m.dir_sharers[ln] != 0:
        return DIR_S
    return DIR_I


@njit(cache=True, _nrt=False)
def home_node(m, ln):
    return ((ln << m.params[P_LSHIFT]) >> m.params[P_HOME_SHIFT]) % m.params[P_NNODES]


# ----------------------------------------------------------- one cache array
@njit(cache=True, _nrt=False)
def _find(tags, base, ways, ln):
    for w in range(ways):
        if tags[base + w] >> 2 == ln:
            return w
    return -1


@njit(cache=True, _nrt=False)
def _to_front(tags, base, w, value):
    """Move way w to the MRU position with tag `value`."""
    for k in range(w, 0, -1):
        tags[base + k] = tags[base + k - 1]
    tags[base] = value


@njit(cache=True, _nrt=False)
def _insert(tags, base, ways, value):
    """Insert at MRU; returns the evicted tag (the LRU way), or -1."""
    victim = tags[base + ways - 1]
    _to_front(tags, base, ways - 1, value)
    return victim


@njit(cache=True, _nrt=False)
def _remove(tags, base, ways, w):
    for k in range(w, ways - 1):
        tags[base + k] = tags[base + k + 1]
    tags[base + ways - 1] = -1


@njit(cache=True, _nrt=False)
def _l1_drop(m, c, ln):
    """Remove line ln from both L1s of CPU c (inclusion, invalidation)."""
    sets = m.params[P_L1I_SETS]
    ways = m.params[P_L1I_WAYS]
    base = (ln & (sets - 1)) * ways
    w = _find(m.l1i[c], base, ways, ln)
    if w >= 0:
        _remove(m.l1i[c], base, ways, w)
    sets = m.params[P_L1D_SETS]
    ways = m.params[P_L1D_WAYS]
    base = (ln & (sets - 1)) * ways
    w = _find(m.l1d[c], base, ways, ln)
    if w >= 0:
        _remove(m.l1d[c], base, ways, w)


@njit(cache=True, _nrt=False)
def _l1_set_state(m, c, ln, state):
    sets = m.params[P_L1D_SETS]
    ways = m.params[P_L1D_WAYS]
    base = (ln & (sets - 1)) * ways
    w = _find(m.l1d[c], base, ways, ln)
    if w >= 0:
        m.l1d[c, base + w] = (ln << 2) | state


@njit(cache=True, _nrt=False)
def _drop_reservation(m, c, ln):
    st = m.cpu[c]
    if st[LLBIT] != 0 and st[LLADDR] >> m.params[P_LSHIFT] == ln:
        st[LLBIT] = 0


@njit(cache=True, _nrt=False)
def _l2_find(m, c, ln):
    ways = m.params[P_L2_WAYS]
    base = (ln & (m.params[P_L2_SETS] - 1)) * ways
    return base, _find(m.l2[c], base, ways, ln)


# ------------------------------------------------------- actions on other CPUs
@njit(cache=True, _nrt=False)
def _invalidate(m, o, ln):
    """The directory takes line ln away from CPU o."""
    base, w = _l2_find(m, o, ln)
    if w >= 0:
        _remove(m.l2[o], base, m.params[P_L2_WAYS], w)
    _l1_drop(m, o, ln)
    _drop_reservation(m, o, ln)
    m.stats[o, S_INVALS] += 1


@njit(cache=True, _nrt=False)
def _downgrade(m, o, ln):
    """The owner o keeps a Shared copy; returns 1 if it was Modified (a writeback)."""
    base, w = _l2_find(m, o, ln)
    dirty = 0
    if w >= 0:
        dirty = 1 if m.l2[o, base + w] & 3 == ST_M else 0
        m.l2[o, base + w] = (ln << 2) | ST_S
    _l1_set_state(m, o, ln, ST_S)
    return dirty


# ------------------------------------------------------------- the directory
@njit(cache=True, _nrt=False)
def directory_nb(m, c, ln, event):
    """Carry out request `event` of CPU c for line ln at its home.  Returns the
    latency in cycles and, for GETS, the state granted (E when no one else
    holds the line, else S); writes give M."""
    p = m.params
    state = dir_state(m, ln)
    act = DIR_ACT[state, event]
    home = home_node(m, ln)
    ns = m.node_stats
    ns[home, N_DIR_OPS] += 1
    owner = np.int64(m.dir_owner[ln])
    bit = np.int64(1) << c
    if act & A_ERROR or (state == DIR_E and owner == c and event <= UPG) \
            or (event <= GETX and m.dir_sharers[ln] & bit != 0) \
            or (event == UPG and m.dir_sharers[ln] & bit == 0) \
            or (event == PUTS and m.dir_sharers[ln] & bit == 0) \
            or (event >= PUTE and owner != c):
        p[P_DIR_ERRORS] += 1
        return 0, ST_S
    rnode = m.cpu_node[c]
    lat = 0
    grant = ST_M
    if act & A_MEM:
        lat = p[P_LAT_LOCAL] if home == rnode else p[P_LAT_REMOTE]
    if act & A_HOME:
        lat = p[P_LAT_LOCAL] if home == rnode else p[P_LAT_REMOTE]
    if act & (A_FWD_SHARE | A_FWD_INV):
        onode = m.cpu_node[owner]
        hops = 1 + (1 if home != rnode else 0) + (1 if onode != rnode and onode != home else 0)
        lat = p[P_LAT_LOCAL] if hops == 1 else (p[P_LAT_REMOTE] if hops == 2 else p[P_LAT_DIRTY])
        ns[home, N_FORWARDS] += 1
        if act & A_FWD_SHARE:
            if _downgrade(m, owner, ln):
                ns[home, N_WRITEBACKS] += 1
                m.stats[owner, S_WRITEBACKS] += 1
            m.dir_sharers[ln] = np.int64(1) << owner
        else:
            _invalidate(m, owner, ln)
        m.dir_owner[ln] = -1
    if act & A_INV:
        sh = m.dir_sharers[ln] & ~bit
        o = 0
        while sh != 0:
            if sh & 1:
                _invalidate(m, o, ln)
                lat += p[P_LAT_INVAL]
                ns[home, N_INVALS] += 1
            sh = (sh >> 1) & 0x7FFFFFFFFFFFFFFF
            o += 1
    if act & A_ADD:
        m.dir_sharers[ln] |= bit
        grant = ST_S
    if act & A_OWN:
        m.dir_sharers[ln] = 0
        m.dir_owner[ln] = c
        grant = ST_E if event == GETS else ST_M
    if act & A_DEL:
        m.dir_sharers[ln] &= ~bit
        if owner == c:
            m.dir_owner[ln] = -1
    if act & A_WB:
        ns[home, N_WRITEBACKS] += 1
        m.stats[c, S_WRITEBACKS] += 1
    if event <= GETX:
        # a miss: where it was served, and MAGIC's per-page count
        if act & (A_FWD_SHARE | A_FWD_INV) and m.cpu_node[owner] != rnode:
            m.stats[c, S_MISS_DIRTY] += 1
        elif home == rnode:
            m.stats[c, S_MISS_LOCAL] += 1
        else:
            m.stats[c, S_MISS_REMOTE] += 1
        if home == rnode:
            ns[home, N_LOCAL] += 1
        else:
            ns[home, N_REMOTE] += 1
        _magic_count(m, ln, rnode, home)
    return lat, grant


@njit(cache=True, _nrt=False)
def _magic_count(m, ln, node, home):
    page = (ln << m.params[P_LSHIFT]) >> 12
    n = m.magic[page, node] + 1
    m.magic[page, node] = n
    thr = m.params[P_HOT_THRESHOLD]
    if thr > 0 and n == thr and (m.params[P_HOT_REMOTE] == 0 or node != home):
        # events gather in hotq; the run loop sees them (P_HOTQ_N) once a batch is there, the host
        # takes the rest at the end of its chunk: one kernel exit per batch, not per event
        k = m.params[P_HOTQ_PEND]
        if k < HOTQ_LEN:
            m.hotq[k, 0] = page
            m.hotq[k, 1] = node
            m.hotq[k, 2] = n
            m.params[P_HOTQ_PEND] = k + 1
            if k + 1 >= m.params[P_HOTQ_BATCH]:
                m.params[P_HOTQ_N] = k + 1
        else:                                        # the host has not drained the queue: counted, not kept
            m.params[P_HOTQ_DROPS] += 1


# ------------------------------------------------------------ the slow path
@njit(cache=True, _nrt=False)
def _evict_l2(m, c, victim):
    """Line `victim` (a tag word) leaves CPU c's L2: its L1 copies go too, and the home hears of it."""
    ln = victim >> 2
    _l1_drop(m, c, ln)
    _drop_reservation(m, c, ln)
    state = victim & 3
    directory_nb(m, c, ln, PUTM if state == ST_M else (PUTE if state == ST_E else PUTS))


@njit(cache=True, _nrt=False)
def access_nb(m, c, ln, kind):
    """An access of `kind` (ACC_FETCH/LOAD/STORE) by CPU c to line ln that
    missed the inline test.  Updates caches and directory; returns the stall
    cycles.  Lines beyond RAM (ROM, the MMIO spare page) cost nothing."""
    p = m.params
    if ln >= p[P_NLINES]:
        return 0
    if kind == ACC_FETCH:
        l1 = m.l1i[c]
        l1ways = p[P_L1I_WAYS]
        l1base = (ln & (p[P_L1I_SETS] - 1)) * l1ways
    else:
        l1 = m.l1d[c]
        l1ways = p[P_L1D_WAYS]
        l1base = (ln & (p[P_L1D_SETS] - 1)) * l1ways
    store = kind == ACC_STORE
    w = _find(l1, l1base, l1ways, ln)
    if w >= 0 and (not store or l1[l1base + w] & 3 == ST_M):
        _to_front(l1, l1base, w, l1[l1base + w])      # a hit in a non-MRU way
        return 0
    l2 = m.l2[c]
    l2ways = p[P_L2_WAYS]
    l2base, w2 = _l2_find(m, c, ln)
    lat = 0
    if w2 >= 0:
        state = l2[l2base + w2] & 3
        if w < 0:
            lat = p[P_LAT_L2]
            m.stats[c, S_L2_HITS] += 1
            m.stats[c, S_L1I_MISS if kind == ACC_FETCH else S_L1D_MISS] += 1
        if store and state == ST_S:
            m.stats[c, S_UPGRADES] += 1
            dl, _ = directory_nb(m, c, ln, UPG)
            lat += dl
            state = ST_M
        elif store:
            state = ST_M                                # E -> M silently
        _to_front(l2, l2base, w2, (ln << 2) | state)
    else:
        m.stats[c, S_L1I_MISS if kind == ACC_FETCH else S_L1D_MISS] += 1
        m.stats[c, S_L2_MISS] += 1
        victim = _insert(l2, l2base, l2ways, -1)
        if victim >= 0:
            _evict_l2(m, c, victim)
        lat, state = directory_nb(m, c, ln, GETX if store else GETS)
        l2[l2base] = (ln << 2) | state
    # the L1 copy takes the L2's state (the I-cache only needs "valid")
    if kind == ACC_FETCH:
        state = ST_S
    if w >= 0:
        _to_front(l1, l1base, w, (ln << 2) | state)
    else:
        _insert(l1, l1base, l1ways, (ln << 2) | state)   # L1 victims stay in the L2
    return lat


@njit(cache=True, _nrt=False)
def dma_coherence_nb(m, pa, nbytes):
    """A device wrote [pa, pa + nbytes): cached copies and LL reservations of it are void."""
    p = m.params
    for c in range(p[P_NCPU]):
        st = m.cpu[c]
        if st[LLBIT] != 0 and pa <= st[LLADDR] < pa + nbytes:
            st[LLBIT] = 0
    if p[P_NLINES] <= 1 or nbytes <= 0:
        return
    lsh = p[P_LSHIFT]
    for ln in range(pa >> lsh, min((pa + nbytes - 1) >> lsh, p[P_NLINES] - 1) + 1):
        owner = np.int64(m.dir_owner[ln])
        if owner >= 0:
            _invalidate(m, owner, ln)
            m.dir_owner[ln] = -1
        sh = m.dir_sharers[ln]
        o = 0
        while sh != 0:
            if sh & 1:
                _invalidate(m, o, ln)
            sh = (sh >> 1) & 0x7FFFFFFFFFFFFFFF
            o += 1
        m.dir_sharers[ln] = 0


# ----------------------------------------------------- checking and driving
# check_line_nb's answers (0: consistent)
BAD_OWNER_STATE = 1      # the owner's L2 does not hold the line E/M
BAD_OWNER_SHARERS = 2    # an exclusive line has sharers, or another cache holds it
BAD_SHARER_STATE = 3     # a sharer's L2 copy is not S
BAD_SHARER_SET = 4       # sharer bits and the caches holding the line differ
BAD_INCLUSION = 5        # an L1 holds a line its L2 does not, or more writable than the L2
BAD_TABLE = 6            # a transition marked ERROR was taken
CHECK_NAMES = ["ok", "owner state", "exclusive with sharers", "sharer state", "sharer set",
               "inclusion", "protocol error"]


@njit(cache=True, _nrt=False)
def _holds(tags, sets, ways, ln):
    base = (ln & (sets - 1)) * ways
    w = _find(tags, base, ways, ln)
    return -1 if w < 0 else tags[base + w] & 3


@njit(cache=True, _nrt=False)
def check_line_nb(m, ln):
    """Protocol invariants for line ln: at most one writer, the directory's
    sharer set equals the caches holding the line, states agree, L1 within L2."""
    p = m.params
    if p[P_DIR_ERRORS] != 0:
        return BAD_TABLE
    owner = np.int64(m.dir_owner[ln])
    sharers = m.dir_sharers[ln]
    held = np.int64(0)
    for c in range(p[P_NCPU]):
        s2 = _holds(m.l2[c], p[P_L2_SETS], p[P_L2_WAYS], ln)
        si = _holds(m.l1i[c], p[P_L1I_SETS], p[P_L1I_WAYS], ln)
        sd = _holds(m.l1d[c], p[P_L1D_SETS], p[P_L1D_WAYS], ln)
        if (si >= 0 or sd >= 0) and s2 < 0:
            return BAD_INCLUSION
        if sd > s2 or (sd == ST_E and s2 == ST_S):
            return BAD_INCLUSION
        if s2 >= 0:
            held |= np.int64(1) << c
            if owner == c and s2 == ST_S:
                return BAD_OWNER_STATE
            if owner != c and s2 != ST_S:
                return BAD_SHARER_STATE if owner < 0 else BAD_OWNER_SHARERS
    if owner >= 0:
        if sharers != 0 or held != np.int64(1) << owner:
            return BAD_OWNER_SHARERS if held & ~(np.int64(1) << owner) or sharers != 0 else BAD_OWNER_STATE
    elif held != sharers:
        return BAD_SHARER_SET
    return 0


@njit(cache=True, _nrt=False)
def drive_nb(m, cpus, lines, kinds, values, shadow, check_every):
    """Replay accesses (cpu, line, kind) through the same hit tests the
    interpreter inlines and `access_nb`, moving data in RAM: a store writes
    values[i] to the line's first word, a load must read the last value stored
    (shadow[line]).  Checks every touched line after each step (and all lines
    every `check_every` steps).  Returns (index of the first failing step or
    -1, failure code, total stall cycles)."""
    p = m.params
    lsh = p[P_LSHIFT]
    total = 0
    for i in range(cpus.shape[0]):
        c = cpus[i]
        ln = lines[i]
        kind = kinds[i]
        if kind == ACC_FETCH:
            sets = p[P_L1I_SETS]
            ways = p[P_L1I_WAYS]
            if m.l1i[c, (ln & (sets - 1)) * ways] >> 2 != ln:
                total += access_nb(m, c, ln, kind)
        else:
            sets = p[P_L1D_SETS]
            ways = p[P_L1D_WAYS]
            t = m.l1d[c, (ln & (sets - 1)) * ways]
            if kind == ACC_STORE:
                if t != (ln << 2) | ST_M:
                    total += access_nb(m, c, ln, kind)
            elif t >> 2 != ln:
                total += access_nb(m, c, ln, kind)
        word = (ln << lsh) >> 2
        if kind == ACC_STORE:
            m.ram32[word] = values[i]
            shadow[ln] = values[i]
        elif kind != ACC_FETCH and np.int64(m.ram32[word]) != shadow[ln]:
            return i, 100, total
        bad = check_line_nb(m, ln)
        if bad:
            return i, bad, total
        if check_every > 0 and (i + 1) % check_every == 0:
            for k in range(shadow.shape[0]):
                bad = check_line_nb(m, k)
                if bad:
                    return i, bad, total
    return -1, 0, total
