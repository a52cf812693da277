"""config_types: each kind of annotation accepts what it should and refuses the rest, and gin's
bindings are checked with the binding and the macro named (no subprocess; the CLI cases are in
tests/reliability/test_bad_inputs.py)."""

import collections.abc
import inspect
from typing import Literal

import gin
import pytest
from gin import config as gin_config

from kd_efficacy import config_types, run
from kd_efficacy.config_types import (
    UNRESOLVED,
    NonNegativeFloat,
    NonNegativeInt,
    OpenFraction,
    PositiveFloat,
    PositiveInt,
    Reference,
    distinct,
    problem,
)
from kd_efficacy.errors import ConfigError
from kd_efficacy.recipe import Recipe
from kd_efficacy.studies.grid import Variants
from kd_efficacy.tasks import TeacherEpoch, train

RECIPE_REF = Reference(Recipe, True, "@recipe()")
TASK_REF = Reference(train, False, "@train")
CHOICE = Literal[("cosine", "step")]

ACCEPTED = [
    (PositiveInt, 3),
    (NonNegativeInt, 0),
    (PositiveFloat, 2),  # an int where a float is expected
    (PositiveFloat, 0.5),
    (OpenFraction, 0.2),
    (bool, False),
    (str, "resnet8"),
    (CHOICE, "step"),
    (PositiveInt | None, None),
    (TeacherEpoch, "best"),
    (TeacherEpoch, 10),
    (distinct(NonNegativeInt), [0, 1, 2]),  # gin's list for a tuple
    (distinct(NonNegativeInt), ()),
    (str | distinct(str), "runs/teacher"),
    (Variants, {"kd": ("last", None), "eskd": ["last", 8]}),
    (Recipe, RECIPE_REF),
    (Recipe, Recipe()),
    (Recipe | None, None),
    (collections.abc.Callable, TASK_REF),
    (PositiveInt, Reference(len, True, "@len()")),  # a function's result: not known here
    (PositiveInt, UNRESOLVED),  # REQUIRED or undefined: gin_errors names it
]
REFUSED = [
    (PositiveInt, "three", "expected an integer >= 1"),
    (PositiveInt, 32.5, "expected an integer >= 1"),
    (PositiveInt, 32.0, "expected an integer"),  # floats are never ints
    (PositiveInt, True, "expected an integer"),  # bools are not ints
    (PositiveInt, 0, "expected an integer >= 1"),
    (NonNegativeFloat, None, "expected a number >= 0"),
    (NonNegativeFloat, False, "expected a number >= 0"),
    (PositiveFloat, 0, "expected a number > 0"),
    (OpenFraction, 1.5, "expected a number in (0, 1)"),
    (bool, 1, "expected True or False"),
    (str, 3, "expected a string"),
    (CHOICE, "cosin", "expected 'cosine' or 'step'"),
    (Literal[0, 1, 2], True, "expected 0, 1 or 2"),
    (PositiveInt | None, "x", "expected an integer >= 1 or None"),
    (TeacherEpoch, "first", "expected 'last', 'best' or an integer >= 1"),
    (distinct(NonNegativeInt), 0, "expected a list of distinct integers >= 0"),
    (distinct(NonNegativeInt), ["a"], "integers >= 0 ('a' is not an integer >= 0)"),
    (distinct(str), ["resnet8", "resnet8"], "lists 'resnet8' twice"),
    (distinct(NonNegativeInt), [0, 1, 0, 0, 1], "lists 0 3 times and 1 twice"),
    (Variants, ["kd"], "expected a dict from variant names to (TEACHER_EPOCH, STOP_KD_EPOCH)"),
    (Variants, {"kd": ("last",)}, "(('last',) is not a pair ("),
    (Variants, {"kd": ("first", None)}, "('first' is not 'last', 'best' or an integer >= 1)"),
    (Recipe, 3, "expected @recipe()"),
    (collections.abc.Callable, RECIPE_REF, "expected a reference like @train"),
]


@pytest.mark.parametrize("annotation, value", ACCEPTED)
def test_accepted(annotation, value):
    assert problem(value, annotation) is None


@pytest.mark.parametrize("annotation, value, fragment", REFUSED)
def test_refused(annotation, value, fragment):
    assert fragment in (problem(value, annotation) or "")


def test_python_built_recipe_is_checked_by_its_annotations():
    with pytest.raises(ConfigError, match=r"^recipe.epochs = 0: expected an integer >= 1; change"):
        Recipe(epochs=0)
    with pytest.raises(ConfigError, match="warmup_epochs"):  # a range over two fields
        Recipe(epochs=2, warmup_epochs=2)


def test_every_default_fits_its_annotation():
    checked = 0
    for selector, configurable in gin_config._REGISTRY.items():
        if not selector.startswith("kd_efficacy."):
            continue
        hints = config_types.annotations_of(configurable.wrapped)
        for name, param in inspect.signature(configurable.wrapped).parameters.items():
            if name in hints and param.default not in (inspect.Parameter.empty, gin.REQUIRED):
                assert problem(param.default, hints[name]) is None, (selector, name)
                checked += 1
    assert checked > 20


def _check(files, bindings):
    gin.clear_config()
    try:
        run.parse_gin(files, bindings)
        config_types.check_bindings()
    finally:
        gin.clear_config()


@pytest.mark.parametrize(
    "files, bindings, message",
    [
        (
            ["gin_configs/quickstart/teacher.gin"],
            ["GLOBAL_BATCH_SIZE = 32.5"],
            "GLOBAL_BATCH_SIZE = 32.5 (recipe.global_batch_size): expected an integer >= 1; "
            "change GLOBAL_BATCH_SIZE in the gin file or with --gin_bindings",
        ),
        (
            ["gin_configs/experiments/capacity_gap/digits.gin"],
            ["teacher/recipe.epochs = 0"],
            "teacher/recipe.epochs = 0: expected an integer >= 1; change teacher/recipe.epochs",
        ),
        (
            ["gin_configs/quickstart/student.gin"],
            ["TEACHER_DIR = 3"],
            "distill.teacher_dirs = [3] (via TEACHER_DIR): expected a string or a list of "
            "distinct strings (3 is not a string); change TEACHER_DIR",
        ),
        (
            ["gin_configs/experiments/early_stopping/digits.gin"],
            ["SEEDS = [0, 1, 0]"],
            "SEEDS = [0, 1, 0] (early_stopping.seeds) lists 0 twice; give each value once in SEEDS",
        ),
        (
            ["gin_configs/quickstart/teacher.gin"],
            ["train.recipe = @train"],
            "train.recipe = @train: expected @recipe()",
        ),
    ],
)
def test_bindings_are_refused_naming_binding_and_macro(files, bindings, message):
    with pytest.raises(ConfigError) as error:
        _check(files, bindings)
    assert str(error.value).startswith(message), str(error.value)


def test_unset_required_macros_are_left_to_gin_errors():
    leaves = [f"gin_configs/{f}" for f in ("datasets/digits.gin", "schedules/digits.gin")]
    _check([*leaves, "gin_configs/runs/train.gin"], [])  # MODEL = %gin.REQUIRED: no type error
