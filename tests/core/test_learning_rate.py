"""Learning-rate schedules against their closed forms, per optimizer step.

Cosine decays from the peak to 0 over the epochs after warm-up; step decays by ``lr_decay`` after
each boundary epoch; warm-up rises linearly to the peak over its epochs; the linear scaling rule
scales the peak by global batch / reference batch.
"""

import math

import numpy as np
import pytest

from kd_efficacy import learning_rate
from kd_efficacy.recipe import Recipe

STEPS = 10  # steps per epoch


def _lr(schedule, step):
    return float(schedule(step))


def _closed_form(kind, step, base, epochs, boundaries=(), decay=0.1, warmup=0):
    epoch = step / STEPS
    if warmup and epoch < warmup:
        return base * (epoch + 1 / STEPS) / warmup
    if kind == "cosine":
        progress = min(max((epoch - warmup) / max(epochs - warmup, 1), 0.0), 1.0)
        return 0.5 * base * (1 + math.cos(math.pi * progress))
    if kind == "step":
        return base * decay ** sum(epoch >= b for b in boundaries)
    return base


@pytest.mark.parametrize(
    "kind, boundaries, warmup",
    [
        ("cosine", (), 0),
        ("cosine", (), 2),
        ("step", (3, 6), 0),
        ("step", (3, 6), 1),
        ("constant", (), 0),
    ],
)
def test_schedule_matches_closed_form(kind, boundaries, warmup):
    schedule = learning_rate.EpochSchedule(0.4, kind, STEPS, 8, boundaries, 0.1, warmup)
    for step in range(0, 8 * STEPS + 1, 3):
        want = _closed_form(kind, step, 0.4, 8, boundaries, 0.1, warmup)
        assert _lr(schedule, step) == pytest.approx(want, rel=1e-5, abs=1e-7), step


def test_cosine_ends_at_zero_and_starts_at_peak():
    schedule = learning_rate.EpochSchedule(0.1, "cosine", STEPS, 5)
    assert _lr(schedule, 0) == pytest.approx(0.1)
    assert _lr(schedule, 5 * STEPS) == pytest.approx(0.0, abs=1e-8)
    values = [_lr(schedule, s) for s in range(5 * STEPS + 1)]
    assert np.all(np.diff(values) <= 1e-9)  # never rises


def test_step_schedule_decays_after_each_boundary_epoch():
    schedule = learning_rate.EpochSchedule(1.0, "step", STEPS, 9, (3, 6), 0.1)
    assert _lr(schedule, 3 * STEPS - 1) == pytest.approx(1.0)
    assert _lr(schedule, 3 * STEPS) == pytest.approx(0.1)
    assert _lr(schedule, 6 * STEPS) == pytest.approx(0.01)


def test_linear_scaling_rule():
    assert learning_rate.peak_lr(Recipe(base_lr=0.1, global_batch_size=512)) == 0.1
    scaled = Recipe(base_lr=0.1, global_batch_size=512, lr_reference_batch=256)
    assert learning_rate.peak_lr(scaled) == pytest.approx(0.2)


def test_schedule_survives_serialization():
    schedule = learning_rate.EpochSchedule(0.2, "step", STEPS, 9, (3, 6), 0.5, 1)
    again = learning_rate.EpochSchedule(**schedule.get_config())
    for step in (0, 5, 31, 61, 89):
        assert _lr(again, step) == _lr(schedule, step)


def test_sgd_for_uses_the_recipe():
    recipe = Recipe(base_lr=0.3, momentum=0.8, nesterov=True, lr_schedule="constant", epochs=4)
    optimizer = learning_rate.sgd_for(recipe, STEPS)
    assert optimizer.momentum == pytest.approx(0.8) and optimizer.nesterov
    assert float(optimizer.learning_rate) == pytest.approx(0.3)  # the value at step 0
