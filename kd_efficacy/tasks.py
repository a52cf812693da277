"""The two units every study is built from: ``train`` (from scratch) and ``distill``.

Both describe a run as a spec (plain JSON data: its identity) and hand it to ``execute``, which
runs it in named steps: resume state (run_dir.py, checkpoint.py) -> build (trainer.py: data,
models, the compiled Distiller) -> fit (``model.fit``, the only training loop, with the run's
callbacks) -> record (run_record.py: result.json, export). Training from scratch is a Distiller
without teachers, with ``KDSettings.scratch()`` (CE only).
"""

import os
import tempfile
import time
from typing import Literal

import gin
import keras
import numpy as np

from kd_efficacy import (
    atomic_io,
    callbacks,
    checkpoint,
    distribute,
    hparams_logging,
    kd_settings,
    mimicry,
    preflight,
    progress,
    run_dir,
    run_lock,
    run_record,
    teachers,
    trainer,
)
from kd_efficacy.config_types import PositiveInt, distinct
from kd_efficacy.data import unreadable
from kd_efficacy.errors import ConfigError, RunFailed
from kd_efficacy.kd_settings import KDSettings
from kd_efficacy.recipe import Recipe

TEACHER_EPOCHS = ("last", "best")
# Which of a teacher's weights a student learns from: its last or best epoch, or a kept snapshot.
TeacherEpoch = Literal[TEACHER_EPOCHS] | PositiveInt
SnapshotEpochs = distinct(PositiveInt)

# Parameter annotations are the types and ranges config_types.py checks gin's bindings against.


@gin.register
def train(
    ctx,
    model: str = gin.REQUIRED,
    recipe: Recipe = gin.REQUIRED,
    snapshot_epochs: SnapshotEpochs = (),
):
    """Trains ``model`` from scratch; keeps snapshots after ``snapshot_epochs`` (1-based)."""
    spec = train_spec(model, recipe, ctx.seed, snapshot_epochs)
    _preflight(ctx, spec)
    return execute(ctx, spec)


@gin.register
def distill(
    ctx,
    student: str = gin.REQUIRED,
    teacher_dirs: str | distinct(str) = gin.REQUIRED,
    recipe: Recipe = gin.REQUIRED,
    teacher_epoch: TeacherEpoch = "last",
    kd: KDSettings = kd_settings.DEFAULT,
    stop_kd_epoch: PositiveInt | None = None,
    snapshot_epochs: SnapshotEpochs = (),
):
    """Distills ``student`` from the teachers in ``teacher_dirs`` (an ensemble if several)."""
    if isinstance(teacher_dirs, str):
        teacher_dirs = [teacher_dirs]
    if not teacher_dirs:
        raise ConfigError("distill needs a teacher; set TEACHER_DIR (distill.teacher_dirs)")
    hashes = [teachers.describe(d, teacher_epoch)["config_hash"] for d in teacher_dirs]
    spec = distill_spec(
        ctx.model_dir,
        student,
        list(zip(teacher_dirs, hashes)),
        recipe,
        ctx.seed,
        kd,
        teacher_epoch,
        stop_kd_epoch,
        snapshot_epochs,
    )
    _preflight(ctx, spec, [(d, teachers.model_info(d)) for d in teacher_dirs])
    return execute(ctx, spec)


def _preflight(ctx, spec, teacher_models=()):
    """Checks the run's inputs before its directory is claimed (preflight.py)."""
    if not run_dir.is_complete(ctx.model_dir, spec):
        preflight.check_spec(spec, ctx.strategy, teacher_models)


def train_spec(model, recipe, seed, snapshot_epochs=()):
    _check_snapshot_epochs(snapshot_epochs, recipe.epochs)
    return {
        "task": "train",
        "model": model,
        "recipe": recipe.as_dict(),
        "seed": int(seed),
        "snapshot_epochs": sorted(int(e) for e in snapshot_epochs),
        "teachers": [],
    }


