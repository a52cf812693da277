"""Teacher resolution: which run directory and snapshot a student learns from, and the refusals.

A teacher is a complete run with a snapshot for the requested epoch ('last', 'best' or a kept
epoch number); anything else is a one-line ConfigError naming what exists and the fix.
"""

import json
import os

import numpy as np
import pytest

from kd_efficacy import models, run_dir, teachers
from kd_efficacy.errors import ConfigError

SHAPE, CLASSES = (8, 8, 1), 10


def _teacher_dir(root, status="complete", epochs=(2,), weights_from=None):
    directory = os.path.join(root, "teacher")
    snapshots = os.path.join(directory, "snapshots")
    os.makedirs(snapshots)
    info = {"name": "resnet8", "input_shape": list(SHAPE), "num_classes": CLASSES}
    with open(os.path.join(directory, run_dir.RESULT_JSON), "w") as f:
        json.dump({"status": status, "config_hash": "abc123", "model": info}, f)
    for which in ("last", "best", *epochs):
        path = run_dir.snapshot_path(snapshots, which)
        if weights_from is not None:
            weights_from.save_weights(path)
        else:
            open(path, "w").close()
    return directory


@pytest.mark.parametrize("epoch", ["last", "best", 2, "2"])
def test_describe_resolves_kept_snapshots(tmp_path, epoch):
    described = teachers.describe(_teacher_dir(tmp_path), epoch)
    assert described == {"config_hash": "abc123", "epoch": str(epoch)}


def test_missing_run_names_the_fix(tmp_path):
    with pytest.raises(ConfigError, match="holds no complete run.*missing.*train the teacher"):
        teachers.describe(os.path.join(tmp_path, "nowhere"), "last")


def test_incomplete_run_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="result.json failed"):
        teachers.describe(_teacher_dir(tmp_path, status="failed"), "last")


def test_unkept_epoch_lists_what_is_kept(tmp_path):
    with pytest.raises(ConfigError, match=r"TEACHER_EPOCH='5'.*epochs \[2\]"):
        teachers.describe(_teacher_dir(tmp_path), 5)


@pytest.mark.parametrize(
    "classes, shape, problem",
    [(100, SHAPE, "predicts 10 classes"), (CLASSES, (32, 32, 3), "shape")],
)
def test_incompatible_teacher(classes, shape, problem):
    info = {"num_classes": CLASSES, "input_shape": list(SHAPE)}
    with pytest.raises(ConfigError, match=problem):
        teachers.check_compatible("t", info, classes, shape)


def test_load_restores_the_snapshot_frozen(tmp_path):
    source = models.build("resnet8", input_shape=SHAPE, num_classes=CLASSES)
    rng = np.random.default_rng(0)
    source.set_weights(
        [w + rng.normal(0, 0.1, w.shape).astype(w.dtype) for w in source.get_weights()]
    )
    teacher = teachers.load(_teacher_dir(tmp_path, weights_from=source), "last")
    assert not teacher.trainable
    for got, want in zip(teacher.get_weights(), source.get_weights()):
        np.testing.assert_array_equal(got, want)
