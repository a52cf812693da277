"""Cached teacher logits: same metrics as running the teacher, computed once, then reused."""

import os

import keras
import numpy as np
import pytest

from kd_efficacy import callbacks, data, models, teacher_logits
from kd_efficacy.distiller import Distiller
from kd_efficacy.kd_settings import KDSettings
from kd_efficacy.recipe import Recipe
from kd_efficacy.run_dir import TEACHER_LOGITS_DIR, snapshot_path

RECIPE = Recipe(dataset="digits", global_batch_size=64, validation_fraction=0.2)


@pytest.fixture(scope="module")
def digits():
    return data.build(
        RECIPE.dataset,
        global_batch_size=RECIPE.global_batch_size,
        validation_fraction=RECIPE.validation_fraction,
    )


def _model(name, info, seed):
    keras.utils.set_random_seed(seed)
    return models.build(
        name,
        input_shape=info.image_shape,
        num_classes=info.num_classes,
        mean=info.mean,
        std=info.std,
    )


def _teacher_run(tmp_path, info, seed):
    """A teacher run directory holding a 'last' snapshot (all the cache reads)."""
    run_dir = str(tmp_path / f"teacher{seed}")
    teacher = _model("resnet8", info, seed)
    snapshot = snapshot_path(os.path.join(run_dir, "snapshots"), "last")
    callbacks.save_weights_atomically(teacher, snapshot)
    return teacher, run_dir


def _evaluate(distiller, dataset):
    return {
        split: distiller.evaluate(getattr(dataset, split), verbose=0, return_dict=True)
        for split in ("eval", "test", "train_eval")
    }


@pytest.mark.parametrize("num_teachers", [1, 2])
def test_cached_logits_give_the_same_metrics(tmp_path, digits, num_teachers):
    runs = [_teacher_run(tmp_path, digits.info, seed) for seed in range(1, num_teachers + 1)]
    teachers = [teacher for teacher, _ in runs]
    distiller = Distiller(_model("resnet8", digits.info, 9), teachers, kd=KDSettings(4.0, 1.0, 1.0))
    distiller.compile(optimizer="sgd")
    snapshots = [(run_dir, "last") for _, run_dir in runs]
    cached = teacher_logits.attach(digits, teachers, snapshots, RECIPE)
    assert len(cached.eval.element_spec) == 3
    uncached_metrics, cached_metrics = _evaluate(distiller, digits), _evaluate(distiller, cached)
    for split, metrics in uncached_metrics.items():
        assert set(metrics) == set(cached_metrics[split]) >= {"kd", "agreement"}
        for name, value in metrics.items():
            np.testing.assert_allclose(cached_metrics[split][name], value, rtol=1e-6, err_msg=name)


def test_logits_are_computed_once_then_read(tmp_path, digits):
    teacher, run_dir = _teacher_run(tmp_path, digits.info, seed=1)
    teacher_logits.attach(digits, [teacher], [(run_dir, "last")], RECIPE)
    files = sorted(os.listdir(os.path.join(run_dir, TEACHER_LOGITS_DIR)))
    assert [f.split("-")[0] for f in files] == ["eval", "test", "train_eval"]

    def no_teacher(*args, **kwargs):
        raise AssertionError("the teacher ran although its logits were cached")

    reread = teacher_logits.attach(digits, [no_teacher], [(run_dir, "last")], RECIPE)
    images, labels, logits = next(iter(reread.eval))
    assert logits.shape == (len(labels), digits.info.num_classes)
    # Another snapshot (new weights) or another batch size is another file, never stale logits.
    teacher.set_weights([w * 0.5 for w in teacher.get_weights()])
    callbacks.save_weights_atomically(
        teacher, snapshot_path(os.path.join(run_dir, "snapshots"), "last")
    )
    teacher_logits.attach(digits, [teacher], [(run_dir, "last")], RECIPE, splits=("eval",))
    assert len(os.listdir(os.path.join(run_dir, TEACHER_LOGITS_DIR))) == 4
