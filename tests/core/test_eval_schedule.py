"""``recipe.eval_every``: validation and train-set metrics on a thinned schedule, never losing
the epochs a study reads (the last epoch, teacher snapshot epochs, the ESKD stop epoch)."""

import pytest
from kd_testing import TEACHER_GIN, assert_run_contract, run_experiment

from kd_efficacy import atomic_io
from kd_efficacy.errors import ConfigError
from kd_efficacy.recipe import Recipe


def test_eval_epochs_keep_the_last_and_the_requested_epochs():
    recipe = Recipe(epochs=10, eval_every=4)
    assert recipe.eval_epochs() == [4, 8, 10]
    assert recipe.eval_epochs([3, 0, 11]) == [3, 4, 8, 10]  # 0/None and out-of-range are dropped
    assert Recipe(epochs=3).eval_epochs() == [1, 2, 3]


@pytest.mark.parametrize("value", [0, 1.5, "2"])
def test_bad_eval_every_is_refused(value):
    with pytest.raises(ConfigError, match="eval_every"):
        Recipe(epochs=3, eval_every=value)


def test_a_run_evaluates_only_on_its_schedule(tmp_path):
    bindings = [
        "EPOCHS = 5",
        "MODEL = 'resnet8'",
        "recipe.eval_every = 3",
        "SNAPSHOT_EPOCHS = [1]",
    ]
    run_experiment([TEACHER_GIN], bindings, model_dir=tmp_path / "run")
    result = assert_run_contract(tmp_path / "run")  # epochs 1..5 in metrics.jsonl, among others
    rows = atomic_io.read_json_lines(tmp_path / "run" / "metrics.jsonl")
    assert [r["epoch"] for r in rows if "val_accuracy" in r] == [1, 3, 5]
    assert [r["epoch"] for r in rows if "train_eval_accuracy" in r] == [1, 3, 5]
    assert result["best"]["epoch"] in (1, 3, 5) and "val_accuracy" in result["last"]
