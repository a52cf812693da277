"""Scaling mistakes fail before training with a one-line ConfigError that names the fix."""

import json

import keras
import pytest
from kd_testing import run_experiment

from kd_efficacy import distribute
from kd_efficacy.errors import ConfigError

TEACHER = ["gin_configs/quickstart/teacher.gin"]


def _error(gin_files, bindings, model_dir, tiny=True):
    with pytest.raises(ConfigError) as info:
        run_experiment(gin_files, bindings, model_dir, tiny=tiny)
    message = str(info.value)
    assert "\n" not in message
    return message


def test_multi_worker_without_tf_config(tmp_path, monkeypatch):
    monkeypatch.delenv("TF_CONFIG", raising=False)
    monkeypatch.delenv("SLURM_JOB_ID", raising=False)
    message = _error(TEACHER, ["STRATEGY = 'multi_worker'"], tmp_path / "run")
    assert "TF_CONFIG" in message and "'mirrored'" in message


@pytest.mark.parametrize(
    "tf_config",
    [
        "not json",
        json.dumps({"cluster": {"worker": ["a:1", "b:2"]}}),  # no task
        json.dumps({"cluster": {"worker": []}, "task": {"type": "worker", "index": 0}}),
        json.dumps({"cluster": {"worker": ["a:1"]}, "task": {"type": "worker", "index": 3}}),
        json.dumps({"cluster": {"worker": ["a:1"]}, "task": {"type": "ps", "index": 0}}),
    ],
)
def test_multi_worker_with_unusable_tf_config(tf_config, monkeypatch):
    monkeypatch.setenv("TF_CONFIG", tf_config)
    with pytest.raises(ConfigError, match="TF_CONFIG") as info:
        distribute.make_strategy("multi_worker")
    assert "\n" not in str(info.value)


def test_global_batch_not_divisible_by_replicas(tmp_path):
    bindings = ["STRATEGY = 'mirrored'", "GLOBAL_BATCH_SIZE = 33"]  # 2 logical CPUs: 2 replicas
    message = _error(TEACHER, bindings, tmp_path / "run")
    assert "GLOBAL_BATCH_SIZE 33" in message and "multiple of 2" in message
    assert not (tmp_path / "run" / "run.json").exists()


def test_mixed_float16_on_cpu(tmp_path):
    message = _error(TEACHER, ["PRECISION = 'mixed_float16'"], tmp_path / "run")
    assert "GPU" in message and "'float32'" in message
    assert keras.mixed_precision.global_policy().name == "float32"
    assert not (tmp_path / "run").exists()


def test_imagenet_without_its_manual_download(tmp_path):
    experiment = "gin_configs/experiments/capacity_gap/imagenet_resnet18.gin"
    message = _error([experiment], [f"DATA_DIR = '{tmp_path}'"], tmp_path / "study", tiny=False)
    assert "ILSVRC2012_img_train.tar" in message
    assert f"{tmp_path}/downloads/manual" in message and "tfds build imagenet2012" in message
