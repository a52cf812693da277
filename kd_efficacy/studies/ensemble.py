"""Ensembles (Cho & Hariharan 2019, Sec. 5.3): do the models of a KD chain ensemble well?

Three equal-size ensembles of the chain's students' architectures (A1, ..., S), per seed:
- 'chain': the chain's own models (T -> A1 -> ... -> S);
- 'independent': the same architectures, each trained from scratch;
- 'distilled': the same architectures, each distilled directly from T.
Runs that coincide with another are reused, not retrained (A1 distilled from T *is* the chain's
first link; S from scratch is the baseline). With ``ensemble_teaches`` the independent ensemble
(averaged probabilities) also teaches S, compared with S's single-teacher results.
"""

import os

import gin

from kd_efficacy import atomic_io, data, ensembles, kd_settings, run_dir
from kd_efficacy.config_types import NonNegativeInt
from kd_efficacy.errors import ConfigError
from kd_efficacy.kd_settings import KDSettings
from kd_efficacy.recipe import Recipe
from kd_efficacy.report import study_report
from kd_efficacy.studies import plan
from kd_efficacy.studies.grid import Seeds
from kd_efficacy.studies.plan import PlannedRun
from kd_efficacy.studies.sequential import Chain, chain_plan

GROUPS = ("chain", "independent", "distilled")


def members(chain, seed, group):
    """Run names of a group's members (reusing coinciding runs)."""
    names = []
    for i, model in enumerate(chain[1:], start=1):
        last = i == len(chain) - 1
        if group == "chain" or (group == "distilled" and i == 1):
            names.append(f"chain/s{seed}/{i}_{model}")
        elif group == "distilled":
            names.append(f"direct/{model}_s{seed}" if last else f"distilled/s{seed}/{i}_{model}")
        else:
            names.append(f"scratch/{model}_s{seed}" if last else f"independent/s{seed}/{i}_{model}")
    return names


@gin.register
def ensemble(
    ctx,
    chain: Chain = gin.REQUIRED,
    recipe: Recipe = gin.REQUIRED,
    teacher_recipe: Recipe | None = None,
    seeds: Seeds = (0,),
    teacher_seed: NonNegativeInt = 0,
    ensemble_teaches: bool = True,
    kd: KDSettings = kd_settings.DEFAULT,
):
    chain = list(chain)
    if len(chain) < 3:
        raise ConfigError(
            f"an ensemble needs at least 2 members, but CHAIN {chain} has {len(chain) - 1} "
            f"student{'' if len(chain) == 2 else 's'}; give a chain of at least 3 models"
        )
    runs = chain_plan(chain, recipe, teacher_recipe, seeds, teacher_seed, kd)
    planned = {run.name for run in runs}
    teacher = f"teacher/{chain[0]}_s{teacher_seed}"
    for seed in seeds:
        for group in ("independent", "distilled"):
            for name, model in zip(members(chain, seed, group), chain[1:]):
                if name in planned:
                    continue
                teachers = (teacher,) if group == "distilled" else ()
                runs.append(PlannedRun(name, group, model, seed, recipe, teachers, kd=kd))
                planned.add(name)
        if ensemble_teaches:
            runs.append(
                PlannedRun(
                    f"ensemble_taught/{chain[-1]}_s{seed}",
                    "ensemble_taught",
                    chain[-1],
                    seed,
                    recipe,
                    tuple(members(chain, seed, "independent")),
                    kd=kd,
                )
            )
    outcomes = plan.execute_plan(ctx, runs, ctx.only_run)
    if ctx.is_chief and all(result and result["status"] == "complete" for _, result in outcomes):
        evaluate_all(ctx.model_dir, chain, seeds, recipe)
    return study_report.build(ctx.model_dir, "ensemble") if ctx.is_chief else outcomes


def evaluate_all(study_dir, chain, seeds, recipe):
    """Writes ensembles.csv: one row per (group, seed)."""
    dataset = data.build(recipe.dataset, **{**recipe.data_args(), "augment": "none"})
    images, labels = ensembles.arrays(dataset.test)
    validation = ensembles.arrays(dataset.eval)  # picks each ensemble's best member
    lines = [
        "group,seed,members,size,ensemble_accuracy,mean_member_accuracy,"
        "best_member_accuracy,disagreement"
    ]
    for seed in seeds:
        for group in GROUPS:
            names = members(chain, seed, group)
            dirs = [run_dir.run_path(study_dir, n) for n in names]
            scores = ensembles.evaluate(dirs, images, labels, *validation)
            lines.append(
                f"{group},{seed},{'+'.join(chain[1:])},{scores['size']},"
                f"{scores['ensemble_accuracy']},{scores['mean_member_accuracy']},"
                f"{scores['best_member_accuracy']},{scores['disagreement']}"
            )
    atomic_io.write_text(os.path.join(study_dir, run_dir.ENSEMBLES_CSV), "\n".join(lines) + "\n")
