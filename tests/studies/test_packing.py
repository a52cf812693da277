"""Packed runs (packed_runs.py) are bit-identical to the same runs trained separately, on CPU.

One tiny deterministic capacity-gap study (resnet8 teacher and student, KD and ESKD of one
teacher and seed) is trained with packing off; a copy without its two students is then
finished with packing on. Every checkpoint, snapshot, metric line, result metric and exported
output of the packed students must equal the separate ones (slow: four runs' worth; in CI,
tests/benchmark/test_multi_student.py pins the packed step bit for bit, and the study tests
train packs end to end). Other tests pin what packs (different data streams or teachers never
share a key) and, slow, that a diverging member fails alone and an interrupted pack resumes each
member from its own checkpoint, still bit-identical.
"""

import os
import shutil

import gin
import keras
import numpy as np
import pytest
import tensorflow as tf

from kd_efficacy import atomic_io, checkpoint, export, multi_student, packed_runs, run_dir, tasks
from kd_efficacy.context import RunContext
from kd_efficacy.kd_settings import KDSettings
from kd_efficacy.recipe import Recipe
from kd_efficacy.studies import packing, plan
from kd_efficacy.studies.plan import PlannedRun
from tests.kd_testing import assert_same_weights

TEACHER = "teacher/resnet8_s0"
# The CI variant skips train-set metrics (an evaluation per epoch); the slow test keeps them, so
# each member's own train-set evaluation (mimicry.EpochExtras) is compared too.
RECIPE = Recipe(epochs=2, global_batch_size=32, max_train_examples=64, train_set_metrics=False)
FULL_RECIPE = Recipe(epochs=2, global_batch_size=32, max_train_examples=128)


def _plan(recipe):
    return [
        PlannedRun(TEACHER, "teacher", "resnet8", 0, recipe),
        PlannedRun("kd/resnet8_s0", "kd", "resnet8", 0, recipe, teachers=(TEACHER,)),
        # ESKD: its own KD schedule, evaluation epochs and snapshots.
        PlannedRun(
            "eskd/resnet8_s0",
            "eskd",
            "resnet8",
            0,
            recipe,
            teachers=(TEACHER,),
            stop_kd_epoch=1,
            snapshot_epochs=(1,),
        ),
    ]


PLAN = _plan(RECIPE)
STUDENTS = [run.name for run in PLAN[1:]]
VARYING = ("epoch_seconds", "train_seconds", "session_seconds", "hardware")  # not results


def _study(model_dir, pack, runs=PLAN):
    """Executes ``runs`` in ``model_dir``, deterministically, packing or not."""
    tf.config.experimental.enable_op_determinism()
    gin.clear_config()
    try:
        gin.bind_parameter("packing.enabled", pack)
        return plan.execute_plan(RunContext(model_dir=str(model_dir), verbose=0), runs)
    finally:
        gin.clear_config()


def _without_times(row):
    return {k: v for k, v in row.items() if k not in VARYING}


def _outputs(saved_model_dir, images):
    loaded = tf.saved_model.load(saved_model_dir)  # held: its variables die with it
    return np.asarray(loaded.serve(images)[export.LOGITS])


def _assert_same_run(a, b, rng):
    """Two run directories hold bit-identical training results."""
    ckpt_a, ckpt_b = (checkpoint.arrays(tasks.run_paths(d)["checkpoints"]) for d in (a, b))
    assert ckpt_a.keys() == ckpt_b.keys()
    for key in ckpt_a:
        np.testing.assert_array_equal(ckpt_a[key], ckpt_b[key], err_msg=f"{b}: {key}")
    snapshots = sorted(os.listdir(os.path.join(a, run_dir.SNAPSHOTS_DIR)))
    assert snapshots == sorted(os.listdir(os.path.join(b, run_dir.SNAPSHOTS_DIR)))
    for snapshot in snapshots:
        assert_same_weights(
            os.path.join(a, run_dir.SNAPSHOTS_DIR, snapshot),
            os.path.join(b, run_dir.SNAPSHOTS_DIR, snapshot),
        )
    rows = [
        [
            _without_times(r)
            for r in atomic_io.read_json_lines(os.path.join(d, run_dir.METRICS_JSONL))
        ]
        for d in (a, b)
    ]
    assert rows[0] == rows[1]
    results = [_without_times(run_dir.read_result(d)) for d in (a, b)]
    for field in ("last", "best"):
        results[0][field], results[1][field] = (_without_times(r[field]) for r in results)
    assert results[0] == results[1]
    sample = rng.uniform(size=(4, *results[0]["model"]["input_shape"])).astype(np.float32)
    exports = [os.path.join(d, run_dir.EXPORT_DIR, run_dir.SAVED_MODEL) for d in (a, b)]
    np.testing.assert_array_equal(_outputs(exports[0], sample), _outputs(exports[1], sample))
    return results[1]


@pytest.mark.slow  # 111 s on the shared 2-vCPU machine; CI: tests/benchmark/test_multi_student.py
def test_packed_students_are_bit_identical_to_separate_runs(tmp_path, monkeypatch):
    separate, packed = tmp_path / "separate", tmp_path / "packed"
    _study(separate, pack=False)
    shutil.copytree(separate, packed)  # the teacher is shared, the students trained again
    for name in STUDENTS:
        shutil.rmtree(run_dir.run_path(str(packed), name))
    fits = []
    real = packed_runs._fit_pack
    monkeypatch.setattr(
        packed_runs, "_fit_pack", lambda ctxs, *a: fits.append(len(ctxs)) or real(ctxs, *a)
    )
    outcomes = _study(packed, pack=True)
    assert fits == [2]  # both students in one fit
    assert all(result["status"] == "complete" for _, result in outcomes)
    rng = np.random.default_rng(0)
    for name in STUDENTS:
        a, b = (run_dir.run_path(str(root), name) for root in (separate, packed))
        _assert_same_run(a, b, rng)
    # The ESKD member switched KD off after epoch 1; the KD member did not.
    kd_weights = {
        name: [
            r["kd_weight"]
            for r in atomic_io.read_json_lines(
                os.path.join(run_dir.run_path(str(packed), name), run_dir.METRICS_JSONL)
            )
        ]
        for name in STUDENTS
    }
    assert kd_weights == {
        STUDENTS[0]: [pytest.approx(0.9)] * 2,
        STUDENTS[1]: [pytest.approx(0.9), 0.0],
    }


