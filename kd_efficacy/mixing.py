"""MixUp and CutMix of one training batch, the same for teacher and student (function matching).

Beyer et al. (CVPR 2022, "Knowledge distillation: A good teacher is patient and consistent")
distill on aggressively mixed images that teacher and student both see ("consistent teaching").
The Distiller mixes each training batch once, before either model sees it, so both get the
identical tensor.

- MixUp (Zhang et al. 2018): x = λ x_i + (1 - λ) x_π(i), one λ ~ Beta(α, α) per batch and a
  random permutation π of the batch, as in the reference implementation.
- CutMix (Yun et al. 2019): a box of area (1 - λ) H W, at a uniform centre and clipped to the
  image, is pasted from x_π(i); λ is then recomputed from the clipped box.
- Labels for the CE term: the mixed one-hot targets λ y_i + (1 - λ) y_π(i), so CE is
  λ CE(y_i) + (1 - λ) CE(y_π(i)) (train accuracy counts the dominant label).

Randomness is stateless, keyed by ``(seed, step)`` with ``step`` the optimizer's iteration
count (``epoch · steps_per_epoch + batch``): restored with the checkpoint, so a resumed run mixes
exactly as an uninterrupted one. Keras' ``MixUp`` / ``CutMix`` layers are not used: they draw
from a seed generator whose state is neither per step nor restored on resume (augment.py's
reason for stateless ops). Under ``tf.distribute`` every replica uses the same key on its own
share of the batch, so pairs are drawn within a replica.

``enabled=False`` (a tensor: the KD weight is 0 after ESKD's stop) sets λ = 1, which leaves the
images and one-hot labels exactly as they were: after the KD stop a function-matching student
trains on plain, unmixed images with CE, as every other ESKD student.
"""

import tensorflow as tf

_RNG = "philox"


def _split(seed, n):
    return tf.unstack(tf.random.experimental.stateless_split(seed, n, alg=_RNG))


def beta_sample(seed, alpha):
    """One λ ~ Beta(α, α), as G1 / (G1 + G2) of two stateless Gamma(α) draws."""
    first, second = _split(seed, 2)
    g1 = tf.random.stateless_gamma([], seed=first, alpha=alpha)
    g2 = tf.random.stateless_gamma([], seed=second, alpha=alpha)
    return g1 / (g1 + g2)


def permutation(seed, size):
    """A uniformly random permutation of ``range(size)``."""
    return tf.argsort(tf.random.stateless_uniform([size], seed=seed))


def cutmix_mask(seed, lam, height, width):
    """(mask [H, W, 1], λ of the clipped box): True where the partner's pixels go."""
    cut = tf.sqrt(1.0 - lam)
    cut_h = tf.cast(tf.cast(height, tf.float32) * cut, tf.int32)
    cut_w = tf.cast(tf.cast(width, tf.float32) * cut, tf.int32)
    y_seed, x_seed = _split(seed, 2)
    cy = tf.random.stateless_uniform([], y_seed, 0, height, dtype=tf.int32)
    cx = tf.random.stateless_uniform([], x_seed, 0, width, dtype=tf.int32)
    y0, y1 = tf.maximum(cy - cut_h // 2, 0), tf.minimum(cy + cut_h - cut_h // 2, height)
    x0, x1 = tf.maximum(cx - cut_w // 2, 0), tf.minimum(cx + cut_w - cut_w // 2, width)
    rows, cols = tf.range(height), tf.range(width)
    inside_y = (rows >= y0) & (rows < y1)
    inside_x = (cols >= x0) & (cols < x1)
    mask = inside_y[:, None] & inside_x[None, :]
    area = tf.cast((y1 - y0) * (x1 - x0), tf.float32)
    return mask[:, :, None], 1.0 - area / tf.cast(height * width, tf.float32)


def mix_batch(images, labels, num_classes, kind, alpha, seed, enabled=True):
    """(mixed images, mixed one-hot targets [B, C]) for ``kind`` 'mixup' or 'cutmix'.

    ``seed``: shape [2] int; ``labels``: integer class ids [B]; ``enabled``: a bool (tensor).
    """
    lam_seed, perm_seed, box_seed = _split(tf.cast(seed, tf.int64), 3)
    lam = tf.where(enabled, beta_sample(lam_seed, alpha), 1.0)
    order = permutation(perm_seed, tf.shape(images)[0])
    partner = tf.gather(images, order)
    if kind == "mixup":
        weight = tf.cast(lam, images.dtype)
        mixed = weight * images + (1.0 - weight) * partner
    elif kind == "cutmix":
        mask, lam = cutmix_mask(box_seed, lam, tf.shape(images)[1], tf.shape(images)[2])
        mixed = tf.where(mask[None], partner, images)
    else:
        raise ValueError(f"mix kind {kind!r} is unknown; use 'mixup' or 'cutmix'")
    one_hot = tf.one_hot(tf.cast(labels, tf.int32), num_classes, dtype=tf.float32)
    targets = lam * one_hot + (1.0 - lam) * tf.gather(one_hot, order)
    return mixed, targets
