"""STRATEGY='mirrored' end to end: the command line on 2 logical CPUs trains the same student as
one device (synchronized BN), and reports its replicas. Slow (about 35 s idle); CI keeps the
step-level check, tests/core/test_distiller.py::test_mirrored_step_matches_single_device."""

import os
import subprocess

import numpy as np
import pytest
from kd_testing import TEACHER_GIN, assert_run_contract, start_cli

LAUNCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "launch.py")
GIN_FILES = [TEACHER_GIN, "gin_configs/testing/smoke.gin"]
BINDINGS = [
    "MODEL = 'resnet8'",
    "recipe.max_train_examples = 128",
    "recipe.warmup_epochs = 0",
    "recipe.sync_batchnorm = True",
    "experiment.verbose = 0",
]


def _start(tmp_path, strategy):
    env = {"KD_TEST_LOGICAL_CPUS": 2, "KD_TEST_WEIGHTS_DIR": tmp_path / f"{strategy}_weights"}
    bindings = [*BINDINGS, f"STRATEGY = '{strategy}'"]
    return start_cli(
        GIN_FILES, bindings, tmp_path / strategy, env=env, launcher=LAUNCH, stderr=subprocess.PIPE
    )


def _finish(tmp_path, strategy, proc):
    _, stderr = proc.communicate(timeout=300)
    assert proc.returncode == 0, stderr[-3000:]
    result = assert_run_contract(tmp_path / strategy)
    return result, np.load(tmp_path / f"{strategy}_weights" / "0.npz")


@pytest.mark.slow
def test_mirrored_run_matches_one_device(tmp_path):
    procs = {s: _start(tmp_path, s) for s in ("mirrored", "default")}  # concurrently: 2 cores
    mirrored, mirrored_weights = _finish(tmp_path, "mirrored", procs["mirrored"])
    single, single_weights = _finish(tmp_path, "default", procs["default"])
    assert mirrored["replicas"] == 2
    assert single["replicas"] == 1
    keys = [k for k in single_weights.files if k.startswith("w")]
    for key in keys:
        np.testing.assert_allclose(mirrored_weights[key], single_weights[key], atol=1e-5)
