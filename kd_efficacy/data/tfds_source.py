"""Named TFDS datasets (``cifar10``, ``cifar100``, ``imagenet2012``, any TFDS image classifier).

Data must already be prepared under ``data_dir`` (or TFDS's default directory): this module never
downloads or prepares anything, so an offline machine fails at once with a message saying how to
provide the files. Unknown names are reported without ``tfds.list_builders()`` (slow offline).

Splits: ``train`` for training; ``test`` as the test split, or ``validation`` where there is no
labelled test split (ImageNet's TFDS ``test`` split has no labels). A dataset of fixed-size images
whose two splits fit in ``IN_MEMORY_LIMIT_BYTES`` (CIFAR: 180 MB) is decoded once per process into
uint8 tensors and indexed; anything else (ImageNet) is streamed from its TFRecord shards and decoded
in the parallel map.
"""

import functools

import numpy as np
import tensorflow as tf

from kd_efficacy.data import unreadable
from kd_efficacy.data.examples import IndexedSplit, RecordSplit, Storage
from kd_efficacy.data.source import Source
from kd_efficacy.errors import ConfigError

IN_MEMORY_LIMIT_BYTES = 1 << 30
SMALL_MAX_SIZE = 64
LARGE_DEFAULT_SIZE = 224
TEST_SPLIT = {"imagenet2012": "validation"}
# Published per-channel statistics of the training images in [0, 1].
KNOWN_STATS = {
    "cifar10": ((0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)),
    "cifar100": ((0.5071, 0.4865, 0.4409), (0.2673, 0.2564, 0.2762)),
    "imagenet2012": ((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
}
BUILTIN_CHOICES = "'digits', 'image_folder:PATH', or any TFDS dataset name (e.g. cifar10, cifar100)"


def _first_line(error: Exception) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def _builder(name: str, data_dir: str | None):
    import tensorflow_datasets as tfds  # imported only for TFDS names: digits needs none of it

    try:
        builder = tfds.builder(name, data_dir=data_dir)
    except tfds.core.registered.DatasetNotFoundError:
        raise ConfigError(f"Unknown dataset {name!r}; use {BUILTIN_CHOICES}.") from None
    except ImportError as e:
        raise ConfigError(
            f"TFDS dataset {name!r} needs a missing package ({e}); install it."
        ) from e
    except ValueError as e:
        raise ConfigError(f"TFDS dataset {name!r}: {_first_line(e)}; fix the name.") from e
    if not builder.is_prepared():
        raise ConfigError(_not_prepared_message(builder, name))
    return builder


def _not_prepared_message(builder, name: str) -> str:
    root = builder.data_dir_root
    if builder.name == "imagenet2012":
        return (
            f"TFDS dataset {name!r} is not prepared in {root}: put ILSVRC2012_img_train.tar and "
            f"ILSVRC2012_img_val.tar in {root}/downloads/manual/, run "
            f"`tfds build imagenet2012 --data_dir={root}` (no internet needed), then pass "
            f"data_dir={root}."
        )
    if getattr(builder, "MANUAL_DOWNLOAD_INSTRUCTIONS", None):
        return (
            f"TFDS dataset {name!r} is not prepared in {root}: put its manual files (see its "
            f"TFDS catalog page) in {root}/downloads/manual/, run "
            f"`tfds build {name} --data_dir={root}`, then pass data_dir={root}."
        )
    return (
        f"TFDS dataset {name!r} is not prepared in {root} and nothing is downloaded here: run "
        f"`tfds build {name} --data_dir=DIR` on a machine with internet, copy DIR here, then pass "
        f"data_dir=DIR."
    )


def _keys(builder, name: str) -> tuple[str, str]:
    import tensorflow_datasets as tfds

    keys = builder.info.supervised_keys
    features = builder.info.features
    if (
        not isinstance(keys, tuple)
        or len(keys) != 2
        or not all(isinstance(k, str) for k in keys)
        or not isinstance(features[keys[0]], tfds.features.Image)
        or not isinstance(features[keys[1]], tfds.features.ClassLabel)
    ):
        raise ConfigError(
            f"TFDS dataset {name!r} is not an (image, class label) dataset; "
            "use an image classification dataset."
        )
    return keys


def _test_split_name(builder, name: str) -> str:
    splits = builder.info.splits
    if "train" not in splits:
        raise ConfigError(
            f"TFDS dataset {name!r} has no 'train' split; use a dataset that has one."
        )
    for candidate in (TEST_SPLIT.get(builder.name, "test"), "test", "validation"):
        if candidate in splits:
            return candidate
    raise ConfigError(
        f"TFDS dataset {name!r} has neither a 'test' nor a 'validation' split; use another dataset."
    )


def _in_memory(builder, split: str) -> IndexedSplit:
    import tensorflow_datasets as tfds

    images, labels = tfds.as_numpy(
        builder.as_dataset(split=split, as_supervised=True, batch_size=-1, shuffle_files=False)
    )
    pixels = tf.constant(images)  # kept as stored (uint8): 4x smaller than float32
    storage = Storage(
        read=lambda i: tf.image.convert_image_dtype(tf.gather(pixels, i), tf.float32),
        labels=labels.astype(np.int32),
    )
    return IndexedSplit(storage, np.arange(len(labels), dtype=np.int64))


def _parser(builder, keys: tuple[str, str], channels: int):
    """Decodes one serialized record into ``(float32 image, int32 label)``."""
    import tensorflow_datasets as tfds

    image_key, label_key = keys
    features = builder.info.features

    def parse(serialized: tf.Tensor):
        # Skip TFDS's decoder to decode with decode_image, which accepts both JPEG and PNG.
        example = features.deserialize_example(
            serialized, decoders={image_key: tfds.decode.SkipDecoding()}
        )
        image = tf.io.decode_image(example[image_key], channels=channels, expand_animations=False)
        image = tf.image.convert_image_dtype(image, tf.float32)
        label = tf.cast(example[label_key], tf.int32)
        return tf.ensure_shape(image, [None, None, channels]), label

    return parse


def _records(builder, split: str, keys: tuple[str, str], channels: int) -> RecordSplit:
    instructions = tuple(
        (
            str(fi.filename),
            int(fi.skip),
            int(fi.take) if fi.take >= 0 else int(fi.examples_in_shard) - int(fi.skip),
        )
        for fi in builder.info.splits[split].file_instructions
    )
    return RecordSplit(instructions, _parser(builder, keys, channels))


def _shard_problem(path: str, expected: int, parse) -> unreadable.Unreadable | None:
    """Why shard ``path`` is unreadable: an OS refusal, a corrupt or missing record, a bad image."""
    problem = unreadable.os_read_problem(path, whole=False)  # shards are large: the OS check only
    if problem is not None:
        return problem
    count = lambda records: int(records.reduce(np.int64(0), lambda n, _: n + 1))
    try:
        found = count(tf.data.TFRecordDataset(path))
    except tf.errors.OpError as e:
        return unreadable.Unreadable(path, f"truncated or corrupt: {unreadable.op_error_detail(e)}")
    if found != expected:
        return unreadable.Unreadable(path, f"truncated: {found} of its {expected} records")
    decoded = count(tf.data.TFRecordDataset(path).map(parse).ignore_errors())
    if decoded != expected:
        return unreadable.Unreadable(path, f"{expected - decoded} of its records do not decode")
    return None


def find_unreadable(name: str, data_dir: str | None) -> list[unreadable.Unreadable]:
    """Every unreadable shard of the prepared dataset (all splits), in order."""
    builder = _builder(name, data_dir)
    keys = _keys(builder, name)
    channels = builder.info.features[keys[0]].shape[-1] or 3
    parse = _parser(builder, keys, channels)
    problems = []
    for split in builder.info.splits.values():
        for fi in split.file_instructions:
            problem = _shard_problem(str(fi.filename), int(fi.examples_in_shard), parse)
            if problem is not None:
                problems.append(problem)
    return problems


@functools.lru_cache(maxsize=4)
def load(name: str, data_dir: str | None) -> Source:
    """Opens a prepared TFDS dataset; cached so in-memory data is decoded once per process."""
    builder = _builder(name, data_dir)
    keys = _keys(builder, name)
    test_split = _test_split_name(builder, name)
    shape = tuple(builder.info.features[keys[0]].shape)
    channels = shape[-1] or 3
    fixed = all(d is not None for d in shape)
    size = min(shape[0], shape[1]) if fixed else None
    splits = builder.info.splits
    num_stored = splits["train"].num_examples + splits[test_split].num_examples
    in_memory = fixed and num_stored * int(np.prod(shape)) <= IN_MEMORY_LIMIT_BYTES
    if in_memory:
        train, test = _in_memory(builder, "train"), _in_memory(builder, test_split)
    else:
        file_format = str(getattr(builder.info, "file_format", "tfrecord")).lower()
        if "tfrecord" not in file_format:
            raise ConfigError(
                f"TFDS dataset {name!r} is stored as {file_format}, which cannot be streamed here; "
                "prepare it with `tfds build --file_format=tfrecord`."
            )
        train = _records(builder, "train", keys, channels)
        test = _records(builder, test_split, keys, channels)
    large = not fixed or size > SMALL_MAX_SIZE
    mean, std = KNOWN_STATS.get(builder.name, (None, None))
    label = builder.info.features[keys[1]]
    return Source(
        train=train,
        test=test,
        num_classes=int(label.num_classes),
        channels=int(channels),
        default_size=int(size) if fixed else LARGE_DEFAULT_SIZE,
        imagenet_like=large,
        default_style="imagenet" if large else "cifar",
        mean=mean,
        std=std,
        # ClassLabel names ('airplane', ...); a label without names gives the ids as text.
        class_names=tuple(label.names) if getattr(label, "names", None) else None,
    )
