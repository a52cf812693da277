"""Named TFDS datasets, offline: a tiny dataset prepared on disk here, loaded by name.

Both TFDS paths run the real code: the in-memory one (small fixed-size images, like CIFAR) and the
streamed TFRecord one (like ImageNet), forced by lowering the in-memory limit.
"""

import time

import numpy as np
import pytest
import tensorflow_datasets as tfds

from kd_efficacy import data
from kd_efficacy.data import tfds_source
from kd_efficacy.errors import ConfigError

NAME = "kd_efficacy_test_tiny"
NUM_TRAIN, NUM_TEST, SIZE = 30, 9, 16


def _image(index: int) -> np.ndarray:
    """Image ``index`` has every pixel equal to ``index + 1``: its value identifies it."""
    return np.full((SIZE, SIZE, 3), index + 1, np.uint8)


class KdEfficacyTestTiny(tfds.core.GeneratorBasedBuilder):
    """Three classes; example ``i`` (train: 0..29, test: 100..108) has label ``i % 3``."""

    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        return tfds.core.DatasetInfo(
            builder=self,
            features=tfds.features.FeaturesDict(
                {
                    "image": tfds.features.Image(shape=(SIZE, SIZE, 3)),
                    "label": tfds.features.ClassLabel(names=["cat", "dog", "eel"]),
                }
            ),
            supervised_keys=("image", "label"),
        )

    def _split_generators(self, dl_manager):
        return {
            "train": self._generate_examples(range(NUM_TRAIN)),
            "test": self._generate_examples(range(100, 100 + NUM_TEST)),
        }

    def _generate_examples(self, indices):
        for i in indices:
            yield i, {"image": _image(i), "label": i % 3}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    directory = str(tmp_path_factory.mktemp("tfds"))
    tfds.builder(NAME, data_dir=directory).download_and_prepare()
    return directory


@pytest.fixture(params=["in_memory", "streamed"])
def mode(request, monkeypatch):
    tfds_source.load.cache_clear()
    if request.param == "streamed":
        monkeypatch.setattr(tfds_source, "IN_MEMORY_LIMIT_BYTES", 0)
    yield request.param
    tfds_source.load.cache_clear()


def _identities(images: np.ndarray) -> np.ndarray:
    return np.round(images[:, 0, 0, 0] * 255).astype(int) - 1


def test_loads_by_name(data_dir, mode, stack):
    d = data.build(NAME, data_dir=data_dir, global_batch_size=8, eval_batch_size=4)
    kind = type(tfds_source.load(NAME, data_dir).train).__name__
    assert kind == ("IndexedSplit" if mode == "in_memory" else "RecordSplit")
    info = d.info
    assert (info.num_classes, info.image_shape) == (3, (SIZE, SIZE, 3))
    assert info.class_names == ("cat", "dog", "eel")  # the ClassLabel's names
    held = NUM_TRAIN // 10  # the default validation hold-out (10%, from the training split)
    assert (info.num_train, info.num_eval, info.num_test) == (NUM_TRAIN - held, held, NUM_TEST)
    assert d.steps_per_epoch == (NUM_TRAIN - held) // 8
    images, labels = stack(d.test)
    ids = _identities(images)
    assert sorted(ids) == list(range(100, 100 + NUM_TEST))
    np.testing.assert_array_equal(labels, ids % 3)
    assert labels.dtype == np.int32
    # Computed statistics: pixel values are (i + 1) / 255 over the training examples (validation
    # excluded).
    values = (_identities(stack(d.train_eval)[0]) + 1) / 255.0
    assert len(values) == NUM_TRAIN - held
    np.testing.assert_allclose(info.mean, [values.mean()] * 3, rtol=1e-5)
    np.testing.assert_allclose(info.std, [values.std()] * 3, rtol=1e-4)


def test_epochs_are_permutations_and_resumable(data_dir, mode, take):
    def build(**kwargs):
        return data.build(NAME, data_dir=data_dir, global_batch_size=8, augment="none", **kwargs)

    full = take(build(seed=4).train, 6)
    epochs = [np.concatenate([_identities(x) for x, _ in full[e * 3 : e * 3 + 3]]) for e in (0, 1)]
    for ids in epochs:
        assert len(set(ids)) == 24 and set(ids) <= set(range(NUM_TRAIN))
    assert not np.array_equal(epochs[0], epochs[1])
    resumed = take(build(seed=4, initial_epoch=1).train, 3)
    for (a, la), (b, lb) in zip(full[3:], resumed, strict=True):
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(la, lb)
    other = take(build(seed=5).train, 3)
    assert not all(np.array_equal(a[1], b[1]) for a, b in zip(full[:3], other))


def test_hold_out_and_cap(data_dir, mode, stack):
    d = data.build(
        NAME, data_dir=data_dir, global_batch_size=4, validation_fraction=0.2, max_train_examples=20
    )
    assert (d.info.num_train, d.info.num_eval) == (20, 6)
    train_ids = set(_identities(stack(d.train_eval)[0]))
    eval_ids = set(_identities(stack(d.eval)[0]))
    assert len(train_ids) == 20 and len(eval_ids) == 6 and train_ids.isdisjoint(eval_ids)


def test_streamed_and_in_memory_paths_agree(data_dir, monkeypatch, stack):
    tfds_source.load.cache_clear()
    in_memory = stack(data.build(NAME, data_dir=data_dir, global_batch_size=8).test)
    tfds_source.load.cache_clear()
    monkeypatch.setattr(tfds_source, "IN_MEMORY_LIMIT_BYTES", 0)
    streamed = stack(data.build(NAME, data_dir=data_dir, global_batch_size=8).test)
    tfds_source.load.cache_clear()
    np.testing.assert_array_equal(in_memory[0], streamed[0])
    np.testing.assert_array_equal(in_memory[1], streamed[1])


@pytest.mark.parametrize(
    "name, fragments",
    [
        ("cifar10", ["not prepared", "tfds build cifar10 --data_dir=DIR", "data_dir=DIR"]),
        (
            "imagenet2012",
            ["ILSVRC2012_img_train.tar", "ILSVRC2012_img_val.tar", "downloads/manual"],
        ),
    ],
)
def test_unprepared_dataset_fails_fast_with_instructions(tmp_path, name, fragments):
    start = time.monotonic()
    with pytest.raises(ConfigError) as error:
        data.build(name, data_dir=str(tmp_path), global_batch_size=8)
    assert time.monotonic() - start < 10
    message = str(error.value)
    assert "\n" not in message and str(tmp_path) in message
    for fragment in fragments:
        assert fragment in message


def test_unknown_name_lists_the_choices():
    with pytest.raises(ConfigError, match="Unknown dataset 'no_such_dataset_xyz'") as error:
        data.describe("no_such_dataset_xyz")
    assert "digits" in str(error.value) and "image_folder:PATH" in str(error.value)
    assert "TFDS dataset name" in str(error.value)


def test_published_statistics_are_used_when_known(data_dir, monkeypatch):
    tfds_source.load.cache_clear()
    stats = ((0.1, 0.2, 0.3), (0.4, 0.5, 0.6))
    monkeypatch.setitem(tfds_source.KNOWN_STATS, NAME, stats)
    info = data.describe(NAME, data_dir=data_dir)
    tfds_source.load.cache_clear()
    assert (info.mean, info.std) == stats
