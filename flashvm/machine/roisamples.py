"""Periodic samples of a region of interest and the whole-region estimates they give.

A sampled run (--sample-period, flashvm/session/sampling.py) measures N
instructions of every P of the region in timing mode.  Each sample is one row of
whole-machine counters (all CPUs summed; cycles: the elapsed time, the largest
CPU clock advance, as a region's row counts it).  The estimates are ratio
estimators over the samples -- sum(y) / sum(x), e.g. cycles / instructions --
with the standard error of a ratio estimator,

    se = sqrt(sum((y_i - R x_i)^2) / (n (n - 1))) / mean(x)

so samples a few hundred instructions longer or shorter (a switch waits for the
end of a round) weigh as much as they measured.  The 95% interval is R +- 1.96 se
(normal approximation: it wants some 30 samples or more).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from flashvm.kernels import state as S

# one sample's row: where it began (region instructions before it) and its counters
FIELDS = ("start", "instructions", "cycles", "l1i_misses", "l1d_misses", "l2_misses", "tlb_refills",
          "misses_local", "misses_remote", "misses_remote_dirty")
_STATS = {"instructions": S.S_INSNS, "l1i_misses": S.S_L1I_MISS, "l1d_misses": S.S_L1D_MISS,
          "l2_misses": S.S_L2_MISS, "tlb_refills": S.S_TLB_REFILL, "misses_local": S.S_MISS_LOCAL,
          "misses_remote": S.S_MISS_REMOTE, "misses_remote_dirty": S.S_MISS_DIRTY}
Z95 = 1.96
# estimate name: (numerator fields, denominator fields, scale)
RATIOS = {
    "cpi": (("cycles",), ("instructions",), 1.0),
    "l1i_per_1000": (("l1i_misses",), ("instructions",), 1000.0),
    "l1d_per_1000": (("l1d_misses",), ("instructions",), 1000.0),
    "l2_per_1000": (("l2_misses",), ("instructions",), 1000.0),
    "tlb_per_1000": (("tlb_refills",), ("instructions",), 1000.0),
    # where the L2 misses were served: the requester's node, or another (a remote home or a dirty copy)
    "local_share": (("misses_local",), ("misses_local", "misses_remote", "misses_remote_dirty"), 1.0),
    "remote_share": (("misses_remote", "misses_remote_dirty"),
                     ("misses_local", "misses_remote", "misses_remote_dirty"), 1.0),
}


def ratio_estimate(y: np.ndarray, x: np.ndarray) -> tuple[float, float]:
    """sum(y) / sum(x) and its standard error over the samples (NaN when it cannot be had)."""
    n = len(x)
    total = float(x.sum())
    if n == 0 or total == 0:
        return math.nan, math.nan
    r = float(y.sum()) / total
    if n < 2:
        return r, math.nan
    resid = y.astype(np.float64) - r * x.astype(np.float64)
    return r, math.sqrt(float((resid ** 2).sum()) / (n * (n - 1))) / (total / n)


@dataclass
class RoiSamples:
    """The samples of one region: the schedule (P, W, N) and one row per sample."""
    period: int               # P: one sample every P instructions of the region
    warmup: int               # W: timing-mode instructions before each sample, not measured
    size: int                 # N: instructions measured per sample
    rows: list[list[int]] = field(default_factory=list)
    region_instructions: int = 0     # the region's instructions, all modes (set when the run is over)

    def add(self, start: int, stats: np.ndarray, cycles: np.ndarray) -> None:
        """A sample that began `start` region instructions in; `stats`, `cycles`: the counter
        arrays' growth over it (flashvm.machine.roi.Snapshot)."""
        s = stats.sum(axis=0)
        row = {k: int(s[i]) for k, i in _STATS.items()}
        row.update(start=int(start), cycles=int(cycles.max()) if len(cycles) else 0)
        self.rows.append([row[f] for f in FIELDS])

    def table(self) -> np.ndarray:
        """int64[n, len(FIELDS)]."""
        return np.asarray(self.rows, np.int64).reshape(len(self.rows), len(FIELDS))

    def column(self, name: str) -> np.ndarray:
        return self.table()[:, FIELDS.index(name)]

    def _sum(self, names: tuple[str, ...]) -> np.ndarray:
        t = self.table()
        return sum((t[:, FIELDS.index(n)] for n in names), np.zeros(len(t), np.int64))

    def estimates(self) -> dict[str, float]:
        """Each RATIOS estimate and its standard error (NAME, NAME_se); cycles: CPI x the region's
        instructions; the measured totals."""
        out: dict[str, float] = {"count": float(len(self.rows)),
                                 "measured_instructions": float(self.column("instructions").sum()),
                                 "measured_cycles": float(self.column("cycles").sum()),
                                 "region_instructions": float(self.region_instructions)}
        for name, (num, den, scale) in RATIOS.items():
            r, se = ratio_estimate(self._sum(num), self._sum(den))
            out[name], out[name + "_se"] = r * scale, se * scale
        out["cycles"] = out["cpi"] * self.region_instructions
        out["cycles_se"] = out["cpi_se"] * self.region_instructions
        return out

    def samples_for(self, target: float, name: str = "cpi") -> int | None:
        """How many samples would give estimate `name` a 95% interval of +- `target` (relative,
        0.01: 1%), from the spread of these samples: the half-width shrinks as 1 / sqrt(n), so
        n_now (h_now / target)^2 (SMARTS's check of a first run).  None: it cannot be told."""
        e = self.estimates()
        r, se, n = e[name], e[name + "_se"], len(self.rows)
        if n < 2 or not (r == r and se == se) or r == 0 or target <= 0:
            return None
        return max(2, math.ceil(n * (Z95 * se / abs(r) / target) ** 2))

    def period_for(self, target: float, name: str = "cpi") -> int | None:
        """The longest --sample-period (a multiple of 100,000 instructions, at least W + N) that
        would give estimate `name` a 95% interval of +- `target` over this region, with this W and
        N (`samples_for`).  None: it cannot be told."""
        need = self.samples_for(target, name)
        if need is None or self.region_instructions <= 0:
            return None
        step = 100_000
        return max(self.warmup + self.size, self.region_instructions // need // step * step)
