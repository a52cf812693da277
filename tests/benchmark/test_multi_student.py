"""MultiStudentDistiller: each member's update is bit-identical to a single Distiller's step."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kd_efficacy import callbacks, multi_student
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


def _member(student, teacher):
    distiller = Distiller(student, [teacher], **OPTIONS)
    distiller.compile(optimizer=_optimizer())
    return distiller


def _pack(students, teacher):
    multi = MultiStudentDistiller([_member(s, teacher) for s in students])
    return multi_student.compile_pack(multi)


def test_each_member_steps_bit_identically_to_a_single_distiller():
    teacher = _net(seed=100)
    students = [_net(seed=s) for s in (1, 2, 3)]
    twins = [_copy(s, seed=i) for i, s in enumerate(students)]
    multi = _pack(students, teacher)
    logs = multi.fit(_dataset(), epochs=2, verbose=0).history
    for i, twin in enumerate(twins):
        alone = _member(twin, teacher).fit(_dataset(), epochs=2, verbose=0).history
        for mine, theirs in zip(students[i].weights, twin.weights):
            np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
        for name in ("loss", "ce", "kd", "accuracy", "agreement"):
            np.testing.assert_array_equal(logs[f"s{i}_{name}"], alone[name])


class _Seen(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epoch_logs, self.models = [], set()

    def on_epoch_end(self, epoch, logs=None):
        self.epoch_logs.append(dict(logs))
        self.models.add(id(self.model))


def test_member_callbacks_see_their_member_and_its_logs_only():
    teacher = _net(seed=100)
    multi = _pack([_net(seed=1), _net(seed=2)], teacher)
    assert not {id(w) for w in teacher.weights} & {id(w) for w in multi.weights}
    seen = [_Seen(), _Seen()]
    per_member = [[callbacks.KDSchedule(1), seen[0]], [seen[1]]]  # ESKD for member 0 only
    fit_callbacks = multi_student.member_callbacks(multi, per_member, [None, [2]])
    multi.fit(_dataset(), epochs=2, verbose=0, validation_data=_dataset(), callbacks=fit_callbacks)
    for i, member in enumerate(multi.members):
        assert seen[i].models == {id(member)}
        assert all(
            "loss" in logs and not any(k.startswith("s") for k in logs)
            for logs in seen[i].epoch_logs
        )
    # Member 0 evaluates every epoch, member 1 only at epoch 2 (its eval_epochs).
    assert ["val_loss" in logs for logs in seen[0].epoch_logs] == [True, True]
    assert ["val_loss" in logs for logs in seen[1].epoch_logs] == [False, True]
    # KDSchedule reached member 0's weights only: its loss is CE alone from epoch 2 on.
    assert float(multi.members[0].kd_weight.numpy()) == 0.0
    assert multi.members[1].kd_weight.numpy() == np.float32(OPTIONS["kd"].kd_weight)
    np.testing.assert_allclose(seen[0].epoch_logs[1]["loss"], seen[0].epoch_logs[1]["ce"])
    evaluated = multi.evaluate(_dataset(), verbose=0, return_dict=True)
    assert {"s0_accuracy", "s1_kd"} <= set(evaluated)


def test_members_must_share_teachers():
    with pytest.raises(ValueError, match="share their teacher"):
        MultiStudentDistiller([_member(_net(1), _net(100)), _member(_net(2), _net(101))])
