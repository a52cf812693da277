"""``image_folder:PATH``: a directory of class sub-folders holding image files.

Layout: ``PATH/train/<class>/*.{jpg,jpeg,png}`` and ``PATH/test/<class>/*`` (extensions matched
case-insensitively; other files and hidden folders such as ``.ipynb_checkpoints`` are ignored).
Sorted class folder names give the label ids, and both splits must have the same class folders.
Images are decoded as RGB (grayscale is expanded).

Files are read and decoded per example in the parallel tf.data map (nothing is preloaded), so the
folder can be any size. Geometry is decided by the first training image (the first file of the
first class): its shorter side is the default ``image_size``. If that is at most ``SMALL_MAX_SIZE``
px the folder is CIFAR-like: every image is plainly resized to ``image_size x image_size`` (aspect
not kept; same-size images pass through untouched) and augmented by pad-crop-flip. Otherwise it is
ImageNet-like: shorter-side resize + center crop for eval, random-resized crop + flip for training.
"""

import pathlib

import numpy as np
import tensorflow as tf

from kd_efficacy.data.examples import IndexedSplit, Storage
from kd_efficacy.data.source import Source
from kd_efficacy.errors import ConfigError

PREFIX = "image_folder:"
EXTENSIONS = (".jpg", ".jpeg", ".png")
SMALL_MAX_SIZE = 64
CHANNELS = 3


def _decode(path: tf.Tensor) -> tf.Tensor:
    image = tf.io.decode_image(tf.io.read_file(path), channels=CHANNELS, expand_animations=False)
    image = tf.image.convert_image_dtype(image, tf.float32)
    return tf.ensure_shape(image, [None, None, CHANNELS])


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


def _split(found: dict[str, list[str]], class_ids: dict[str, int]) -> IndexedSplit:
    paths = [p for c in found for p in found[c]]
    labels = np.array([class_ids[c] for c in found for _ in found[c]], np.int32)
    path_tensor = tf.constant(paths)
    storage = Storage(read=lambda i: _decode(tf.gather(path_tensor, i)), labels=labels)
    return IndexedSplit(storage, np.arange(len(paths), dtype=np.int64))


def load(name: str) -> Source:
    """Scans and validates the folder named by ``image_folder:PATH``."""
    root = pathlib.Path(name[len(PREFIX) :]).expanduser()
    if not name[len(PREFIX) :] or not root.is_dir():
        raise ConfigError(
            f"{name}: folder {str(root)!r} does not exist; use image_folder:/abs/path."
        )
    train, test = _scan(root, "train", name), _scan(root, "test", name)
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
    except tf.errors.InvalidArgumentError:
        raise ConfigError(f"{name}: cannot decode {first_path}; replace or remove it.") from None
    size = int(min(first.shape[0], first.shape[1]))
    large = size > SMALL_MAX_SIZE
    return Source(
        train=_split(train, class_ids),
        test=_split(test, class_ids),
        num_classes=len(class_ids),
        channels=CHANNELS,
        default_size=size,
        imagenet_like=large,
        default_style="imagenet" if large else "cifar",
    )