def _spec(model_dir, seed=0, teacher="teacher/resnet8_s0", epoch="last", **changes):
    recipe = Recipe(**changes.pop("recipe", {}))
    return tasks.distill_spec(
        model_dir,
        changes.pop("student", "resnet8"),
        [(os.path.join("/study/runs", teacher), "hash")],
        recipe,
        seed,
        changes.pop("kd", KDSettings()),
        epoch,
        changes.pop("stop_kd_epoch", None),
    )


def test_only_runs_with_one_data_stream_and_teacher_share_a_key():
    here, there = "/study/runs/kd/t/s0", "/study/runs/direct/deeper/s0/x"
    key = packed_runs.pack_key(here, _spec(here))
    # Student, KD weights, ESKD stop and the run's place in the study may differ ...
    assert packed_runs.pack_key(there, _spec(there, student="resnet14", stop_kd_epoch=3)) == key
    assert packed_runs.pack_key(here, _spec(here, kd=KDSettings(4.0, 0.5, 0.5))) == key
    # ... the seed (init and data order), data, recipe, teacher, its epoch and T may not.
    different = [
        _spec(here, seed=1),
        _spec(here, recipe={"max_train_examples": 64}),
        _spec(here, recipe={"epochs": 3}),
        _spec(here, teacher="teacher/resnet20_s0"),
        _spec(here, epoch="best"),
        _spec(here, kd=KDSettings(2.0, 0.1, 0.9)),
    ]
    for spec in different:
        assert packed_runs.pack_key(here, spec) != key
    scratch = tasks.train_spec("resnet8", Recipe(), 0)
    assert packed_runs.pack_key(here, scratch) is None
    # A spec field packing was not proven for (e.g. a new loss term) keeps the run apart.
    assert packed_runs.pack_key(here, {**_spec(here), "mixup_alpha": 0.2}) is None


def test_packing_is_a_study_option_and_only_where_proven(tmp_path):
    ctx = RunContext(model_dir=str(tmp_path))
    assert packing.packing() is True and packed_runs.can_pack(ctx)
    for change in ({"precision": "mixed_float16"}, {"jit_compile": True}, {"is_chief": False}):
        assert not packed_runs.can_pack(RunContext(model_dir=str(tmp_path), **change))


class _InterruptOnce(keras.callbacks.Callback):
    """Ctrl-C at the start of epoch 2 of the first fit it is given to."""

    fired = False

    def on_epoch_begin(self, epoch, logs=None):
        if epoch == 1 and not _InterruptOnce.fired:
            _InterruptOnce.fired = True
            raise KeyboardInterrupt


@pytest.mark.slow
def test_a_diverging_member_fails_alone_and_an_interrupted_pack_resumes(tmp_path, monkeypatch):
    """KD, ESKD and a member whose loss is infinite at step 1, packed: the diverged one is recorded
    failed as its separate run is, the other two are packed again, interrupted after epoch 1
    and resumed each from its own checkpoint; both end bit-identical to their separate runs."""
    diverging = PlannedRun(
        "diverge/resnet8_s0",
        "kd",
        "resnet8",
        0,
        FULL_RECIPE,
        teachers=(TEACHER,),
        kd=KDSettings(4.0, 3e38, 3e38),  # CE · 3e38 overflows float32 at the first step
    )
    runs = [*_plan(FULL_RECIPE), diverging]
    separate, packed = tmp_path / "separate", tmp_path / "packed"
    _study(separate, pack=False, runs=runs)
    shutil.copytree(separate, packed)
    for run in runs[1:]:
        shutil.rmtree(run_dir.run_path(str(packed), run.name))
    fits = []
    real_fit, real_callbacks = packed_runs._fit_pack, multi_student.member_callbacks
    monkeypatch.setattr(
        packed_runs, "_fit_pack", lambda ctxs, *a: fits.append(len(ctxs)) or real_fit(ctxs, *a)
    )
    monkeypatch.setattr(
        multi_student,
        "member_callbacks",
        lambda *a: [*real_callbacks(*a), _InterruptOnce()],
    )
    with pytest.raises(KeyboardInterrupt):
        _study(packed, pack=True, runs=runs)
    for name in STUDENTS:  # interrupted in epoch 2: each member holds its own epoch-1 state
        checkpoints = tasks.run_paths(run_dir.run_path(str(packed), name))["checkpoints"]
        assert checkpoint.finished_epochs(checkpoints) == 1
    _study(packed, pack=True, runs=runs)
    assert fits == [3, 2, 2]  # all three; the two after the divergence; the two resumed
    rng = np.random.default_rng(0)
    for name in STUDENTS:
        _assert_same_run(*(run_dir.run_path(str(root), name) for root in (separate, packed)), rng)
    failed = [
        run_dir.read_result(run_dir.run_path(str(r), diverging.name)) for r in (separate, packed)
    ]
    assert [r["status"] for r in failed] == ["failed", "failed"]
    assert failed[0]["reason"] == failed[1]["reason"]
    assert "at epoch 1, step 1" in failed[1]["reason"]
