"""The study figures (PNG): plotting only; the section builders prepare the numbers.

Figures are drawn on ``matplotlib.figure.Figure`` objects with the Agg canvas, never through
pyplot, so building a report touches no global backend state and needs no display. Every value
comes in as a ``findings.Stat`` (mean, std, n over seeds); error bars are ± one std.
"""

import os

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from kd_efficacy import atomic_io

FIGURES_DIR = "figures"
DPI = 110
SCRATCH_COLOR = "0.35"


def _figure(rows=1, cols=1, width=5.2, height=3.8):
    figure = Figure(figsize=(width * cols, height * rows), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, cols, squeeze=False)
    return figure, axes


def _save(figure, study_dir, name):
    """Writes ``<study_dir>/figures/<name>.png``; returns its path relative to the study."""
    relative = f"{FIGURES_DIR}/{name}.png"
    figure.tight_layout()
    with atomic_io.replacing(os.path.join(study_dir, relative), suffix=".png") as tmp:
        figure.savefig(tmp, format="png")  # a reader never sees half a PNG (atomic_io.py)
    return relative


def _params_axis(ax, values):
    if values and max(values) > 4 * min(values):
        ax.set_xscale("log")
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: f"{x / 1e6:.2g}M"))
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda x, _: ""))


def _scratch_band(ax, scratch, label="scratch (mean ± std)"):
    if scratch is None:
        return
    ax.axhline(scratch.mean, color=SCRATCH_COLOR, linestyle="--", linewidth=1, label=label)
    if scratch.std > 0:
        low, high = scratch.mean - scratch.std, scratch.mean + scratch.std
        ax.axhspan(low, high, color=SCRATCH_COLOR, alpha=0.15, linewidth=0)


def capacity_gap(study_dir, name, points, scratch, title):
    """Student accuracy against teacher params (left) and teacher accuracy (right).

    ``points``: [(teacher name, params, teacher accuracy Stat or None, student Stat)].
    """
    figure, axes = _figure(1, 2)
    for ax, which in zip(axes[0], ("params", "accuracy")):
        shown = [p for p in points if (p[1] if which == "params" else p[2]) is not None]
        xs = [p[1] if which == "params" else p[2].mean for p in shown]
        xerr = None if which == "params" else [p[2].std for p in shown]
        ys = [p[3].mean for p in shown]
        yerr = [p[3].std for p in shown]
        # Teachers are ordered by size: a line joins them on the params axis only.
        style = "-" if which == "params" else "none"
        ax.errorbar(
            xs, ys, yerr=yerr, xerr=xerr, marker="o", linestyle=style, capsize=4, label="KD student"
        )
        for (teacher, *_), x, y in zip(shown, xs, ys):
            ax.annotate(teacher, (x, y), textcoords="offset points", xytext=(4, 6), fontsize=8)
        _scratch_band(ax, scratch)
        if which == "params":
            _params_axis(ax, xs)
            ax.set_xlabel("teacher parameters")
        else:
            ax.set_xlabel("teacher test accuracy")
        ax.set_ylabel("student test accuracy")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    figure.suptitle(title, fontsize=10)
    return _save(figure, study_dir, name)


def training_curves(study_dir, name, series, eval_name, title, teacher_levels=None):
    """KD loss (top) and accuracy (bottom) per epoch, training set (left) and eval set (right).

    ``series``: {label: {metric key: (epochs, means, stds)}} with keys train_eval_kd, val_kd,
    train_eval_accuracy, val_accuracy. ``teacher_levels``: {label: teacher test accuracy},
    drawn dotted in the eval-accuracy panel in the series' colour.
    """
    figure, axes = _figure(2, 2, width=4.8, height=3.2)
    panels = (
        (axes[0][0], "train_eval_kd", "KD loss, training set (no augmentation)"),
        (axes[0][1], "val_kd", f"KD loss, {eval_name}"),
        (axes[1][0], "train_eval_accuracy", "accuracy, training set (no augmentation)"),
        (axes[1][1], "val_accuracy", f"accuracy, {eval_name}"),
    )
    # One colour per series across all four panels (scratch in grey).
    colors = {
        label: SCRATCH_COLOR if label == "scratch" else f"C{i}" for i, label in enumerate(series)
    }
    for ax, key, panel_title in panels:
        for label, curves in series.items():
            epochs, means, stds = curves.get(key, ([], [], []))
            if not epochs:
                continue
            ax.plot(epochs, means, marker=".", label=label, color=colors[label])
            low = [m - s for m, s in zip(means, stds)]
            high = [m + s for m, s in zip(means, stds)]
            ax.fill_between(epochs, low, high, color=colors[label], alpha=0.15, linewidth=0)
            level = (teacher_levels or {}).get(label)
            if key == "val_accuracy" and level is not None:
                ax.axhline(level, color=colors[label], linestyle=":", linewidth=1)
        ax.set_title(panel_title, fontsize=9)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("KD loss (T² KL)")
    axes[1][0].set_ylabel("accuracy")
    handles, labels = axes[1][1].get_legend_handles_labels()
    if handles:
        axes[1][1].legend(handles, labels, fontsize=7, loc="best")
    note = " (dotted: the teacher's own test accuracy)" if teacher_levels else ""
    figure.suptitle(title + note, fontsize=10)
    return _save(figure, study_dir, name)


