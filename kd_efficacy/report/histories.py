"""Per-epoch curves from runs' ``metrics.jsonl``, averaged over seeds.

Keys follow ``metrics.jsonl``: ``val_*`` are the validation split every run holds out of its
training data, ``train_eval_*`` the un-augmented training set. The eval schedule may evaluate
the validation split only every few epochs (always the last one), so a curve has the epochs
where some run has the key.
"""

import os

import numpy as np

from kd_efficacy import atomic_io, run_dir


def load(planned):
    """``{run name: [metric rows]}`` for planned runs (``summary.planned_runs`` entries)."""
    found = {}
    for name, entry in planned.items():
        found[name] = atomic_io.read_json_lines(os.path.join(entry["dir"], run_dir.METRICS_JSONL))
    return found


def mean_curve(histories, names, key):
    """(epochs, means, stds) of ``key`` over the runs ``names``; epochs where any run has it.

    The std (ddof=1, 0 for one run) is the spread over seeds at that epoch.
    """
    by_epoch = {}
    for name in names:
        for row in histories.get(name, []):
            value = row.get(key)
            if value is not None:
                by_epoch.setdefault(int(row["epoch"]), []).append(float(value))
    epochs = sorted(by_epoch)
    means = [float(np.mean(by_epoch[e])) for e in epochs]
    stds = [float(np.std(by_epoch[e], ddof=1)) if len(by_epoch[e]) > 1 else 0.0 for e in epochs]
    return epochs, means, stds
