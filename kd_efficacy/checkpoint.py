"""Resumable training state of a run: student weights, optimizer state, loss weights, epoch.

A ``tf.train.Checkpoint`` of four named objects: ``student``, ``optimizer`` and ``loss_weights``
(each a flat set of variables keyed by a stable name: the Keras path of a student weight, the path
inside its optimizer of an optimizer slot, ``ce_weight``/``kd_weight``) and ``epoch``. Restoring
matches variables by those names, so a reordered model restores correctly and a changed one is
refused with a one-line error naming the first variable that does not fit. Teachers are never
saved (they are rebuilt from their own run directories), so a checkpoint is the student's size.

Publishing is atomic: the checkpoint files are written into a ``.tmp-*`` directory, which is
renamed to ``epoch_NNNN``; then ``latest.json`` (replaced atomically) names it; then older
``epoch_*`` directories are deleted. A kill at any moment leaves ``latest.json`` naming a complete
checkpoint (or none) and at worst a stray ``.tmp-*`` or unnamed directory, which the next start
or save removes. ``latest.json`` also holds the epoch, so reading it needs no TensorFlow I/O.

An old-format ``state.npz`` (variables by position) is still read once: it is loaded with its
count check, and the next epoch-end save writes the new format and deletes it.
"""

import contextlib
import os
import shutil
import tempfile

import numpy as np
import tensorflow as tf

from kd_efficacy import atomic_io, run_dir
from kd_efficacy.errors import ConfigError

_VALUE = "/.ATTRIBUTES/VARIABLE_VALUE"


def named_variables(distiller):
    """{group: {stable name: variable}}: what a checkpoint holds, by the names it matches on."""
    return {
        "student": _unique(
            {w.path: w for w in distiller.student.weights}, distiller.student.weights
        ),
        "optimizer": _optimizer_variables(distiller.optimizer),
        "loss_weights": {"ce_weight": distiller.ce_weight, "kd_weight": distiller.kd_weight},
    }


def _unique(named, variables):
    if len(named) != len(variables):
        raise RuntimeError("two of the model's variables share a path; name its layers uniquely")
    return named


def _optimizer_variables(optimizer, prefix=""):
    """Slots by their path inside the optimizer: Keras numbers optimizer names per process
    (``sgd``, ``sgd_1``), so the optimizer's own name is dropped. A LossScaleOptimizer's inner
    optimizer goes under ``inner/``."""
    inner = getattr(optimizer, "inner_optimizer", None)
    inner_ids = {id(v) for v in inner.variables} if inner is not None else set()
    own = [v for v in optimizer.variables if id(v) not in inner_ids]
    head = optimizer.name + "/"
    named = {prefix + (v.path[len(head) :] if v.path.startswith(head) else v.path): v for v in own}
    _unique(named, own)
    if inner is not None:
        named.update(_optimizer_variables(inner, prefix + "inner/"))
    return named


def _checkpoint(groups, epoch=None):
    objects = {group: tf.train.Checkpoint(**variables) for group, variables in groups.items()}
    if epoch is not None:
        objects["epoch"] = tf.Variable(epoch, dtype=tf.int64, trainable=False)
    return tf.train.Checkpoint(**objects)


def save(checkpoint_dir, distiller, epoch):
    """Publishes the state after ``epoch`` (1-based: the number of finished epochs)."""
    os.makedirs(checkpoint_dir, exist_ok=True)
    tmp = tempfile.mkdtemp(dir=checkpoint_dir, prefix=atomic_io.TEMP_PREFIX)
    try:
        _checkpoint(named_variables(distiller), epoch).write(
            os.path.join(tmp, run_dir.CHECKPOINT_PREFIX)
        )
        for name in os.listdir(tmp):
            with open(os.path.join(tmp, name), "rb") as f:
                os.fsync(f.fileno())
        name = run_dir.epoch_name(epoch)
        final = os.path.join(checkpoint_dir, name)
        if os.path.exists(final):  # left unnamed by a kill before latest.json was replaced
            shutil.rmtree(final)
        os.rename(tmp, final)
        atomic_io.write_json(
            os.path.join(checkpoint_dir, run_dir.CHECKPOINT_LATEST), {"dir": name, "epoch": epoch}
        )
    finally:
        if os.path.exists(tmp):
            shutil.rmtree(tmp, ignore_errors=True)
    for old in os.listdir(checkpoint_dir):  # superseded ones, and a converted state.npz
        if old != name and (
            old.startswith(run_dir.EPOCH_PREFIX) or old == run_dir.LEGACY_CHECKPOINT
        ):
            path = os.path.join(checkpoint_dir, old)
            with contextlib.suppress(FileNotFoundError):
                shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)


