"""CIFAR DenseNets: Huang, Liu, van der Maaten & Weinberger, "Densely Connected Convolutional
Networks", CVPR 2017.

Three dense blocks; every layer sees the concatenation of all earlier feature maps in its block and
adds ``growth`` new channels. Between blocks, a transition (BN-ReLU-conv1x1-avgpool2) halves the
spatial size; a final BN-ReLU precedes pooling and the classifier.

- ``densenet<depth>_<growth>``: the basic DenseNet (layers BN-ReLU-conv3x3, no compression, a
  16-channel stem, (depth - 4) / 3 layers per block). ``densenet40_12`` (~1.0M parameters) is the
  student of Cho & Hariharan's experiments.
- ``densenet_bc_<depth>_<growth>``: DenseNet-BC (bottleneck layers BN-ReLU-conv1x1(4*growth)-BN-
  ReLU-conv3x3, transitions compress channels by 0.5, a 2*growth stem, (depth - 4) / 6 layers per
  block). ``densenet_bc_100_12`` has ~0.8M parameters.
"""

import keras

from kd_efficacy.errors import ConfigError
from kd_efficacy.models.layer_factory import LayerFactory
from kd_efficacy.models.registry import register

_COMPRESSION = 0.5
_BOTTLENECK_FACTOR = 4


def _dense_layer(x, growth: int, bottleneck: bool, layers: LayerFactory, name: str):
    y = x
    if bottleneck:
        y = layers.bn_relu(y, name=f"{name}_1")
        y = layers.conv(_BOTTLENECK_FACTOR * growth, 1, name=f"{name}_conv1")(y)
    y = layers.bn_relu(y, name=f"{name}_2")
    y = layers.conv(growth, 3, name=f"{name}_conv2")(y)
    return keras.layers.Concatenate(name=f"{name}_concat")([x, y])


def _transition(x, filters: int, layers: LayerFactory, name: str):
    x = layers.bn_relu(x, name=name)
    x = layers.conv(filters, 1, name=f"{name}_conv")(x)
    # 'same' keeps odd and 1x1 feature maps valid (tiny inputs); equal to 'valid' for even sizes.
    return keras.layers.AveragePooling2D(2, padding="same", name=f"{name}_pool")(x)


def _densenet(
    inputs, *, layers_per_block, growth, bottleneck, compression, stem, num_classes, layers
):
    x = layers.conv(stem, 3, name="stem_conv")(inputs)
    for block in range(3):
        for index in range(layers_per_block):
            x = _dense_layer(
                x, growth, bottleneck, layers, name=f"block{block + 1}_layer{index + 1}"
            )
        if block < 2:
            filters = int(x.shape[-1] * compression)
            x = _transition(x, filters, layers, name=f"transition{block + 1}")
    x = layers.bn_relu(x, name="final")
    return layers.classifier(x, num_classes)


@register(
    r"densenet(?P<depth>[1-9]\d*)_(?P<growth>[1-9]\d*)",
    listed=["densenet40_12"],
    hint="densenet<depth>_<growth> for any depth = 3n+4",
)
def densenet(inputs, *, depth: int, growth: int, num_classes: int, layers: LayerFactory):
    """The basic DenseNet (no bottleneck, no compression)."""
    if depth < 7 or (depth - 4) % 3:
        raise ConfigError("DenseNet depth must be 3n+4 with n >= 1 (7, 10, 13, ..., 40, ...)")
    return _densenet(
        inputs,
        layers_per_block=(depth - 4) // 3,
        growth=growth,
        bottleneck=False,
        compression=1.0,
        stem=16,
        num_classes=num_classes,
        layers=layers,
    )


@register(
    r"densenet_bc_(?P<depth>[1-9]\d*)_(?P<growth>[1-9]\d*)",
    listed=["densenet_bc_100_12"],
    hint="densenet_bc_<depth>_<growth> for any depth = 6n+4",
)
def densenet_bc(inputs, *, depth: int, growth: int, num_classes: int, layers: LayerFactory):
    """DenseNet-BC: bottleneck layers and 0.5 compression."""
    if depth < 10 or (depth - 4) % 6:
        raise ConfigError("DenseNet-BC depth must be 6n+4 with n >= 1 (10, 16, ..., 100, ...)")
    return _densenet(
        inputs,
        layers_per_block=(depth - 4) // 6,
        growth=growth,
        bottleneck=True,
        compression=_COMPRESSION,
        stem=2 * growth,
        num_classes=num_classes,
        layers=layers,
    )
