"""The examples of one split, enumerable in a fixed order or in a seeded per-epoch order.

Two kinds share one small interface used by ``pipeline.py``:

* ``IndexedSplit``: random access by integer id, for data decoded once into memory (digits, CIFAR)
  and for image folders (decoded once into memory when small, else one file per id decoded in
  parallel per read). Its per-epoch order is a stateless permutation of the whole split, so an
  epoch is a pure function of its seed.
* ``RecordSplit``: TFRecord shards of a large TFDS dataset (ImageNet) that cannot be indexed. Its
  per-epoch order is a stateless shuffle of the shard list, a deterministic interleave, and a
  stateless shuffle inside consecutive chunks of ``SHUFFLE_CHUNK`` records: still a pure function
  of the seed, with the global mixing coming from TFDS having shuffled records when writing them.

Elements are ``(key, payload)``: ``key`` identifies the example for its augmentation seed (the id,
or the position within the epoch for records) and ``decode(payload)`` gives
``(float32 image in [0, 1], int32 label)``.
"""

import dataclasses
from collections.abc import Callable

import numpy as np
import tensorflow as tf

from kd_efficacy.data import selection

SHUFFLE_CHUNK = 1024
_RNG = "philox"  # pinned so that a device-dependent 'auto_select' can never change the order


def _permutation(n: int, seed: tf.Tensor) -> tf.Tensor:
    return tf.random.experimental.stateless_shuffle(tf.range(n, dtype=tf.int64), seed, alg=_RNG)


@dataclasses.dataclass(frozen=True)
class Storage:
    """Random-access examples: ``read(id)`` gives the float32 image; ``labels[id]`` its label."""

    read: Callable[[tf.Tensor], tf.Tensor]
    labels: np.ndarray


@dataclasses.dataclass(frozen=True)
class IndexedSplit:
    storage: Storage
    ids: np.ndarray

    @property
    def num_examples(self) -> int:
        return len(self.ids)

    @property
    def labels(self) -> np.ndarray:
        return self.storage.labels[self.ids]

    def select(self, positions: np.ndarray) -> "IndexedSplit":
        return IndexedSplit(self.storage, self.ids[positions])

    def hold_out(self, fraction: float) -> tuple["IndexedSplit", "IndexedSplit"]:
        """Splits off a stratified, evenly spread ``fraction`` (``selection.every_kth``)."""
        held = selection.every_kth(self.labels, fraction)
        return self.select(~held), self.select(held)

    def cap(self, count: int) -> "IndexedSplit":
        return self.select(selection.proportional_prefix(self.labels, count))

    def sample(self, count: int) -> "IndexedSplit":
        """At most ``count`` examples spread evenly over the split (for channel statistics)."""
        if count >= self.num_examples:
            return self
        return self.select(np.linspace(0, self.num_examples - 1, count).round().astype(np.int64))

    def ordered(self) -> tf.data.Dataset:
        ids = tf.data.Dataset.from_tensor_slices(self.ids.astype(np.int64))
        return ids.map(lambda i: (i, i))

    def epoch(self, seed: tf.Tensor) -> tf.data.Dataset:
        ids = tf.gather(tf.constant(self.ids.astype(np.int64)), _permutation(len(self.ids), seed))
        return tf.data.Dataset.from_tensor_slices(ids).map(lambda i: (i, i))

    def decode(self, payload: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        label = tf.gather(tf.constant(self.storage.labels.astype(np.int32)), payload)
        return self.storage.read(payload), label


@dataclasses.dataclass(frozen=True)
class RecordSplit:
    """Records ``[skip, skip + take)`` of each TFRecord file, in order; ``parse`` decodes one."""

    instructions: tuple[tuple[str, int, int], ...]
    parse: Callable[[tf.Tensor], tuple[tf.Tensor, tf.Tensor]]

    @property
    def num_examples(self) -> int:
        return sum(take for _, _, take in self.instructions)

    def slice(self, start: int, stop: int) -> "RecordSplit":
        """Records ``[start, stop)`` of the split, counted across files in order."""
        kept, offset = [], 0
        for filename, skip, take in self.instructions:
            lo, hi = max(start - offset, 0), min(stop - offset, take)
            if lo < hi:
                kept.append((filename, skip + lo, hi - lo))
            offset += take
        return RecordSplit(tuple(kept), self.parse)

    def hold_out(self, fraction: float) -> tuple["RecordSplit", "RecordSplit"]:
        """Holds out the last ``floor(n * fraction)`` records (TFDS shuffled them when writing)."""
        keep = self.num_examples - int(np.floor(self.num_examples * fraction))
        return self.slice(0, keep), self.slice(keep, self.num_examples)

    def cap(self, count: int) -> "RecordSplit":
        return self.slice(0, count)

    def sample(self, count: int) -> "RecordSplit":
        return self.slice(0, count)

    def _files(self, order: tf.Tensor | None = None) -> tf.data.Dataset:
        files, skips, takes = (list(column) for column in zip(*self.instructions))
        columns = (tf.constant(files), tf.constant(skips, tf.int64), tf.constant(takes, tf.int64))
        if order is not None:
            columns = tuple(tf.gather(column, order) for column in columns)
        return tf.data.Dataset.from_tensor_slices(columns)

    @staticmethod
    def _read(filename: tf.Tensor, skip: tf.Tensor, take: tf.Tensor) -> tf.data.Dataset:
        records = tf.data.TFRecordDataset(filename).skip(skip).take(take)
        # A truncated shard just ends early in TFRecordDataset (TF 2.21, even mid-record): make
        # it an error, which ``unreadable.named`` turns into one line naming the shard.
        return records.apply(tf.data.experimental.assert_cardinality(take))

    def ordered(self) -> tf.data.Dataset:
        return self._files().flat_map(self._read).enumerate()

    def epoch(self, seed: tf.Tensor) -> tf.data.Dataset:
        file_seed, chunk_seed = tf.unstack(
            tf.random.experimental.stateless_split(seed, 2, alg=_RNG)
        )
        records = self._files(_permutation(len(self.instructions), file_seed)).interleave(
            self._read,
            cycle_length=min(16, len(self.instructions)),
            num_parallel_calls=tf.data.AUTOTUNE,
            deterministic=True,
        )

        def shuffle_chunk(index: tf.Tensor, chunk: tf.Tensor) -> tf.Tensor:
            chunk_key = tf.random.experimental.stateless_fold_in(chunk_seed, index, alg=_RNG)
            return tf.gather(chunk, _permutation(tf.shape(chunk)[0], chunk_key))

        chunks = records.batch(SHUFFLE_CHUNK).enumerate().map(shuffle_chunk)
        return chunks.unbatch().enumerate()

    def decode(self, payload: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        return self.parse(payload)


Split = IndexedSplit | RecordSplit
