"""The resume contract: training batches are a pure function of (seed, epoch, example)."""

import collections

import numpy as np
import tensorflow as tf
from sklearn.datasets import load_digits

from kd_efficacy import data
from kd_efficacy.data import augment, digits, pipeline
from kd_efficacy.data.examples import IndexedSplit, Storage

BATCH = 128  # digits: 10 steps per epoch


def _build(**kwargs):
    return data.build("digits", global_batch_size=BATCH, **kwargs)


def _same(a, b) -> bool:
    return all(np.array_equal(x, y) for pa, pb in zip(a, b, strict=True) for x, y in zip(pa, pb))


def test_same_seed_gives_identical_batches(take):
    steps = _build().steps_per_epoch
    assert _same(take(_build(seed=3).train, steps), take(_build(seed=3).train, steps))


def test_resumed_stream_is_the_tail_of_the_uninterrupted_one(take):
    d = _build(seed=5)
    steps = d.steps_per_epoch
    full = take(d.train, 2 * steps + 2)
    resumed = take(_build(seed=5, initial_epoch=1).train, steps + 2)
    assert _same(full[steps:], resumed)
    resumed_late = take(_build(seed=5, initial_epoch=2).train, 2)
    assert _same(full[2 * steps :], resumed_late)


def test_epochs_and_seeds_differ(take):
    d = _build(seed=0)
    steps = d.steps_per_epoch
    batches = take(d.train, steps + 1)
    assert not np.array_equal(batches[0][1], batches[steps][1])  # epoch 1 reorders
    other = take(_build(seed=1).train, 1)
    assert not np.array_equal(batches[0][1], other[0][1])


def test_each_epoch_is_a_permutation_without_augmentation(take, stack):
    d = _build(augment="none")
    train_images, _ = stack(d.train_eval)
    available = collections.Counter(row.tobytes() for row in train_images.reshape(-1, 64))
    for epoch in range(2):
        batches = take(d.train.skip(epoch * d.steps_per_epoch), d.steps_per_epoch)
        seen = collections.Counter(
            row.tobytes() for images, _ in batches for row in images.reshape(-1, 64)
        )
        # A multiset comparison: digits holds a few duplicate images, each may appear that often.
        assert sum(seen.values()) == d.steps_per_epoch * BATCH
        assert all(count <= available[row] for row, count in seen.items())


def test_translate_moves_each_digit_by_at_most_one_pixel(take):
    raw = load_digits()
    train = raw.images[digits.load().train.ids] / 16.0
    padded = np.pad(train, [(0, 0), (1, 1), (1, 1)])
    shifts = np.stack(
        [padded[:, dy : dy + 8, dx : dx + 8] for dy in range(3) for dx in range(3)], axis=1
    ).reshape(-1, 64)
    candidates = {row.astype(np.float32).tobytes() for row in shifts}
    ((images, _),) = take(_build(seed=2).train, 1)
    assert all(row.tobytes() in candidates for row in images.reshape(len(images), 64))
    unshifted = {row.astype(np.float32).tobytes() for row in train.reshape(-1, 64)}
    assert sum(row.tobytes() not in unshifted for row in images.reshape(len(images), 64)) > 0


def test_augmentation_is_per_image_not_per_batch(take):
    # Every id reads the same image: any difference inside a batch comes from per-example seeds.
    image = tf.random.stateless_uniform([16, 16, 3], seed=[1, 2])
    split = IndexedSplit(Storage(lambda i: image, np.zeros(64, np.int32)), np.arange(64))
    for style in ("cifar", "imagenet", "translate"):
        transforms = augment.transforms(style, default_style="cifar", size=16, imagenet_like=False)
        stream = pipeline.train_stream(
            split, transforms, seed=0, initial_epoch=0, batch_size=32, steps_per_epoch=2
        )
        ((images, _),) = take(stream, 1)
        distinct = {row.tobytes() for row in images.reshape(32, -1)}
        assert len(distinct) > 8, style


def test_eval_is_not_augmented(stack):
    a = stack(_build(seed=0).test)
    b = stack(_build(seed=9, augment="cifar").test)
    np.testing.assert_array_equal(a[0], b[0])


def test_small_eval_splits_are_cached_and_give_the_same_batches_every_pass(monkeypatch):
    """Cached eval streams (``EVAL_CACHE_MAX_BYTES``) replay the uncached stream's batches."""
    cached = _build()
    monkeypatch.setattr(data.datasets, "EVAL_CACHE_MAX_BYTES", 0)
    uncached = _build()

    def is_cached(stream):
        return "CacheDataset" in repr(stream._input_dataset)  # noqa: SLF001 (prefetch's input)

    for split in ("train_eval", "eval", "test"):
        a, b = getattr(cached, split), getattr(uncached, split)
        assert is_cached(a) and not is_cached(b), split
        first, second, reference = list(a), list(a), list(b)
        assert _same(first, reference) and _same(second, reference), split
