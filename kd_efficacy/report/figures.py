"""The study figures (PNG): plotting only; the section builders prepare the numbers.

Figures are drawn on ``matplotlib.figure.Figure`` objects with the Agg canvas, never through
pyplot, so building a report touches no global backend state and needs no display. Every value
comes in as a ``statistics.Summary`` (mean, std, n, 95% CI over seeds). Accuracy comparisons are
dot-and-interval plots (dot: mean, whisker: t-based 95% CI of the mean; a single seed has no
whisker), so no axis needs to start at zero; the one bar chart (disagreement) starts at zero.
Per-epoch curves shade ± 1 std over seeds. Each figure says which interval it draws.
"""

import os

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from kd_efficacy import atomic_io, run_dir

DPI = 110
SCRATCH_COLOR = "0.35"
CI = "95% CI"


def _figure(rows=1, cols=1, width=5.2, height=3.8):
    figure = Figure(figsize=(width * cols, height * rows), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.subplots(rows, cols, squeeze=False)
    return figure, axes


def _save(figure, study_dir, name):
    """Writes ``<study_dir>/figures/<name>.png``; returns its path relative to the study."""
    relative = f"{run_dir.FIGURES_DIR}/{name}.png"
    figure.tight_layout()
    with atomic_io.replacing(os.path.join(study_dir, relative), suffix=".png") as tmp:
        figure.savefig(tmp, format="png")  # a reader never sees half a PNG (atomic_io.py)
    return relative


def _params_axis(ax, values):
    if values and max(values) > 4 * min(values):
        ax.set_xscale("log")
    if values:  # ticks at the teachers themselves: a log axis may hold no decade tick
        ax.set_xticks(sorted(set(values)))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda x, _: _count(x)))
    ax.xaxis.set_minor_formatter(FuncFormatter(lambda x, _: ""))


def _count(x):
    return f"{x / 1e3:.3g}k" if x < 1e6 else f"{x / 1e6:.3g}M"


def _whiskers(summaries):
    """matplotlib's asymmetric yerr [[below], [above]] for 95% CIs; 0 where n = 1 (no CI)."""
    below = [0.0 if s.low is None else s.mean - s.low for s in summaries]
    above = [0.0 if s.high is None else s.high - s.mean for s in summaries]
    return [below, above]


def _scratch_band(ax, scratch, label=f"scratch (mean, band: {CI})"):
    if scratch is None:
        return
    ax.axhline(scratch.mean, color=SCRATCH_COLOR, linestyle="--", linewidth=1, label=label)
    if scratch.low is not None and scratch.high > scratch.low:
        ax.axhspan(scratch.low, scratch.high, color=SCRATCH_COLOR, alpha=0.15, linewidth=0)


def capacity_gap(study_dir, name, points, scratch, title):
    """Student accuracy against teacher params (left) and teacher test accuracy (right).

    ``points``: [(teacher name, params, teacher test accuracy Summary or None, student Summary)].
    """
    figure, axes = _figure(1, 2)
    for ax, which in zip(axes[0], ("params", "accuracy")):
        shown = [p for p in points if (p[1] if which == "params" else p[2]) is not None]
        xs = [p[1] if which == "params" else p[2].mean for p in shown]
        ys = [p[3].mean for p in shown]
        # Teachers are ordered by size: a line joins them on the params axis only.
        style = "-" if which == "params" else "none"
        ax.errorbar(
            xs,
            ys,
            yerr=_whiskers([p[3] for p in shown]),
            marker="o",
            linestyle=style,
            capsize=4,
            label=f"KD student (mean, {CI})",
        )
        for (teacher, *_), x, y in zip(shown, xs, ys):
            ax.annotate(teacher, (x, y), textcoords="offset points", xytext=(4, 6), fontsize=8)
        _scratch_band(ax, scratch)
        if which == "params":
            _params_axis(ax, xs)
            ax.set_xlabel("teacher trainable parameters")
        else:
            ax.set_xlabel("teacher test accuracy (the snapshot the student used)")
        ax.set_ylabel("student test accuracy")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="best")
    figure.suptitle(title, fontsize=10)
    return _save(figure, study_dir, name)


