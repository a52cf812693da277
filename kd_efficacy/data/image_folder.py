"""``image_folder:PATH``: a directory of class sub-folders holding image files.

Layout: ``PATH/train/<class>/*.{jpg,jpeg,png}`` and ``PATH/test/<class>/*`` (extensions matched
case-insensitively; other files and hidden folders such as ``.ipynb_checkpoints`` are ignored).
Sorted class folder names give the label ids, and both splits must have the same class folders.
Images of any mode are decoded as RGB: grayscale is repeated over the channels, the alpha channel
of RGBA / LA is dropped (not composited), palette PNGs are expanded, 16-bit PNGs are scaled to 8
bits, CMYK JPEGs are converted. Sizes may differ (see Geometry).

Geometry is decided by the first training image (the first file of the first class): its shorter
side is the default ``image_size``. If that is at most ``SMALL_MAX_SIZE`` px the folder is
CIFAR-like: every image is plainly resized to ``image_size x image_size`` (aspect not kept;
same-size images pass through untouched) and augmented by pad-crop-flip. Otherwise it is
ImageNet-like: shorter-side resize + center crop for eval, random-resized crop + flip for training.

Decoding. A CIFAR-like folder whose images all have the first image's size and together fit in
``CACHE_MAX_BYTES`` of uint8 is decoded once per process (parallel tf.data map, memoized by the
resolved folder path and the files' names, sizes and mtimes, since a study builds the same dataset
for every run) into one uint8 ``(N, H, W, 3)`` tensor on the CPU; reads gather from it and convert
to float32 exactly as per-file decoding does. A file that cannot be read or decoded then fails
the build with a ``DataError`` (or ``DataReadError``) naming it (``unreadable.py``). Any other
folder (ImageNet-like, over the budget, or with one image of another size: no resizing at cache
time) is read and decoded per example in the parallel map, so it can be any size; there a bad file
surfaces in the iterator and ``unreadable.named`` (wrapped around the build and the run) names it.
"""

import os
import pathlib

import numpy as np
import tensorflow as tf

from kd_efficacy.data import unreadable
from kd_efficacy.data.examples import IndexedSplit, Storage
from kd_efficacy.data.source import Source
from kd_efficacy.errors import ConfigError

PREFIX = "image_folder:"
EXTENSIONS = (".jpg", ".jpeg", ".png")
SMALL_MAX_SIZE = 64
CHANNELS = 3
# Same as the TFDS in-memory limit; also keeps the captured tensor clear of protobuf's 2 GB cap
# should a tf.data graph ever be serialized. CIFAR-10 (60k 32x32x3) takes 184 MB; the process
# holds about twice that (see _decode_all).
CACHE_MAX_BYTES = 1 << 30
_CACHE_BATCH = 256
# (resolved root, ((path, size, mtime_ns), ...)) -> uint8 CPU tensor, or None: per-file decoding.
_cache: dict[tuple, tf.Tensor | None] = {}


def _decode_uint8(path: tf.Tensor) -> tf.Tensor:
    return tf.io.decode_image(tf.io.read_file(path), channels=CHANNELS, expand_animations=False)


def _to_float(image: tf.Tensor) -> tf.Tensor:
    return tf.image.convert_image_dtype(image, tf.float32)  # uint8 -> x * (1 / 255)


def _decode(path: tf.Tensor) -> tf.Tensor:
    return tf.ensure_shape(_to_float(_decode_uint8(path)), [None, None, CHANNELS])


def _decodes(path: str) -> str | None:
    """Why ``path`` cannot be decoded (TF's words), or None when it can."""
    try:
        _decode_uint8(tf.constant(path))
    except tf.errors.OpError as e:
        return unreadable.op_error_detail(e)
    return None


def unreadable_files(paths: list[str]) -> list[unreadable.Unreadable]:
    """Every file of ``paths`` that cannot be read or decoded, in order.

    One parallel decode pass that drops failing elements (``ignore_errors``): the missing indices
    are the culprits, then classified one by one (an OS refusal, else a decode failure).
    """
    stream = tf.data.Dataset.from_tensor_slices((tf.range(len(paths), dtype=tf.int64), paths))
    stream = stream.map(
        lambda i, path: (i, tf.shape(_decode_uint8(path))), num_parallel_calls=tf.data.AUTOTUNE
    )
    decoded = set()
    for indices, _ in stream.ignore_errors().batch(_CACHE_BATCH):
        decoded.update(indices.numpy().tolist())
    problems = []
    for i in sorted(set(range(len(paths))) - decoded):
        problem = unreadable.os_read_problem(paths[i])
        if problem is None:
            detail = _decodes(paths[i])
            if detail is None:
                continue  # it reads now: a transient failure
            problem = unreadable.Unreadable(paths[i], detail)
        problems.append(problem)
    return problems


def _fail_on_unreadable(paths: list[str], name: str) -> None:
    problems = unreadable_files(paths)
    if problems:
        raise unreadable.error(name, None, problems)


