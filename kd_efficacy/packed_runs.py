"""Packed runs: distillation runs that see the same batches and teacher outputs, in one ``fit``.

Runs with the same seed, recipe, teachers (directory, epoch, hash) and temperature get identical
data streams and identical teacher outputs; only the student's architecture, its CE/KD weights,
its ESKD stop epoch and its snapshot epochs may differ (``PER_STUDENT``). ``pack_key`` says which
runs those are. ``execute_pack`` trains them as one ``MultiStudentDistiller`` (multi_student.py):
one teacher pass per batch, each member in its own run directory with its own lease, checkpoint,
snapshots, metrics, result and export, following tasks.execute's steps (resume state -> build
-> fit -> record) for all members at once.

What a member gets is what a separate run gets: on CPU, bit for bit (tests/studies/
test_packing.py). Cases that are not proven are not packed (``can_pack``): mixed precision (one
loss scale per member, but not tested), XLA (one bigger compiled program) and several replicas
or workers.

A member that is complete, held by another process, or at a different checkpoint epoch than the
first free member is left out (returned as not run: the caller runs it on its own). A member
that diverges is recorded failed exactly as its separate run would be; the fit stops there and
the other members are returned ``STOPPED``: the caller packs them again without it, and each
resumes from its own last checkpoint (its separate run's state at that epoch; members whose
checkpoints are then at different epochs train apart).
"""

import contextlib
import dataclasses
import json
import os
import time

from kd_efficacy import (
    checkpoint,
    multi_student,
    progress,
    run_dir,
    run_lock,
    run_record,
    tasks,
    trainer,
)
from kd_efficacy.data import unreadable

# Spec fields a member may have of its own: none changes the batches or the teacher's outputs.
PER_STUDENT = ("model", "ce_weight", "kd_weight", "stop_kd_epoch", "snapshot_epochs")
# The spec fields packing is proven for. A field added later (a new loss term, say) may change
# what a step does beyond ``Distiller._terms``; its runs train apart until a test shows otherwise.
KNOWN = (*PER_STUDENT, "task", "recipe", "seed", "teachers", "temperature")


def pack_key(model_dir, spec):
    """Equal keys: the runs share data stream and teacher outputs. None: never packed (a run
    without teachers saves no teacher pass). Teacher directories are compared absolute, since a
    spec stores them relative to its own run directory."""
    if spec.get("task") != "distill" or not spec.get("teachers") or set(spec) - set(KNOWN):
        return None
    shared = {k: v for k, v in spec.items() if k not in PER_STUDENT}
    shared["teachers"] = [
        {**t, "dir": os.path.normpath(os.path.join(model_dir, t["dir"]))} for t in spec["teachers"]
    ]
    return json.dumps(shared, sort_keys=True)


def can_pack(ctx):
    """Packing is proven bit-identical for one float32 replica without XLA, on the chief."""
    return (
        ctx.is_chief
        and ctx.strategy.num_replicas_in_sync == 1
        and ctx.precision == "float32"
        and not ctx.jit_compile
    )


HELD = "held"  # an outcome: another process holds the member's lease
STOPPED = "stopped"  # an outcome: another member diverged; pack the rest again


def execute_pack(ctxs, specs):
    """Trains the runs ``specs`` (each in ``ctxs[i].model_dir``, all with one ``pack_key``) in one
    fit. Returns one outcome per member: its result (trained, or found complete), a RunFailed
    (it diverged), ``STOPPED`` (another member diverged: the fit stopped early), ``HELD``, or
    None (not run here: the caller runs it on its own)."""
    outcomes = [None] * len(specs)
    recipe = specs[0]["recipe"]
    with (
        unreadable.named(recipe["dataset"], recipe.get("data_dir")),
        contextlib.ExitStack() as leases,
    ):
        free = []
        for i, (ctx, spec) in enumerate(zip(ctxs, specs)):
            run_dir.check_same(ctx.model_dir, spec)
            try:
                leases.enter_context(run_lock.holding(ctx.model_dir, wait=False))
            except run_lock.Held:
                outcomes[i] = HELD
                continue
            complete, finished = tasks.resume_state(ctx, spec, ctx.model_dir)
            if complete:
                outcomes[i] = run_dir.read_result(ctx.model_dir)
            else:
                free.append((i, finished))
        # One fit starts all members at one epoch: those at the first free member's epoch.
        members = [i for i, finished in free if finished == free[0][1]] if free else []
        if len(members) < 2:
            return outcomes  # nothing to share: the caller runs what is left on its own
        _fit_pack(
            [ctxs[i] for i in members], [specs[i] for i in members], free[0][1], outcomes, members
        )
    return outcomes


def _fit_pack(ctxs, specs, finished, outcomes, indices):
    """build -> fit -> record for the members; fills ``outcomes`` at ``indices``."""
    started = time.time()
    checkpoint_dirs = [tasks.run_paths(c.model_dir)["checkpoints"] for c in ctxs]
    built = trainer.build_pack(ctxs[0], specs, checkpoint_dirs, finished)
    paths = [tasks.run_paths(c.model_dir) for c in ctxs]
    multi = multi_student.compile_pack(
        multi_student.MultiStudentDistiller([b.distiller for b in built]), ctxs[0].jit_compile
    )
    # Train-set and test passes once for all members, through the pack's compiled test step.
    shared = multi_student.SharedEvaluation(multi)
    built = [
        dataclasses.replace(b, pack_index=i, pack_evaluation=shared) for i, b in enumerate(built)
    ]
    per_member, eval_epochs = [], []
    for ctx, spec, b, p in zip(ctxs, specs, built, paths):
        fit_callbacks, epochs = tasks.prepare_fit(ctx, spec, b, p)
        per_member.append(fit_callbacks)
        eval_epochs.append(epochs)
    first, recipe = built[0], built[0].recipe
    # An interrupt names the first member; every member resumes from the same epoch.
    progress.run_started(ctxs[0].model_dir, checkpoint_dirs[0])
    try:
        multi.fit(
            first.dataset.train,
            steps_per_epoch=first.dataset.steps_per_epoch,
            epochs=recipe.epochs,
            initial_epoch=first.finished,
            validation_data=first.dataset.eval,
            # Every epoch any member evaluates; each member's callbacks see only its own.
            validation_freq=sorted({e for epochs in eval_epochs for e in epochs}),
            callbacks=multi_student.member_callbacks(multi, per_member, eval_epochs),
            verbose=ctxs[0].verbose,
            shuffle=False,  # the data pipeline orders each epoch (resumable, seeded)
        )
    except multi_student.MemberDiverged as e:
        ctx, spec = ctxs[e.index], specs[e.index]
        for i in indices:  # each resumes from its own last checkpoint, packed again or alone
            outcomes[i] = STOPPED
        outcomes[indices[e.index]] = tasks.run_failed(ctx, spec, ctx.model_dir, e.error)
        return
    for i, (ctx, spec, b, p) in enumerate(zip(ctxs, specs, built, paths)):
        outcomes[indices[i]] = run_record.record(ctx, spec, b, p, ctx.model_dir, started)


def finished_epochs(model_dir):
    """The epochs a run directory's checkpoint holds (0: none)."""
    return checkpoint.finished_epochs(tasks.run_paths(model_dir)["checkpoints"])
