"""MixUp / CutMix for function matching: teacher and student see the identical mixed batch,
the mix is a pure function of (seed, optimizer step) so a resumed run mixes as an uninterrupted
one, and the mixed targets weigh the two labels by λ."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kd_efficacy import mixing
from kd_efficacy.distiller import Distiller
from kd_efficacy.kd_settings import KDSettings

C = 10
SEEN = {"teacher": [], "student": []}


class _Recording(keras.Model):
    """A small net that keeps (outside Keras' tracking) every batch it is called on."""

    def __init__(self, role, seed):
        super().__init__()
        keras.utils.set_random_seed(seed)
        self.role = role
        self.conv = keras.layers.Conv2D(4, 3, padding="same")
        self.pool = keras.layers.GlobalAveragePooling2D()
        self.head = keras.layers.Dense(C)

    def call(self, images, training=False):
        SEEN[self.role].append(np.array(images))
        return self.head(self.pool(self.conv(images)))


def _batch(n=16, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.uniform(size=(n, 8, 8, 1)).astype(np.float32)
    labels = rng.integers(0, C, size=n).astype(np.int32)
    return images, labels


@pytest.mark.parametrize("kind", ["mixup", "cutmix"])
def test_teacher_and_student_see_the_identical_mixed_batch(kind):
    for seen in SEEN.values():
        seen.clear()
    images, labels = _batch()
    teacher, student = _Recording("teacher", 1), _Recording("student", 2)
    teacher(images), student(images)  # build
    for seen in SEEN.values():
        seen.clear()
    distiller = Distiller(
        student, [teacher], kd=KDSettings(1.0, 0.0, 1.0, mix=kind), seed=7, num_classes=C
    )
    distiller.compile(optimizer=keras.optimizers.SGD(0.1), run_eagerly=True)
    distiller.fit(tf.data.Dataset.from_tensors((images, labels)).repeat(2), epochs=1, verbose=0)
    assert len(SEEN["teacher"]) == len(SEEN["student"]) == 2
    for step, (t, s) in enumerate(zip(SEEN["teacher"], SEEN["student"])):
        np.testing.assert_array_equal(t, s)
        want, _ = mixing.mix_batch(images, labels, C, kind, 1.0, tf.constant([7, step]))
        np.testing.assert_array_equal(t, want.numpy())  # keyed by (seed, optimizer step)
    # It was mixed (a CutMix box may be empty at one step when λ is near 1, not at both).
    assert any(not np.array_equal(t, images) for t in SEEN["teacher"])


def test_mixup_is_a_convex_pair_and_targets_weigh_labels_by_lambda():
    images, labels = _batch(32)
    seed = tf.constant([3, 11], tf.int64)
    mixed, targets = mixing.mix_batch(images, labels, C, "mixup", 1.0, seed)
    lam_seed, perm_seed, _ = tf.unstack(tf.random.experimental.stateless_split(seed, 3, "philox"))
    lam = float(mixing.beta_sample(lam_seed, 1.0))
    order = mixing.permutation(perm_seed, 32).numpy()
    assert sorted(order) == list(range(32)) and 0.0 < lam < 1.0
    np.testing.assert_allclose(mixed, lam * images + (1 - lam) * images[order], rtol=1e-6)
    one_hot = np.eye(C)[labels]
    np.testing.assert_allclose(targets, lam * one_hot + (1 - lam) * one_hot[order], rtol=1e-6)
    np.testing.assert_allclose(targets.numpy().sum(-1), 1.0, rtol=1e-6)


def test_cutmix_lambda_is_the_kept_area():
    images, labels = _batch(8)
    mixed, targets = mixing.mix_batch(images, labels, C, "cutmix", 1.0, tf.constant([0, 5]))
    pasted = np.any(mixed.numpy() != images, axis=(0, 3))  # pixels taken from a partner
    kept = 1.0 - pasted.mean()
    # Where partner and own label coincide the target is one-hot; elsewhere it carries λ.
    weights = targets.numpy()[np.arange(8), labels]
    assert np.all(weights >= kept - 1e-6)
    assert np.isclose(weights.min(), kept, atol=1e-6) or np.all(weights == 1.0)


def test_same_seed_and_step_mix_the_same_and_others_differ():
    images, labels = _batch()
    first = mixing.mix_batch(images, labels, C, "mixup", 1.0, tf.constant([1, 4]))[0]
    again = mixing.mix_batch(images, labels, C, "mixup", 1.0, tf.constant([1, 4]))[0]
    other_step = mixing.mix_batch(images, labels, C, "mixup", 1.0, tf.constant([1, 5]))[0]
    other_seed = mixing.mix_batch(images, labels, C, "mixup", 1.0, tf.constant([2, 4]))[0]
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other_step) and not np.array_equal(first, other_seed)


def test_disabled_mixing_leaves_the_batch_exactly_as_it_was():
    images, labels = _batch()
    for kind in ("mixup", "cutmix"):
        mixed, targets = mixing.mix_batch(
            images, labels, C, kind, 1.0, tf.constant([1, 4]), enabled=tf.constant(False)
        )
        np.testing.assert_array_equal(mixed, images)
        np.testing.assert_array_equal(targets, np.eye(C, dtype=np.float32)[labels])


def _net(seed):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.GlobalAveragePooling2D()(keras.layers.Conv2D(4, 3, padding="same")(inputs))
    return keras.Model(inputs, keras.layers.Dense(C)(x))


def _distiller(teacher):
    distiller = Distiller(_net(2), [teacher], kd=KDSettings(1.0, 0.0, 1.0, mix="mixup"), seed=3)
    distiller.compile(optimizer=keras.optimizers.SGD(0.1))
    return distiller


@pytest.mark.slow  # four compiled fits; the short variant: the (seed, step) keying test above
def test_resumed_training_mixes_as_an_uninterrupted_run():
    """Epoch 2 after restoring (weights + optimizer step) equals epoch 2 of one straight run."""
    images, labels = _batch(32)
    data = tf.data.Dataset.from_tensor_slices((images, labels)).batch(16)
    teacher = _net(1)
    straight = _distiller(teacher)
    straight.fit(data, epochs=2, verbose=0)
    first = _distiller(teacher)
    first.fit(data, epochs=1, verbose=0)
    resumed = _distiller(teacher)
    resumed.optimizer.build(resumed.student.trainable_variables)
    resumed.student.set_weights(first.student.get_weights())
    resumed.optimizer.iterations.assign(first.optimizer.iterations)
    resumed.fit(data, epochs=2, initial_epoch=1, verbose=0)
    for a, b in zip(straight.student.get_weights(), resumed.student.get_weights()):
        np.testing.assert_array_equal(a, b)
    # Not vacuous: without the restored step the second epoch mixes differently.
    fresh = _distiller(teacher)
    fresh.student.set_weights(first.student.get_weights())
    fresh.fit(data, epochs=2, initial_epoch=1, verbose=0)
    assert any(
        not np.array_equal(a, b)
        for a, b in zip(straight.student.get_weights(), fresh.student.get_weights())
    )
