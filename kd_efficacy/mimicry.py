"""Mimicry metrics beyond what ``fit`` logs: the teacher's own accuracy and train-set terms.

Keras' TensorBoard callback writes the training stream (``logs/train``, augmented batches, running
means) and the eval set (``logs/validation``). The paper's mimicry argument also needs

- the KD loss, CE, accuracy and agreement on the *un-augmented training set* at each epoch end
  (``train_eval_*`` in ``metrics.jsonl``; ``logs/train_eval`` in TensorBoard), and
- the teacher's own accuracy on the validation and test splits, constants of the run
  (``teacher_val_accuracy`` / ``teacher_test_accuracy`` in ``result.json`` and in every
  ``metrics.jsonl`` row; the validation one in ``logs/teacher`` in TensorBoard, beside the
  student's curves).

TensorBoard tags reuse Keras' names (``epoch_accuracy``, ``epoch_kd``...), so one chart overlays
train, validation, train_eval and the teacher's level.
"""

import os

import numpy as np
import tensorflow as tf

from kd_efficacy import losses

TRAIN_EVAL_LOGS = "train_eval"
TEACHER_LOGS = "teacher"


def teacher_accuracy(teachers, stream):
    """Top-1 accuracy of the teachers (an ensemble averages probabilities) on ``stream``.

    The stream's third element, when present, holds the teachers' cached logits
    (``teacher_logits.attach``), so a teacher's test pass runs once, whichever student asks.
    Returns None for a run without teachers.
    """
    if not teachers:
        return None
    forward = tf.function(lambda images: [t(images, training=False) for t in teachers])
    correct = total = 0
    for batch in stream:
        logits = batch[2] if len(batch) == 3 else forward(batch[0])
        probs = losses.teacher_probabilities(logits, 1.0)
        labels = np.asarray(batch[1]).reshape(-1)
        correct += int(np.sum(np.argmax(probs.numpy(), -1) == labels))
        total += labels.size
    return correct / total if total else None


class EpochExtras:
    """``RunRecorder``'s ``extra_metrics``: train-set terms and the teacher's accuracy per epoch.

    Called once per epoch end with (0-based epoch, logs); also writes the values to TensorBoard
    under ``<logs_dir>/train_eval`` and ``<logs_dir>/teacher``. Train-set terms are computed only
    at ``eval_epochs`` (1-based; None: every epoch), the epochs the recipe evaluates.
    ``teacher_accuracy``: {'val': ..., 'test': ...} or None for a run without teachers.
    """

    def __init__(self, evaluate, train_eval, logs_dir, teacher_accuracy=None, eval_epochs=None):
        self.evaluate = evaluate  # stream -> the Distiller's metrics (trainer.Built.evaluate)
        self.train_eval = train_eval  # None: train-set metrics are off for this recipe
        self.logs_dir = logs_dir
        self.teacher_accuracy = teacher_accuracy
        self.eval_epochs = None if eval_epochs is None else set(eval_epochs)
        self._writers = {}

    def __call__(self, epoch, logs):
        row = {}
        due = self.eval_epochs is None or epoch + 1 in self.eval_epochs
        if self.train_eval is not None and due:
            clean = self.evaluate(self.train_eval)
            row = {f"train_eval_{k}": float(v) for k, v in clean.items()}
            self._scalars(TRAIN_EVAL_LOGS, epoch, {k: float(v) for k, v in clean.items()})
        if self.teacher_accuracy is not None:
            row["teacher_val_accuracy"] = float(self.teacher_accuracy["val"])
            row["teacher_test_accuracy"] = float(self.teacher_accuracy["test"])
            # Under Keras' validation tag, so it overlays the student's validation curve.
            self._scalars(TEACHER_LOGS, epoch, {"accuracy": self.teacher_accuracy["val"]})
        return row

    def _scalars(self, name, epoch, values):
        if name not in self._writers:
            self._writers[name] = tf.summary.create_file_writer(os.path.join(self.logs_dir, name))
        writer = self._writers[name]
        with writer.as_default():
            for key, value in values.items():
                tf.summary.scalar(f"epoch_{key}", value, step=epoch)
        writer.flush()
