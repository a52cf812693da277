"""Capacity gap (Cho & Hariharan 2019, Sec. 4): does a bigger teacher make a better student?

A fixed student is distilled from a ladder of teachers of growing size (plus ESKD and
early-stopped-teacher variants when the config names them) and trained from scratch. The report
shows student accuracy against teacher size and accuracy, and the student's final train/test KD
loss against teacher: the paper's "the student cannot mimic the large teacher".
"""

import gin

from kd_efficacy import kd_settings
from kd_efficacy.config_types import NonNegativeInt
from kd_efficacy.kd_settings import KDSettings
from kd_efficacy.recipe import Recipe
from kd_efficacy.studies import grid
from kd_efficacy.studies.grid import Seeds, Teachers, Variants


@gin.register
def capacity_gap(
    ctx,
    student: str = gin.REQUIRED,
    teachers: Teachers = gin.REQUIRED,
    recipe: Recipe = gin.REQUIRED,
    teacher_recipe: Recipe | None = None,
    seeds: Seeds = (0, 1, 2),
    teacher_seed: NonNegativeInt = 0,
    variants: Variants | None = None,
    kd: KDSettings = kd_settings.DEFAULT,
):
    return grid.run_grid(
        ctx,
        "capacity_gap",
        student=student,
        teachers=teachers,
        recipe=recipe,
        teacher_recipe=teacher_recipe,
        seeds=seeds,
        teacher_seed=teacher_seed,
        variants=variants,
        kd=kd,
    )
