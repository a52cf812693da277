"""The distillation grid behind the capacity-gap, early-stopping and ESKD studies.

One student architecture, a ladder of teachers (each trained once, shared by every student and
seed that needs it), and named *variants* of how a student learns from a teacher:

    variants = {'kd': ('last', None), 'eskd': ('last', 8), 'early_teacher': (5, None)}

maps a variant name to (TEACHER_EPOCH, STOP_KD_EPOCH); a third element, a KD settings value
(``@dkd/kd()``), makes a variant a KD method of its own (gin_configs/runs/kd_methods.gin), with
the study's ``kd`` for the others. Teachers keep snapshots of exactly the
numbered teacher epochs the variants use, so early-stopped teachers cost no extra training.
The student trained from scratch (role 'scratch') is the baseline for every variant.

TEACHERS is a list of model names (trained here) or a dict from teacher names to what each
is: a model name, or a pretrained source (pretrained.py: 'keras_hub:...', 'keras_applications:
...', 'saved_model:...'), imported once instead of trained. A pretrained teacher has no
trajectory, so it serves full KD and ESKD variants but no early-stopped snapshot.
"""

from typing import Annotated

from kd_efficacy import kd_settings, pretrained
from kd_efficacy import teachers as teacher_runs
from kd_efficacy.config_types import Described, NonNegativeInt, PositiveInt, distinct
from kd_efficacy.errors import ConfigError
from kd_efficacy.kd_settings import KDSettings
from kd_efficacy.report import study_report
from kd_efficacy.studies import plan
from kd_efficacy.studies.plan import PlannedRun
from kd_efficacy.tasks import TeacherEpoch

# The studies' parameter types (config_types.py checks gin's bindings against them).
Seeds = distinct(NonNegativeInt)
Teachers = Annotated[
    distinct(str) | dict[str, str],
    Described("a list of model names, or a dict from teacher names to model names or sources"),
]
Variants = Annotated[
    dict[
        str,
        tuple[TeacherEpoch, PositiveInt | None]
        | tuple[TeacherEpoch, PositiveInt | None, KDSettings],
    ],
    Described(
        "a dict from variant names to (TEACHER_EPOCH, STOP_KD_EPOCH) pairs, or triples "
        "(TEACHER_EPOCH, STOP_KD_EPOCH, @scope/kd())"
    ),
]


def run_grid(ctx, kind, **grid_args):
    """Plans the grid, trains what is missing and writes the ``kind`` study's report."""
    outcomes = plan.execute_plan(ctx, grid_plan(**grid_args), ctx.only_run)
    return study_report.build(ctx.model_dir, kind) if ctx.is_chief else outcomes


def grid_plan(
    student,
    teachers,
    recipe,
    teacher_recipe=None,
    seeds=(0, 1, 2),
    teacher_seed=0,
    variants=None,
    kd=kd_settings.DEFAULT,
):
    variants = {"kd": ("last", None)} if variants is None else dict(variants)
    if not variants:
        raise ConfigError("VARIANTS is empty; give at least one, e.g. {'kd': ('last', None)}")
    if not teachers:
        raise ConfigError("the study needs at least one teacher (TEACHERS)")
    if not seeds:
        raise ConfigError("the study needs at least one seed (SEEDS)")
    teacher_recipe = teacher_recipe or recipe
    sources = dict(teachers) if isinstance(teachers, dict) else {t: t for t in teachers}
    numbered = sorted({str(v[0]) for v in variants.values() if isinstance(v[0], int)})
    for teacher, source in sources.items():
        if pretrained.is_source(source) and numbered:
            raise teacher_runs.no_trajectory(f"{teacher!r} ({source})", numbered[0])
    snapshot_epochs = tuple(sorted({v[0] for v in variants.values() if isinstance(v[0], int)}))
    bad = [e for e in snapshot_epochs if e > teacher_recipe.epochs]
    if bad:
        several = len(bad) > 1
        raise ConfigError(
            f"teacher epoch{'s' if several else ''} {bad} exceed{'' if several else 's'} the "
            f"teacher's EPOCHS={teacher_recipe.epochs}; use snapshot epochs from 1 to "
            f"{teacher_recipe.epochs} (TEACHER_EPOCHS, VARIANTS)"
        )
    runs = []
    for teacher, source in sources.items():  # distinct: refused at the gin boundary otherwise
        imported = pretrained.is_source(source)
        runs.append(
            PlannedRun(
                name=f"teacher/{teacher}_s{teacher_seed}",
                role="teacher",
                model=teacher if imported else source,
                seed=teacher_seed,
                recipe=teacher_recipe,
                snapshot_epochs=() if imported else snapshot_epochs,
                source=source if imported else None,
            )
        )
    for seed in seeds:
        runs.append(
            PlannedRun(
                name=f"scratch/{student}_s{seed}",
                role="scratch",
                model=student,
                seed=seed,
                recipe=recipe,
            )
        )
    for variant, (teacher_epoch, stop_kd_epoch, *own_kd) in variants.items():
        variant_kd = own_kd[0] if own_kd else kd
        for teacher in sources:
            for seed in seeds:
                runs.append(
                    PlannedRun(
                        name=f"{variant}/{teacher}/{student}_s{seed}",
                        role=variant,
                        model=student,
                        seed=seed,
                        recipe=recipe,
                        teachers=(f"teacher/{teacher}_s{teacher_seed}",),
                        teacher_epoch=str(teacher_epoch),
                        stop_kd_epoch=stop_kd_epoch,
                        kd=variant_kd,
                    )
                )
    return runs
