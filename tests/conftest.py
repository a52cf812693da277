"""Test session setup: two logical CPU devices (for MirroredStrategy tests) and quiet TF logs.

Logical devices must be configured before TensorFlow initializes its runtime, so this runs at
import, before any test module touches TensorFlow.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(TESTS_DIR)
for _path in (REPO_ROOT, TESTS_DIR):  # the package, and shared helpers (kd_testing)
    if _path not in sys.path:
        sys.path.insert(0, _path)

import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

_cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    _cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
)


@pytest.fixture(scope="session")
def mirrored_cpus():
    """The session's one MirroredStrategy over the two logical CPUs.

    Each MirroredStrategy object numbers its collectives from the same start, so two of them in
    one process can reuse a key with different shapes and abort synchronized BatchNorm's
    all-reduce; every in-process test that needs two replicas shares this one.
    """
    return tf.distribute.MirroredStrategy([d.name for d in tf.config.list_logical_devices("CPU")])


@pytest.fixture(scope="session")
def resumable_clean(tmp_path_factory):
    """A ``RESUMABLE_RUN`` teacher never stopped, run once through the CLI: the reference every
    stopped-and-resumed run of it (SIGKILL in test_run_e2e, SIGTERM in test_preemption) must end
    bit-identical to."""
    from kd_testing import RESUMABLE_RUN, TEACHER_GIN, assert_cli_ok, assert_run_contract, run_cli

    directory = tmp_path_factory.mktemp("resumable") / "clean"
    assert_cli_ok(run_cli(TEACHER_GIN, RESUMABLE_RUN, directory, timeout=600))
    assert_run_contract(directory)
    return directory


@pytest.fixture(scope="session")
def early_stopping_study(tmp_path_factory):
    """One tiny early-stopping study (5 runs: teacher, its epoch-1 snapshot's student, KD, ESKD
    stopped at 1, scratch), run once per session; its readers (the study test, the report tests)
    only read it."""
    from kd_testing import assert_study_contract, run_experiment

    directory = tmp_path_factory.mktemp("report") / "es"
    run_experiment(
        ["gin_configs/experiments/early_stopping/digits.gin"],
        [
            "STUDENT = 'resnet8'",
            "TEACHERS = ['resnet8']",
            "TEACHER_EPOCHS = [1]",
            "STOP_KD_EPOCHS = [1]",
            "SEEDS = [0]",
        ],
        directory,
    )
    assert_study_contract(directory)
    return directory
