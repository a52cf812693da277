"""STRATEGY='multi_worker': two worker processes on 127.0.0.1 train through the real command line.

Also pins the upstream behaviour that ``kd_efficacy/keras_multi_worker_fix.py`` works around
(keras-team/keras#20585), so a Keras upgrade that changes it fails here loudly.
"""

import contextlib
import inspect
import json
import os
import socket
import subprocess

import numpy as np
import pytest
from kd_testing import (
    REPO_ROOT,
    TEACHER_GIN,
    assert_run_contract,
    cli_command,
    cli_env,
    start_cli,
)
from keras.src.backend.tensorflow import trainer as keras_tf_trainer

from kd_efficacy import keras_multi_worker_fix

LAUNCH = os.path.join(os.path.dirname(os.path.abspath(__file__)), "launch.py")
TIMEOUT_S = 240
# The upstream failures, one per Keras call the fix handles.
UPSTREAM_ERRORS = (
    "Attempt to convert a value (PerReplica",  # _maybe_symbolic_build reduces a data batch
    "Invalid reduction dimension",  # reduce_per_replica reduces scalar metrics along axis 0
)
GIN_FILES = [TEACHER_GIN, "gin_configs/testing/smoke.gin"]
BINDINGS = [
    "MODEL = 'resnet8'",
    "STRATEGY = 'multi_worker'",
    "recipe.max_train_examples = 128",
    "recipe.warmup_epochs = 0",
    # Unsynchronized BN keeps each replica's moving statistics (Keras 3): only synchronized BN
    # makes *every* student weight a function of the global batch, hence equal on all workers.
    "recipe.sync_batchnorm = True",
    "experiment.verbose = 0",
]


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


def _run_cluster(tmp_path, model_dir, extra_env=None):
    """Starts two workers, waits for both; returns [(returncode, log text)] by task index."""
    workers = [f"127.0.0.1:{port}" for port in _free_ports(2)]
    procs = []
    with contextlib.ExitStack() as logs:
        for index in range(2):
            scratch = tmp_path / f"tmp{index}"
            scratch.mkdir(exist_ok=True)
            env = cli_env(
                TMPDIR=scratch,
                TF_CONFIG=json.dumps(
                    {"cluster": {"worker": workers}, "task": {"type": "worker", "index": index}}
                ),
                KD_TEST_WEIGHTS_DIR=str(tmp_path / "weights"),
                **(extra_env or {}),
            )
            log = logs.enter_context(open(tmp_path / f"worker{index}.log", "w"))
            cmd = cli_command(GIN_FILES, BINDINGS, model_dir, launcher=LAUNCH)
            procs.append(subprocess.Popen(cmd, cwd=REPO_ROOT, env=env, stdout=log, stderr=log))
        for proc in procs:
            try:
                proc.wait(timeout=TIMEOUT_S)
            except subprocess.TimeoutExpired:
                for other in procs:
                    other.kill()
                proc.wait()
    return [
        (proc.returncode, (tmp_path / f"worker{i}.log").read_text()) for i, proc in enumerate(procs)
    ]


def _tails(results):
    return "\n".join(
        f"--- worker {i} (rc {rc}) ---\n{text[-3000:]}" for i, (rc, text) in enumerate(results)
    )


def test_two_workers_train_identically_and_only_the_chief_writes(tmp_path):
    model_dir = tmp_path / "run"
    results = _run_cluster(tmp_path, model_dir)
    assert all(rc == 0 for rc, _ in results), _tails(results)

    chief, other = (np.load(tmp_path / "weights" / f"{i}.npz") for i in range(2))
    assert str(chief["export_dir"]) == str(model_dir / "export")
    assert str(other["export_dir"]).startswith(str(tmp_path / "tmp1")), other["export_dir"]
    weights = sorted(k for k in chief.files if k.startswith("w"))
    assert weights and weights == sorted(k for k in other.files if k.startswith("w"))
    for key in weights:
        np.testing.assert_array_equal(chief[key], other[key], err_msg=key)

    assert assert_run_contract(model_dir)["replicas"] == 2
    assert sorted(os.listdir(model_dir)) == [
        "checkpoints",
        "config.gin",
        "export",
        "logs",
        "metrics.jsonl",
        "operative_config.gin",
        "result.json",
        "run.json",
        "run.lock.0",  # the chief's released lease (run_lock.py)
        "snapshots",
    ]
    assert os.listdir(tmp_path / "tmp1") == [], "the non-chief worker left scratch files"


@pytest.mark.slow
def test_two_workers_train_as_one_host_with_two_replicas(tmp_path):
    """Each worker decodes only its half of every global batch (distribute.train_input); the
    student still equals the one-process run on 2 logical CPUs, which decodes every example."""
    one_host = tmp_path / "one_host"
    proc = start_cli(
        GIN_FILES,
        [*(b for b in BINDINGS if "STRATEGY" not in b), "STRATEGY = 'mirrored'"],
        one_host,
        env={"KD_TEST_LOGICAL_CPUS": 2, "KD_TEST_WEIGHTS_DIR": one_host / "weights"},
        launcher=LAUNCH,
        stderr=subprocess.PIPE,
    )
    results = _run_cluster(tmp_path, tmp_path / "run")
    _, stderr = proc.communicate(timeout=TIMEOUT_S)
    assert proc.returncode == 0, stderr[-3000:]
    assert all(rc == 0 for rc, _ in results), _tails(results)
    workers, mirrored = (np.load(d / "0.npz") for d in (tmp_path / "weights", one_host / "weights"))
    weights = sorted(k for k in mirrored.files if k.startswith("w"))
    assert weights and weights == sorted(k for k in workers.files if k.startswith("w"))
    for key in weights:
        np.testing.assert_array_equal(workers[key], mirrored[key], err_msg=key)


def test_keras_still_makes_the_calls_the_fix_handles():
    """The fix accepts two kinds of ``strategy.reduce`` call; Keras must still make them."""
    for name, call in keras_multi_worker_fix.KERAS_CALLS.items():
        owner = keras_tf_trainer
        for part in name.split("."):
            owner = getattr(owner, part, None)
            assert owner is not None, (
                f"keras' TensorFlow trainer has no {name} any more: re-check keras-team/keras"
                "#20585 and kd_efficacy/keras_multi_worker_fix.py"
            )
        source = "".join(inspect.getsource(owner).split())
        assert call in source, (
            f"keras' {name} no longer calls {call}: re-check keras-team/keras#20585 and "
            "kd_efficacy/keras_multi_worker_fix.py (is the fix still needed, still right?)"
        )


@pytest.mark.slow
def test_plain_strategy_still_fails_without_the_fix(tmp_path):
    """When this fails, Keras fixed #20585 upstream: delete the fix and its use."""
    results = _run_cluster(tmp_path, tmp_path / "run", {"KD_TEST_WITHOUT_FIX": "1"})
    if all(rc == 0 for rc, _ in results):
        pytest.fail(
            "Keras fit now works under tf.distribute.MultiWorkerMirroredStrategy: upstream fixed "
            "keras-team/keras#20585. Delete kd_efficacy/keras_multi_worker_fix.py, use the plain "
            "strategy in distribute.py and drop this test."
        )
    for rc, text in results:
        assert rc != 0 and any(e in text for e in UPSTREAM_ERRORS), (
            "without the fix the workers failed differently from keras-team/keras#20585; "
            "re-check kd_efficacy/keras_multi_worker_fix.py\n" + _tails(results)
        )
