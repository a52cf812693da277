"""Test session setup: two logical CPU devices (for MirroredStrategy tests) and quiet TF logs.

Logical devices must be configured before TensorFlow initializes its runtime, so this runs at
import, before any test module touches TensorFlow.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
TESTS_DIR = os.path.dirname(os.path.abspath(__file__))
REPO_ROOT = os.path.dirname(TESTS_DIR)
for _path in (REPO_ROOT, TESTS_DIR):  # the package, and shared helpers such as gin_runner
    if _path not in sys.path:
        sys.path.insert(0, _path)

import tensorflow as tf  # noqa: E402

_cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    _cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
)
