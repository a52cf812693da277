"""The embedded digits source, the fixed splits, hold-out/cap sizes, and argument validation."""

import numpy as np
import pytest
from sklearn.datasets import load_digits

from kd_efficacy import data
from kd_efficacy.data import digits
from kd_efficacy.errors import ConfigError

RAW = load_digits()


def _training_and_validation(fraction=data.datasets.VALIDATION_FRACTION):
    """The default hold-out of digits' 1352 training examples: (train, validation) splits."""
    return digits.load().train.hold_out(fraction)


def test_shapes_range_and_dtypes(take):
    d = data.build("digits", global_batch_size=32)
    assert d.info.num_classes == 10
    assert d.info.class_names == tuple("0123456789")
    assert d.info.image_shape == (8, 8, 1)
    train, validation = _training_and_validation()
    assert (d.info.num_train, d.info.num_eval) == (train.num_examples, validation.num_examples)
    assert d.info.num_train + d.info.num_eval == 1352 and d.info.num_test == 445
    assert d.info.num_eval > 100  # the default leaves a usable validation split
    assert d.steps_per_epoch == d.info.num_train // 32
    for images, labels in take(d.train, 3):
        assert images.shape == (32, 8, 8, 1) and images.dtype == np.float32
        assert labels.shape == (32,) and labels.dtype == np.int32
        assert images.min() >= 0.0 and images.max() <= 1.0
        assert set(labels) <= set(range(10))


def test_split_is_fixed_disjoint_and_every_fourth_per_class():
    source = digits.load()
    train, test = set(source.train.ids), set(source.test.ids)
    assert (len(train), len(test)) == (1352, 445)
    assert train.isdisjoint(test) and train | test == set(range(1797))
    for c in range(10):
        members = np.flatnonzero(RAW.target == c)
        assert set(members[3::4]) == test & set(members)


def test_eval_streams_are_the_raw_images_in_order(stack):
    d = data.build("digits", global_batch_size=64, eval_batch_size=100)
    source = digits.load()
    images, labels = stack(d.test)
    np.testing.assert_array_equal(images[..., 0], RAW.images[source.test.ids] / 16.0)
    np.testing.assert_array_equal(labels, RAW.target[source.test.ids])
    train, validation = _training_and_validation()
    images, labels = stack(d.eval)  # the validation split, held out of training, never test
    np.testing.assert_array_equal(images[..., 0], RAW.images[validation.ids] / 16.0)
    assert set(validation.ids).isdisjoint(source.test.ids)
    images, labels = stack(d.train_eval)
    np.testing.assert_array_equal(images[..., 0], RAW.images[train.ids] / 16.0)


def test_mean_std_are_computed_from_training_images():
    info = data.describe("digits")
    pixels = RAW.images[_training_and_validation()[0].ids] / 16.0  # validation excluded
    np.testing.assert_allclose(info.mean, [pixels.mean()], rtol=1e-6)
    np.testing.assert_allclose(info.std, [pixels.std()], rtol=1e-6)


def test_validation_fraction_holds_out_stratified_examples(stack):
    d = data.build("digits", global_batch_size=64, validation_fraction=0.25)
    per_class = np.bincount(RAW.target[digits.load().train.ids])
    held = int(sum(per_class // 4))  # floor(n_c * fraction) per class
    assert held == 334
    assert (d.info.num_train, d.info.num_eval) == (1352 - held, held)
    _, eval_labels = stack(d.eval)
    _, train_labels = stack(d.train_eval)
    assert len(eval_labels) == held and len(train_labels) == 1352 - held
    np.testing.assert_array_equal(np.bincount(eval_labels), per_class // 4)
    # The test split is untouched by the hold-out.
    assert sum(len(y) for _, y in d.test) == 445
    # Independent of the training seed.
    other = data.build("digits", global_batch_size=64, validation_fraction=0.25, seed=7)
    np.testing.assert_array_equal(stack(other.eval)[0], stack(d.eval)[0])


def test_max_train_examples_caps_after_hold_out(stack):
    d = data.build("digits", global_batch_size=10, validation_fraction=0.1, max_train_examples=100)
    assert d.info.num_train == 100 and d.steps_per_epoch == 10
    _, labels = stack(d.train_eval)
    assert len(labels) == 100 and np.bincount(labels, minlength=10).min() >= 9
    everything = _training_and_validation()[0].num_examples
    assert data.describe("digits", max_train_examples=10**6).num_train == everything


def test_image_size_resizes():
    d = data.build("digits", global_batch_size=8, image_size=16)
    assert d.info.image_shape == (16, 16, 1)
    images, _ = next(iter(d.train))
    assert images.shape == (8, 16, 16, 1)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        (dict(global_batch_size=0), "global_batch_size"),
        (dict(global_batch_size=2000), r"exceeds the \d+ training examples"),
        (dict(global_batch_size=8, validation_fraction=1.0), "validation_fraction"),
        (dict(global_batch_size=8, validation_fraction=-0.1), "validation_fraction"),
        (dict(global_batch_size=8, validation_fraction=0.001), "holds out 0 of"),
        (dict(global_batch_size=8, validation_fraction=0), "validation split"),
        (dict(global_batch_size=8, max_train_examples=0), "max_train_examples"),
        (dict(global_batch_size=8, max_train_examples=4), "exceeds the 4 training"),
        (dict(global_batch_size=8, augment="mixup"), "augment"),
        (dict(global_batch_size=8, initial_epoch=-1), "initial_epoch"),
        (dict(global_batch_size=8, image_size=0), "image_size"),
        (dict(global_batch_size=8, eval_batch_size=0), "eval_batch_size"),
        (dict(global_batch_size=8, seed=1.5), "seed"),
        (dict(global_batch_size=True), "global_batch_size"),
    ],
)
def test_bad_arguments_raise_one_line_config_errors(kwargs, fragment):
    with pytest.raises(ConfigError, match=fragment) as error:
        data.build("digits", **kwargs)
    assert "\n" not in str(error.value)
