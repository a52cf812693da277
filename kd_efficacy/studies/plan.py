"""A study is a plan: an ordered list of planned runs, each a ``train`` or a ``distill``.

``execute_plan`` checks the whole plan before training anything (names, teacher references,
snapshot epochs, run directories left by a different config), then trains each run that is not
complete, skipping complete ones, so a killed study restarts where it stopped. A run that fails
(e.g. diverges) is recorded and reported; runs that needed it are reported as blocked. Every
action goes to ``study_log.jsonl``; ``study_report`` then writes ``summary.csv`` and the report.
Several processes may execute one study at once: each run's lease (run_lock.py) lets exactly
one train it, the others go on with other runs and wait for it, so each ends with the whole
study complete and writes the same report. ``parallel_runs.processes`` has the study's command
start such processes itself (studies/parallel_runs.py); those helpers write no report.
"""

import dataclasses
import os
import time

from kd_efficacy import (
    atomic_io,
    checkpoint,
    hparams_logging,
    import_teacher,
    kd_settings,
    packed_runs,
    preflight,
    run_dir,
    run_lock,
    tasks,
    teachers,
)
from kd_efficacy.errors import ConfigError, HelperDone, PlanReady
from kd_efficacy.kd_settings import KDSettings
from kd_efficacy.recipe import Recipe
from kd_efficacy.run_dir import STUDY_LOG, run_path
from kd_efficacy.studies import packing, parallel_runs
from kd_efficacy.studies.study_progress import StudyProgress

_POLL_SECONDS = (0.5, 10.0)  # first and longest wait for runs another process trains
_NOT_DONE = ("failed", "blocked", "not_run")  # a student of such a teacher is blocked


@dataclasses.dataclass(frozen=True)
class PlannedRun:
    name: str  # sub-directory under <study_dir>/runs/, e.g. "teacher/resnet20_s0"
    role: str  # teacher | scratch | kd | eskd | early_teacher | chain | direct | ...
    model: str
    seed: int
    recipe: Recipe
    teachers: tuple[str, ...] = ()  # names of earlier planned runs; empty: train from scratch
    teacher_epoch: str = "last"
    kd: KDSettings = kd_settings.DEFAULT  # unused by a run without teachers
    stop_kd_epoch: int | None = None
    snapshot_epochs: tuple[int, ...] = ()
    source: str | None = (
        None  # a pretrained teacher's source (pretrained.py): imported, not trained
    )

    @property
    def is_distill(self):
        return bool(self.teachers)


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
            if epoch.isdigit() and seen[teacher].source is not None:
                raise teachers.no_trajectory(f"{teacher!r} ({seen[teacher].source})", epoch)
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
                run.kd,
                run.teacher_epoch,
                run.stop_kd_epoch,
                run.snapshot_epochs,
            )
        elif run.source is not None:
            specs[run.name] = import_teacher.import_spec(
                run.model, run.source, run.recipe, run.seed
            )
        else:
            specs[run.name] = tasks.train_spec(run.model, run.recipe, run.seed, run.snapshot_epochs)
    return specs


def planned_hparams(runs, specs):
    """Each run's HParams values as its own session will log them (tasks._fit): teachers by
    model name, the role from the plan."""
    models = {run.name: run.model for run in runs}
    return [
        hparams_logging.hparams_of(specs[r.name], [models[t] for t in r.teachers], r.role)
        for r in runs
    ]


def _preflight(ctx, runs, specs):
    """Every incomplete run's data, model and teachers checked before anything is written;
    returns the incomplete runs' names."""
    cache, model_infos, incomplete = {}, {}, []
    for run in runs:
        directory = run_path(ctx.model_dir, run.name)
        if run_dir.is_complete(directory, specs[run.name]):
            model_infos[run.name] = teachers.model_info(directory)
            continue
        incomplete.append(run.name)
        teacher_models = [(run_path(ctx.model_dir, t), model_infos[t]) for t in run.teachers]
        # An imported teacher's classes are known once it is loaded (a download, maybe): its
        # import is checked then, as the study's first run, before any training.
        info = preflight.check_spec(specs[run.name], ctx.strategy, teacher_models, cache)
        model_infos[run.name] = preflight.model_info(info)
    return incomplete


