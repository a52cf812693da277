"""Test-only launcher: ``python tests/distribute/launch.py <kd_efficacy.run flags>``.

Runs the real command line (``kd_efficacy.run.entry_point``, what ``python -m kd_efficacy.run``
calls) with three test hooks, set by environment variables, that production code has no need for:

- ``KD_TEST_LOGICAL_CPUS=N``: split the CPU into N logical devices, so ``STRATEGY='mirrored'``
  has N replicas on a machine without GPUs (it must happen before TensorFlow starts).
- ``KD_TEST_WEIGHTS_DIR=D``: when the student is exported, save its weights and the export
  directory to ``D/<task index>.npz``, so a test can compare workers whose scratch files are gone.
- ``KD_TEST_WITHOUT_FIX=1``: use TF's plain MultiWorkerMirroredStrategy instead of
  ``kd_efficacy.keras_multi_worker_fix``, to check that Keras still needs the fix.
"""

import json
import os
import sys

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, REPO_ROOT)

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from kd_efficacy import export, keras_multi_worker_fix, run  # noqa: E402


def _split_cpu(count):
    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(count)]
    )


def _record_weights(directory):
    task = json.loads(os.environ.get("TF_CONFIG", "{}")).get("task", {}).get("index", 0)
    original = export.export_student

    def export_and_record(student, export_dir, *args, **kwargs):
        os.makedirs(directory, exist_ok=True)
        arrays = {f"w{i:04d}": np.asarray(w.numpy()) for i, w in enumerate(student.weights)}
        np.savez(os.path.join(directory, f"{task}.npz"), export_dir=export_dir, **arrays)
        return original(student, export_dir, *args, **kwargs)

    export.export_student = export_and_record


if __name__ == "__main__":
    if os.environ.get("KD_TEST_LOGICAL_CPUS"):
        _split_cpu(int(os.environ["KD_TEST_LOGICAL_CPUS"]))
    if os.environ.get("KD_TEST_WEIGHTS_DIR"):
        _record_weights(os.environ["KD_TEST_WEIGHTS_DIR"])
    if os.environ.get("KD_TEST_WITHOUT_FIX"):
        keras_multi_worker_fix.MultiWorkerMirroredStrategy = (
            tf.distribute.MultiWorkerMirroredStrategy
        )
    run.entry_point()
