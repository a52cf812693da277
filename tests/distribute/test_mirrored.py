"""STRATEGY='mirrored' end to end: the command line on 2 logical CPUs trains the same student as
one device (synchronized BN), and reports its replicas."""

import json
import os
import subprocess
import sys

import numpy as np

LAUNCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "launch.py")
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FLAGS = [
    "--gin_file=gin_configs/quickstart/teacher.gin",
    "--gin_file=gin_configs/testing/smoke.gin",
    "--gin_bindings=MODEL = 'resnet8'",
    "--gin_bindings=recipe.max_train_examples = 128",
    "--gin_bindings=recipe.warmup_epochs = 0",
    "--gin_bindings=recipe.sync_batchnorm = True",
    "--gin_bindings=experiment.verbose = 0",
]


def _start(tmp_path, strategy):
    env = dict(
        os.environ,
        TF_CPP_MIN_LOG_LEVEL="2",
        KD_TEST_LOGICAL_CPUS="2",
        KD_TEST_WEIGHTS_DIR=str(tmp_path / f"{strategy}_weights"),
    )
    env.pop("TF_CONFIG", None)
    cmd = [
        sys.executable,
        LAUNCH,
        *FLAGS,
        f"--gin_bindings=STRATEGY = '{strategy}'",
        f"--model_dir={tmp_path / strategy}",
    ]
    return subprocess.Popen(
        cmd, cwd=REPO_ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )


def _finish(tmp_path, strategy, proc):
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr[-3000:]
    result = json.loads((tmp_path / strategy / "result.json").read_text())
    return result, np.load(tmp_path / f"{strategy}_weights" / "0.npz")


def test_mirrored_run_matches_one_device(tmp_path):
    procs = {s: _start(tmp_path, s) for s in ("mirrored", "default")}  # concurrently: 2 cores
    mirrored, mirrored_weights = _finish(tmp_path, "mirrored", procs["mirrored"])
    single, single_weights = _finish(tmp_path, "default", procs["default"])
    assert mirrored["status"] == "complete" and mirrored["replicas"] == 2
    assert single["replicas"] == 1
    keys = [k for k in single_weights.files if k.startswith("w")]
    for key in keys:
        np.testing.assert_allclose(mirrored_weights[key], single_weights[key], atol=1e-5)
