"""Callbacks that make a run a study's building block.

Epoch numbers in files and configs are 1-based: "epoch 5" is the state after five epochs, which
is what a user means by "the teacher at epoch 5". Keras passes 0-based indices to callbacks.

- ``KDSchedule``: ESKD, switches the KD term off from ``stop_kd_epoch`` on (CE weight to 1);
  listed first, it also drops the train teacher metrics of epochs that ran no teacher.
- ``TeacherSnapshots``: keeps the student's weights after chosen epochs, the last epoch and the
  best epoch, so early-stopped teachers come from one training run.
- ``RunRecorder``: one ``metrics.jsonl`` line per epoch (learning rate, train and validation
  terms); it also tracks the best epoch.
- ``RunCheckpoint``: resumable state at every epoch end (see ``checkpoint.py``); it also keeps
  ``progress.py``'s record of the epoch in progress.
- ``StopOnNonFinite``: stops at the first NaN/Inf loss, naming epoch and step.
"""

import math
import time

import keras
import numpy as np

from kd_efficacy import atomic_io, checkpoint, keras_saving_fix, progress, run_dir

# Train-step metrics that need the teacher's output (Distiller's trackers of the same names).
TRAIN_TEACHER_METRICS = ("kd", "agreement")


def save_weights_atomically(model, path):
    keras_saving_fix.cache_skipsets()  # Keras' own walk, without its per-layer rebuild
    with atomic_io.replacing(path, suffix=run_dir.SNAPSHOT_SUFFIX) as tmp:
        model.save_weights(tmp)


class KDSchedule(keras.callbacks.Callback):
    """Early-stopped KD (ESKD): from 1-based epoch ``stop_kd_epoch + 1`` on, KD weight 0, CE 1.

    The weights are variables of the Distiller, so the change reaches the compiled step; it is
    reapplied at every epoch start, so a resumed run is in the right phase too.
    """

    def __init__(self, stop_kd_epoch):
        super().__init__()
        self.stop_kd_epoch = stop_kd_epoch

    def on_epoch_begin(self, epoch, logs=None):
        if self.stop_kd_epoch is not None and epoch >= self.stop_kd_epoch:
            self.model.kd_weight.assign(0.0)
            self.model.ce_weight.assign(1.0)

    def on_epoch_end(self, epoch, logs=None):
        # With KD weight 0 the train step skipped the teacher (distiller.py), so the train
        # 'kd'/'agreement' are empty means; removed here, before TensorBoard and RunRecorder
        # (the same logs dict reaches every later callback). The val_ ones were measured.
        if logs is not None and float(self.model.kd_weight.numpy()) == 0.0:
            for name in TRAIN_TEACHER_METRICS:
                logs.pop(name, None)


class TeacherSnapshots(keras.callbacks.Callback):
    """Saves the student after chosen 1-based epochs, plus 'last' and 'best' (by ``monitor``)."""

    def __init__(self, snapshot_dir, epochs=(), monitor="val_accuracy", best_so_far=-math.inf):
        super().__init__()
        self.snapshot_dir = snapshot_dir
        self.epochs = {int(e) for e in epochs}
        self.monitor = monitor
        self.best = best_so_far

    def on_epoch_end(self, epoch, logs=None):
        student = self.model.student
        if epoch + 1 in self.epochs:
            save_weights_atomically(student, run_dir.snapshot_path(self.snapshot_dir, epoch + 1))
        value = (logs or {}).get(self.monitor)
        if value is not None and value > self.best:
            self.best = value
            save_weights_atomically(student, run_dir.snapshot_path(self.snapshot_dir, "best"))

    def on_train_end(self, logs=None):
        save_weights_atomically(
            self.model.student, run_dir.snapshot_path(self.snapshot_dir, "last")
        )


class RunRecorder(keras.callbacks.Callback):
    """Appends one JSON line per epoch to ``metrics.jsonl``: the run's machine-readable history."""

    def __init__(self, path, extra_metrics=None):
        super().__init__()
        self.path = path
        # Called at epoch end with (epoch, logs); returns more metrics (e.g. train-set mimicry).
        self.extra_metrics = extra_metrics
        self._epoch_start = None

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch_start = time.time()

    def on_epoch_end(self, epoch, logs=None):
        row = {"epoch": epoch + 1, "lr": _current_lr(self.model.optimizer)}
        row.update({k: float(v) for k, v in (logs or {}).items() if k != "learning_rate"})
        if self.extra_metrics:
            row.update(self.extra_metrics(epoch, logs))
        row["kd_weight"] = float(self.model.kd_weight.numpy())
        row["epoch_seconds"] = time.time() - self._epoch_start
        atomic_io.append_json_line(self.path, row)


class RunCheckpoint(keras.callbacks.Callback):
    """Writes the resumable state after every epoch (1-based count of finished epochs), and
    records the epoch in progress for the line an interrupt prints (``progress.py``)."""

    def __init__(self, checkpoint_dir):
        super().__init__()
        self.checkpoint_dir = checkpoint_dir

    def on_epoch_begin(self, epoch, logs=None):
        progress.epoch_started(epoch + 1)

    def on_epoch_end(self, epoch, logs=None):
        checkpoint.save(self.checkpoint_dir, self.model, epoch + 1)

    def on_train_end(self, logs=None):
        progress.training_ended()


class NonFiniteLoss(RuntimeError):
    """Training diverged; the message names the epoch and step."""


class StopOnNonFinite(keras.callbacks.Callback):
    """Raises at the first non-finite loss, before a NaN reaches a checkpoint.

    Listed before ``RunRecorder``, ``TeacherSnapshots`` and ``RunCheckpoint``: at epoch end it also
    checks the validation loss and the student's weights (the epoch's last update can break the
    weights after the last finite training loss), so the last checkpoint stays a good one.
    """

    def __init__(self):
        super().__init__()
        self._epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch + 1

    def on_train_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            raise NonFiniteLoss(
                f"loss became {float(loss)} at epoch {self._epoch}, step {batch + 1}; "
                "lower BASE_LR (or raise warmup_epochs) and check the data"
            )

    def on_epoch_end(self, epoch, logs=None):
        values = {k: float(v) for k, v in (logs or {}).items() if k in ("loss", "val_loss")}
        broken = [k for k, v in values.items() if not math.isfinite(v)]
        # One batched read of the weights, checked in NumPy (an eager op pair per weight costs
        # about 4x as much, every epoch of every run).
        if not all(np.isfinite(w).all() for w in self.model.student.get_weights()):
            broken.append("student weights")
        if broken:
            raise NonFiniteLoss(
                f"{' and '.join(broken)} became non-finite at epoch {epoch + 1}, after its last "
                "step; lower BASE_LR (or raise warmup_epochs) and check the data"
            )


def _current_lr(optimizer):
    lr = optimizer.learning_rate
    return float(lr.numpy() if hasattr(lr, "numpy") else lr)
