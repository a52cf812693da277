"""Evaluation passes over small images in few forward calls, with every metric as before.

A digits eval batch (64 images of 8x8) is so small that a forward pass costs its ops' fixed
overhead, not arithmetic: the student's pass over the 1,085 training images takes 48 ms as 17
calls of 64 and 12.5 ms as one call of 1,085 (resnet56: 319 against 148 ms), the logits
bit-identical either way on CPU (float32, inference-mode BatchNorm: each example's logits never
depend on the others in its batch). So where an eval batch's images are small, ``regroup`` hands
``evaluate`` *groups* of ``k`` eval batches, and the Distiller's test step (``each_chunk``) runs
one forward pass per group, then updates its metrics batch by batch, in the batches' order, with
the same ops on the same slices as before: every metric mean is the one the ungrouped pass gives,
bit for bit (tests/core/test_eval_groups.py).

Groups are formed only on one replica (a strategy splits each element across its replicas, which
would cut the eval batches differently) and only while a group's input stays within
``MAX_GROUP_BYTES``: CIFAR-sized images (a batch of 64 is 786 KiB) are never grouped, so their
numbers cannot change, and a group's activations stay small.
"""

import dataclasses
import math

import tensorflow as tf

MAX_GROUP_BYTES = 2**20  # float32 input of one grouped forward call: digits, 4,096 images


def factor(image_shape, batch_size, replicas):
    """How many eval batches of ``batch_size`` one forward call takes (1: no grouping)."""
    if replicas != 1:
        return 1
    return max(1, MAX_GROUP_BYTES // (4 * math.prod(image_shape) * batch_size))


def regroup(dataset, batch_size, replicas):
    """``(dataset, chunk)``: ``dataset`` (a ``data.Data``) with its eval streams in groups of
    ``factor`` batches, and the batch size the test step must split them into (None: ungrouped,
    the dataset unchanged). Run after the teachers' cached logits are attached."""
    k = factor(dataset.info.image_shape, batch_size, replicas)
    if k == 1:
        return dataset, None
    streams = {
        split: grouped(getattr(dataset, split), batch_size, k)
        for split in ("eval", "test", "train_eval")
    }
    return dataclasses.replace(dataset, **streams), batch_size


def grouped(stream, batch_size, k):
    """``stream`` (batches of ``batch_size``) as groups of ``k`` batches."""
    # Every batch but the last is full, so a group of k * batch_size rows is k whole batches.
    groups = stream.unbatch().batch(k * batch_size)
    groups = groups.apply(tf.data.experimental.assert_cardinality(-(-len(stream) // k)))
    return groups.prefetch(tf.data.AUTOTUNE)


def each_chunk(rows, chunk, body):
    """Calls ``body(start, stop)`` for the consecutive ``chunk``-row slices of ``rows`` rows, one
    after another (each call's metric updates see the previous one's), inside the compiled step."""

    def step(i):
        start = i * chunk
        body(start, tf.minimum(start + chunk, rows))
        return i + 1

    count = (rows + chunk - 1) // chunk
    tf.while_loop(lambda i: i < count, step, [tf.constant(0)], parallel_iterations=1)
