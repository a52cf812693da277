"""tf.data pipelines over a split: the resumable training stream, eval streams, channel statistics.

Training stream layout (the resume contract)::

    counter(initial_epoch) --flat_map--> epoch e: split.epoch(order_seed(e)).take(steps * B)
        --map(decode + augment with seed(e, key), parallel, deterministic)--> batch(B) --> prefetch

Each epoch contributes exactly ``steps * B`` examples, so batches never straddle epochs and the
stream started at epoch ``k`` is, batch for batch, the tail of the stream started at 0. All
randomness is stateless and keyed by ``[seed, epoch]``: ``fold_in(key, 0)`` orders the epoch and
``fold_in(fold_in(key, 1), example_key)`` seeds one image's augmentation.

One worker of ``N`` (an ``InputContext``, multi-worker runs): the same undecoded stream of
``(example seed, payload)`` is cut into global batches of ``B``, the worker keeps rows
``[i * B / N, (i + 1) * B / N)`` of each, and only those are decoded and augmented, then batched
per replica. Payloads are ids (indexed splits) or serialized records (streamed TFRecords, which
cannot be read at random: every worker reads all bytes, but decodes only its share). Seeds are
derived before the cut, so the workers' batches of one step, concatenated in worker order, are
the one-worker global batch, bit for bit.
"""

import numpy as np
import tensorflow as tf

from kd_efficacy.data.augment import Transforms
from kd_efficacy.data.examples import Split

_RNG = "philox"


def _fold_in(key: tf.Tensor, data) -> tf.Tensor:
    return tf.random.experimental.stateless_fold_in(key, tf.cast(data, tf.int64), alg=_RNG)


def examples(
    split: Split,
    *,
    seed: int,
    initial_epoch: int,
    batch_size: int,
    steps_per_epoch: int,
    input_context: tf.distribute.InputContext | None = None,
) -> tf.data.Dataset:
    """The undecoded ``(example seed, payload)`` stream that ``train_stream`` decodes: all of it,
    or, with ``input_context``, that input pipeline's share of every global batch."""
    per_epoch = steps_per_epoch * batch_size

    def one_epoch(epoch: tf.Tensor) -> tf.data.Dataset:
        key = tf.stack([tf.constant(seed, tf.int64), epoch])
        augment_key = _fold_in(key, 1)
        ordered = split.epoch(_fold_in(key, 0)).take(per_epoch)
        return ordered.map(lambda k, payload: (_fold_in(augment_key, k), payload))

    stream = tf.data.Dataset.counter(initial_epoch).flat_map(one_epoch)
    if input_context is None or input_context.num_input_pipelines == 1:
        return stream
    share = batch_size // input_context.num_input_pipelines
    start = input_context.input_pipeline_id * share
    # Cutting global batches of ids or serialized bytes is cheap; decoding is what is shared out.
    stream = stream.batch(batch_size, drop_remainder=True)
    stream = stream.map(
        lambda seeds, payloads: (seeds[start : start + share], payloads[start : start + share])
    )
    return stream.unbatch()


def train_stream(
    split: Split,
    transforms: Transforms,
    input_context: tf.distribute.InputContext | None = None,
    *,
    seed: int,
    initial_epoch: int,
    batch_size: int,
    steps_per_epoch: int,
) -> tf.data.Dataset:
    """The infinite, augmented training stream starting at ``initial_epoch``: global batches of
    ``batch_size``, or, with ``input_context``, that pipeline's share in per-replica batches (the
    ``dataset_fn`` of ``strategy.distribute_datasets_from_function``)."""

    def prepare(example_seed: tf.Tensor, payload: tf.Tensor):
        image, label = split.decode(payload)
        return transforms.train(image, example_seed), label

    stream = examples(
        split,
        seed=seed,
        initial_epoch=initial_epoch,
        batch_size=batch_size,
        steps_per_epoch=steps_per_epoch,
        input_context=input_context,
    )
    stream = stream.map(prepare, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    if input_context is not None:
        batch_size = input_context.get_per_replica_batch_size(batch_size)
    return stream.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


def eval_stream(
    split: Split, transforms: Transforms, *, batch_size: int, cache: bool = False
) -> tf.data.Dataset:
    """Every example of ``split`` once, in its fixed order, un-augmented, batched.

    ``cache``: keep the decoded batches in memory after the first pass, so later passes (a run
    evaluates every epoch) skip decoding; the batches are the same tensors either way."""

    def prepare(_, payload: tf.Tensor):
        image, label = split.decode(payload)
        return transforms.eval(image), label

    stream = split.ordered().map(prepare, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    stream = stream.batch(batch_size)
    if cache:
        stream = stream.cache()
    stream = stream.prefetch(tf.data.AUTOTUNE)
    if stream.cardinality() == tf.data.UNKNOWN_CARDINALITY:
        # Streamed records: state the known length, for Keras progress bars and step counts.
        num_batches = -(-split.num_examples // batch_size)
        stream = stream.apply(tf.data.experimental.assert_cardinality(num_batches))
    return stream


def channel_stats(split: Split, transforms: Transforms) -> tuple[tuple, tuple]:
    """Per-channel mean and std over all pixels of ``split`` after the eval transform."""
    total = total_sq = None
    count = 0
    for images, _ in eval_stream(split, transforms, batch_size=256):
        pixels = images.numpy().astype(np.float64).reshape(-1, images.shape[-1])
        sums, sums_sq = pixels.sum(axis=0), np.square(pixels).sum(axis=0)
        total = sums if total is None else total + sums
        total_sq = sums_sq if total_sq is None else total_sq + sums_sq
        count += len(pixels)
    mean = total / count
    std = np.sqrt(np.maximum(total_sq / count - np.square(mean), 0.0))
    return tuple(float(m) for m in mean), tuple(float(s) for s in std)
