"""An experiment's results as one table: (run label, measure) -> value.

Raw measures come from each run's file (flashvm/experiments/measures.py).  An
experiment with baselines also gets `total` (its time as a percentage of the
baseline run's) and its segments (user, kernel, ...) as parts of that total,
which is how the paper draws its bars.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flashvm.experiments.execute import Outcome
from flashvm.experiments.measures import take
from flashvm.experiments.model import Experiment, Run


@dataclass
class Results:
    """What an experiment measured: its table, its runs and the runs it could not measure."""
    experiment: Experiment
    runs: list[Run]
    values: dict[tuple[str, str], float] = field(default_factory=dict)
    problems: dict[str, str] = field(default_factory=dict)      # run label -> why it has no numbers
    files: dict[str, str] = field(default_factory=dict)         # run label -> its HDF5 file
    missing: list[tuple[str, str]] = field(default_factory=list)  # (label, measure) the file lacked

    def get(self, label: str, measure: str) -> float | None:
        return self.values.get((label, measure))


def collect(exp: Experiment, outcomes: list[Outcome]) -> Results:
    res = Results(exp, [o.run for o in outcomes])
    for o in outcomes:
        if o.path is None:
            why = o.problem or "no result file"
            if o.failed_path is not None:
                why += f" (its guests' output and counters: `{o.failed_path}`, `flashvm report` reads it)"
            res.problems[o.run.label] = why
            continue
        res.files[o.run.label] = str(o.path)
        for name, v in take(str(o.path), o.run, exp.measures).items():
            if v is None:
                res.missing.append((o.run.label, name))
            else:
                res.values[(o.run.label, name)] = v
    _normalise(exp, res)
    return res


def _normalise(exp: Experiment, res: Results) -> None:
    for label, base in exp.baselines.items():
        t, t0 = res.get(label, "time"), res.get(base, "time")
        if t is None or not t0:     # no baseline: its shares (0..1) are no parts of a normalised bar
            for seg in exp.segments:
                res.values.pop((label, seg), None)
            continue
        total = 100.0 * t / t0
        res.values[(label, "total")] = total
        for seg in exp.segments:
            share = res.get(label, seg)
            if share is not None:
                res.values[(label, seg)] = share * total
