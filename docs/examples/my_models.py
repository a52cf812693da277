"""Your own model for kd_efficacy: a builder registered under a name that gin files can use.

Run it (from the repository root; in your project, put your package on PYTHONPATH instead):
    PYTHONPATH=docs/examples python -m kd_efficacy.run --gin_file=docs/examples/my_run.gin
"""

import keras

from kd_efficacy import models


@models.register_builder("my_cnn")
def my_cnn(input_shape, num_classes, width=16):
    """Images (H, W, C), already normalized by kd_efficacy, to logits (batch, num_classes)."""
    inputs = keras.Input(input_shape)
    x = inputs
    for filters in (width, 2 * width):
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.ReLU()(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(num_classes)(x))  # logits: no softmax
