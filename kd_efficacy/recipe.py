"""Recipe: the training hyperparameters a run is made of, shared by teachers and students.

A recipe is plain data (a frozen dataclass) so it can be hashed into a run's identity and
written into ``run.json``. Gin builds it through the registered ``recipe`` function; scopes give
roles their own recipe (``teacher/recipe.epochs = 30``).
"""

import dataclasses
from typing import Literal

import gin

from kd_efficacy import config_types
from kd_efficacy.config_types import (
    NonNegativeFloat,
    NonNegativeInt,
    OpenFraction,
    PositiveFloat,
    PositiveInt,
    distinct,
)
from kd_efficacy.data.augment import CHOICES as AUGMENTS
from kd_efficacy.data.datasets import VALIDATION_FRACTION
from kd_efficacy.errors import ConfigError

LR_SCHEDULES = ("cosine", "step", "constant")
# The fields that decide a dataset's streams, besides the dataset itself: ``data.build``'s
# keyword arguments, listed once (``Recipe.data_args``).
DATA_FIELDS = (
    "global_batch_size",
    "validation_fraction",
    "max_train_examples",
    "augment",
    "image_size",
    "data_dir",
)


@dataclasses.dataclass(frozen=True)
class Recipe:
    # The annotations are the fields' types and ranges (config_types.py checks them).
    dataset: str = "digits"
    data_dir: str | None = None
    epochs: PositiveInt = 10
    global_batch_size: PositiveInt = 64
    base_lr: PositiveFloat = 0.1
    lr_reference_batch: PositiveInt | None = None  # linear scaling: lr = base_lr · batch / ref
    lr_schedule: Literal[LR_SCHEDULES] = "cosine"
    lr_boundaries: distinct(PositiveInt) = ()  # 1-based epochs after which a step schedule decays
    lr_decay: PositiveFloat = 0.1
    warmup_epochs: NonNegativeInt = 0
    momentum: NonNegativeFloat = 0.9
    nesterov: bool = False
    weight_decay: NonNegativeFloat = 5e-4
    augment: Literal[AUGMENTS] = "auto"
    validation_fraction: OpenFraction = VALIDATION_FRACTION  # held out of train; selection reads it
    max_train_examples: PositiveInt | None = None
    image_size: PositiveInt | None = None
    sync_batchnorm: bool = False
    train_set_metrics: bool = True  # evaluate KD/CE/accuracy on un-augmented train data per epoch
    # Validation (and train-set metrics) every k epochs; the last epoch, snapshot epochs and the
    # ESKD stop epoch are always evaluated. Studies on small training subsets thin it: there the
    # evaluation passes cost as much as training.
    eval_every: PositiveInt = 1
    export_tflite: bool = False

    def __post_init__(self):
        config_types.check_fields(self, "recipe")  # gin's values were checked before this
        object.__setattr__(self, "lr_boundaries", tuple(self.lr_boundaries))
        # Ranges that involve several fields.
        if not self.warmup_epochs < self.epochs:
            raise ConfigError(
                f"recipe.warmup_epochs must be in [0, epochs={self.epochs}), got "
                f"{self.warmup_epochs}; lower it or raise EPOCHS"
            )
        if not all(b < self.epochs for b in self.lr_boundaries):
            raise ConfigError(
                f"recipe.lr_boundaries {list(self.lr_boundaries)} must lie in (0, {self.epochs}); "
                "drop the boundaries at or after the last epoch"
            )

    @classmethod
    def from_dict(cls, fields):
        """The recipe a spec's ``recipe`` entry (``as_dict``, through JSON) describes."""
        return cls(**{**fields, "lr_boundaries": tuple(fields.get("lr_boundaries", ()))})

    def as_dict(self):
        return dataclasses.asdict(self)

    def data_args(self):
        """``data.build``'s keyword arguments: ``data.build(recipe.dataset, **data_args())``."""
        return {name: getattr(self, name) for name in DATA_FIELDS}

    def eval_epochs(self, always=()):
        """The 1-based epochs whose end evaluates validation (and train-set metrics)."""
        every = range(self.eval_every, self.epochs + 1, self.eval_every)
        return sorted({*every, self.epochs, *(int(e) for e in always if 0 < int(e) <= self.epochs)})


# Gin builds recipes as ``@recipe()``; registering the dataclass itself lets gin reject a
# misspelled field at parse time, naming the file and line.
gin.external_configurable(Recipe, name="recipe")
