"""thread_spinning: set before TensorFlow's runtime starts, refused (unchanged) after."""

import subprocess
import sys

_SCRIPT = """
from kd_efficacy import thread_spinning
import tensorflow as tf
assert not thread_spinning.disabled()
assert thread_spinning.disable()
assert thread_spinning.disabled()
assert float(tf.constant(2.0) * 3.0) == 6.0  # the runtime starts with the config
from tensorflow.python.eager import context
assert context.context().config.experimental.disable_thread_spinning
assert not thread_spinning.disable()  # too late now: says so
print("ok")
"""

_TOO_LATE = """
import tensorflow as tf
from kd_efficacy import thread_spinning
float(tf.constant(1.0))
assert not thread_spinning.disable()
assert not thread_spinning.disabled()
print("ok")
"""


def _run(script):
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("ok")


def test_disable_before_the_first_op_reaches_the_runtime_config():
    _run(_SCRIPT)


def test_disable_after_the_runtime_started_changes_nothing():
    _run(_TOO_LATE)
