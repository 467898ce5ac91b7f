"""An experiment's figure: flashvm's bar beside the paper's for every run,
stacked by segment (user, kernel, monitor, idle) where the paper stacks them,
else grouped by measure."""
from __future__ import annotations

from pathlib import Path

from flashvm.experiments.table import Results

COLOURS = {"user": "#4c72b0", "kernel": "#dd8452", "monitor": "#c44e52", "idle": "#cccccc"}


def draw(res: Results, png: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    exp = res.experiment
    paper = {(p.label, p.measure): p.value for p in exp.paper}
    labels = [r.label for r in res.runs]
    fig, ax = plt.subplots(figsize=(max(6.0, 1.1 * len(labels) + 2), 4.5))
    if exp.segments:
        _stacked(ax, res, paper, labels)
        ax.set_ylabel("normalised time")
    else:
        _grouped(ax, res, paper, labels)
    ax.set_title(exp.title, fontsize=9)
    ax.tick_params(axis="x", labelsize=7)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)


def _stacked(ax, res: Results, paper: dict, labels: list[str]) -> None:
    xs, names = [], []
    for i, label in enumerate(labels):
        for j, (who, get) in enumerate((("flashvm", lambda m: res.get(label, m)),
                                        ("paper", lambda m: paper.get((label, m)))),):
            x = 3 * i + j
            bottom = 0.0
            for seg in res.experiment.segments:
                v = get(seg)
                if v is None:
                    continue
                ax.bar(x, v, bottom=bottom, color=COLOURS.get(seg, "#888888"), edgecolor="black", linewidth=0.4,
                       hatch="//" if who == "paper" else None)
                bottom += v
            total = get("total")
            if total is None and bottom == 0.0:
                ax.text(x, 2, "n/a", ha="center", fontsize=6, rotation=90)     # the run has no numbers
            if total is not None:
                ax.text(x, max(bottom, total) + 1, f"{total:.0f}", ha="center", fontsize=6)
            xs.append(x)
            names.append(f"{label}\n{who}")
    ax.set_xticks(xs)
    ax.set_xticklabels(names, rotation=90)
    from matplotlib.patches import Patch
    handles = [Patch(facecolor=COLOURS.get(s, "#888888"), label=s) for s in res.experiment.segments]
    handles.append(Patch(facecolor="white", edgecolor="black", hatch="//", label="paper"))
    ax.legend(handles=handles, fontsize=7)


def _grouped(ax, res: Results, paper: dict, labels: list[str]) -> None:
    measures = sorted({m for (_, m) in paper})
    width = 0.8 / max(1, 2 * len(measures))
    for k, m in enumerate(measures):
        for j, (who, val) in enumerate((("flashvm", lambda lab: res.get(lab, m)), ("paper", lambda lab: paper.get((lab, m))))):
            heights = [val(lab) or 0.0 for lab in labels]
            offs = [i + (2 * k + j) * width for i in range(len(labels))]
            ax.bar(offs, heights, width, label=f"{m} ({who})", hatch="//" if who == "paper" else None)
    ax.set_xticks([i + 0.4 - width / 2 for i in range(len(labels))])
    ax.set_xticklabels(labels, rotation=30)
    ax.legend(fontsize=6)
