"""Per-image geometry and augmentation for the tf.data pipeline.

Every random op here is a stateless ``tf.image.stateless_*`` op driven by an explicit per-example
seed (shape ``[2]``, int64). The caller derives that seed from ``(seed, epoch, example)``, so
augmentation is a pure function of those three and a resumed run sees exactly the pixels an
uninterrupted one does. Keras preprocessing layers are deliberately not used: they keep hidden
generator state (not reproducible per epoch, not restored on resume), and
``keras.layers.RandomCrop`` draws one offset per *batch*, while the recipes crop each image alone.

Styles (``augment=`` values other than ``'auto'``):
  ``none``       eval geometry only.
  ``translate``  eval geometry, zero-pad by ``max(1, size // 8)`` px, random crop back (no flip).
  ``cifar``      ``translate`` + random horizontal flip (pad 4 at 32 px).
  ``imagenet``   random-resized crop (area 0.08-1, aspect 3/4-4/3) to ``size`` + random flip.
Eval geometry is either a plain resize to ``size x size`` (fixed-size sources: digits, CIFAR, small
image folders) or, for ImageNet-like sources and the ``imagenet`` style, the standard "resize the
shorter side to size / 0.875, then center-crop size" evaluation transform.
"""

import dataclasses

import tensorflow as tf

from kd_efficacy.errors import ConfigError

STYLES = ("none", "translate", "cifar", "imagenet")
CHOICES = ("auto",) + STYLES
EVAL_CROP_FRACTION = 0.875
RESIZED_CROP_AREA = (0.08, 1.0)
RESIZED_CROP_ASPECT = (3.0 / 4.0, 4.0 / 3.0)


def _to_size(image: tf.Tensor, size: int) -> tf.Tensor:
    """Resizes to ``size x size`` (aspect not kept); a no-op when the static shape already fits."""
    if image.shape[0] == size and image.shape[1] == size:
        return image
    # Antialiasing keeps downscaling faithful; resizing to the same size is an exact identity.
    return tf.image.resize(image, [size, size], antialias=True)


def center_crop(image: tf.Tensor, size: int, fraction: float = EVAL_CROP_FRACTION) -> tf.Tensor:
    """Resizes the shorter side to ``size / fraction`` and takes the central ``size x size``."""
    shape = tf.cast(tf.shape(image)[:2], tf.float32)
    scale = round(size / fraction) / tf.reduce_min(shape)
    new_hw = tf.maximum(tf.cast(tf.round(shape * scale), tf.int32), size)
    image = tf.image.resize(image, new_hw, antialias=True)
    top = (new_hw[0] - size) // 2
    left = (new_hw[1] - size) // 2
    return image[top : top + size, left : left + size, :]


def pad_and_crop(image: tf.Tensor, seed: tf.Tensor, pad: int) -> tf.Tensor:
    """Random translation by up to ``pad`` px: zero-pad, then a stateless random crop back."""
    padded = tf.pad(image, [[pad, pad], [pad, pad], [0, 0]])
    return tf.image.stateless_random_crop(padded, tf.shape(image), seed=seed)


def flip(image: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
    return tf.image.stateless_random_flip_left_right(image, seed=seed)


def random_resized_crop(image: tf.Tensor, seed: tf.Tensor, size: int) -> tf.Tensor:
    """Samples a crop of 8-100% of the area with aspect 3/4-4/3 and resizes it to ``size``."""
    begin, crop_size, _ = tf.image.stateless_sample_distorted_bounding_box(
        tf.shape(image),
        bounding_boxes=tf.constant([[[0.0, 0.0, 1.0, 1.0]]]),
        seed=seed,
        # The whole image is the "object", so coverage is just the area fraction: area_range rules.
        min_object_covered=0.0,
        aspect_ratio_range=RESIZED_CROP_ASPECT,
        area_range=RESIZED_CROP_AREA,
        max_attempts=10,
        use_image_if_no_bounding_boxes=True,
    )
    crop = tf.slice(image, begin, crop_size)
    return tf.image.resize(crop, [size, size], antialias=True)


@dataclasses.dataclass(frozen=True)
class Transforms:
    """The train (augmented) and eval transforms of one dataset; images are float32 in [0, 1]."""

    style: str
    size: int
    center_crop_eval: bool

    @property
    def pad(self) -> int:
        return max(1, self.size // 8)

    def eval(self, image: tf.Tensor) -> tf.Tensor:
        out = center_crop(image, self.size) if self.center_crop_eval else _to_size(image, self.size)
        return tf.ensure_shape(out, [self.size, self.size, image.shape[-1]])

    def train(self, image: tf.Tensor, seed: tf.Tensor) -> tf.Tensor:
        crop_seed, flip_seed = tf.unstack(
            tf.random.experimental.stateless_split(seed, 2, alg="philox")
        )
        channels = image.shape[-1]
        if self.style == "imagenet":
            out = flip(random_resized_crop(image, crop_seed, self.size), flip_seed)
        else:
            out = self.eval(image)
            if self.style in ("translate", "cifar"):
                out = pad_and_crop(out, crop_seed, self.pad)
            if self.style == "cifar":
                out = flip(out, flip_seed)
        return tf.ensure_shape(out, [self.size, self.size, channels])


def check(augment: str) -> None:
    if augment not in CHOICES:
        raise ConfigError(f"augment={augment!r} is unknown; use one of {', '.join(CHOICES)}.")


def transforms(augment: str, *, default_style: str, size: int, imagenet_like: bool) -> Transforms:
    """Resolves ``augment`` (``'auto'`` picks the source's ``default_style``) into transforms."""
    check(augment)
    style = default_style if augment == "auto" else augment
    return Transforms(style=style, size=size, center_crop_eval=imagenet_like or style == "imagenet")
