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
