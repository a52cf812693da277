"""TensorFlow's CPU thread pools without spin-waiting, for processes that share the cores.

An idle thread of TensorFlow's pools spins for a while before it sleeps, which buys latency when
one process has the cores to itself. The processes of ``parallel_runs.processes = N`` (more
processes than cores: their tiny ops leave each one's pools idle between ops most of the time)
then burn, spinning, the cores the others need. With spinning off, a one-seed slice of the
digits capacity-gap study (13 runs, 3 processes on 2 cores) took 145-156 s instead of 164-171 s
(two interleaved pairs, 9 and 25 % less CPU time), every result bit-identical: spinning decides only
how an idle thread waits, never which thread computes what (BENCHMARKS.md, part 7).

TensorFlow 2 has no public setter: ``ConfigProto.experimental.disable_thread_spinning`` is read
once, when the eager context initializes, from the context's base config. ``disable`` sets that
base config, so it must run before the process's first TensorFlow op; it says whether it was in
time. Nothing else of the config changes.
"""

from tensorflow.core.protobuf import config_pb2
from tensorflow.python.eager import context


def disable():
    """Turns spinning off for this process's TensorFlow thread pools. Returns False (and changes
    nothing) when TensorFlow has already started its runtime: then it is too late."""
    eager = context.context()
    if eager._context_handle is not None:  # the runtime exists: its pools are made
        return False
    config = config_pb2.ConfigProto()
    if eager._config is not None:
        config.CopyFrom(eager._config)
    config.experimental.disable_thread_spinning = True
    eager._config = config
    return True


def disabled():
    """Whether this process's runtime was (or will be) started with spinning off."""
    config = context.context()._config
    return bool(config is not None and config.experimental.disable_thread_spinning)
