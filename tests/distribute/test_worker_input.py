"""Multi-worker input: each worker decodes only its rows of every global batch, and the workers'
batches of one step, in worker order, are the one-worker global batch bit for bit.

In-process: the per-worker streams are built with the ``InputContext`` that
``distribute_datasets_from_function`` hands each worker (``distribute.train_input``), for an
in-memory split (digits) and a streamed TFRecord one. The two-process check is in
``test_multi_worker.py``.
"""

import numpy as np
import pytest
import tensorflow as tf

from kd_efficacy import data, distribute
from kd_efficacy.data import augment, digits, pipeline
from kd_efficacy.data.examples import RecordSplit

BATCH = 64  # digits: 20 steps per epoch
STEPS = 22  # crosses an epoch boundary
SIZE = 8


def _context(workers, worker, replicas_per_worker=1):
    return tf.distribute.InputContext(
        num_input_pipelines=workers,
        input_pipeline_id=worker,
        num_replicas_in_sync=workers * replicas_per_worker,
    )


def _numpy(dataset, count):
    return [tuple(t.numpy() for t in element) for element in dataset.take(count)]


def _assert_workers_make_the_global_batches(global_stream, share_fn, workers, replicas_per_worker):
    """Per step, worker 0's replica batches, then worker 1's, ..., concatenate to the global one."""
    whole = _numpy(global_stream, STEPS)
    shares = [
        _numpy(share_fn(_context(workers, w, replicas_per_worker)), STEPS * replicas_per_worker)
        for w in range(workers)
    ]
    for step, expected in enumerate(whole):
        parts = [
            share[step * replicas_per_worker + r]
            for share in shares
            for r in range(replicas_per_worker)
        ]
        for column, want in enumerate(expected):
            got = np.concatenate([part[column] for part in parts])
            assert got.shape == want.shape and got.tobytes() == want.tobytes(), (step, column)


@pytest.fixture(scope="module")
def digits_data():
    return data.build("digits", global_batch_size=BATCH, seed=4, initial_epoch=1)


@pytest.mark.parametrize("workers, replicas_per_worker", [(2, 2), (4, 1)])
def test_indexed_workers_make_the_one_worker_batches(digits_data, workers, replicas_per_worker):
    _assert_workers_make_the_global_batches(
        digits_data.train, digits_data.train_share, workers, replicas_per_worker
    )


def test_one_pipeline_is_the_one_worker_stream(digits_data):
    one = digits_data.train_share(_context(1, 0))
    assert [b.tobytes() for b, _ in _numpy(one, 3)] == [
        b.tobytes() for b, _ in _numpy(digits_data.train, 3)
    ]


def test_local_replicas_take_consecutive_rows(digits_data, mirrored_cpus):
    """The order the per-worker check assumes: on one worker, replica r gets the r-th
    per-replica batch of its share (TF's round robin over local devices)."""
    distributed = mirrored_cpus.distribute_datasets_from_function(digits_data.train_share)
    for (images, labels), (want_images, want_labels) in zip(
        distributed, _numpy(digits_data.train, 3), strict=False
    ):
        got = [mirrored_cpus.experimental_local_results(t) for t in (images, labels)]
        np.testing.assert_array_equal(np.concatenate([t.numpy() for t in got[0]]), want_images)
        np.testing.assert_array_equal(np.concatenate([t.numpy() for t in got[1]]), want_labels)


def test_one_host_trains_on_the_plain_stream(digits_data, mirrored_cpus):
    assert distribute.train_input(tf.distribute.get_strategy(), digits_data) is digits_data.train
    assert distribute.train_input(mirrored_cpus, digits_data) is digits_data.train


def _record(index):
    return tf.io.serialize_tensor(tf.constant(index, tf.int64)).numpy()


def _parse(serialized):
    """Record ``i``: every pixel ``i / 1000``, label ``i % 10``."""
    index = tf.io.parse_tensor(serialized, tf.int64)
    image = tf.fill([SIZE, SIZE, 3], tf.cast(index, tf.float32) / 1000.0)
    return image, tf.cast(index % 10, tf.int32)


@pytest.fixture(scope="module")
def records(tmp_path_factory):
    """90 records in 3 shards, read from record 5 of each (a held-out-like skip)."""
    directory = tmp_path_factory.mktemp("records")
    instructions = []
    for shard in range(3):
        path = str(directory / f"train.tfrecord-{shard:05d}-of-00003")
        with tf.io.TFRecordWriter(path) as writer:
            for i in range(shard * 30, shard * 30 + 30):
                writer.write(_record(i))
        instructions.append((path, 5, 25))
    return RecordSplit(tuple(instructions), _parse)


def _record_streams(split):
    transforms = augment.transforms("cifar", default_style="cifar", size=SIZE, imagenet_like=False)
    kwargs = dict(seed=7, initial_epoch=0, batch_size=8, steps_per_epoch=9)
    return (
        pipeline.train_stream(split, transforms, **kwargs),
        lambda context: pipeline.train_stream(split, transforms, context, **kwargs),
        lambda context: pipeline.examples(split, input_context=context, **kwargs),
    )


def test_streamed_workers_make_the_one_worker_batches(records):
    whole, share, _ = _record_streams(records)
    _assert_workers_make_the_global_batches(whole, share, workers=2, replicas_per_worker=2)


def _digits_examples(context):
    split = digits.load().train
    kwargs = dict(seed=4, initial_epoch=1, batch_size=BATCH, steps_per_epoch=20)
    return pipeline.examples(split, input_context=context, **kwargs)


@pytest.mark.parametrize("kind", ["indexed", "streamed"])
def test_each_worker_decodes_only_its_rows(kind, records):
    """What reaches worker i's decode step (``pipeline.examples``) is its rows only: ids, or
    still-serialized records, so no worker parses or augments another worker's examples."""
    if kind == "streamed":
        undecoded, batch, payload_type = _record_streams(records)[2], 8, tf.string
    else:
        undecoded, batch, payload_type = _digits_examples, BATCH, tf.int64
    whole = undecoded(None).batch(batch)
    halves = [undecoded(_context(2, w)).batch(batch // 2) for w in range(2)]
    assert halves[0].element_spec[1].dtype == payload_type
    for step, (seeds, payloads), *parts in zip(range(STEPS), whole, *halves):
        for column, want in enumerate((seeds, payloads)):
            got = np.concatenate([part[column].numpy() for part in parts])
            assert got.tolist() == want.numpy().tolist(), (step, column)
        # Disjoint rows: each example of the step is decoded by exactly one worker.
        assert len({*parts[0][1].numpy().tolist(), *parts[1][1].numpy().tolist()}) == batch
