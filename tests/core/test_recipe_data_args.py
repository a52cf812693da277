"""Recipe.data_args: the recipe's ``data.build`` arguments, listed once for every caller."""

import inspect
import json

from kd_efficacy import data, teacher_logits
from kd_efficacy.recipe import Recipe


def test_data_args_are_data_builds_keywords():
    recipe = Recipe(global_batch_size=16, validation_fraction=0.2, max_train_examples=100)
    args = recipe.data_args()
    keywords = set(inspect.signature(data.build).parameters)
    # What the recipe does not decide: the name (positional), where an epoch starts, eval batch.
    assert set(args) == keywords - {"name", "seed", "initial_epoch", "eval_batch_size"}
    assert args["global_batch_size"] == 16 and args["max_train_examples"] == 100
    built = data.build(recipe.dataset, **args, seed=0)
    assert built.info.num_train <= 100 and built.steps_per_epoch >= 1


def test_from_dict_round_trips_through_json():
    recipe = Recipe(epochs=5, lr_schedule="step", lr_boundaries=(2, 4))
    assert Recipe.from_dict(json.loads(json.dumps(recipe.as_dict()))) == recipe


def test_teacher_logit_cache_keys_unchanged():
    # The fields hashed into cached teacher logits' names, as listed before data_args: existing
    # caches stay valid (the data's location is not part of what the images are).
    expected = {
        "dataset",
        "validation_fraction",
        "max_train_examples",
        "image_size",
        "augment",
        "global_batch_size",
    }
    assert set(teacher_logits.eval_fields(Recipe())) == expected
