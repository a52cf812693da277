"""CIFAR ResNets: He, Zhang, Ren & Sun, "Deep Residual Learning for Image Recognition", CVPR 2016.

The CIFAR variant of Sec. 4.2: a 3x3 stem, then three stages of ``n`` basic blocks (two 3x3
convolutions) at 16/32/64 channels, the 2nd and 3rd starting with stride 2; depth = 6n + 2. As in
the knowledge-distillation literature (e.g. the CRD benchmark, Tian et al., ICLR 2020), a
shortcut that changes shape is a 1x1 convolution + BN projection (the paper's option B) rather than
option A's zero padding, which adds a few thousand parameters (resnet20: 0.27M).

``resnet<depth>x4`` is the CRD benchmark's 4x wider variant: a 32-channel stem and
64/128/256-channel stages (resnet8x4 ~1.2M, resnet32x4 ~7.4M parameters with 100 classes).

Names: ``resnet8, resnet14, resnet20, resnet32, resnet44, resnet56, resnet110`` (any depth 6n+2 is
accepted) and ``resnet8x4, resnet32x4`` (any ``resnet<6n+2>x4``). The ImageNet ResNets, whose depths
18/34/50/101/152 are not of the form 6n+2, are ``imagenet_resnet<depth>``.
"""

import keras

from kd_efficacy.errors import ConfigError
from kd_efficacy.models.layer_factory import LayerFactory
from kd_efficacy.models.registry import register

_DEPTHS = (8, 14, 20, 32, 44, 56, 110)


def _basic_block(x, filters: int, strides: int, layers: LayerFactory, name: str):
    shortcut = x
    if strides != 1 or x.shape[-1] != filters:
        shortcut = layers.conv(filters, 1, strides=strides, name=f"{name}_proj_conv")(x)
        shortcut = layers.batch_norm(name=f"{name}_proj_bn")(shortcut)
    y = layers.conv(filters, 3, strides=strides, name=f"{name}_conv1")(x)
    y = layers.bn_relu(y, name=f"{name}_1")
    y = layers.conv(filters, 3, name=f"{name}_conv2")(y)
    y = layers.batch_norm(name=f"{name}_2_bn")(y)
    y = keras.layers.Add(name=f"{name}_add")([shortcut, y])
    return keras.layers.ReLU(name=f"{name}_out")(y)


def _cifar_resnet(inputs, *, depth, stem_filters, stage_filters, num_classes, layers):
    if depth < 8 or (depth - 2) % 6:
        raise ConfigError(
            "CIFAR ResNet depth must be 6n+2 with n >= 1 (8, 14, 20, 26, 32, 44, 56, 110, ...); "
            "the ImageNet ResNets are imagenet_resnet18/34/50/101/152"
        )
    blocks_per_stage = (depth - 2) // 6
    x = layers.conv(stem_filters, 3, name="stem_conv")(inputs)
    x = layers.bn_relu(x, name="stem")
    for stage, filters in enumerate(stage_filters):
        for block in range(blocks_per_stage):
            strides = 2 if stage > 0 and block == 0 else 1
            x = _basic_block(x, filters, strides, layers, name=f"stage{stage + 1}_block{block + 1}")
    return layers.classifier(x, num_classes)


@register(
    r"resnet(?P<depth>[1-9]\d*)",
    listed=[f"resnet{depth}" for depth in _DEPTHS],
    hint="resnet<depth> for any depth = 6n+2",
)
def cifar_resnet(inputs, *, depth: int, num_classes: int, layers: LayerFactory):
    """He et al.'s CIFAR ResNet with 16/32/64 channels."""
    return _cifar_resnet(
        inputs,
        depth=depth,
        stem_filters=16,
        stage_filters=(16, 32, 64),
        num_classes=num_classes,
        layers=layers,
    )


@register(
    r"resnet(?P<depth>[1-9]\d*)x4",
    listed=["resnet8x4", "resnet32x4"],
    hint="resnet<depth>x4 for any depth = 6n+2",
)
def cifar_resnet_x4(inputs, *, depth: int, num_classes: int, layers: LayerFactory):
    """The CRD benchmark's 4x wide CIFAR ResNet (32-channel stem, 64/128/256-channel stages)."""
    return _cifar_resnet(
        inputs,
        depth=depth,
        stem_filters=32,
        stage_filters=(64, 128, 256),
        num_classes=num_classes,
        layers=layers,
    )
