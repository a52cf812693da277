"""Keras 3 ``fit``/``evaluate`` under MultiWorkerMirroredStrategy: the one workaround, here only.

Upstream bug: https://github.com/keras-team/keras/issues/20585 (open; seen with Keras 3.15 and
TF 2.21). Keras' TensorFlow trainer makes two ``strategy.reduce`` calls that
``MultiWorkerMirroredStrategy`` rejects once there is more than one worker:

1. ``TensorFlowTrainer._maybe_symbolic_build`` reduces the first *data batch*, an ``(x, y)``
   tuple of PerReplica values, with ``reduce("MEAN", batch, axis=None)``. ``Strategy.reduce``
   takes no nests (TF's own TODO), so the tuple reaches ``convert_to_tensor`` and fails
   ("Attempt to convert a value (PerReplica...) with an unsupported type").
2. ``reduce_per_replica`` reduces every step's metric results, scalars, with
   ``reduce("MEAN", v, axis=0)`` under multi-worker, and a scalar has no axis 0
   ("Invalid reduction dimension 0 for input with 0 dimensions").

The fix is a ``MultiWorkerMirroredStrategy`` whose ``reduce`` accepts both inputs with the meaning
the documented API gives them: a nest is reduced leaf by leaf, and a scalar, having no batch axis,
is reduced across replicas only (``axis=None``). Every call that TF accepts today keeps its exact
result, nothing in Keras or TF is patched, and only runs with ``STRATEGY = 'multi_worker'`` use it
(``distribute.make_strategy``). ``tests/distribute/test_multi_worker.py`` checks that Keras still
makes exactly these calls and that plain ``fit`` still fails without the fix: when Keras fixes
#20585 that test says so, and this file and its use in ``distribute.py`` can go.
"""

import tensorflow as tf

# The calls in Keras' TensorFlow trainer (keras/src/backend/tensorflow/trainer.py) that this file
# exists for, whitespace removed; the test reads that source and fails when they change.
KERAS_CALLS = {
    "TensorFlowTrainer._maybe_symbolic_build": 'self.distribute_strategy.reduce("MEAN",',
    "reduce_per_replica": 'strategy.reduce("MEAN",v,axis=0)',
}


class MultiWorkerMirroredStrategy(tf.distribute.MultiWorkerMirroredStrategy):
    """``tf.distribute.MultiWorkerMirroredStrategy`` whose ``reduce`` Keras 3 ``fit`` can use."""

    def reduce(self, reduce_op, value, axis=None):
        if isinstance(value, (list, tuple, dict)):  # (1): a data batch (x, y[, sample_weight])
            return tf.nest.map_structure(lambda v: self.reduce(reduce_op, v, axis), value)
        if axis is not None and _rank(self.experimental_local_results(value)[0]) == 0:
            axis = None  # (2): a scalar metric result; there is no batch axis to reduce
        return super().reduce(reduce_op, value, axis)


def _rank(value):
    shape = getattr(value, "shape", ())
    return shape.rank if isinstance(shape, tf.TensorShape) else len(shape)
