"""Per-epoch curves from runs' ``metrics.jsonl``, averaged over seeds.

Keys follow ``metrics.jsonl``: ``val_*`` are the eval set (the test set unless the recipe holds
out a validation split), ``train_eval_*`` the un-augmented training set.
"""

import os
import statistics

from kd_efficacy import atomic_io, run_dir


def load(planned):
    """``{run name: [metric rows]}`` for planned runs (``summary.planned_runs`` entries)."""
    found = {}
    for name, entry in planned.items():
        path = os.path.join(entry["dir"], run_dir.METRICS_JSONL)
        found[name] = atomic_io.read_json_lines(path) if os.path.exists(path) else []
    return found


def mean_curve(histories, names, key):
    """(epochs, means, stds) of ``key`` over the runs ``names``; epochs where any run has it."""
    by_epoch = {}
    for name in names:
        for row in histories.get(name, []):
            value = row.get(key)
            if value is not None:
                by_epoch.setdefault(int(row["epoch"]), []).append(float(value))
    epochs = sorted(by_epoch)
    means = [statistics.fmean(by_epoch[e]) for e in epochs]
    stds = [statistics.stdev(by_epoch[e]) if len(by_epoch[e]) > 1 else 0.0 for e in epochs]
    return epochs, means, stds


def eval_set_name(planned_entry):
    """'test set' or 'validation set': what ``val_*`` measured for this run's recipe."""
    recipe = planned_entry.get("recipe", {})
    return "validation set" if recipe.get("validation_fraction") else "test set"