def training_curves(study_dir, name, series, title, teacher_levels=None):
    """KD loss (top) and accuracy (bottom) per epoch, training set (left), validation (right).

    ``series``: {label: {metric key: (epochs, means, stds)}} with keys train_eval_kd, val_kd,
    train_eval_accuracy, val_accuracy. ``teacher_levels``: {label: the teacher's validation
    accuracy}, drawn dotted in the validation-accuracy panel in the series' colour.
    """
    figure, axes = _figure(2, 2, width=4.8, height=3.2)
    panels = (
        (axes[0][0], "train_eval_kd", "KD loss, training set (no augmentation)"),
        (axes[0][1], "val_kd", "KD loss, validation split"),
        (axes[1][0], "train_eval_accuracy", "accuracy, training set (no augmentation)"),
        (axes[1][1], "val_accuracy", "accuracy, validation split"),
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
    note = "; dotted: the teacher's validation accuracy" if teacher_levels else ""
    figure.suptitle(f"{title}\n(line: mean; shaded: ± 1 std over seeds{note})", fontsize=10)
    return _save(figure, study_dir, name)


def teacher_epoch(study_dir, name, series, scratch, title):
    """Student accuracy against the teacher snapshot's epoch, one line per teacher.

    ``series``: {teacher: [(epoch, student Summary, teacher test accuracy Summary or None)]};
    the teacher's own test accuracy at each snapshot is drawn dashed in the same colour.
    """
    figure, axes = _figure(1, 1, width=6.0, height=4.0)
    ax = axes[0][0]
    for teacher, points in series.items():
        points = sorted(points, key=lambda p: p[0])
        line = ax.errorbar(
            [p[0] for p in points],
            [p[1].mean for p in points],
            yerr=_whiskers([p[1] for p in points]),
            marker="o",
            capsize=4,
            label=f"student of {teacher} (mean, {CI})",
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


def _dots(ax, groups, labels):
    """Dot (mean) and whisker (95% CI) per label, side by side within each group."""
    step = 0.8 / max(len(labels), 1)
    for i, label in enumerate(labels):
        xs, shown = [], []
        for g, points in enumerate(groups.values()):
            if points.get(label) is not None:
                xs.append(g + (i - (len(labels) - 1) / 2) * step)
                shown.append(points[label])
        ax.errorbar(
            xs,
            [s.mean for s in shown],
            yerr=_whiskers(shown),
            marker="o",
            linestyle="none",
            capsize=4,
            color=f"C{i}",
            label=label,
        )
    ax.set_xticks(range(len(groups)))
    ax.set_xticklabels(list(groups), fontsize=8)
    ax.set_xlim(-0.6, len(groups) - 0.4)
    ax.grid(alpha=0.3, axis="y")


def intervals(study_dir, name, groups, title, ylabel="student test accuracy", scratch=None):
    """Dot-and-interval plot: ``groups`` {group label: {point label: Summary}}.

    Points of the same label share a colour across groups; ``scratch`` is drawn as a band.
    """
    labels = list(dict.fromkeys(label for points in groups.values() for label in points))
    figure, axes = _figure(1, 1, width=max(5.0, 1.6 * len(groups) + 2.0), height=4.0)
    ax = axes[0][0]
    _dots(ax, groups, labels)
    _scratch_band(ax, scratch)
    ax.set_ylabel(f"{ylabel}\n(dot: mean; whisker: {CI})")
    ax.legend(fontsize=8, loc="best")
    figure.suptitle(title, fontsize=10)
    return _save(figure, study_dir, name)


def ensembles(study_dir, name, groups, title):
    """Left: ensemble / mean member / best member test accuracy; right: member disagreement.

    ``groups``: {ensemble: {'ensemble', 'mean member', 'best member', 'disagreement': Summary}}.
    """
    figure, axes = _figure(1, 2, width=4.8, height=3.8)
    left, right = axes[0]
    kinds = ("ensemble", "mean member", "best member")
    _dots(left, {g: {k: points[k] for k in kinds} for g, points in groups.items()}, kinds)
    left.set_ylabel(f"test accuracy\n(dot: mean; whisker: {CI})")
    left.legend(fontsize=8, loc="best")
    shown = [groups[g]["disagreement"] for g in groups]
    right.bar(
        range(len(groups)),
        [s.mean for s in shown],
        yerr=_whiskers(shown),
        capsize=3,
        color="tab:purple",
    )
    right.set_ylim(bottom=0.0)  # a bar's length is its value: the axis starts at zero
    right.set_ylabel(f"member disagreement\n(bar: mean; whisker: {CI})")
    right.set_title("fraction of test images two members label differently", fontsize=8)
    right.set_xticks(range(len(groups)))
    right.set_xticklabels(list(groups), fontsize=8)
    right.grid(alpha=0.3, axis="y")
    figure.suptitle(title, fontsize=10)
    return _save(figure, study_dir, name)


def methods_ladder(study_dir, name, series, scratch, title):
    """Student accuracy against teacher params, one line per KD method, scratch as a band.

    ``series``: {method label: [(teacher name, params, student Summary)]}, teachers by size.
    Methods are nudged apart along x (a few percent, on the log axis) so whiskers do not overlap.
    """
    figure, axes = _figure(1, 1, width=7.0, height=4.6)
    ax = axes[0][0]
    all_params = sorted({p[1] for points in series.values() for p in points if p[1]})
    count = len(series)
    for i, (label, points) in enumerate(series.items()):
        shown = [p for p in points if p[1]]
        nudge = 1.0 + 0.04 * (i - (count - 1) / 2)
        xs = [p[1] * nudge for p in shown]
        ys = [p[2].mean for p in shown]
        ax.errorbar(
            xs,
            ys,
            yerr=_whiskers([p[2] for p in shown]),
            marker="o",
            capsize=3,
            label=label,
            color=f"C{i}",
        )
    _scratch_band(ax, scratch)
    _params_axis(ax, all_params)
    for teacher, x in {p[0]: p[1] for pts in series.values() for p in pts if p[1]}.items():
        ax.annotate(
            teacher,
            (x, 1),
            xycoords=("data", "axes fraction"),
            xytext=(0, -4),
            textcoords="offset points",
            fontsize=8,
            ha="center",
            va="top",
        )
    ax.set_xlabel("teacher trainable parameters")
    ax.set_ylabel("student test accuracy")
    ax.set_title(f"mean over seeds, whiskers: {CI}", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    figure.suptitle(title, fontsize=10)
    return _save(figure, study_dir, name)