def _fits(packs, incomplete):
    """How many ``fit``s the incomplete runs take, ``packs`` being ``packing.groups``: a pack's
    incomplete members are one."""
    left = set(incomplete)
    return len(
        {
            tuple(r.name for r in packs[name] if r.name in left) if name in packs else (name,)
            for name in incomplete
        }
    )


def execute_plan(ctx, runs, only_run=None):
    """Trains what is missing; returns ``[(run, result or None)]`` in plan order."""
    study_dir = ctx.model_dir
    specs = specs_for(study_dir, runs)
    if only_run is not None and only_run not in specs:
        raise ConfigError(
            f"only_run {only_run!r} is not in this study; use one of {sorted(specs)} "
            "(tools/sweep.py prints them)"
        )
    incomplete = _preflight(ctx, runs, specs)
    packs = packing.groups(ctx, runs, specs) if only_run is None else {}
    fits_to_train = _fits(packs, incomplete)
    if ctx.plan_only:
        raise PlanReady(runs, specs)
    for run in runs:  # refuse a foreign run directory before any training starts
        run_dir.check_same(run_path(study_dir, run.name), specs[run.name])
    helper_count = parallel_runs.helper_count(ctx, fits_to_train)
    helper = parallel_runs.is_helper()
    if ctx.is_chief and not helper:  # a helper writes no study-level file
        for run in runs:
            run_dir.write_planned(run_path(study_dir, run.name), run)
        hparams_logging.log_study_config(study_dir, planned_hparams(runs, specs))
    log_path = os.path.join(study_dir, STUDY_LOG)
    helpers = parallel_runs.Helpers(study_dir, helper_count) if helper_count else None
    try:
        _run_all(ctx, runs, specs, packs, only_run, log_path)
        if helpers is not None:
            helpers.wait()
    except BaseException:  # Ctrl-C, preemption, a failed write: the helpers stop and save too
        if helpers is not None:
            helpers.stop()
        raise
    if helper:
        raise HelperDone()
    return [(run, run_dir.read_result(run_path(study_dir, run.name))) for run in runs]


def _run_all(ctx, runs, specs, packs, only_run, log_path):
    """Runs every run it can, in plan order, then those another process held, polling; runs of
    one of ``packs`` (``packing.groups``) train together.

    Two processes (or sweep workers) on one study split its runs: a run whose lease another live
    process holds (run_lock.py) is left for later, a student waits for a teacher being trained
    elsewhere, and a held run that the other process saw fail is not trained again.
    """
    actions, held, pending = {}, set(), list(runs)
    names = [only_run] if only_run is not None else [run.name for run in runs]
    progress = StudyProgress(names, enabled=ctx.is_chief)
    alone = set()  # runs a pack left to train on their own (see packed_runs.py)
    delay = _POLL_SECONDS[0]

    def done(name, action):
        actions[name] = action
        progress.ended(name, action, run_path(ctx.model_dir, name))
        if ctx.is_chief:
            atomic_io.append_json_line(log_path, {"run": name, "action": action})

    while pending:
        waiting = []
        for run in pending:
            if run.name in actions:  # trained in an earlier member's pack
                continue
            # Packed with the runs it shares teacher and data with; again without a diverged one.
            was_held = run.name in held
            mates = _mates(ctx, run, packs, specs, actions, alone, held)
            while len(mates) > 1:
                _run_pack(ctx, mates, specs, held, progress, done, alone)
                mates = _mates(ctx, run, packs, specs, actions, alone, held)
            if run.name in actions:
                continue
            if run.name in held and not was_held:  # another process holds it: try again later
                waiting.append(run)
                continue
            action = _run_one(ctx, run, specs, only_run, actions, held, progress)
            if action is None:
                waiting.append(run)
                continue
            done(run.name, action)
        if waiting and len(waiting) == len(pending):
            time.sleep(delay)  # nothing could start: the other process is training
            delay = min(2 * delay, _POLL_SECONDS[1])
        elif len(waiting) < len(pending):
            delay = _POLL_SECONDS[0]
        pending = [run for run in waiting if run.name not in actions]
    return actions