def distill_spec(
    model_dir,
    student,
    teacher_refs,
    recipe,
    seed,
    kd,
    teacher_epoch="last",
    stop_kd_epoch=None,
    snapshot_epochs=(),
):
    """The spec of a distillation run; values that need other values are checked here, before any
    work (each value's own type and range were checked where gin bound it: config_types.py).

    ``kd``: the ``KDSettings``; its fields stay flat in the spec (kd_settings.py: old run
    directories keep their hashes). ``teacher_refs``: (teacher run dir, teacher spec hash)
    pairs. Studies know the hash of a teacher they have not trained yet, so a whole plan can be
    checked before training starts.
    """
    spec = train_spec(student, recipe, seed, snapshot_epochs)  # shared fields and checks
    if stop_kd_epoch is not None and not stop_kd_epoch < recipe.epochs:
        raise ConfigError(
            f"STOP_KD_EPOCH={stop_kd_epoch} must lie in [1, EPOCHS={recipe.epochs}); "
            "use None for KD through the whole run"
        )
    # Teacher dirs are stored relative to the student's run: a study directory can move whole.
    teacher_specs = [
        {"dir": os.path.relpath(d, model_dir), "epoch": str(teacher_epoch), "config_hash": h}
        for d, h in teacher_refs
    ]
    return {
        **spec,
        "task": "distill",
        "teachers": teacher_specs,
        **kd.spec_fields(),
        "stop_kd_epoch": None if stop_kd_epoch is None else int(stop_kd_epoch),
    }


def _check_snapshot_epochs(epochs, total):
    bad = [e for e in epochs if e > total]
    if bad:
        several = len(bad) > 1
        raise ConfigError(
            f"snapshot epoch{'s' if several else ''} {bad} lie{'' if several else 's'} outside "
            f"[1, EPOCHS={total}]; keep SNAPSHOT_EPOCHS within the run"
        )


def execute(ctx, spec, wait_for_lock=None):
    """Runs ``spec`` in ``ctx.model_dir`` following the run-directory contract; returns result.

    The chief holds the directory's lease throughout (run_lock.py): a second process on the same
    run raises ``run_lock.Held``, or waits with ``wait_for_lock`` (default: ``run_lock.wait``).
    Multi-worker: every worker runs all of it, saving included (reading distributed variables
    can be a collective every worker must join); only the chief writes into model_dir, the others
    read their resume state from it and write into a scratch directory deleted at the end.
    """
    recipe = spec["recipe"]
    # A streamed dataset meets a bad file only in the iterator (fit, evaluate): name it there.
    with unreadable.named(recipe["dataset"], recipe.get("data_dir")):
        if ctx.is_chief:
            run_dir.check_same(ctx.model_dir, spec)  # refused before the lease creates the dir
            with run_lock.holding(ctx.model_dir, wait=wait_for_lock):
                return _execute(ctx, spec, ctx.model_dir)
        with tempfile.TemporaryDirectory(prefix="kd_efficacy_worker_") as scratch:
            return _execute(ctx, spec, scratch)


def _execute(ctx, spec, out_dir):
    """One run in named steps: resume state -> build -> fit -> record."""
    complete, finished = resume_state(ctx, spec, out_dir)
    if complete:
        print(f"[kd_efficacy] {ctx.model_dir}: complete run of the same config, nothing to do")
        return run_dir.read_result(ctx.model_dir)
    started = time.time()
    built = trainer.build(ctx, spec, run_paths(ctx.model_dir)["checkpoints"], finished)
    paths = run_paths(out_dir)
    _fit(ctx, spec, built, paths, out_dir)
    return run_record.record(ctx, spec, built, paths, out_dir, started)


def resume_state(ctx, spec, out_dir):
    """(complete, finished epochs) of the run in ``ctx.model_dir``, the same on every worker;
    the chief claims the directory (run_dir.py), other workers only read it."""
    directory = ctx.model_dir  # read: run state, teachers; written only when out_dir is it
    distribute.check_batch(spec["recipe"]["global_batch_size"], ctx.strategy)
    if out_dir == directory:
        complete = run_dir.claim(directory, spec)
    else:
        run_dir.check_same(directory, spec)
        complete = run_dir.is_complete(directory, spec)
    finished = checkpoint.finished_epochs(run_paths(directory)["checkpoints"])
    distribute.check_same_on_all_workers(
        ctx.strategy, [complete, finished], f"the state of the run in {directory}"
    )
    return complete, finished


