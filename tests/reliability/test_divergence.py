"""Divergence: a NaN/Inf loss stops the run naming epoch and step, marks it failed, keeps the last
good checkpoint; a study reports the failed run and the runs blocked by it, averaging neither."""

import json
import math

import keras
import numpy as np
import pytest
from kd_testing import (
    CAPACITY_GAP_GIN,
    KD_ONLY,
    TEACHER_GIN,
    TINY_STUDY,
    assert_study_contract,
    last_line,
    run_cli,
    run_experiment,
)

from kd_efficacy import atomic_io, checkpoint, run_dir, tasks

RESNET8 = ["MODEL = 'resnet8'", "EPOCHS = 3", "recipe.train_set_metrics = False"]


def test_huge_learning_rate_fails_the_run_with_epoch_and_step(tmp_path):
    directory = tmp_path / "diverged"
    bindings = ["BASE_LR = 1e6", "EPOCHS = 2", "recipe.max_train_examples = 256"]
    done = run_cli(TEACHER_GIN, bindings, directory, timeout=600)
    last = last_line(done.stderr)
    assert done.returncode == 3, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    assert last.startswith("error: run failed:") and "lower BASE_LR" in last, last
    result = run_dir.read_result(directory)
    assert result["status"] == "failed"
    assert "at epoch 1, step" in result["reason"] and result["reason"] in last


class _BreakWeights(keras.callbacks.Callback):
    """Sets the student's weights to NaN in a chosen 0-based epoch: at its start, or after its
    last step (whose loss is still finite, so only the epoch-end check can see it)."""

    def __init__(self, epoch, at_end):
        super().__init__()
        self.epoch, self.at_end, self._current = epoch, at_end, None

    def _break(self):
        for weight in self.model.student.trainable_weights:
            weight.assign(np.full(weight.shape, np.nan, "float32"))

    def on_epoch_begin(self, epoch, logs=None):
        self._current = epoch
        if epoch == self.epoch and not self.at_end:
            self._break()

    def on_train_batch_end(self, batch, logs=None):
        last = batch == self.params["steps"] - 1
        if self._current == self.epoch and self.at_end and last:
            self._break()


@pytest.mark.parametrize(
    "at_end, message",
    [(False, "at epoch 2, step 1"), (True, "non-finite at epoch 2, after its last step")],
)
def test_last_good_checkpoint_is_kept(tmp_path, monkeypatch, at_end, message):
    breaker = _BreakWeights(epoch=1, at_end=at_end)
    original = tasks._callbacks

    def with_breaker(*args, **kwargs):
        chosen = original(*args, **kwargs)
        return [breaker, *chosen]

    monkeypatch.setattr(tasks, "_callbacks", with_breaker)
    directory = tmp_path / "run"
    with pytest.raises(tasks.RunFailed, match=message):
        run_experiment([TEACHER_GIN], RESNET8, directory)
    result = run_dir.read_result(directory)
    assert result["status"] == "failed" and message in result["reason"]
    assert checkpoint.finished_epochs(directory / "checkpoints") == 1
    state = checkpoint.arrays(directory / "checkpoints")
    assert state and all(np.isfinite(v).all() for v in state.values())
    rows = atomic_io.read_json_lines(directory / "metrics.jsonl")
    assert [r["epoch"] for r in rows] == [1] and all(math.isfinite(r["loss"]) for r in rows)


def test_study_reports_failed_and_blocked_runs(tmp_path):
    study = tmp_path / "study"
    bindings = [*TINY_STUDY, KD_ONLY, "recipe.train_set_metrics = False"]
    rows = run_experiment([CAPACITY_GAP_GIN], bindings + ["teacher/recipe.base_lr = 1e6"], study)
    status = {r["run"]: r["status"] for r in rows}
    assert status == {
        "teacher/resnet8_s0": "failed",
        "kd/resnet8/resnet8_s0": "blocked",
        "scratch/resnet8_s0": "complete",
    }
    # The study's files all there, the scratch run complete (its contract), the others as above.
    failed = {"teacher/resnet8_s0": "failed", "kd/resnet8/resnet8_s0": "blocked"}
    on_disk = assert_study_contract(study, statuses=failed)
    assert "loss became" in on_disk["teacher/resnet8_s0"]["reason"]
    assert on_disk["kd/resnet8/resnet8_s0"]["reason"] == "teacher teacher/resnet8_s0 did not train"
    log = {e["run"]: e["action"] for e in atomic_io.read_json_lines(study / "study_log.jsonl")}
    assert log["teacher/resnet8_s0"] == "failed" and log["kd/resnet8/resnet8_s0"] == "blocked"
    report = (study / "report.md").read_text()
    assert "`teacher/resnet8_s0`: failed (loss became" in report
    assert "`kd/resnet8/resnet8_s0`: blocked (teacher teacher/resnet8_s0 did not train)" in report
    with open(study / "runs/teacher/resnet8_s0/result.json") as f:
        assert json.load(f)["status"] == "failed"