def _latest(checkpoint_dir):
    return atomic_io.read_json(os.path.join(checkpoint_dir, run_dir.CHECKPOINT_LATEST))


def prefix(checkpoint_dir):
    """The file prefix of the latest complete checkpoint, or None."""
    latest = _latest(checkpoint_dir)
    return latest and os.path.join(checkpoint_dir, latest["dir"], run_dir.CHECKPOINT_PREFIX)


def finished_epochs(checkpoint_dir):
    """How many epochs the checkpoint holds; 0 when there is none."""
    latest = _latest(checkpoint_dir)
    if latest:
        return int(latest["epoch"])
    legacy = os.path.join(checkpoint_dir, run_dir.LEGACY_CHECKPOINT)
    if os.path.exists(legacy):
        with np.load(legacy) as arrays:
            return int(arrays["epoch"])
    return 0


def arrays(checkpoint_dir):
    """{stored key: numpy array} of the latest checkpoint, for bit-for-bit comparisons."""
    where = prefix(checkpoint_dir)
    if where is None:
        return None
    reader = tf.train.load_checkpoint(where)
    keys = [k for k in reader.get_variable_to_shape_map() if k.endswith(_VALUE)]
    return {k: reader.get_tensor(k) for k in sorted(keys)}


def restore(checkpoint_dir, distiller):
    """Loads the state into a built distiller (optimizer built); returns the finished epochs."""
    where = prefix(checkpoint_dir)
    if where is None:
        return _restore_legacy(checkpoint_dir, distiller)
    groups = named_variables(distiller)
    reader = tf.train.load_checkpoint(where)
    _check_fit(checkpoint_dir, reader.get_variable_to_shape_map(), groups)
    status = _checkpoint(groups).read(where)
    status.assert_existing_objects_matched()
    status.expect_partial()  # the epoch is read from the reader above
    return int(reader.get_tensor("epoch" + _VALUE))


def _check_fit(checkpoint_dir, stored_shapes, groups):
    """Raises a one-line ConfigError naming the first variable the checkpoint and model disagree
    on (missing on either side, or a different shape)."""
    expected = {
        f"{group}/{_escape(name)}{_VALUE}": (f"{group}/{name}", tuple(v.shape))
        for group, variables in groups.items()
        for name, v in variables.items()
    }
    stored = {k: tuple(s) for k, s in stored_shapes.items() if k.endswith(_VALUE)}
    stored.pop("epoch" + _VALUE, None)
    problem = None
    for key, (name, shape) in expected.items():  # student first
        if key not in stored:
            problem = f"the model has {name} (shape {shape}), the checkpoint does not"
        elif stored[key] != shape:
            problem = f"{name} is {stored[key]} in the checkpoint, {shape} in the model"
        if problem:
            break
    order = list(groups)  # student first, as above
    extra = sorted(
        set(stored) - set(expected),
        key=lambda k: (order.index(k.split("/")[0]) if k.split("/")[0] in order else 9, k),
    )
    if problem is None and extra:
        problem = f"the checkpoint has {_unescape(extra[0][: -len(_VALUE)])}, the model does not"
    if problem:
        raise ConfigError(
            f"checkpoint {checkpoint_dir} does not fit the model: {problem}; the model or the "
            "optimizer changed since it was written: use a new --model_dir (or delete that "
            "checkpoints directory to retrain the run from scratch)"
        )


def _escape(name):
    """How tf.train.Checkpoint spells an attribute name inside a key."""
    return name.replace(".", "..").replace("/", ".S")


def _unescape(key):
    out, i = [], 0
    while i < len(key):
        if key[i] == "." and i + 1 < len(key):
            out.append("/" if key[i + 1] == "S" else key[i + 1])
            i += 2
        else:
            out.append(key[i])
            i += 1
    return "".join(out)


def _restore_legacy(checkpoint_dir, distiller):
    """The old format: arrays by position within each group, checked by count only."""
    path = os.path.join(checkpoint_dir, run_dir.LEGACY_CHECKPOINT)
    if not os.path.exists(path):
        return 0
    groups = {
        "student": distiller.student.weights,
        "optimizer": distiller.optimizer.variables,
        "distiller": [distiller.ce_weight, distiller.kd_weight],
    }
    with np.load(path) as stored:
        for group, variables in groups.items():
            keys = sorted(k for k in stored.files if k.startswith(group + "/"))
            if len(keys) != len(variables):
                raise ConfigError(
                    f"old-format checkpoint {path} holds {len(keys)} {group} variables, the model "
                    f"has {len(variables)}: it was written by a different model; use a new "
                    "--model_dir (or delete that file to retrain the run from scratch)"
                )
            for key, variable in zip(keys, variables):
                variable.assign(stored[key])
        return int(stored["epoch"])
