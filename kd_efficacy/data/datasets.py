"""The one dataset builder: ``build(name, ...)`` -> ``Data`` (tf.data streams + ``DatasetInfo``).

Names: ``'digits'`` (embedded, offline), ``'image_folder:PATH'``, or any prepared TFDS dataset name
(``'cifar10'``, ``'cifar100'``, ``'imagenet2012'``, ...). Training examples go through, in order:
the source's train split -> hold-out of ``validation_fraction`` (the validation split, ``eval``)
-> cap at ``max_train_examples``. Both steps are fixed and seed-independent (``selection.py`` for
indexed sources; the tail / head of the record order for streamed TFDS data).

The validation split is always held out of the *training* data (``VALIDATION_FRACTION`` unless a
recipe says otherwise; zero is refused): everything that selects (best epoch and snapshot,
``TEACHER_EPOCH='best'``, a ladder or schedule chosen for a config) reads ``eval``, and the test
split is only evaluated for reporting.

Images are float32 in [0, 1], NHWC, labels int32. Normalisation is the model's job: ``DatasetInfo``
carries per-channel ``mean``/``std`` (published constants for CIFAR-10/100 and ImageNet, otherwise
computed from at most ``STATS_MAX_IMAGES`` training images after the eval transform).
"""

import dataclasses
import functools
import math
import numbers
from collections.abc import Callable

import tensorflow as tf

from kd_efficacy.data import augment as augmentation
from kd_efficacy.data import digits, image_folder, pipeline, unreadable
from kd_efficacy.data.examples import Split
from kd_efficacy.data.source import Source
from kd_efficacy.errors import ConfigError

STATS_MAX_IMAGES = 2000
# An eval split whose decoded float32 images fit in this is kept in memory after its first pass:
# digits' decoding was 80 ms of CPU a train-set pass against 3 ms cached, every epoch of every run.
EVAL_CACHE_MAX_BYTES = 256 * 2**20
# The one default hold-out (Recipe uses it): 5,000 of CIFAR-10's 50,000 training images.
VALIDATION_FRACTION = 0.1


@dataclasses.dataclass(frozen=True)
class DatasetInfo:
    name: str
    num_classes: int
    image_shape: tuple[int, int, int]
    num_train: int
    num_eval: int  # the validation split
    num_test: int
    mean: tuple[float, ...]
    std: tuple[float, ...]
    # Label id i's name at index i (written beside an exported student, export.py).
    class_names: tuple[str, ...]


@dataclasses.dataclass
class Data:
    """Streams of one dataset. ``train`` is infinite (use ``steps_per_epoch``); the rest finite.

    ``eval`` is the validation split (held out of the training data), ``test`` the test split.
    ``train_share(input_context)`` is one worker's part of ``train`` (``pipeline.train_stream``):
    what ``distribute.train_input`` hands each worker of a multi-worker run, so that no worker
    decodes examples another one trains on.
    """

    info: DatasetInfo
    train: tf.data.Dataset
    steps_per_epoch: int
    train_eval: tf.data.Dataset
    eval: tf.data.Dataset
    test: tf.data.Dataset
    train_share: Callable[[tf.distribute.InputContext], tf.data.Dataset]


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_int(label: str, value, minimum: int, optional: bool = False) -> None:
    if optional and value is None:
        return
    if not _is_int(value) or value < minimum:
        allowed = " or None" if optional else ""
        raise ConfigError(f"{label}={value!r} is invalid; use an integer >= {minimum}{allowed}.")


def _load(name: str, data_dir: str | None) -> Source:
    if not isinstance(name, str) or not name:
        raise ConfigError(
            f"dataset name {name!r} is invalid; use 'digits', 'image_folder:PATH' or a TFDS name."
        )
    if name == digits.NAME:
        return digits.load()
    if name.startswith(image_folder.PREFIX):
        return image_folder.load(name)
    from kd_efficacy.data import tfds_source  # keeps TFDS off the import path of the other sources

    return tfds_source.load(name, data_dir)


@dataclasses.dataclass(frozen=True)
class _Prepared:
    info: DatasetInfo
    source: Source
    train: Split
    eval: Split
    transforms: augmentation.Transforms


