"""Distiller behaviour: frozen teachers, student-only state, live KD weight, replica equality."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kd_efficacy import callbacks, losses
from kd_efficacy.distiller import Distiller
from kd_efficacy.kd_settings import KDSettings

NUM_CLASSES = 10


def _net(batchnorm=False, sync=False, seed=0, name=None):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(4, 3, padding="same")(inputs)
    if batchnorm:
        x = keras.layers.BatchNormalization(synchronized=sync)(x)
    x = keras.layers.ReLU()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(NUM_CLASSES)(x), name=name)


def _batch(n=32, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.uniform(size=(n, 8, 8, 1)).astype(np.float32)
    labels = rng.integers(0, NUM_CLASSES, size=(n,)).astype(np.int32)
    return images, labels


def _dataset(n=32, batch=16):
    return tf.data.Dataset.from_tensor_slices(_batch(n)).batch(batch)


def test_teacher_is_frozen_and_outside_checkpoints():
    teacher = _net(batchnorm=True, seed=1, name="teacher")
    before = [w.numpy().copy() for w in teacher.weights]  # includes BN moving statistics
    distiller = Distiller(_net(seed=2, name="student"), [teacher], kd=KDSettings(4.0, 1.0, 1.0))
    distiller.compile(optimizer=keras.optimizers.SGD(0.5))
    distiller.fit(_dataset(), epochs=2, verbose=0)
    for old, new in zip(before, teacher.weights):
        np.testing.assert_array_equal(old, new.numpy())
    student_ids = {id(w) for w in distiller.student.weights}
    teacher_ids = {id(w) for w in teacher.weights}
    assert not teacher_ids & {id(w) for w in distiller.weights}
    assert student_ids <= {id(w) for w in distiller.weights}


def test_train_step_loss_is_weighted_sum_of_terms():
    images, labels = _batch()
    teacher, student = _net(seed=1), _net(seed=2)
    distiller = Distiller(student, [teacher], kd=KDSettings(3.0, 0.3, 0.7))
    distiller.compile(optimizer=keras.optimizers.SGD(0.0))
    logs = distiller.test_on_batch(images, labels, return_dict=True)
    ce = losses.cross_entropy(labels, student(images)).numpy().mean()
    kd = losses.kd_term(losses.teacher_probabilities(teacher(images), 3.0), student(images), 3.0)
    np.testing.assert_allclose(logs["ce"], ce, rtol=1e-5)
    np.testing.assert_allclose(logs["kd"], kd.numpy().mean(), rtol=1e-5)
    np.testing.assert_allclose(logs["loss"], 0.3 * ce + 0.7 * kd.numpy().mean(), rtol=1e-5)


def test_kd_schedule_reaches_the_compiled_step():
    """After STOP_KD_EPOCH the compiled step must use KD weight 0 (loss == CE)."""
    distiller = Distiller(_net(seed=2), [_net(seed=1)], kd=KDSettings(4.0, 0.1, 0.9))
    distiller.compile(optimizer=keras.optimizers.SGD(0.1))
    history = distiller.fit(_dataset(), epochs=3, verbose=0, callbacks=[callbacks.KDSchedule(1)])
    loss, ce, kd = (history.history[k] for k in ("loss", "ce", "kd"))
    np.testing.assert_allclose(loss[0], 0.1 * ce[0] + 0.9 * kd[0], rtol=1e-4)
    for epoch in (1, 2):  # the compiled function was traced in epoch 0 and reused
        np.testing.assert_allclose(loss[epoch], ce[epoch], rtol=1e-5)
    assert float(distiller.kd_weight.numpy()) == 0.0


def test_scratch_training_has_no_kd_metrics():
    distiller = Distiller(_net(seed=2))
    distiller.compile(optimizer=keras.optimizers.SGD(0.1))
    logs = distiller.fit(_dataset(), epochs=1, verbose=0).history
    assert "kd" not in logs and "agreement" not in logs and "top5" in logs


def _one_step_weights(strategy, batchnorm, sync):
    images, labels = _batch(32, seed=3)
    data = tf.data.Dataset.from_tensor_slices((images, labels)).batch(32)
    with strategy.scope():
        teacher = _net(batchnorm=True, seed=1)
        student = _net(batchnorm=batchnorm, sync=sync, seed=2)
        distiller = Distiller(student, [teacher], kd=KDSettings(4.0, 0.1, 0.9), weight_decay=5e-4)
        distiller.compile(optimizer=keras.optimizers.SGD(0.5, momentum=0.9))
    distiller.fit(data, epochs=1, verbose=0)
    return [w.numpy() for w in student.weights]


@pytest.fixture(scope="module")
def mirrored(mirrored_cpus):
    """The session's strategy (tests/conftest.py): separate MirroredStrategy objects in one
    process can hand out colliding collective keys, which aborts synchronized BatchNorm."""
    assert mirrored_cpus.num_replicas_in_sync == 2, "tests/conftest.py configures two CPUs"
    return mirrored_cpus


@pytest.mark.parametrize("batchnorm,sync", [(False, False), (True, True)])
def test_mirrored_step_matches_single_device(mirrored, batchnorm, sync):
    single = _one_step_weights(tf.distribute.OneDeviceStrategy("/cpu:0"), batchnorm, sync)
    replicated = _one_step_weights(mirrored, batchnorm, sync)
    for a, b in zip(single, replicated):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_unsynchronized_batchnorm_differs_across_replicas(mirrored):
    """Per-replica BN statistics legitimately change the result: the sync test is not vacuous."""
    single = _one_step_weights(tf.distribute.OneDeviceStrategy("/cpu:0"), True, False)
    replicated = _one_step_weights(mirrored, True, False)
    assert max(np.abs(a - b).max() for a, b in zip(single, replicated)) > 1e-5


class _CountingTeacher(keras.Model):
    """A teacher that counts its forward passes as they execute (a variable, not a trace count)."""

    def __init__(self, inner):
        super().__init__(name="counting_teacher")
        self.inner = inner
        self.passes = tf.Variable(0, trainable=False)

    def call(self, images, training=False):
        self.passes.assign_add(1)
        return self.inner(images, training=training)


class _AlwaysCallsTeacher(Distiller):
    """The train step before the skip: every step runs the teacher, whatever the KD weight."""

    def _train_teacher_probs(self, data):
        return self._teacher_probs(data[0]), None


def _eskd_fit(distiller_class, teacher, epochs=3, stop=1):
    distiller = distiller_class(_net(seed=2), [teacher], kd=KDSettings(4.0, 0.1, 0.9))
    distiller.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9))
    history = distiller.fit(
        _dataset(n=48), epochs=epochs, verbose=0, callbacks=[callbacks.KDSchedule(stop)]
    )
    return distiller, history.history


def test_train_step_skips_the_teacher_once_kd_weight_is_zero():
    teacher = _CountingTeacher(_net(seed=1))
    teacher(_batch(2)[0])  # built outside the compiled step
    teacher.passes.assign(0)
    distiller, history = _eskd_fit(Distiller, teacher)
    assert int(teacher.passes.numpy()) == 3  # the 3 steps of epoch 1 only
    # Train teacher metrics exist for the KD epoch only; loss == CE afterwards, as before.
    assert len(history["kd"]) == len(history["agreement"]) == 1 and len(history["loss"]) == 3
    np.testing.assert_allclose(history["loss"][1:], history["ce"][1:], rtol=1e-6)
    # Evaluation still measures KD and agreement after the stop (the curves' source).
    logs = distiller.evaluate(_dataset(), verbose=0, return_dict=True)
    assert int(teacher.passes.numpy()) == 3 + 2 and logs["kd"] > 0


def test_eskd_weights_are_the_same_with_and_without_the_teacher_skip():
    teacher = _net(seed=1)
    skipping, skipped_history = _eskd_fit(Distiller, teacher)
    always, always_history = _eskd_fit(_AlwaysCallsTeacher, teacher)
    for a, b in zip(skipping.student.weights, always.student.weights):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert skipped_history["loss"] == always_history["loss"]
    assert skipped_history["kd"][0] == always_history["kd"][0]
