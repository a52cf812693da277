"""Preflight: a run's data, model, teachers and batch are checked before anything is written.

Each refusal is the ConfigError training would raise later; a study's runs share one cache, so a
dataset or an unlisted model is built once per study, not once per run.
"""

import pytest

from kd_efficacy import data, distribute, preflight, tasks
from kd_efficacy.errors import ConfigError
from kd_efficacy.recipe import Recipe

STRATEGY = distribute.make_strategy("default")


def _spec(model="resnet8", **recipe):
    return tasks.train_spec(model, Recipe(epochs=2, **recipe), seed=0)


def test_good_spec_returns_the_dataset_info():
    info = preflight.check_spec(_spec(), STRATEGY)
    assert info.num_classes == 10 and tuple(info.image_shape) == (8, 8, 1)
    assert preflight.model_info(info) == {"num_classes": 10, "input_shape": [8, 8, 1]}


@pytest.mark.parametrize(
    "spec, problem",
    [
        (lambda: _spec(dataset="cifar11"), "cifar11"),
        (lambda: _spec(model="wrn_15_2"), "6n\\+4"),
        (lambda: _spec(global_batch_size=5000), "batch"),
    ],
)
def test_bad_input_is_refused(spec, problem):
    with pytest.raises(ConfigError, match=problem):
        preflight.check_spec(spec(), STRATEGY)


def test_teacher_with_other_classes_is_refused():
    teacher = ("teacher_dir", {"num_classes": 100, "input_shape": [8, 8, 1]})
    with pytest.raises(ConfigError, match="predicts 100 classes"):
        preflight.check_spec(_spec(), STRATEGY, [teacher])


def test_cache_builds_each_dataset_once(monkeypatch):
    calls = []
    real = data.build

    def counting(*args, **kwargs):
        calls.append(args)
        return real(*args, **kwargs)

    monkeypatch.setattr(data, "build", counting)
    cache = {}
    for model in ("resnet8", "resnet14", "resnet20"):
        preflight.check_spec(_spec(model=model), STRATEGY, cache=cache)
    assert len(calls) == 1