def _mates(ctx, run, packs, specs, actions, alone, held):
    """The runs ``run`` trains packed with now (itself first), or [] when it trains alone."""

    def free(r):
        return r.name not in actions and r.name not in alone and r.name not in held

    if not free(run) or not _ready(ctx, run, specs, actions):
        return []
    others = [r for r in packs.get(run.name, ()) if r is not run and free(r)]
    return [run] + [r for r in others if _ready(ctx, r, specs, actions)]


def _ready(ctx, run, specs, actions):
    """A run a pack may train now: its teachers are done and it is not complete."""
    teachers_done = [actions.get(t) for t in run.teachers]
    if None in teachers_done or any(a in _NOT_DONE for a in teachers_done):
        return False
    return not run_dir.is_complete(run_path(ctx.model_dir, run.name), specs[run.name])


def _run_pack(ctx, mates, specs, held, progress, done, alone):
    """Trains ``mates`` in one fit (packed_runs.py); members it does not train go to ``alone``
    (run on their own next) or, held by another process, to ``held``."""
    ctxs = [ctx.at(run_path(ctx.model_dir, r.name), seed=r.seed) for r in mates]
    for run, run_ctx in zip(mates, ctxs):
        progress.start(run.name, packed_runs.finished_epochs(run_ctx.model_dir))
    outcomes = packed_runs.execute_pack(ctxs, [specs[r.name] for r in mates])
    for run, outcome in zip(mates, outcomes):
        if outcome is packed_runs.HELD:
            progress.held(run.name)
            held.add(run.name)
        elif isinstance(outcome, tasks.RunFailed):
            print(f"[kd_efficacy] run {run.name} failed: {outcome}")
            done(run.name, "failed")
        elif outcome is None:
            alone.add(run.name)
        elif outcome is not packed_runs.STOPPED:
            done(run.name, "trained")


def _run_one(ctx, run, specs, only_run, actions, held, progress):
    """The run's action, or None when it must wait for another process."""
    directory = run_path(ctx.model_dir, run.name)
    if only_run is not None and run.name != only_run:
        return "complete" if run_dir.is_complete(directory) else "not_run"
    teachers_done = [actions.get(t) for t in run.teachers]
    if any(a in _NOT_DONE for a in teachers_done):
        return "blocked"
    if run_dir.is_complete(directory, specs[run.name]):
        return "skipped"
    if None in teachers_done:
        return None  # a teacher is still being trained by another process
    if run.name in held and _failed_elsewhere(directory, specs[run.name]):
        return "failed"
    progress.start(
        run.name, checkpoint.finished_epochs(os.path.join(directory, run_dir.CHECKPOINTS_DIR))
    )
    try:
        execute = import_teacher.execute if run.source is not None else tasks.execute
        execute(ctx.at(directory, seed=run.seed), specs[run.name], wait_for_lock=False)
    except run_lock.Held:
        progress.held(run.name)
        held.add(run.name)
        return None
    except tasks.RunFailed as e:
        print(f"[kd_efficacy] run {run.name} failed: {e}")
        return "failed"
    return "trained"


def _failed_elsewhere(directory, spec):
    """The other process, which held this run, recorded it failed: do not train it twice."""
    if run_lock.holder(directory) is not None:
        return False
    result = run_dir.read_result(directory)
    return (
        bool(result)
        and result.get("status") == "failed"
        and result.get("config_hash") == run_dir.spec_hash(spec)
    )
