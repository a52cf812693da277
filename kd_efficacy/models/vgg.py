"""VGG with batch normalization for CIFAR: Simonyan & Zisserman, "Very Deep Convolutional Networks
for Large-Scale Image Recognition", ICLR 2015; BN after every convolution (Ioffe & Szegedy 2015).

The CIFAR shapes of the KD literature (the CRD benchmark, Tian et al., ICLR 2020): five blocks of
3x3 convolutions (with bias) + BN + ReLU at 64/128/256/512/512 channels, a 2x2 max-pool after each
of the first four blocks, global average pooling after the fifth, and a single linear classifier
(no 4096-wide fully connected layers). vgg8 is that benchmark's one-convolution-per-block model.
With 100 classes: vgg8 ~4.0M, vgg13 ~9.5M parameters.

Names: ``vgg8, vgg11, vgg13, vgg16, vgg19``.
"""

import keras

from kd_efficacy.errors import ConfigError
from kd_efficacy.models.layer_factory import LayerFactory
from kd_efficacy.models.registry import register

# Convolutions per block for each depth (depth = sum of convolutions + 3 fully connected layers of
# the ImageNet original, kept as the name although CIFAR VGGs have one classifier layer).
_CONVS_PER_BLOCK = {
    8: (1, 1, 1, 1, 1),
    11: (1, 1, 2, 2, 2),
    13: (2, 2, 2, 2, 2),
    16: (2, 2, 3, 3, 3),
    19: (2, 2, 4, 4, 4),
}
_BLOCK_FILTERS = (64, 128, 256, 512, 512)


@register(r"vgg(?P<depth>[1-9]\d*)", listed=[f"vgg{depth}" for depth in sorted(_CONVS_PER_BLOCK)])
def vgg(inputs, *, depth: int, num_classes: int, layers: LayerFactory):
    """VGG-depth with batch normalization, CIFAR-style classifier."""
    if depth not in _CONVS_PER_BLOCK:
        raise ConfigError(f"VGG depth must be one of {sorted(_CONVS_PER_BLOCK)}")
    x = inputs
    for block, (convs, filters) in enumerate(zip(_CONVS_PER_BLOCK[depth], _BLOCK_FILTERS)):
        for index in range(convs):
            name = f"block{block + 1}_conv{index + 1}"
            x = layers.conv(filters, 3, use_bias=True, name=name)(x)
            x = layers.bn_relu(x, name=name)
        if block < 4:
            # 'same' lets inputs smaller than 16x16 (down to 1x1) through the four poolings.
            x = keras.layers.MaxPooling2D(2, padding="same", name=f"block{block + 1}_pool")(x)
    return layers.classifier(x, num_classes)
