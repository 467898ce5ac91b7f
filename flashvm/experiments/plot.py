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
    if exp.plot is not None:            # a figure of its own (table2: services side by side)
        exp.plot(res, png)
        return
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
            if who == "paper" and bottom == 0.0 and total is not None:     # the paper gives only the total
                ax.bar(x, total, color="white", edgecolor="black", linewidth=0.4, hatch="//")
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


PART_COLOURS = {"kernel": "#4c72b0", "tlbw": "#dd8452", "priv": "#c44e52", "mcall": "#8172b2", "ktlb": "#937860"}


def draw_services(res: Results, png: Path, services: tuple[str, ...], parts: tuple[str, ...],
                  bare: str, vm: str) -> None:
    """Table 2 as two panels: each service's µs per call alone and in the VM (flashvm beside the
    paper, hatched; log scale), and the VM's time relative to the time alone, stacked by its parts."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    paper = {(p.label, p.measure): p.value for p in res.experiment.paper}
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 4.8))
    width = 0.2
    bars = ((bare, "flashvm", res.values), (bare, "paper", paper), (vm, "flashvm", res.values), (vm, "paper", paper))
    for k, (label, who, table) in enumerate(bars):
        heights = [table.get((label, f"{s}_us")) or 0.0 for s in services]
        left.bar([i + (k - 1.5) * width for i in range(len(services))], heights, width,
                 color="#4c72b0" if label == bare else "#c44e52", edgecolor="black", linewidth=0.4,
                 hatch="//" if who == "paper" else None, label=f"{'alone' if label == bare else 'in a VM'} ({who})")
    left.set_yscale("log")
    left.set_ylabel("µs per call")
    left.set_xticks(range(len(services)))
    left.set_xticklabels(services, rotation=30, fontsize=7)
    left.legend(fontsize=7)
    for i, s in enumerate(services):
        for j, (who, table) in enumerate((("flashvm", res.values), ("paper", paper))):
            alone, there = table.get((bare, f"{s}_us")), table.get((vm, f"{s}_us"))
            if not alone or there is None:
                continue
            bottom = 0.0
            for part in parts:
                share = table.get((vm, f"{s}_{part}"))
                if share is None:
                    continue
                h = share * there / alone          # Table 2's columns: the VM's time relative to the time alone
                right.bar(i + (j - 0.5) * 0.38, h, 0.36, bottom=bottom, color=PART_COLOURS.get(part, "#888888"),
                          edgecolor="black", linewidth=0.4, hatch="//" if who == "paper" else None)
                bottom += h
            right.text(i + (j - 0.5) * 0.38, bottom + 0.03, f"{bottom:.2f}", ha="center", fontsize=6)
    right.axhline(1.0, color="black", linewidth=0.6, linestyle=":")
    right.set_ylabel("time in the VM / time alone")
    right.set_xticks(range(len(services)))
    right.set_xticklabels(services, rotation=30, fontsize=7)
    handles = [Patch(facecolor=PART_COLOURS.get(p, "#888888"), label=p) for p in parts]
    handles.append(Patch(facecolor="white", edgecolor="black", hatch="//", label="paper"))
    right.legend(handles=handles, fontsize=7)
    fig.suptitle(res.experiment.title, fontsize=9)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)


KIND_COLOURS = {"kernel_text": "#8172b2", "kernel_data": "#dd8452", "buffer_cache": "#55a868", "user": "#4c72b0",
                "disco": "#c44e52"}


def draw_footprints(res: Results, png: Path, kinds: tuple[str, ...], paper_virtual: dict, paper_machine: dict) -> None:
    """Fig. 6: for each run the virtual (V) and machine (M) footprints, flashvm's stacked by `kinds`
    (measures virtual_KIND_mb, machine_KIND_mb) beside the paper's stacked by its own parts (hatched);
    a run whose file has no split is drawn as its total alone."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch
    labels = [r.label for r in res.runs]
    fig, ax = plt.subplots(figsize=(max(7.0, 1.6 * len(labels) + 2), 4.8))
    xs, names = [], []
    for i, label in enumerate(labels):
        for j, (side, who) in enumerate((("virtual", "flashvm"), ("machine", "flashvm"), ("virtual", "paper"),
                                         ("machine", "paper"))):
            x = 5 * i + j
            bottom = 0.0
            if who == "flashvm":
                parts = [(k, res.get(label, f"{side}_{k}_mb")) for k in kinds]
                total = res.get(label, f"{side}_mb")
            else:
                split = (paper_virtual if side == "virtual" else paper_machine).get(label, {})
                parts = list(split.items())
                total = sum(split.values()) if split else None
            for kind, v in parts:
                if v is None:
                    continue
                ax.bar(x, v, bottom=bottom, color=KIND_COLOURS.get(kind, "#888888"), edgecolor="black", linewidth=0.4,
                       hatch="//" if who == "paper" else None)
                bottom += v
            if bottom == 0.0 and total is not None:             # no split in the file: the total alone
                ax.bar(x, total, color="white", edgecolor="black", linewidth=0.4)
            if total is None:
                ax.text(x, 2, "n/a", ha="center", fontsize=6, rotation=90)
            else:
                ax.text(x, max(bottom, total) + 1, f"{total:.0f}", ha="center", fontsize=6)
            xs.append(x)
            names.append(f"{label} {side[0].upper()}\n{who}")
    ax.set_xticks(xs)
    ax.set_xticklabels(names, rotation=90, fontsize=6)
    ax.set_ylabel("MB")
    ax.set_title(res.experiment.title, fontsize=9)
    handles = [Patch(facecolor=KIND_COLOURS[k], label=k.replace("_", " ")) for k in (*kinds, "disco")]
    handles.append(Patch(facecolor="white", edgecolor="black", hatch="//", label="paper"))
    ax.legend(handles=handles, fontsize=7)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    plt.close(fig)
