"""Teacher logits on the fixed evaluation sets: computed once per teacher snapshot, then reused.

A distillation run evaluates on un-augmented data (``eval`` every epoch, ``test`` once, and
``train_eval`` every epoch when train-set metrics are on). Those images never change, and neither
does a frozen teacher, so its logits on them are computed once, saved in the teacher's run
directory and zipped into the eval streams as a third element: ``Distiller`` then skips the
teacher's forward pass there (``_teacher_probs_for``). Every student of the same teacher, in any
study, reuses the file.

Cache file: ``<teacher_dir>/teacher_logits/<split>-<epoch>-<key>.npz`` holding ``logits`` and
``labels``. ``key`` hashes the snapshot file's bytes and everything that decides the eval batches
(dataset identity and statistics, hold-out, cap, image size, augmentation style, batch size, the
precision policy), so a changed input gives a new file instead of stale logits. The labels are
checked batch by batch when streaming: misaligned logits fail loudly, they never teach.
"""

import dataclasses
import hashlib
import json
import os
import warnings

import keras
import numpy as np
import tensorflow as tf

from kd_efficacy import atomic_io, run_dir

# Splits whose logits would exceed this stay uncached (e.g. ImageNet's train set: 5 GB).
MAX_CACHE_BYTES = 256 * 2**20


def splits_for(recipe):
    """The eval streams a run reads: ``train_eval`` only when it computes train-set metrics."""
    return ("eval", "test", "train_eval") if recipe.train_set_metrics else ("eval", "test")


def attach(dataset, teachers, snapshots, recipe, splits=None):
    """``dataset`` with cached teacher logits zipped into ``splits`` (default ``splits_for``).

    ``teachers``: the loaded teacher models; ``snapshots``: their ``(teacher_dir, epoch)`` pairs
    in the same order. Several teachers give a tuple of logits (the Distiller averages
    probabilities).
    """
    splits = splits_for(recipe) if splits is None else splits
    description = {
        "info": dataclasses.asdict(dataset.info),
        "recipe": eval_fields(recipe),
        "policy": keras.mixed_precision.global_policy().name,
    }
    # One compiled forward pass per teacher, shared by the splits; the same call the Distiller's
    # test step makes (frozen teacher, inference mode). Traced only if some split is not cached.
    forwards = [
        tf.function(lambda images, t=t: t(images, training=False), reduce_retracing=True)
        for t in teachers
    ]
    attached = {}
    for split in splits:
        stream = getattr(dataset, split)
        rows = int(stream.cardinality()) * recipe.global_batch_size
        if not 0 < rows * dataset.info.num_classes * 4 * len(teachers) <= MAX_CACHE_BYTES:
            continue  # the Distiller runs the teacher on this split, as without a cache
        per_teacher = [
            logits_for(forward, teacher_dir, epoch, split, stream, description)
            for forward, (teacher_dir, epoch) in zip(forwards, snapshots)
        ]
        attached[split] = _zip(stream, per_teacher, recipe.global_batch_size)
    return dataclasses.replace(dataset, **attached)


def eval_fields(recipe):
    """The recipe fields that decide which images an eval stream yields, and in which batches:
    the data arguments, less where the files are (``info`` names the dataset's content)."""
    args = {k: v for k, v in recipe.data_args().items() if k != "data_dir"}
    return {"dataset": recipe.dataset, **args}


def logits_for(forward, teacher_dir, epoch, split, stream, description):
    """(logits, labels) of ``forward`` (a teacher) over ``stream``: cached, else computed."""
    path = cache_path(teacher_dir, epoch, split, description)
    if os.path.exists(path):
        with np.load(path) as cached:
            return cached["logits"], cached["labels"]
    logits, labels = _compute(forward, stream)
    try:
        with atomic_io.replacing(path, suffix=".npz") as tmp:
            np.savez(tmp, logits=logits, labels=labels)
    except OSError as e:  # a read-only teacher directory: correct, just not cached
        warnings.warn(f"teacher logits not cached at {path}: {e}", stacklevel=2)
    return logits, labels


def cache_path(teacher_dir, epoch, split, description):
    snapshot = run_dir.snapshot_path(os.path.join(teacher_dir, run_dir.SNAPSHOTS_DIR), epoch)
    digest = hashlib.sha256()
    with open(snapshot, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    digest.update(json.dumps({**description, "split": split}, sort_keys=True).encode())
    return run_dir.teacher_logits_path(teacher_dir, split, epoch, digest.hexdigest()[:16])


def _compute(forward, stream):
    logits, labels = [], []
    for batch in stream:
        logits.append(forward(batch[0]).numpy())
        labels.append(batch[1].numpy())
    return np.concatenate(logits), np.concatenate(labels)


def _zip(stream, per_teacher, batch_size):
    logits = tuple(tf.constant(lg) for lg, _ in per_teacher)
    labels = per_teacher[0][1]
    cached = tf.data.Dataset.from_tensor_slices((logits, labels)).batch(batch_size)

    def join(batch, cached_batch):
        images, batch_labels = batch[0], batch[1]
        teacher_logits, expected = cached_batch
        check = tf.debugging.assert_equal(
            tf.cast(batch_labels, expected.dtype),
            expected,
            message="cached teacher logits do not line up with the eval data",
        )
        with tf.control_dependencies([check]):
            batch_labels = tf.identity(batch_labels)
        return images, batch_labels, teacher_logits if len(logits) > 1 else teacher_logits[0]

    return tf.data.Dataset.zip(stream, cached).map(join)
