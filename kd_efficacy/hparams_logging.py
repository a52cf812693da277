"""TensorBoard HParams: each run's hyperparameters and final metrics, for study-wide comparison.

At run start, ``log_hparams`` writes the run's hyperparameters as an HParams session into
``<run_dir>/logs``; at the end, ``log_final`` writes the final metrics there as ``final/*``
scalars. A study declares its columns once, before training: ``log_study_config`` writes the
``hparams_config`` (every hyperparameter with the values its planned runs take, and ``METRICS``)
into ``<study_dir>/logs``, so ``tensorboard --logdir <study_dir>`` shows one HParams table, one
row per run, with those columns instead of the ones TensorBoard guesses from what it finds.

Values are typed consistently across runs (the dashboard infers one type per hyperparameter):
a run without a teacher logs teacher 'none', teacher epoch 'none' and stop-KD epoch 0.
"""

import contextlib
import glob
import os

import tensorflow as tf
from tensorboard.plugins.hparams import api as hp

from kd_efficacy import run_dir
from kd_efficacy.kd_settings import KDSettings


def hparams_of(spec, teacher_names, role=None):
    """The hyperparameters of a run spec as {name: bool/int/float/str}."""
    recipe = spec["recipe"]
    distill = bool(spec["teachers"])
    stop = spec.get("stop_kd_epoch")
    values = {
        "task": spec["task"],
        "role": role or spec["task"],
        "model": spec["model"],
        "teacher": "+".join(teacher_names) if teacher_names else "none",
        "teacher_epoch": spec["teachers"][0]["epoch"] if distill else "none",
        # A run without teachers logs the values its Distiller uses: KDSettings.scratch().
        **KDSettings.from_spec(spec).spec_fields(),
        "stop_kd_epoch": 0 if stop is None else int(stop),
        "seed": int(spec["seed"]),
        "dataset": str(recipe["dataset"]),
        "epochs": int(recipe["epochs"]),
        "base_lr": float(recipe["base_lr"]),
        "global_batch_size": int(recipe["global_batch_size"]),
    }
    return values


def _role(directory):
    planned = run_dir.read_planned(directory)  # written by studies; gives the role
    return planned and planned.get("role")


def log_hparams(logs_dir, spec, teacher_names, run_directory=None):
    """Writes the run's HParams session summary into ``logs_dir``."""
    values = hparams_of(spec, teacher_names, _role(run_directory) if run_directory else None)
    writer = tf.summary.create_file_writer(logs_dir)
    with writer.as_default():
        hp.hparams(values, trial_id=run_dir.spec_hash(spec))
    writer.close()
    return values


def final_metrics(result):
    """The numbers a study compares runs by, from a run's result fields."""
    test = result.get("test", {})
    last = result.get("last", {})
    best = result.get("best", {})
    candidates = {
        "final/test_accuracy": test.get("accuracy"),
        "final/test_kd": test.get("kd"),
        "final/test_agreement": test.get("agreement"),
        "final/val_accuracy": last.get("val_accuracy"),
        "final/train_eval_accuracy": last.get("train_eval_accuracy"),
        "final/train_eval_kd": last.get("train_eval_kd"),
        "final/best_val_accuracy": best.get("val_accuracy"),
        "final/teacher_val_accuracy": result.get("teacher_val_accuracy"),
        "final/teacher_test_accuracy": result.get("teacher_test_accuracy"),
    }
    return {k: float(v) for k, v in candidates.items() if v is not None}


def log_final(logs_dir, result, step):
    """Writes the final metrics as scalars at ``step`` (the run's epoch count)."""
    metrics = final_metrics(result)
    writer = tf.summary.create_file_writer(logs_dir)
    with writer.as_default():
        for name, value in metrics.items():
            tf.summary.scalar(name, value, step=step)
    writer.close()
    return metrics


# The metric columns of a study's table: (tag, TensorBoard run relative to a run's logs/, title).
# final/* are log_final's scalars; epoch_* are Keras' (and callbacks.py's) per-epoch scalars.
METRICS = (
    ("final/test_accuracy", "", "test accuracy"),
    ("final/val_accuracy", "", "val accuracy (last epoch)"),
    ("final/best_val_accuracy", "", "best val accuracy"),
    ("final/test_kd", "", "test KD loss"),
    ("final/test_agreement", "", "test agreement with the teacher"),
    ("final/train_eval_accuracy", "", "train accuracy (un-augmented)"),
    ("final/train_eval_kd", "", "train KD loss (un-augmented)"),
    ("final/teacher_val_accuracy", "", "teacher val accuracy"),
    ("final/teacher_test_accuracy", "", "teacher test accuracy"),
    ("epoch_accuracy", "validation", "val accuracy (per epoch)"),
    ("epoch_loss", "train", "train loss (per epoch)"),
)


def study_config(planned_values):
    """The ``hp.hparams_config`` arguments for runs whose hparams_of values are given: each
    hyperparameter's domain is the values the runs take (one type each, see the docstring)."""
    names = list(dict.fromkeys(name for values in planned_values for name in values))
    hparams = [
        hp.HParam(name, hp.Discrete(sorted({v[name] for v in planned_values if name in v})))
        for name in names
    ]
    metrics = [
        hp.Metric(tag, group=group or None, display_name=title) for tag, group, title in METRICS
    ]
    return hparams, metrics


def log_study_config(study_dir, planned_values):
    """Writes the study's ``hparams_config`` into ``<study_dir>/logs``, replacing an earlier one
    (a rerun may plan more runs, and with two configs TensorBoard would show either)."""
    logs_dir = os.path.join(study_dir, run_dir.STUDY_LOGS_DIR)
    for old in glob.glob(os.path.join(logs_dir, "*" + run_dir.HPARAMS_CONFIG_SUFFIX)):
        with contextlib.suppress(FileNotFoundError):  # a concurrent study process's removal
            os.remove(old)
    hparams, metrics = study_config(planned_values)
    writer = tf.summary.create_file_writer(logs_dir, filename_suffix=run_dir.HPARAMS_CONFIG_SUFFIX)
    with writer.as_default():
        hp.hparams_config(hparams=hparams, metrics=metrics)
    writer.close()
    return hparams, metrics
