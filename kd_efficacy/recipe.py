"""Recipe: the training hyperparameters a run is made of, shared by teachers and students.

A recipe is plain data (a frozen dataclass) so it can be hashed into a run's identity and
written into ``run.json``. Gin builds it through the registered ``recipe`` function; scopes give
roles their own recipe (``teacher/recipe.epochs = 30``).
"""

import dataclasses

import gin

from kd_efficacy.data.datasets import VALIDATION_FRACTION
from kd_efficacy.errors import ConfigError

LR_SCHEDULES = ("cosine", "step", "constant")


@dataclasses.dataclass(frozen=True)
class Recipe:
    dataset: str = "digits"
    data_dir: str | None = None
    epochs: int = 10
    global_batch_size: int = 64
    base_lr: float = 0.1
    lr_reference_batch: int | None = None  # linear scaling: lr = base_lr · batch / reference
    lr_schedule: str = "cosine"
    lr_boundaries: tuple[int, ...] = ()  # 1-based epochs after which a step schedule decays
    lr_decay: float = 0.1
    warmup_epochs: int = 0
    momentum: float = 0.9
    nesterov: bool = False
    weight_decay: float = 5e-4
    augment: str = "auto"
    validation_fraction: float = VALIDATION_FRACTION  # held out of train; all selection reads it
    max_train_examples: int | None = None
    image_size: int | None = None
    sync_batchnorm: bool = False
    train_set_metrics: bool = True  # evaluate KD/CE/accuracy on un-augmented train data per epoch
    # Validation (and train-set metrics) every k epochs; the last epoch, snapshot epochs and the
    # ESKD stop epoch are always evaluated. Studies on small training subsets thin it: there the
    # evaluation passes cost as much as training.
    eval_every: int = 1
    export_tflite: bool = False

    def __post_init__(self):
        object.__setattr__(self, "lr_boundaries", tuple(int(b) for b in self.lr_boundaries))
        checks = [
            (self.epochs >= 1, f"recipe.epochs must be >= 1, got {self.epochs}"),
            (
                self.global_batch_size >= 1,
                f"recipe.global_batch_size must be >= 1, got {self.global_batch_size}",
            ),
            (self.base_lr > 0, f"recipe.base_lr must be > 0, got {self.base_lr}"),
            (
                self.lr_schedule in LR_SCHEDULES,
                f"recipe.lr_schedule {self.lr_schedule!r} is unknown; use one of {LR_SCHEDULES}",
            ),
            (self.weight_decay >= 0, f"recipe.weight_decay must be >= 0, got {self.weight_decay}"),
            (
                isinstance(self.eval_every, int) and self.eval_every >= 1,
                f"recipe.eval_every must be an integer >= 1, got {self.eval_every!r}",
            ),
            (
                0 <= self.warmup_epochs < self.epochs,
                f"recipe.warmup_epochs must be in [0, epochs), got {self.warmup_epochs}",
            ),
            (
                all(0 < b < self.epochs for b in self.lr_boundaries),
                f"recipe.lr_boundaries {self.lr_boundaries} must lie in (0, {self.epochs})",
            ),
        ]
        for ok, message in checks:
            if not ok:
                raise ConfigError(message)

    def as_dict(self):
        return dataclasses.asdict(self)

    def eval_epochs(self, always=()):
        """The 1-based epochs whose end evaluates validation (and train-set metrics)."""
        every = range(self.eval_every, self.epochs + 1, self.eval_every)
        return sorted({*every, self.epochs, *(int(e) for e in always if 0 < int(e) <= self.epochs)})


# Gin builds recipes as ``@recipe()``; registering the dataclass itself lets gin reject a
# misspelled field at parse time, naming the file and line.
gin.external_configurable(Recipe, name="recipe")