def _decode_all(paths: list[str], height: int, width: int, name: str) -> tf.Tensor | None:
    """Every image as one uint8 CPU tensor, or None when one is not ``height x width``."""

    def decode(path: tf.Tensor):
        image = _decode_uint8(path)
        fits = tf.reduce_all(tf.shape(image)[:2] == [height, width])
        image = tf.cond(fits, lambda: image, lambda: tf.zeros([height, width, CHANNELS], tf.uint8))
        return tf.ensure_shape(image, [height, width, CHANNELS]), fits

    stream = tf.data.Dataset.from_tensor_slices(paths)
    stream = stream.map(decode, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
    stream = stream.batch(_CACHE_BATCH).prefetch(tf.data.AUTOTUNE)
    pixels = np.empty((len(paths), height, width, CHANNELS), np.uint8)
    done = 0
    try:
        for images, fits in stream:
            if not fits.numpy().all():
                return None
            pixels[done : done + len(images)] = images.numpy()
            done += len(images)
    except tf.errors.OpError:
        # Batches come in order, so the culprits are at or after the first unfinished one.
        _fail_on_unreadable(paths[done:], name)
        raise
    # Via numpy, not tf.concat of the batches: the process then held ~180 MB less for CIFAR-10
    # (measured, BENCHMARKS.md). TF still keeps about a second copy once a pipeline reads it.
    with tf.device("/cpu:0"):  # the input pipeline runs on the CPU; keep the array off accelerators
        return tf.constant(pixels)


def _cached_pixels(root: pathlib.Path, paths: list[str], first: tf.Tensor, name: str):
    """The folder's images as one uint8 CPU tensor (memoized), or None to decode per file."""
    height, width = int(first.shape[0]), int(first.shape[1])
    if min(height, width) > SMALL_MAX_SIZE:
        return None
    if len(paths) * height * width * CHANNELS > CACHE_MAX_BYTES:
        return None
    stats = (os.stat(p) for p in paths)
    key = (str(root.resolve()), tuple((p, s.st_size, s.st_mtime_ns) for p, s in zip(paths, stats)))
    if key not in _cache:
        _cache[key] = _decode_all(paths, height, width, name)
    return _cache[key]


def _scan(root: pathlib.Path, split: str, name: str) -> dict[str, list[str]]:
    """Maps each class folder of ``root/split`` to its sorted image paths."""
    directory = root / split
    if not directory.is_dir():
        raise ConfigError(
            f"{name}: missing folder {directory}; put images in {split}/<class>/*.jpg|png."
        )
    classes = sorted(
        p.name for p in directory.iterdir() if p.is_dir() and not p.name.startswith(".")
    )
    found = {
        c: sorted(
            str(f)
            for f in (directory / c).iterdir()
            if f.suffix.lower() in EXTENSIONS and f.is_file()
        )
        for c in classes
    }
    if not any(found.values()):
        raise ConfigError(
            f"{name}: no images in {directory}; put .jpg/.jpeg/.png files in {split}/<class>/."
        )
    return found


def _paths(found: dict[str, list[str]]) -> list[str]:
    return [p for c in found for p in found[c]]


def _split(
    found: dict[str, list[str]], class_ids: dict[str, int], pixels: tf.Tensor | None, offset: int
) -> IndexedSplit:
    """One split; with ``pixels`` its images are rows ``offset:`` of that cached array."""
    paths = _paths(found)
    labels = np.array([class_ids[c] for c in found for _ in found[c]], np.int32)
    if pixels is None:
        path_tensor = tf.constant(paths)
        read = lambda i: _decode(tf.gather(path_tensor, i))
    else:
        start = tf.constant(offset, tf.int64)
        read = lambda i: _to_float(tf.gather(pixels, i + start))
    return IndexedSplit(Storage(read=read, labels=labels), np.arange(len(paths), dtype=np.int64))


def _folders(name: str) -> tuple[pathlib.Path, dict, dict]:
    root = pathlib.Path(name[len(PREFIX) :]).expanduser()
    if not name[len(PREFIX) :] or not root.is_dir():
        raise ConfigError(
            f"{name}: folder {str(root)!r} does not exist; use image_folder:/abs/path."
        )
    return root, _scan(root, "train", name), _scan(root, "test", name)


def find_unreadable(name: str) -> list[unreadable.Unreadable]:
    """Every image of the folder (both splits) that cannot be read or decoded."""
    _, train, test = _folders(name)
    return unreadable_files(_paths(train) + _paths(test))


def load(name: str) -> Source:
    """Scans and validates the folder named by ``image_folder:PATH``."""
    root, train, test = _folders(name)
    if set(train) != set(test):
        only_train = sorted(set(train) - set(test))
        only_test = sorted(set(test) - set(train))
        raise ConfigError(
            f"{name}: train/ and test/ class folders differ (only in train: {only_train}, "
            f"only in test: {only_test}); give both splits the same class folders."
        )
    empty = [c for c, paths in train.items() if not paths]
    if empty:
        raise ConfigError(
            f"{name}: train/ class folders {empty} have no images; add images or remove them."
        )
    class_ids = {c: i for i, c in enumerate(sorted(train))}
    first_path = next(p for paths in train.values() for p in paths)
    try:
        first = _decode(tf.constant(first_path))
    except tf.errors.OpError:
        _fail_on_unreadable([first_path], name)
        raise
    size = int(min(first.shape[0], first.shape[1]))
    large = size > SMALL_MAX_SIZE
    train_paths = _paths(train)
    pixels = _cached_pixels(root, train_paths + _paths(test), first, name)
    return Source(
        train=_split(train, class_ids, pixels, 0),
        test=_split(test, class_ids, pixels, len(train_paths)),
        num_classes=len(class_ids),
        channels=CHANNELS,
        default_size=size,
        imagenet_like=large,
        default_style="imagenet" if large else "cifar",
        class_names=tuple(sorted(class_ids)),
    )
