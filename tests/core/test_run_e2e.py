"""End to end through the real entry point: the run-directory contract, resume, export."""

import json
import os
import re
import shutil
import signal
import time

import numpy as np
import pytest
import tensorflow as tf
from kd_testing import (
    RESUMABLE_RUN,
    STUDENT_GIN,
    TEACHER_GIN,
    TINY_RUN,
    assert_cli_ok,
    assert_run_contract,
    assert_same_weights,
    run_cli,
    run_experiment,
    start_cli,
)

from kd_efficacy import atomic_io, models


@pytest.fixture(scope="module")
def teacher_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("quickstart") / "teacher"
    done = run_cli(TEACHER_GIN, TINY_RUN + ["SNAPSHOT_EPOCHS = [1]"], directory)
    assert_cli_ok(done)
    (directory.parent / "cli.log").write_text(done.stdout + done.stderr)
    return directory


# absl's prefix of a Python-side INFO record, e.g. "I1202 16:06:45.230968 1400 fingerprinting_..."
TF_INFO_LINE = re.compile(r"^I\d{4} \d\d:\d\d:\d\d\.\d+ +\d+ \S+\.py:\d+\]", re.MULTILINE)


def test_default_log_holds_no_tensorflow_info(teacher_dir):
    """Saves and the export log INFO lines (Sharding callback, Writing fingerprint, ...) that
    --verbosity=0 shows; by default none reaches the log (run._quiet_by_default)."""
    log = (teacher_dir.parent / "cli.log").read_text()
    assert not TF_INFO_LINE.findall(log), TF_INFO_LINE.findall(log)[:3]


def test_teacher_run_writes_the_contract(teacher_dir):
    result = assert_run_contract(teacher_dir, load_export=True)
    assert result["model"]["name"] == "resnet20" and result["epochs"] == 2
    assert (teacher_dir / "snapshots/epoch_0001.weights.h5").exists()
    rows = atomic_io.read_json_lines(teacher_dir / "metrics.jsonl")
    for key in ("top5", "val_accuracy", "train_eval_accuracy"):
        assert key in rows[0], key
    assert "recipe.epochs" in (teacher_dir / "operative_config.gin").read_text()


def test_exported_student_matches_trained_weights(teacher_dir):
    info = json.loads((teacher_dir / "result.json").read_text())["model"]
    model = models.build(
        info["name"],
        input_shape=tuple(info["input_shape"]),
        num_classes=info["num_classes"],
        mean=info["mean"],
        std=info["std"],
    )
    model.load_weights(teacher_dir / "snapshots/last.weights.h5")
    images = np.random.default_rng(0).uniform(size=(4, 8, 8, 1)).astype(np.float32)
    loaded = tf.saved_model.load(str(teacher_dir / "export/saved_model"))  # keep it alive
    served = loaded.serve(images)["logits"]
    np.testing.assert_allclose(np.asarray(served), model(images), atol=1e-5)


def test_distill_from_teacher_epoch_and_rerun_is_noop(teacher_dir, tmp_path):
    student = tmp_path / "student"
    binds = [f"TEACHER_DIR = '{teacher_dir}'", "TEACHER_EPOCH = 1"]
    run_experiment([STUDENT_GIN], binds, student)
    result = assert_run_contract(student)
    assert result["teachers"][0]["epoch"] == "1"
    rows = atomic_io.read_json_lines(student / "metrics.jsonl")
    assert {"kd", "agreement", "val_kd", "val_agreement", "train_eval_kd"} <= set(rows[-1])
    mtime = os.path.getmtime(student / "result.json")
    assert run_experiment([STUDENT_GIN], binds, student)["status"] == "complete"
    assert os.path.getmtime(student / "result.json") == mtime


def test_killed_run_resumes_to_the_uninterrupted_result(tmp_path, resumable_clean):
    """SIGKILL mid-training, restart: same final weights as a run never interrupted."""
    binds, clean = RESUMABLE_RUN, resumable_clean
    killed = tmp_path / "killed"
    proc = start_cli(TEACHER_GIN, binds, killed)
    deadline = time.time() + 240
    while time.time() < deadline and len(atomic_io.read_json_lines(killed / "metrics.jsonl")) < 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (killed / "result.json").exists(), "the kill came too late to test resuming"
    assert_cli_ok(run_cli(TEACHER_GIN, binds, killed))
    assert_run_contract(killed)
    for name in ("last", "best"):
        assert_same_weights(
            clean / f"snapshots/{name}.weights.h5", killed / f"snapshots/{name}.weights.h5"
        )
    assert (
        json.loads((clean / "result.json").read_text())["test"]
        == json.loads((killed / "result.json").read_text())["test"]
    )


def _drop_last_line(path):
    path.write_text("".join(path.read_text().splitlines(keepends=True)[:-1]))


BREAKAGES = {
    "result_of_another_spec": lambda d: (d / "run.json").write_text(
        (d / "run.json").read_text().replace('"seed": 0', '"seed": 1')
    ),
    "missing_epoch_row": lambda d: _drop_last_line(d / "metrics.jsonl"),
    "missing_requested_snapshot": lambda d: os.remove(d / "snapshots/epoch_0001.weights.h5"),
    "checkpoint_one_epoch_behind": lambda d: (d / "checkpoints/latest.json").write_text(
        json.dumps({"dir": "epoch_0002", "epoch": 1})
    ),
    "checkpoint_files_missing": lambda d: shutil.rmtree(d / "checkpoints/epoch_0002"),
    "no_validation_events": lambda d: shutil.rmtree(d / "logs/validation"),
    "no_export": lambda d: shutil.rmtree(d / "export"),
    "class_name_missing": lambda d: _drop_last_line(d / "export/labels.txt"),
}


@pytest.mark.parametrize("breakage", sorted(BREAKAGES))
def test_the_contract_check_catches_a_broken_run(teacher_dir, tmp_path, breakage):
    """assert_run_contract (tests/kd_testing.py) can fail: each breakage of a copy is caught."""
    broken = tmp_path / "broken"
    shutil.copytree(teacher_dir, broken)
    assert_run_contract(broken)
    BREAKAGES[breakage](broken)
    with pytest.raises(AssertionError):
        assert_run_contract(broken)
