"""End to end through the real entry point: the run-directory contract, resume, export."""

import json
import os
import signal
import subprocess
import sys
import time

import h5py
import numpy as np
import pytest
import tensorflow as tf
from gin_runner import run_experiment

from kd_efficacy import atomic_io, models

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TEACHER = "gin_configs/quickstart/teacher.gin"
STUDENT = "gin_configs/quickstart/student.gin"
TINY = ["EPOCHS = 2", "GLOBAL_BATCH_SIZE = 32", "recipe.max_train_examples = 128"]


def cli(*args, timeout=300):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    return subprocess.run(
        [sys.executable, "-m", "kd_efficacy.run", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def bindings(values):
    return [f"--gin_bindings={b}" for b in values]


@pytest.fixture(scope="module")
def teacher_dir(tmp_path_factory):
    directory = tmp_path_factory.mktemp("quickstart") / "teacher"
    done = cli(
        f"--gin_file={TEACHER}",
        f"--model_dir={directory}",
        *bindings(TINY + ["SNAPSHOT_EPOCHS = [1]"]),
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return directory


def test_teacher_run_writes_the_contract(teacher_dir):
    for path in [
        "config.gin",
        "operative_config.gin",
        "run.json",
        "result.json",
        "metrics.jsonl",
        "checkpoints/latest.json",
        "snapshots/last.weights.h5",
        "snapshots/best.weights.h5",
        "snapshots/epoch_0001.weights.h5",
        "export/saved_model/saved_model.pb",
    ]:
        assert (teacher_dir / path).exists(), path
    assert os.listdir(teacher_dir / "logs/train") and os.listdir(teacher_dir / "logs/validation")
    result = json.loads((teacher_dir / "result.json").read_text())
    assert result["status"] == "complete" and result["model"]["name"] == "resnet20"
    assert result["last"]["epoch"] == 2 and "val_accuracy" in result["best"]
    rows = atomic_io.read_json_lines(teacher_dir / "metrics.jsonl")
    assert [r["epoch"] for r in rows] == [1, 2]
    for key in ("lr", "loss", "ce", "accuracy", "top5", "val_accuracy", "train_eval_accuracy"):
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
    served = loaded.serve(images)
    np.testing.assert_allclose(np.asarray(served), model(images), atol=1e-5)


def test_distill_from_teacher_epoch_and_rerun_is_noop(teacher_dir, tmp_path):
    student = tmp_path / "student"
    binds = TINY + [f"TEACHER_DIR = '{teacher_dir}'", "TEACHER_EPOCH = 1"]
    result = run_experiment([STUDENT], binds, student, tiny=False)
    assert result["status"] == "complete"
    assert result["teachers"][0]["epoch"] == "1"
    rows = atomic_io.read_json_lines(student / "metrics.jsonl")
    assert {"kd", "agreement", "val_kd", "val_agreement", "train_eval_kd"} <= set(rows[-1])
    mtime = os.path.getmtime(student / "result.json")
    assert run_experiment([STUDENT], binds, student, tiny=False)["status"] == "complete"
    assert os.path.getmtime(student / "result.json") == mtime


def test_killed_run_resumes_to_the_uninterrupted_result(tmp_path):
    """SIGKILL mid-training, restart: same final weights as a run never interrupted."""
    common = [
        f"--gin_file={TEACHER}",
        *bindings(
            [
                "EPOCHS = 4",
                "GLOBAL_BATCH_SIZE = 32",
                "recipe.max_train_examples = 512",
                "MODEL = 'resnet8'",
                "experiment.deterministic = True",
                "recipe.train_set_metrics = False",
            ]
        ),
    ]
    clean = tmp_path / "clean"
    assert cli(*common, f"--model_dir={clean}").returncode == 0
    killed = tmp_path / "killed"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    proc = subprocess.Popen(
        [sys.executable, "-m", "kd_efficacy.run", *common, f"--model_dir={killed}"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 240
    while time.time() < deadline and len(atomic_io.read_json_lines(killed / "metrics.jsonl")) < 2:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert not (killed / "result.json").exists(), "the kill came too late to test resuming"
    done = cli(*common, f"--model_dir={killed}")
    assert done.returncode == 0, done.stderr[-3000:]
    rows = atomic_io.read_json_lines(killed / "metrics.jsonl")
    assert [r["epoch"] for r in rows] == [1, 2, 3, 4]
    for name in ("last", "best"):
        clean_arrays = _h5_arrays(clean / f"snapshots/{name}.weights.h5")
        resumed_arrays = _h5_arrays(killed / f"snapshots/{name}.weights.h5")
        assert len(clean_arrays) == len(resumed_arrays) > 0
        for x, y in zip(clean_arrays, resumed_arrays):
            np.testing.assert_array_equal(x, y)
    assert (
        json.loads((clean / "result.json").read_text())["test"]
        == json.loads((killed / "result.json").read_text())["test"]
    )


def _h5_arrays(path):
    """Every array in a Keras ``.weights.h5`` file, in file order."""
    arrays = []
    with h5py.File(path) as f:
        f.visititems(lambda _, node: arrays.append(node[()]) if hasattr(node, "shape") else None)
    return arrays
