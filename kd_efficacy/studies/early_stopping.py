"""Early stopping (Cho & Hariharan 2019, Sec. 5): early-stopped teachers and ESKD.

Early-stopped teachers: one teacher training run keeps snapshots after the chosen epochs;
students learn from each snapshot and from the fully trained teacher. ESKD: the KD term is
switched off after STOP_KD_EPOCH (CE weight 1 from then on). Both are variants of the
distillation grid, compared with full KD and the student trained from scratch.
"""

import gin

from kd_efficacy.studies import grid


@gin.register
def early_stopping(
    ctx,
    student=gin.REQUIRED,
    teachers=gin.REQUIRED,
    recipe=gin.REQUIRED,
    teacher_recipe=None,
    teacher_epochs=(),
    stop_kd_epochs=(),
    seeds=(0, 1, 2),
    teacher_seed=0,
    temperature=4.0,
    ce_weight=0.1,
    kd_weight=0.9,
):
    """``teacher_epochs``: early-stopped teacher snapshots; ``stop_kd_epochs``: ESKD points."""
    variants = {"kd": ("last", None)}
    variants.update({f"teacher_epoch_{e}": (int(e), None) for e in teacher_epochs})
    variants.update({f"eskd_{s}": ("last", int(s)) for s in stop_kd_epochs})
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
        temperature=temperature,
        ce_weight=ce_weight,
        kd_weight=kd_weight,
    )
