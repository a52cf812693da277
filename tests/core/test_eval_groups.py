"""Grouped eval passes (eval_groups.py): the metrics are the batch-by-batch ones, bit for bit."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kd_efficacy import data, eval_groups, models, multi_student
from kd_efficacy.distiller import Distiller
from kd_efficacy.kd_settings import KDSettings

SHAPE, CLASSES, BATCH, ROWS = (8, 8, 1), 10, 16, 150  # 10 batches, the last of 6 rows


def _model(name, seed):
    keras.utils.set_random_seed(seed)
    model = models.build(name, input_shape=SHAPE, num_classes=CLASSES, mean=[0.3], std=[0.4])
    rng = np.random.default_rng(seed)  # BatchNorm statistics away from (0, 1)
    for variable in model.non_trainable_variables:
        variable.assign(variable + rng.uniform(0, 0.2, variable.shape).astype(np.float32))
    return model


def _stream(teachers, cached):
    rng = np.random.default_rng(0)
    images = rng.uniform(size=(ROWS, *SHAPE)).astype(np.float32)
    labels = rng.integers(0, CLASSES, size=(ROWS,)).astype(np.int32)
    parts = (images, labels)
    if cached:
        logits = tuple(t.predict(images, batch_size=BATCH, verbose=0) for t in teachers)
        parts += (logits if len(logits) > 1 else logits[0],)
    return tf.data.Dataset.from_tensor_slices(parts).batch(BATCH)


def _distiller(student, teachers, chunk):
    kd = KDSettings(4.0, 0.1, 0.9) if teachers else None
    distiller = Distiller(student, teachers, kd=kd, num_classes=CLASSES)
    distiller.eval_chunk = chunk
    distiller.compile(optimizer=keras.optimizers.SGD(0.1))
    return distiller


CASES = {
    "scratch": (0, False),
    "teacher pass": (1, False),
    "cached logits": (1, True),
    "cached ensemble": (2, True),
}


@pytest.mark.parametrize("case", CASES)
def test_grouped_metrics_equal_the_batch_by_batch_ones(case):
    count, cached = CASES[case]
    teachers = [_model(name, 10 + i) for i, name in enumerate(["resnet8", "densenet10_4"][:count])]
    student = _model("densenet_bc_10_4", 1)
    stream = _stream(teachers, cached)
    alone = _distiller(student, teachers, None).evaluate(stream, verbose=0, return_dict=True)
    grouped = eval_groups.grouped(stream, BATCH, 3)  # groups of 3, 3, 3 and 1 batches
    assert [int(tf.shape(g[0])[0]) for g in grouped] == [48, 48, 48, 6]
    together = _distiller(student, teachers, BATCH).evaluate(grouped, verbose=0, return_dict=True)
    assert together == alone
    if teachers:
        assert {"kd", "agreement"} <= set(together)


def test_a_pack_evaluates_its_members_grouped_as_separately():
    teacher = _model("resnet8", 10)
    students = [_model("densenet_bc_10_4", s) for s in (1, 2)]
    stream = _stream([teacher], cached=True)
    alone = [_distiller(s, [teacher], None).evaluate(stream, verbose=0) for s in students]
    pack = multi_student.compile_pack(
        multi_student.MultiStudentDistiller([_distiller(s, [teacher], BATCH) for s in students])
    )
    together = pack.evaluate(eval_groups.grouped(stream, BATCH, 4), verbose=0, return_dict=True)
    names = [m.name for m in pack.members[0].metrics]
    for i, values in enumerate(alone):
        assert [together[multi_student.prefix(i) + n] for n in names] == values


def test_only_small_images_on_one_replica_are_grouped():
    assert eval_groups.factor((8, 8, 1), 64, replicas=1) == 64  # digits: 4,096 images a call
    assert eval_groups.factor((32, 32, 3), 64, replicas=1) == 1  # CIFAR: unchanged
    assert eval_groups.factor((8, 8, 1), 64, replicas=2) == 1  # a strategy splits elements


def test_digits_eval_streams_become_one_group_each():
    built = data.build("digits", global_batch_size=64)
    regrouped, chunk = eval_groups.regroup(built, 64, replicas=1)
    assert chunk == 64
    for split in ("eval", "test", "train_eval"):
        batches = list(getattr(built, split))
        groups = list(getattr(regrouped, split))
        assert len(groups) == len(getattr(regrouped, split)) == 1
        np.testing.assert_array_equal(groups[0][0], np.concatenate([b[0] for b in batches]))
        np.testing.assert_array_equal(groups[0][1], np.concatenate([b[1] for b in batches]))
    assert eval_groups.regroup(built, 64, replicas=2) == (built, None)
