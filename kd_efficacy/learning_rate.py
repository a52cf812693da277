"""Learning-rate schedules over optimizer steps, evaluated inside the compiled step.

A schedule keyed on ``optimizer.iterations`` needs no host round trip and resumes exactly, since
the iteration count is part of the checkpointed optimizer state.
"""

import math

import keras
from keras import ops


@keras.saving.register_keras_serializable("kd_efficacy")
class EpochSchedule(keras.optimizers.schedules.LearningRateSchedule):
    """Linear warm-up, then cosine decay to 0, step decay at epoch boundaries, or constant."""

    def __init__(self, base_lr, kind, steps_per_epoch, epochs, boundaries=(), decay=0.1, warmup=0):
        self.base_lr = float(base_lr)
        self.kind = kind
        self.steps_per_epoch = int(steps_per_epoch)
        self.epochs = int(epochs)
        self.boundaries = tuple(int(b) for b in boundaries)
        self.decay = float(decay)
        self.warmup = int(warmup)

    def __call__(self, step):
        step = ops.cast(step, "float32")
        epoch = step / self.steps_per_epoch  # fractional epochs done
        if self.kind == "cosine":
            span = max(self.epochs - self.warmup, 1)
            progress = ops.clip((epoch - self.warmup) / span, 0.0, 1.0)
            lr = 0.5 * self.base_lr * (1.0 + ops.cos(math.pi * progress))
        elif self.kind == "step":
            passed = sum(ops.cast(epoch >= b, "float32") for b in self.boundaries)
            lr = self.base_lr * ops.power(self.decay, passed) if self.boundaries else self.base_lr
        else:
            lr = ops.convert_to_tensor(self.base_lr, "float32")
        if self.warmup:
            lr = ops.where(
                epoch < self.warmup,
                self.base_lr * (epoch + 1.0 / self.steps_per_epoch) / self.warmup,
                lr,
            )
        return lr

    def get_config(self):
        return {
            "base_lr": self.base_lr,
            "kind": self.kind,
            "steps_per_epoch": self.steps_per_epoch,
            "epochs": self.epochs,
            "boundaries": self.boundaries,
            "decay": self.decay,
            "warmup": self.warmup,
        }


def peak_lr(recipe):
    """The recipe's learning rate for its global batch.

    With ``lr_reference_batch`` set, the linear scaling rule (Goyal et al. 2017) applies:
    ``base_lr · global_batch_size / lr_reference_batch`` (ImageNet: 0.1 per 256). The global batch
    is what the replicas share, so the replica count itself never changes the learning rate.
    """
    if recipe.lr_reference_batch:
        return recipe.base_lr * recipe.global_batch_size / recipe.lr_reference_batch
    return recipe.base_lr


def sgd_for(recipe, steps_per_epoch):
    """SGD with momentum on the recipe's schedule."""
    schedule = EpochSchedule(
        peak_lr(recipe),
        recipe.lr_schedule,
        steps_per_epoch,
        recipe.epochs,
        recipe.lr_boundaries,
        recipe.lr_decay,
        recipe.warmup_epochs,
    )
    return keras.optimizers.SGD(schedule, momentum=recipe.momentum, nesterov=recipe.nesterov)
