"""Unit tests of the stateless transforms and the fixed selection rules."""

import numpy as np
import pytest
import tensorflow as tf

from kd_efficacy.data import augment, selection
from kd_efficacy.errors import ConfigError

IMAGE = tf.random.stateless_uniform([12, 12, 3], seed=[0, 1])


def _seed(i):
    return tf.constant([7, i], tf.int64)


def _windows(image, pad):
    padded = np.pad(np.asarray(image), [(pad, pad), (pad, pad), (0, 0)])
    size = image.shape[0]
    span = range(2 * pad + 1)
    return [padded[y : y + size, x : x + size].tobytes() for y in span for x in span]


def test_pad_and_crop_is_a_translation_within_the_padding():
    windows = _windows(IMAGE, 2)
    outputs = [augment.pad_and_crop(IMAGE, _seed(i), pad=2).numpy().tobytes() for i in range(20)]
    assert all(o in windows for o in outputs)
    assert len(set(outputs)) > 5


def test_transforms_are_pure_functions_of_the_seed():
    for style in augment.STYLES:
        t = augment.transforms(style, default_style="cifar", size=12, imagenet_like=False)
        a, b = t.train(IMAGE, _seed(3)), t.train(IMAGE, _seed(3))
        np.testing.assert_array_equal(a, b)
        assert a.shape == (12, 12, 3)
        if style != "none":
            outs = {t.train(IMAGE, _seed(i)).numpy().tobytes() for i in range(10)}
            assert len(outs) > 1, style


def test_translate_never_flips_and_cifar_does():
    plain, mirrored = _windows(IMAGE, 1), _windows(tf.image.flip_left_right(IMAGE), 1)
    translate = augment.transforms("translate", default_style="cifar", size=12, imagenet_like=False)
    cifar = augment.transforms("cifar", default_style="cifar", size=12, imagenet_like=False)
    assert translate.pad == 1 and cifar.pad == 1
    outs = [translate.train(IMAGE, _seed(i)).numpy().tobytes() for i in range(20)]
    assert all(o in plain for o in outs)
    outs = [cifar.train(IMAGE, _seed(i)).numpy().tobytes() for i in range(20)]
    assert all(o in plain or o in mirrored for o in outs)
    assert any(o in mirrored and o not in plain for o in outs)


def test_random_resized_crop_and_center_crop_sizes():
    big = tf.random.stateless_uniform([90, 120, 3], seed=[1, 1])
    out = augment.random_resized_crop(big, _seed(0), size=32)
    assert out.shape == (32, 32, 3)
    center = augment.center_crop(big, 32)
    assert center.shape == (32, 32, 3)
    # Shorter side to round(32 / 0.875) = 37, so the crop keeps the middle of the image.
    expected = tf.image.resize(big, [37, 49], antialias=True)[2:34, 8:40]
    np.testing.assert_allclose(center, expected, atol=1e-6)


def test_auto_resolution_and_unknown_style():
    t = augment.transforms("auto", default_style="imagenet", size=224, imagenet_like=True)
    assert t.style == "imagenet" and t.center_crop_eval
    t = augment.transforms("imagenet", default_style="cifar", size=32, imagenet_like=False)
    assert t.center_crop_eval  # imagenet-style training pairs with the center-crop eval
    t = augment.transforms("auto", default_style="cifar", size=32, imagenet_like=False)
    assert t.style == "cifar" and not t.center_crop_eval and t.pad == 4
    with pytest.raises(ConfigError, match="augment='autoaugment' is unknown"):
        augment.transforms("autoaugment", default_style="cifar", size=32, imagenet_like=False)


def test_every_kth_is_stratified_and_even():
    labels = np.array([0, 1] * 10 + [2] * 7)
    mask = selection.every_kth(labels, 0.25)
    assert list(np.flatnonzero(mask & (labels == 0))) == [6, 14]  # class positions 3 and 7
    assert np.bincount(labels[mask]).tolist() == [2, 2, 1]
    assert not selection.every_kth(labels, 0.0).any()


def test_proportional_prefix_keeps_class_proportions():
    labels = np.array([0] * 60 + [1] * 30 + [2] * 10)
    kept = selection.proportional_prefix(labels, 20)
    assert len(kept) == 20 and np.all(np.diff(kept) > 0)
    assert np.bincount(labels[kept]).tolist() == [12, 6, 2]
    assert list(kept[:12]) == list(range(12))  # the earliest examples of each class
