"""MultiStudentDistiller: each student's update equals a single-student Distiller step."""

import keras
import numpy as np
import tensorflow as tf

from kd_efficacy import callbacks
from kd_efficacy.distiller import Distiller
from kd_efficacy.kd_settings import KDSettings
from kd_efficacy.multi_student import MultiStudentDistiller

NUM_CLASSES = 10
OPTIONS = dict(kd=KDSettings(3.0, 0.4, 0.6), weight_decay=5e-4)


def _net(seed):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((8, 8, 1))
    x = keras.layers.Conv2D(4, 3, padding="same")(inputs)
    x = keras.layers.BatchNormalization()(x)  # moving statistics must follow too
    x = keras.layers.ReLU()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(NUM_CLASSES)(x))


def _copy(model, seed):
    twin = _net(seed)
    twin.set_weights(model.get_weights())
    return twin


def _dataset():
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(48, 8, 8, 1)).astype(np.float32)
    labels = rng.integers(0, NUM_CLASSES, size=(48,)).astype(np.int32)
    return tf.data.Dataset.from_tensor_slices((images, labels)).batch(16)


def _optimizer():
    return keras.optimizers.SGD(0.2, momentum=0.9, nesterov=True)


def test_each_student_steps_like_a_single_student_distiller():
    teacher = _net(seed=100)
    students = [_net(seed=s) for s in (1, 2, 3)]
    twins = [_copy(s, seed=i) for i, s in enumerate(students)]
    multi = MultiStudentDistiller(students, [teacher], **OPTIONS)
    multi.compile(optimizer=_optimizer())
    logs = multi.fit(_dataset(), epochs=2, verbose=0).history
    for i, twin in enumerate(twins):
        single = Distiller(twin, [teacher], **OPTIONS)
        single.compile(optimizer=_optimizer())
        alone = single.fit(_dataset(), epochs=2, verbose=0).history
        for mine, theirs in zip(students[i].weights, twin.weights):
            np.testing.assert_allclose(mine.numpy(), theirs.numpy(), atol=1e-5, rtol=1e-5)
        for name in ("loss", "ce", "kd", "accuracy", "agreement"):
            np.testing.assert_allclose(logs[f"s{i}_{name}"], alone[name], rtol=1e-5, atol=1e-6)
    mean_loss = np.mean([logs[f"s{i}_loss"] for i in range(3)], axis=0)
    np.testing.assert_allclose(logs["loss"], mean_loss, rtol=1e-5)


def test_students_only_in_weights_and_kd_schedule_reaches_all():
    teacher = _net(seed=100)
    students = [_net(seed=1), _net(seed=2)]
    multi = MultiStudentDistiller(students, [teacher], **OPTIONS)
    assert not {id(w) for w in teacher.weights} & {id(w) for w in multi.weights}
    assert len(multi.trainable_variables) == sum(len(s.trainable_variables) for s in students)
    multi.compile(optimizer=_optimizer())
    logs = multi.fit(_dataset(), epochs=2, verbose=0, callbacks=[callbacks.KDSchedule(1)]).history
    for i in range(2):
        np.testing.assert_allclose(logs[f"s{i}_loss"][1], logs[f"s{i}_ce"][1], rtol=1e-5)
    evaluated = multi.evaluate(_dataset(), verbose=0, return_dict=True)
    assert {"s0_accuracy", "s1_kd", "loss"} <= set(evaluated)
