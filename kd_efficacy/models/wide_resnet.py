"""Wide ResNets: Zagoruyko & Komodakis, "Wide Residual Networks", BMVC 2016.

WRN-d-k: a 3x3 stem with 16 channels, then three groups of n = (d - 4) / 6 pre-activation blocks
(BN-ReLU-conv3x3-BN-ReLU-[dropout]-conv3x3) with 16k/32k/64k channels, the 2nd and 3rd group
starting with stride 2, and a final BN-ReLU before pooling. A block whose shape changes projects
its shortcut with a 1x1 convolution of the pre-activated input, as in the authors' code.

Names: ``wrn_<depth>_<width>`` for any depth = 6n+4 and width >= 1; ``names()`` lists
``wrn_{16,28,40}_{1,2,4,8,10}``. The option ``dropout_rate`` (default 0; the paper uses 0.3 on
CIFAR for some runs) adds dropout between the two convolutions of every block.
"""

import keras

from kd_efficacy.errors import ConfigError
from kd_efficacy.models.layer_factory import LayerFactory
from kd_efficacy.models.registry import register


def _wide_block(x, filters: int, strides: int, dropout_rate: float, layers, name: str):
    activated = layers.bn_relu(x, name=f"{name}_1")
    if strides != 1 or x.shape[-1] != filters:
        shortcut = layers.conv(filters, 1, strides=strides, name=f"{name}_proj_conv")(activated)
    else:
        shortcut = x
    y = layers.conv(filters, 3, strides=strides, name=f"{name}_conv1")(activated)
    y = layers.bn_relu(y, name=f"{name}_2")
    if dropout_rate:
        y = keras.layers.Dropout(dropout_rate, name=f"{name}_dropout")(y)
    y = layers.conv(filters, 3, name=f"{name}_conv2")(y)
    return keras.layers.Add(name=f"{name}_add")([shortcut, y])


@register(
    r"wrn_(?P<depth>[1-9]\d*)_(?P<width>[1-9]\d*)",
    listed=[f"wrn_{depth}_{width}" for depth in (16, 28, 40) for width in (1, 2, 4, 8, 10)],
    hint="wrn_<depth>_<width> for any depth = 6n+4",
)
def wide_resnet(
    inputs,
    *,
    depth: int,
    width: int,
    num_classes: int,
    layers: LayerFactory,
    dropout_rate: float = 0.0,
):
    """WRN-depth-width for CIFAR-sized inputs."""
    if depth < 10 or (depth - 4) % 6:
        raise ConfigError("WRN depth must be 6n+4 with n >= 1 (10, 16, 22, 28, 34, 40, ...)")
    if not 0.0 <= dropout_rate < 1.0:
        raise ConfigError(f"dropout_rate must be in [0, 1), got {dropout_rate}")
    blocks_per_group = (depth - 4) // 6
    x = layers.conv(16, 3, name="stem_conv")(inputs)
    for group, filters in enumerate((16 * width, 32 * width, 64 * width)):
        for block in range(blocks_per_group):
            strides = 2 if group > 0 and block == 0 else 1
            name = f"group{group + 1}_block{block + 1}"
            x = _wide_block(x, filters, strides, dropout_rate, layers, name=name)
    x = layers.bn_relu(x, name="final")
    return layers.classifier(x, num_classes)