def _prepare(
    name, *, validation_fraction, max_train_examples, augment_name, image_size, data_dir
) -> _Prepared:
    """Loads the source, applies hold-out and cap, resolves transforms, and fills the info."""
    if (
        isinstance(validation_fraction, bool)
        or not isinstance(validation_fraction, numbers.Real)
        or not 0.0 < validation_fraction < 1.0
    ):
        raise ConfigError(
            f"validation_fraction={validation_fraction!r} is invalid; use a number in (0, 1) "
            f"(e.g. {VALIDATION_FRACTION}): selection reads a validation split held out of the "
            "training data, never the test split."
        )
    _check_int("max_train_examples", max_train_examples, 1, optional=True)
    _check_int("image_size", image_size, 1, optional=True)
    if data_dir is not None and not isinstance(data_dir, str):
        raise ConfigError(f"data_dir={data_dir!r} is invalid; use a directory path string or None.")
    augmentation.check(augment_name)  # before loading: bad arguments fail fast

    with unreadable.named(name, data_dir):  # TFDS decodes in-memory splits while loading
        source = _load(name, data_dir)
    train, held_out = source.train.hold_out(float(validation_fraction))
    if held_out.num_examples == 0 or train.num_examples == 0:
        raise ConfigError(
            f"validation_fraction={validation_fraction} holds out {held_out.num_examples} of the "
            f"{source.train.num_examples} training examples of {name!r}; use a fraction that "
            "leaves both splits non-empty."
        )
    if max_train_examples is not None and max_train_examples < train.num_examples:
        train = train.cap(max_train_examples)

    size = image_size or source.default_size
    transforms = augmentation.transforms(
        augment_name,
        default_style=source.default_style,
        size=size,
        imagenet_like=source.imagenet_like,
    )
    if source.mean is not None:
        mean, std = source.mean, source.std
    else:
        with unreadable.named(name, data_dir):  # the first pass over streamed files
            mean, std = pipeline.channel_stats(train.sample(STATS_MAX_IMAGES), transforms)
    info = DatasetInfo(
        name=name,
        num_classes=source.num_classes,
        image_shape=(size, size, source.channels),
        num_train=train.num_examples,
        num_eval=held_out.num_examples,
        num_test=source.test.num_examples,
        mean=tuple(mean),
        std=tuple(std),
        class_names=_class_names(source, name),
    )
    return _Prepared(info, source, train, held_out, transforms)


def _class_names(source: Source, name: str) -> tuple[str, ...]:
    names = source.class_names or tuple(str(i) for i in range(source.num_classes))
    if len(names) != source.num_classes:
        raise ConfigError(
            f"dataset {name!r} names {len(names)} classes but has {source.num_classes} labels; "
            "fix its label metadata"
        )
    broken = [n for n in names if not n or "\n" in n or "\r" in n]
    if broken:  # the exported class-names file holds one name per line
        raise ConfigError(
            f"dataset {name!r} has class names {broken!r} that are empty or hold a line break; "
            "rename those classes (folders)"
        )
    return tuple(str(n) for n in names)


def describe(
    name: str,
    *,
    validation_fraction: float = VALIDATION_FRACTION,
    max_train_examples: int | None = None,
    augment: str = "auto",
    image_size: int | None = None,
    data_dir: str | None = None,
) -> DatasetInfo:
    """The ``DatasetInfo`` that ``build`` with the same arguments would give, without pipelines."""
    return _prepare(
        name,
        validation_fraction=validation_fraction,
        max_train_examples=max_train_examples,
        augment_name=augment,
        image_size=image_size,
        data_dir=data_dir,
    ).info


def build(
    name: str,
    *,
    global_batch_size: int,
    seed: int = 0,
    initial_epoch: int = 0,
    validation_fraction: float = VALIDATION_FRACTION,
    max_train_examples: int | None = None,
    augment: str = "auto",
    image_size: int | None = None,
    data_dir: str | None = None,
    eval_batch_size: int | None = None,
) -> Data:
    """Builds the train/eval/test streams of dataset ``name`` (see the module docstring)."""
    _check_int("global_batch_size", global_batch_size, 1)
    _check_int("eval_batch_size", eval_batch_size, 1, optional=True)
    _check_int("initial_epoch", initial_epoch, 0)
    if not _is_int(seed):
        raise ConfigError(f"seed={seed!r} is invalid; use an integer.")
    prepared = _prepare(
        name,
        validation_fraction=validation_fraction,
        max_train_examples=max_train_examples,
        augment_name=augment,
        image_size=image_size,
        data_dir=data_dir,
    )
    info = prepared.info
    if global_batch_size > info.num_train:
        raise ConfigError(
            f"global_batch_size={global_batch_size} exceeds the {info.num_train} training examples "
            f"of {name!r}; use a batch size <= {info.num_train}."
        )
    steps = info.num_train // global_batch_size
    eval_batch = eval_batch_size or global_batch_size
    transforms = prepared.transforms
    train = functools.partial(
        pipeline.train_stream,
        prepared.train,
        transforms,
        seed=int(seed),
        initial_epoch=int(initial_epoch),
        batch_size=global_batch_size,
        steps_per_epoch=steps,
    )
    image_bytes = 4 * math.prod(info.image_shape)

    def evaluated(split):
        cache = split.num_examples * image_bytes <= EVAL_CACHE_MAX_BYTES
        return pipeline.eval_stream(split, transforms, batch_size=eval_batch, cache=cache)

    return Data(
        info=info,
        train=train(),
        train_share=train,
        steps_per_epoch=steps,
        train_eval=evaluated(prepared.train),
        eval=evaluated(prepared.eval),
        test=evaluated(prepared.source.test),
    )
