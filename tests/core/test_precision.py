"""Mixed precision: compute in bfloat16/float16, logits and every loss term in float32, loss
scaling for float16 (tasks.py wraps the optimizer)."""

import keras
import numpy as np
import pytest

from kd_efficacy import losses, models, tasks
from kd_efficacy.context import RunContext
from kd_efficacy.distiller import Distiller
from kd_efficacy.kd_settings import KDSettings
from kd_efficacy.recipe import Recipe


@pytest.fixture
def policy():
    def use(name):
        keras.mixed_precision.set_global_policy(name)

    yield use
    keras.mixed_precision.set_global_policy("float32")


def _resnet8(seed):
    keras.utils.set_random_seed(seed)
    return models.build("resnet8", input_shape=(8, 8, 1), num_classes=10, mean=(0.5,), std=(0.3,))


def test_mixed_bfloat16_distill_step_keeps_losses_in_float32(policy):
    policy("mixed_bfloat16")
    teacher, student = _resnet8(1), _resnet8(2)
    conv = next(layer for layer in student.layers if isinstance(layer, keras.layers.Conv2D))
    assert conv.compute_dtype == "bfloat16" and conv.kernel.dtype == "float32"
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(16, 8, 8, 1)).astype(np.float32)
    labels = rng.integers(0, 10, size=(16,)).astype(np.int32)
    logits = student(images)
    assert logits.dtype == "float32"
    teacher_probs = losses.teacher_probabilities(teacher(images), 4.0)
    assert teacher_probs.dtype == "float32"
    assert losses.kd_term(teacher_probs, logits, 4.0).dtype == "float32"
    assert losses.cross_entropy(labels, logits).dtype == "float32"

    distiller = Distiller(student, [teacher], kd=KDSettings(4.0, 0.1, 0.9))
    distiller.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9))
    logs = distiller.train_on_batch(images, labels, return_dict=True)
    assert all(np.isfinite(v) for v in logs.values()), logs
    assert {"loss", "ce", "kd"} <= set(logs)


def test_mixed_float16_run_uses_loss_scaling(policy, tmp_path, monkeypatch):
    """experiment.py refuses float16 on CPU; the task itself is checked here on CPU anyway."""
    wrapped = []
    real = keras.optimizers.LossScaleOptimizer

    def spy(optimizer, *args, **kwargs):
        wrapped.append(optimizer)
        return real(optimizer, *args, **kwargs)

    monkeypatch.setattr(keras.optimizers, "LossScaleOptimizer", spy)
    policy("mixed_float16")
    ctx = RunContext(model_dir=str(tmp_path / "run"), precision="mixed_float16", verbose=0)
    recipe = Recipe(
        dataset="digits", epochs=1, global_batch_size=32, max_train_examples=64,
        train_set_metrics=False,
    )  # fmt: skip
    result = tasks.train(ctx, model="resnet8", recipe=recipe)
    assert len(wrapped) == 1
    assert result["status"] == "complete" and np.isfinite(result["test"]["loss"])
