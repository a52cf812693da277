"""Synthetic in-memory data of any image shape, served by the real tf.data pipelines.

For throughput measurements (``kd_efficacy.benchmark``): random images and labels are decoded
once into memory, like ``digits`` or CIFAR, and go through ``pipeline.train_stream`` (stateless
per-example augmentation, parallel map, batch, prefetch) and ``pipeline.eval_stream``. A
benchmark therefore pays exactly the input cost of a real run on an in-memory dataset, without
needing any download. Pixel values are uniform in [0, 1], so the numbers learned mean nothing.
"""

import functools

import numpy as np
import tensorflow as tf

from kd_efficacy.data import augment, pipeline
from kd_efficacy.data.datasets import Data, DatasetInfo
from kd_efficacy.data.examples import IndexedSplit, Storage


def build(
    image_shape: tuple[int, int, int],
    num_classes: int,
    *,
    global_batch_size: int,
    num_examples: int = 2048,
    num_eval: int = 512,
    augment_style: str = "cifar",
    seed: int = 0,
) -> Data:
    """A ``Data`` whose splits hold random images of ``image_shape`` (H, W, C)."""
    height, width, channels = (int(d) for d in image_shape)
    if height != width:
        raise ValueError(
            f"square images only (the transforms resize to size x size): {image_shape}"
        )
    if global_batch_size > num_examples:
        raise ValueError(f"batch {global_batch_size} exceeds the {num_examples} synthetic examples")
    rng = np.random.default_rng(seed)
    total = num_examples + num_eval
    images = rng.random((total, height, width, channels), dtype=np.float32)
    labels = rng.integers(0, num_classes, size=total).astype(np.int32)
    pixels = tf.constant(images)
    storage = Storage(read=lambda i: tf.gather(pixels, i), labels=labels)
    ids = np.arange(total, dtype=np.int64)
    train = IndexedSplit(storage, ids[:num_examples])
    held_out = IndexedSplit(storage, ids[num_examples:])
    transforms = augment.transforms(
        augment_style, default_style=augment_style, size=height, imagenet_like=False
    )
    steps = num_examples // global_batch_size
    info = DatasetInfo(
        name=f"synthetic:{height}x{width}x{channels}",
        num_classes=int(num_classes),
        image_shape=(height, width, channels),
        num_train=num_examples,
        num_eval=num_eval,
        num_test=num_eval,  # benchmark data: one held-out set serves as both
        # Uniform [0, 1] pixels: mean 1/2, std 1/sqrt(12).
        mean=(0.5,) * channels,
        std=(float(np.sqrt(1.0 / 12.0)),) * channels,
        class_names=tuple(str(i) for i in range(num_classes)),
    )
    train_stream = functools.partial(
        pipeline.train_stream,
        train,
        transforms,
        seed=seed,
        initial_epoch=0,
        batch_size=global_batch_size,
        steps_per_epoch=steps,
    )
    eval_stream = pipeline.eval_stream(held_out, transforms, batch_size=global_batch_size)
    return Data(
        info=info,
        train=train_stream(),
        train_share=train_stream,
        steps_per_epoch=steps,
        train_eval=pipeline.eval_stream(train, transforms, batch_size=global_batch_size),
        eval=eval_stream,
        test=eval_stream,
    )
