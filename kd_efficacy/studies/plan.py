"""A study is a plan: an ordered list of planned runs, each a ``train`` or a ``distill``.

``execute_plan`` checks the whole plan before training anything (names, teacher references,
snapshot epochs, run directories left by a different config), then trains each run that is not
complete, skipping complete ones, so a killed study restarts where it stopped. A run that fails
(e.g. diverges) is recorded and reported; runs that needed it are reported as blocked. Every
action goes to ``study_log.jsonl``; ``study_report`` then writes ``summary.csv`` and the report.
"""

import dataclasses
import os

from kd_efficacy import atomic_io, preflight, run_dir, tasks, teachers
from kd_efficacy.errors import ConfigError
from kd_efficacy.recipe import Recipe
from kd_efficacy.studies import summary

STUDY_LOG = "study_log.jsonl"
RUNS_DIR = "runs"


@dataclasses.dataclass(frozen=True)
class PlannedRun:
    name: str  # sub-directory under <study_dir>/runs/, e.g. "teacher/resnet20_s0"
    role: str  # teacher | scratch | kd | eskd | early_teacher | chain | direct | ...
    model: str
    seed: int
    recipe: Recipe
    teachers: tuple[str, ...] = ()  # names of earlier planned runs; empty: train from scratch
    teacher_epoch: str = "last"
    temperature: float = 4.0
    ce_weight: float = 0.1
    kd_weight: float = 0.9
    stop_kd_epoch: int | None = None
    snapshot_epochs: tuple[int, ...] = ()

    @property
    def is_distill(self):
        return bool(self.teachers)


class PlanReady(Exception):  # noqa: N818 (a signal, not an error)
    """Raised by ``execute_plan`` under ``ctx.plan_only``: carries the checked plan."""

    def __init__(self, runs, specs):
        super().__init__(f"{len(runs)} planned runs")
        self.runs = runs
        self.specs = specs


def run_path(study_dir, name):
    return os.path.join(study_dir, RUNS_DIR, name)


def check_plan(runs):
    """Structural checks that need no files: unique names, known teachers, kept snapshots."""
    seen = {}
    for run in runs:
        if run.name in seen:
            raise ConfigError(f"two planned runs are named {run.name!r}; names must be unique")
        for teacher in run.teachers:
            if teacher not in seen:
                raise ConfigError(
                    f"run {run.name!r} needs teacher {teacher!r}, not planned before it"
                )
            epoch = str(run.teacher_epoch)
            if epoch.isdigit() and int(epoch) not in seen[teacher].snapshot_epochs:
                raise ConfigError(
                    f"TEACHER_EPOCH {epoch} is not among the snapshots teacher {teacher!r} keeps "
                    f"({list(seen[teacher].snapshot_epochs)}); keep it in the teacher snapshots"
                )
        seen[run.name] = run


def specs_for(study_dir, runs):
    """Each run's spec; a student's spec names its teachers by their spec hashes."""
    check_plan(runs)
    specs = {}
    for run in runs:
        if run.is_distill:
            refs = [(run_path(study_dir, t), run_dir.spec_hash(specs[t])) for t in run.teachers]
            specs[run.name] = tasks.distill_spec(
                run_path(study_dir, run.name),
                run.model,
                refs,
                run.recipe,
                run.seed,
                run.teacher_epoch,
                run.temperature,
                run.ce_weight,
                run.kd_weight,
                run.stop_kd_epoch,
                run.snapshot_epochs,
            )
        else:
            specs[run.name] = tasks.train_spec(run.model, run.recipe, run.seed, run.snapshot_epochs)
    return specs


def _preflight(ctx, runs, specs):
    """Every incomplete run's data, model and teachers checked before anything is written."""
    cache, model_infos = {}, {}
    for run in runs:
        directory = run_path(ctx.model_dir, run.name)
        if run_dir.is_complete(directory, specs[run.name]):
            model_infos[run.name] = teachers.model_info(directory)
            continue
        teacher_models = [(run_path(ctx.model_dir, t), model_infos[t]) for t in run.teachers]
        info = preflight.check_spec(specs[run.name], ctx.strategy, teacher_models, cache)
        model_infos[run.name] = preflight.model_info(info)


def execute_plan(ctx, runs, only_run=None):
    """Trains what is missing; returns ``[(run, result or None)]`` in plan order."""
    study_dir = ctx.model_dir
    specs = specs_for(study_dir, runs)
    if only_run is not None and only_run not in specs:
        raise ConfigError(
            f"only_run {only_run!r} is not in this study; use one of {sorted(specs)} "
            "(tools/sweep.py prints them)"
        )
    _preflight(ctx, runs, specs)
    if ctx.plan_only:
        raise PlanReady(runs, specs)
    for run in runs:  # refuse a foreign run directory before any training starts
        run_dir.check_same(run_path(study_dir, run.name), specs[run.name])
    if ctx.is_chief:
        for run in runs:
            summary.write_planned(run_path(study_dir, run.name), run)
    log_path = os.path.join(study_dir, STUDY_LOG)
    outcomes, failed = [], set()
    for run in runs:
        directory = run_path(study_dir, run.name)
        blocked = [t for t in run.teachers if t in failed]
        if only_run is not None and run.name != only_run:
            action = "complete" if run_dir.is_complete(directory) else "not_run"
        elif blocked:
            action = "blocked"
        elif run_dir.is_complete(directory, specs[run.name]):
            action = "skipped"
        else:
            try:
                tasks.execute(ctx.at(directory, seed=run.seed), specs[run.name])
                action = "trained"
            except tasks.RunFailed as e:
                print(f"[kd_efficacy] run {run.name} failed: {e}")
                action = "failed"
        if action in ("failed", "blocked") or (
            action == "not_run" and not run_dir.is_complete(directory)
        ):
            failed.add(run.name)
        if ctx.is_chief:
            atomic_io.append_json_line(log_path, {"run": run.name, "action": action})
        outcomes.append((run, run_dir.read_result(directory)))
    return outcomes