def _fit(ctx, spec, built, paths, out_dir):
    """``model.fit`` from the restored epoch, with the run's callbacks; a diverged run is
    recorded as failed (its last good checkpoint kept) and raises RunFailed."""
    directory = ctx.model_dir
    fit_callbacks, eval_epochs = prepare_fit(ctx, spec, built, paths)
    # The line an interrupt prints reads model_dir's checkpoint: the one the rerun resumes from.
    progress.run_started(directory, run_paths(directory)["checkpoints"])
    try:
        built.distiller.fit(
            built.dataset.train,
            steps_per_epoch=built.dataset.steps_per_epoch,
            epochs=built.recipe.epochs,
            initial_epoch=built.finished,
            validation_data=built.dataset.eval,  # the validation split: all selection reads it
            validation_freq=eval_epochs,
            callbacks=fit_callbacks,
            verbose=ctx.verbose,
            shuffle=False,  # the data pipeline orders each epoch (resumable, seeded)
        )
    except callbacks.NonFiniteLoss as e:
        raise run_failed(ctx, spec, out_dir, e) from None


def prepare_fit(ctx, spec, built, paths):
    """(callbacks, evaluation epochs) of the run's ``fit``; drops metric lines the fit redoes and
    logs the HParams. Shared by a separate run and a packed one (packed_runs.py)."""
    directory = ctx.model_dir
    history = _history_until(run_paths(directory)["metrics"], built.finished, paths["metrics"])
    teacher_names = [teachers.model_info(d)["name"] for d in built.teacher_dirs]
    hparams_logging.log_hparams(paths["logs"], spec, teacher_names, directory)
    eval_epochs = _eval_epochs(built.recipe, spec)
    fit_callbacks = _callbacks(built, spec, paths, history, ctx, eval_epochs)
    return fit_callbacks, eval_epochs


def run_failed(ctx, spec, out_dir, error):
    """Records the diverged run failed (its last good checkpoint kept); returns the RunFailed."""
    run_dir.write_result(out_dir, spec, "failed", reason=str(error))
    return RunFailed(f"{ctx.model_dir}: {error}")


def run_paths(directory):
    """The run's files and folders in ``directory`` (names from run_dir.py)."""
    return {
        "checkpoints": os.path.join(directory, run_dir.CHECKPOINTS_DIR),
        "snapshots": os.path.join(directory, run_dir.SNAPSHOTS_DIR),
        "logs": os.path.join(directory, run_dir.LOGS_DIR),
        "metrics": os.path.join(directory, run_dir.METRICS_JSONL),
        "export": os.path.join(directory, run_dir.EXPORT_DIR),
    }


def _history_until(metrics_path, finished, out_path):
    """Drops metric lines of epochs after the checkpoint: they will be trained again."""
    kept = [row for row in atomic_io.read_json_lines(metrics_path) if row["epoch"] <= finished]
    if os.path.exists(metrics_path):
        atomic_io.rewrite_json_lines(out_path, kept)
    return kept


def _eval_epochs(recipe, spec):
    """Epochs that evaluate validation: the recipe's schedule plus the epochs a study reads
    (teacher snapshots, the ESKD stop epoch), so no curve loses the points a report draws."""
    always = [*spec["snapshot_epochs"], spec.get("stop_kd_epoch") or 0]
    return recipe.eval_epochs(always)


def _callbacks(built, spec, paths, history, ctx, eval_epochs):
    recipe = spec["recipe"]
    # Train-set terms and the teacher's accuracy per epoch, to metrics.jsonl and TensorBoard.
    train_eval = built.dataset.train_eval if recipe["train_set_metrics"] else None
    epoch_extras = mimicry.EpochExtras(
        built.evaluate, train_eval, paths["logs"], built.teacher_accuracy, eval_epochs
    )
    best_so_far = max((row.get("val_accuracy", -np.inf) for row in history), default=-np.inf)
    chosen = [
        callbacks.KDSchedule(spec.get("stop_kd_epoch")),
        callbacks.StopOnNonFinite(),
        keras.callbacks.TensorBoard(paths["logs"], write_graph=False, update_freq="epoch"),
        callbacks.RunRecorder(paths["metrics"], extra_metrics=epoch_extras),
        callbacks.TeacherSnapshots(
            paths["snapshots"], spec["snapshot_epochs"], best_so_far=best_so_far
        ),
        callbacks.RunCheckpoint(paths["checkpoints"]),
    ]
    return chosen
