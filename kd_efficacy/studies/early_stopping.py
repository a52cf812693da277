"""Early stopping (Cho & Hariharan 2019, Sec. 5): early-stopped teachers and ESKD.

Early-stopped teachers: one teacher training run keeps snapshots after the chosen epochs;
students learn from each snapshot and from the fully trained teacher. ESKD: the KD term is
switched off after STOP_KD_EPOCH (CE weight 1 from then on). Both are variants of the
distillation grid, compared with full KD and the student trained from scratch.
"""

import gin

from kd_efficacy import kd_settings
from kd_efficacy.config_types import (
    NonNegativeInt,
    PositiveInt,
    distinct,
)
from kd_efficacy.kd_settings import KDSettings
from kd_efficacy.recipe import Recipe
from kd_efficacy.studies import grid
from kd_efficacy.studies.grid import Seeds, Teachers


@gin.register
def early_stopping(
    ctx,
    student: str = gin.REQUIRED,
    teachers: Teachers = gin.REQUIRED,
    recipe: Recipe = gin.REQUIRED,
    teacher_recipe: Recipe | None = None,
    teacher_epochs: distinct(PositiveInt) = (),
    stop_kd_epochs: distinct(PositiveInt) = (),
    seeds: Seeds = (0, 1, 2),
    teacher_seed: NonNegativeInt = 0,
    kd: KDSettings = kd_settings.DEFAULT,
):
    """``teacher_epochs``: early-stopped teacher snapshots; ``stop_kd_epochs``: ESKD points."""
    variants = {"kd": ("last", None)}
    variants.update({f"teacher_epoch_{e}": (e, None) for e in teacher_epochs})
    variants.update({f"eskd_{s}": ("last", s) for s in stop_kd_epochs})
    return grid.run_grid(
        ctx,
        "early_stopping",
        student=student,
        teachers=teachers,
        recipe=recipe,
        teacher_recipe=teacher_recipe,
        seeds=seeds,
        teacher_seed=teacher_seed,
        variants=variants,
        kd=kd,
    )
