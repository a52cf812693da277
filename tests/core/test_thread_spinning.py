"""thread_spinning: set before TensorFlow's runtime starts, reaching its config; refused after
(one fresh interpreter: each costs a TensorFlow import)."""

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


def _run(script):
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("ok")


def test_disable_before_the_first_op_reaches_the_runtime_config():
    _run(_SCRIPT)
