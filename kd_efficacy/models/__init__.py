"""The model zoo: build any registered architecture by name.

    model = build("wrn_16_2", input_shape=(32, 32, 3), num_classes=100,
                  mean=(0.507, 0.487, 0.441), std=(0.267, 0.256, 0.276))

Every model is a functional ``keras.Model`` named after the canonical model name. It takes float32
images (H, W, C) in [0, 1] of any size, optionally normalizes them itself (``mean``/``std``: a
``keras.layers.Normalization`` first layer, so exported students take plain images), and returns
float32 logits of shape (batch, num_classes), also under a mixed-precision policy. Models hold no
augmentation, softmax or weight decay: those belong to the data pipeline, the losses and the
optimizer.

Families (one module each; see their docstrings for sources and exact shapes):
    resnet_cifar     resnet<6n+2> (16/32/64 channels), resnet<6n+2>x4 (CRD's wide variant)
    wide_resnet      wrn_<6n+4>_<width>
    densenet         densenet<3n+4>_<growth>, densenet_bc_<6n+4>_<growth>
    vgg              vgg8/11/13/16/19 with BatchNorm
    resnet_imagenet  imagenet_resnet18/34/50/101/152

Your own model: ``@models.register_builder("my_cnn")`` on a ``builder(input_shape, num_classes)``
returning a ``keras.Model`` of logits, then ``MODEL = 'my_cnn'`` in gin (``custom.py``). It is
built through ``build`` like a zoo model and checked against the same contract (``contract.py``).
"""

import operator
from collections.abc import Sequence

import keras
import numpy as np

from kd_efficacy.errors import ConfigError
from kd_efficacy.models import (
    custom,
    densenet,
    registry,
    resnet_cifar,
    resnet_imagenet,
    vgg,
    wide_resnet,
)
from kd_efficacy.models.custom import register_builder
from kd_efficacy.models.layer_factory import LayerFactory

__all__ = ["build", "names", "param_count", "register_builder", "trainable_param_count"]

# Each family module registers its names when imported.
FAMILY_MODULES = (resnet_cifar, wide_resnet, densenet, vgg, resnet_imagenet)


def names() -> list[str]:
    """Every canonical registered model name, sorted (open families accept more; see build)."""
    return registry.names()


def build(
    name: str,
    *,
    input_shape: tuple[int, int, int],
    num_classes: int,
    mean: Sequence[float] | None = None,
    std: Sequence[float] | None = None,
    sync_batchnorm: bool = False,
    **options,
) -> keras.Model:
    """Builds model ``name`` for images of ``input_shape`` (H, W, C) and ``num_classes`` classes.

    Args:
        name: a name from ``names()``, any valid member of an open family (e.g. ``wrn_22_3``), or
            a name registered with ``register_builder``.
        input_shape: (height, width, channels) of the [0, 1] float32 input images.
        num_classes: width of the logits.
        mean, std: per-channel statistics; when given, the first layer normalizes the input with
            them, so callers feed plain [0, 1] images.
        sync_batchnorm: use cross-replica (synchronized) batch statistics in every BatchNorm layer.
        **options: architecture options, e.g. ``dropout_rate`` for ``wrn_*``.

    Raises:
        ConfigError: unknown name, invalid family parameters (e.g. a WRN depth not 6n+4), unknown
            options, or inconsistent shapes/statistics.
    """
    own = custom.lookup(name) is not None
    if not own:
        try:
            resolved = registry.resolve(name)
        except ConfigError as error:
            raise ConfigError(f"{error}; {custom.hint()}") from None
    input_shape = _checked_input_shape(input_shape)
    num_classes = _positive_int(num_classes, what="num_classes")

    inputs = keras.Input(shape=input_shape, dtype="float32", name="images")
    x = inputs
    if mean is not None or std is not None:
        x = _normalization(mean, std, channels=input_shape[-1])(x)
    if own:
        logits = custom.build_logits(
            name, x, input_shape=input_shape, num_classes=num_classes, options=options
        )
    else:
        logits = registry.call_builder(
            resolved,
            x,
            num_classes=num_classes,
            layers=LayerFactory(sync_batchnorm=bool(sync_batchnorm)),
            options=options,
        )
    return keras.Model(inputs, logits, name=name)


def param_count(name: str, *, input_shape: tuple[int, int, int], num_classes: int) -> int:
    """Trainable parameters of ``name``: the count papers report (BN moving statistics excluded)."""
    return trainable_param_count(build(name, input_shape=input_shape, num_classes=num_classes))


def trainable_param_count(model: keras.Model) -> int:
    """Trainable parameters of a built model (``param_count`` without building it again)."""
    return int(sum(np.prod(weight.shape) for weight in model.trainable_weights))


def _positive_int(value, *, what: str) -> int:
    # operator.index accepts numpy integers (dataset metadata) but not floats or bools-as-strings.
    try:
        number = operator.index(value)
    except TypeError:
        number = 0
    if isinstance(value, bool) or number < 1:
        raise ConfigError(f"{what} must be a positive integer, got {value!r}")
    return number


def _checked_input_shape(input_shape) -> tuple[int, int, int]:
    try:
        shape = tuple(_positive_int(d, what="input_shape") for d in input_shape)
    except (ConfigError, TypeError):
        shape = ()
    if len(shape) != 3:
        raise ConfigError(
            "input_shape must be (height, width, channels) of positive integers, "
            f"got {input_shape!r}"
        )
    return shape


def _normalization(mean, std, *, channels: int) -> keras.layers.Normalization:
    if mean is None or std is None:
        raise ConfigError("give both mean and std (per-channel input statistics) or neither")
    mean = np.asarray(mean, dtype="float64").reshape(-1)
    std = np.asarray(std, dtype="float64").reshape(-1)
    if len(mean) != channels or len(std) != channels:
        raise ConfigError(
            f"mean and std need one value per input channel ({channels}), "
            f"got {len(mean)} and {len(std)}"
        )
    if not np.all(std > 0):
        raise ConfigError(f"std must be positive, got {std.tolist()}")
    # float32 even under mixed precision: normalizing in bfloat16 would lose input precision.
    return keras.layers.Normalization(
        mean=mean.tolist(), variance=np.square(std).tolist(), dtype="float32", name="normalize"
    )