def teacher_epoch(study_dir, name, series, scratch, title):
    """Student accuracy against the teacher snapshot's epoch, one line per teacher.

    ``series``: {teacher: [(epoch, student Stat, teacher accuracy Stat or None)]}; the teacher's
    own accuracy at each snapshot is drawn dashed in the same colour.
    """
    figure, axes = _figure(1, 1, width=6.0, height=4.0)
    ax = axes[0][0]
    for teacher, points in series.items():
        points = sorted(points, key=lambda p: p[0])
        epochs = [p[0] for p in points]
        line = ax.errorbar(
            epochs,
            [p[1].mean for p in points],
            yerr=[p[1].std for p in points],
            marker="o",
            capsize=4,
            label=f"student of {teacher}",
        )
        known = [p for p in points if p[2] is not None]
        if known:
            ax.plot(
                [p[0] for p in known],
                [p[2].mean for p in known],
                linestyle="--",
                marker="x",
                color=line.lines[0].get_color(),
                label=f"{teacher} itself",
            )
    _scratch_band(ax, scratch)
    ax.set_xlabel("teacher snapshot epoch (the last one is the fully trained teacher)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_ylabel("test accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    figure.suptitle(title, fontsize=10)
    return _save(figure, study_dir, name)


def grouped_bars(study_dir, name, groups, title, ylabel="student test accuracy", scratch=None):
    """Bars with ± std error bars: ``groups`` {group label: {bar label: Stat}}.

    Bars of the same label share a colour across groups; ``scratch`` is drawn as a band.
    """
    labels = list(dict.fromkeys(label for bars in groups.values() for label in bars))
    width = 0.8 / max(len(labels), 1)
    figure, axes = _figure(1, 1, width=max(5.0, 1.6 * len(groups) + 2.0), height=4.0)
    ax = axes[0][0]
    lowest = []
    for i, label in enumerate(labels):
        xs, ys, errs = [], [], []
        for g, bars in enumerate(groups.values()):
            if label in bars:
                xs.append(g + (i - (len(labels) - 1) / 2) * width)
                ys.append(bars[label].mean)
                errs.append(bars[label].std)
        ax.bar(xs, ys, width, yerr=errs, capsize=3, label=label)
        lowest += [y - e for y, e in zip(ys, errs)]
    _scratch_band(ax, scratch)
    if scratch is not None:
        lowest.append(scratch.mean - scratch.std)
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(list(groups), fontsize=8)
    if lowest:  # zoom on the differences: accuracies of one study sit close together
        top = max(
            [b.mean + b.std for bars in groups.values() for b in bars.values()]
            + ([scratch.mean + scratch.std] if scratch is not None else [])
        )
        bottom = min(lowest)
        pad = max(0.1 * (top - bottom), 0.005)
        ax.set_ylim(max(0.0, bottom - pad), top + pad)
    ax.set_ylabel(ylabel)
    ax.grid(alpha=0.3, axis="y")
    ax.legend(fontsize=8, loc="best")
    figure.suptitle(title, fontsize=10)
    return _save(figure, study_dir, name)


def ensembles(study_dir, name, groups, title):
    """Left: ensemble / mean member / best member accuracy per ensemble; right: disagreement.

    ``groups``: {ensemble name: {'ensemble', 'mean member', 'best member', 'disagreement': Stat}}.
    """
    figure, axes = _figure(1, 2, width=4.8, height=3.8)
    left, right = axes[0]
    kinds = ("ensemble", "mean member", "best member")
    width = 0.8 / len(kinds)
    for i, kind in enumerate(kinds):
        xs = [g + (i - 1) * width for g in range(len(groups))]
        ys = [groups[n][kind].mean for n in groups]
        errs = [groups[n][kind].std for n in groups]
        left.bar(xs, ys, width, yerr=errs, capsize=3, label=kind)
    values = [s.mean for n in groups for k, s in groups[n].items() if k in kinds]
    if values:
        pad = max(0.1 * (max(values) - min(values)), 0.01)
        left.set_ylim(max(0.0, min(values) - 3 * pad), min(1.0, max(values) + 2 * pad))
    left.set_ylabel("test accuracy")
    left.legend(fontsize=8, loc="best")
    right.bar(
        range(len(groups)),
        [groups[n]["disagreement"].mean for n in groups],
        yerr=[groups[n]["disagreement"].std for n in groups],
        capsize=3,
        color="tab:purple",
    )
    right.set_ylabel("member disagreement")
    right.set_title("fraction of test images two members label differently", fontsize=8)
    for ax in (left, right):
        ax.set_xticks(range(len(groups)))
        ax.set_xticklabels(list(groups), fontsize=8)
        ax.grid(alpha=0.3, axis="y")
    figure.suptitle(title, fontsize=10)
    return _save(figure, study_dir, name)
