"""Shared helpers for the data tests: pulling batches out of a tf.data stream as numpy."""

import numpy as np
import pytest


def _take(dataset, count=None):
    """The first ``count`` batches (all when None) as ``(images, labels)`` numpy pairs."""
    stream = dataset if count is None else dataset.take(count)
    return [(images.numpy(), labels.numpy()) for images, labels in stream]


def _stack(dataset):
    """A finite stream concatenated into one ``(images, labels)`` pair."""
    pairs = _take(dataset)
    return np.concatenate([p[0] for p in pairs]), np.concatenate([p[1] for p in pairs])


@pytest.fixture
def take():
    return _take


@pytest.fixture
def stack():
    return _stack
