"""ImageNet ResNets: He, Zhang, Ren & Sun, "Deep Residual Learning for Image Recognition", CVPR 2016
(Table 1).

A 7x7/2 convolution + BN-ReLU stem and a 3x3/2 max-pool, four stages at 64/128/256/512 base channels
(stages 2-4 start with stride 2), basic blocks (ResNet-18/34) or bottleneck blocks with 4x expansion
(ResNet-50/101/152), global average pooling and a linear classifier. Shortcuts that change shape are
1x1 convolution + BN projections (option B). Bottlenecks stride in their 3x3 convolution (the
"v1.5" placement of common reference implementations; same parameter count as the paper's).

Names: ``imagenet_resnet18, imagenet_resnet34, imagenet_resnet50, imagenet_resnet101,
imagenet_resnet152`` (explicitly prefixed so they are never confused with CIFAR ``resnet<6n+2>``).

Tiny inputs: all convolutions and the stem max-pool use 'same' padding, so every stride-2 layer maps
size s to ceil(s / 2) and the feature map bottoms out at 1x1 (an 8x8 digit reaches 1x1 at stage 3)
instead of vanishing; the stem is kept unchanged, so no special case is needed.
"""

import keras

from kd_efficacy.errors import ConfigError
from kd_efficacy.models.layer_factory import LayerFactory
from kd_efficacy.models.registry import register

_BLOCKS_PER_STAGE = {
    18: (2, 2, 2, 2),
    34: (3, 4, 6, 3),
    50: (3, 4, 6, 3),
    101: (3, 4, 23, 3),
    152: (3, 8, 36, 3),
}
_BASE_FILTERS = (64, 128, 256, 512)
_BOTTLENECK_EXPANSION = 4


def _shortcut(x, filters: int, strides: int, layers: LayerFactory, name: str):
    if strides == 1 and x.shape[-1] == filters:
        return x
    x = layers.conv(filters, 1, strides=strides, name=f"{name}_proj_conv")(x)
    return layers.batch_norm(name=f"{name}_proj_bn")(x)


def _basic_block(x, filters: int, strides: int, layers: LayerFactory, name: str):
    shortcut = _shortcut(x, filters, strides, layers, name)
    y = layers.conv(filters, 3, strides=strides, name=f"{name}_conv1")(x)
    y = layers.bn_relu(y, name=f"{name}_1")
    y = layers.conv(filters, 3, name=f"{name}_conv2")(y)
    y = layers.batch_norm(name=f"{name}_2_bn")(y)
    y = keras.layers.Add(name=f"{name}_add")([shortcut, y])
    return keras.layers.ReLU(name=f"{name}_out")(y)


def _bottleneck_block(x, filters: int, strides: int, layers: LayerFactory, name: str):
    expanded = filters * _BOTTLENECK_EXPANSION
    shortcut = _shortcut(x, expanded, strides, layers, name)
    y = layers.conv(filters, 1, name=f"{name}_conv1")(x)
    y = layers.bn_relu(y, name=f"{name}_1")
    y = layers.conv(filters, 3, strides=strides, name=f"{name}_conv2")(y)
    y = layers.bn_relu(y, name=f"{name}_2")
    y = layers.conv(expanded, 1, name=f"{name}_conv3")(y)
    y = layers.batch_norm(name=f"{name}_3_bn")(y)
    y = keras.layers.Add(name=f"{name}_add")([shortcut, y])
    return keras.layers.ReLU(name=f"{name}_out")(y)


@register(
    r"imagenet_resnet(?P<depth>[1-9]\d*)",
    listed=[f"imagenet_resnet{depth}" for depth in sorted(_BLOCKS_PER_STAGE)],
)
def imagenet_resnet(inputs, *, depth: int, num_classes: int, layers: LayerFactory):
    """ResNet-depth for ImageNet-sized inputs (works on any size)."""
    if depth not in _BLOCKS_PER_STAGE:
        raise ConfigError(f"ImageNet ResNet depth must be one of {sorted(_BLOCKS_PER_STAGE)}")
    block = _basic_block if depth < 50 else _bottleneck_block
    x = layers.conv(64, 7, strides=2, name="stem_conv")(inputs)
    x = layers.bn_relu(x, name="stem")
    x = keras.layers.MaxPooling2D(3, strides=2, padding="same", name="stem_pool")(x)
    for stage, (blocks, filters) in enumerate(zip(_BLOCKS_PER_STAGE[depth], _BASE_FILTERS)):
        for index in range(blocks):
            strides = 2 if stage > 0 and index == 0 else 1
            x = block(x, filters, strides, layers, name=f"stage{stage + 1}_block{index + 1}")
    return layers.classifier(x, num_classes)
