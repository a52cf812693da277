"""The embedded ``digits`` dataset: scikit-learn's bundled 8x8 handwritten digits (offline).

1797 grayscale 8x8 images with values 0..16, scaled to [0, 1], 10 classes. The train/test split is
fixed and documented rather than drawn from any RNG: within each class, in the file's order, every
4th example (class positions 3, 7, 11, ...) is a test example (``selection.every_kth`` with 1/4).
That gives 1352 train / 445 test examples.

The data is tiny, so it is decoded once and kept in memory; the default augmentation is a random
translation by up to 1 px without flips (digits are not mirror-symmetric).
"""

import functools

import numpy as np
import tensorflow as tf

from kd_efficacy.data import selection
from kd_efficacy.data.examples import IndexedSplit, Storage
from kd_efficacy.data.source import Source

NAME = "digits"
TEST_FRACTION = 0.25
MAX_VALUE = 16.0


@functools.cache
def load() -> Source:
    from sklearn.datasets import load_digits  # only this source needs scikit-learn

    bunch = load_digits()
    images = (bunch.images / MAX_VALUE).astype(np.float32)[..., np.newaxis]
    labels = bunch.target.astype(np.int32)
    pixels = tf.constant(images)
    storage = Storage(read=lambda i: tf.gather(pixels, i), labels=labels)
    test_mask = selection.every_kth(labels, TEST_FRACTION)
    ids = np.arange(len(labels), dtype=np.int64)
    return Source(
        train=IndexedSplit(storage, ids[~test_mask]),
        test=IndexedSplit(storage, ids[test_mask]),
        num_classes=10,
        channels=1,
        default_size=8,
        imagenet_like=False,
        default_style="translate",
    )
