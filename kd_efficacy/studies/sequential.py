"""Sequential KD (Cho & Hariharan 2019, Sec. 5.3): T -> A1 -> ... -> S through mid-sized models.

Each link distills the next model from the previous link's result; the chain's end is compared
with direct T -> S distillation and with S trained from scratch. The teacher is trained once and
shared by every seed's chain.
"""

import gin

from kd_efficacy import kd_settings
from kd_efficacy.config_types import NonNegativeInt
from kd_efficacy.errors import ConfigError
from kd_efficacy.kd_settings import KDSettings
from kd_efficacy.recipe import Recipe
from kd_efficacy.report import study_report
from kd_efficacy.studies import plan
from kd_efficacy.studies.grid import Seeds
from kd_efficacy.studies.plan import PlannedRun

# A chain may pass through one architecture twice: its links are named by position.
Chain = tuple[str, ...]


def chain_plan(
    chain,
    recipe,
    teacher_recipe=None,
    seeds=(0, 1, 2),
    teacher_seed=0,
    kd=kd_settings.DEFAULT,
):
    """Planned runs of the chain, direct KD and scratch; also used by the ensemble study."""
    chain = list(chain)
    if len(chain) < 2:
        raise ConfigError(
            f"a KD chain needs a teacher and at least one student, got {chain}; "
            "e.g. CHAIN = ['resnet56', 'resnet20', 'resnet8']"
        )
    teacher = f"teacher/{chain[0]}_s{teacher_seed}"
    runs = [PlannedRun(teacher, "teacher", chain[0], teacher_seed, teacher_recipe or recipe)]
    student = chain[-1]
    for seed in seeds:
        previous = teacher
        for i, model in enumerate(chain[1:], start=1):
            name = f"chain/s{seed}/{i}_{model}"
            runs.append(PlannedRun(name, f"chain_{i}", model, seed, recipe, (previous,), kd=kd))
            previous = name
        if len(chain) > 2:
            runs.append(
                PlannedRun(
                    f"direct/{student}_s{seed}", "direct", student, seed, recipe, (teacher,), kd=kd
                )
            )
        runs.append(PlannedRun(f"scratch/{student}_s{seed}", "scratch", student, seed, recipe))
    return runs


@gin.register
def sequential(
    ctx,
    chain: Chain = gin.REQUIRED,
    recipe: Recipe = gin.REQUIRED,
    teacher_recipe: Recipe | None = None,
    seeds: Seeds = (0, 1, 2),
    teacher_seed: NonNegativeInt = 0,
    kd: KDSettings = kd_settings.DEFAULT,
):
    """``chain``: model names from the teacher to the final student."""
    runs = chain_plan(chain, recipe, teacher_recipe, seeds, teacher_seed, kd)
    outcomes = plan.execute_plan(ctx, runs, ctx.only_run)
    # Other workers of a multi-worker job write nothing into the study directory.
    return study_report.build(ctx.model_dir, "sequential") if ctx.is_chief else outcomes
