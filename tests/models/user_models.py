"""Model builders as a user writes them (kd_efficacy/models/custom.py), registered on import.

Gin configs and tests import it by one name, ``import tests.models.user_models`` (two names would
register each builder twice, which ``register_builder`` refuses); ``user_*`` keep the contract,
each ``broken_*`` breaks it one way.
"""

import keras

from kd_efficacy import models


@models.register_builder("user_cnn")
def user_cnn(input_shape, num_classes, width=8):
    inputs = keras.Input(input_shape)
    x = keras.layers.Conv2D(width, 3, padding="same", activation="relu")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    return keras.Model(inputs, keras.layers.Dense(num_classes)(x))


@models.register_builder("user_sequential")
def user_sequential(input_shape, num_classes):
    return keras.Sequential(
        [keras.Input(input_shape), keras.layers.Flatten(), keras.layers.Dense(num_classes)]
    )


@models.register_builder("broken_softmax")
def broken_softmax(input_shape, num_classes):
    inputs = keras.Input(input_shape)
    x = keras.layers.Flatten()(inputs)
    return keras.Model(inputs, keras.layers.Dense(num_classes, activation="softmax")(x))


@models.register_builder("broken_softmax_layer")
def broken_softmax_layer(input_shape, num_classes):
    inputs = keras.Input(input_shape)
    x = keras.layers.Dense(num_classes)(keras.layers.Flatten()(inputs))
    return keras.Model(inputs, keras.layers.Softmax()(x))


@models.register_builder("broken_shape")
def broken_shape(input_shape, num_classes):
    inputs = keras.Input(input_shape)
    x = keras.layers.Flatten()(inputs)
    return keras.Model(inputs, keras.layers.Dense(num_classes + 1)(x))


@models.register_builder("broken_input")
def broken_input(input_shape, num_classes):
    inputs = keras.Input((32, 32, 3))  # ignores input_shape
    x = keras.layers.Flatten()(inputs)
    return keras.Model(inputs, keras.layers.Dense(num_classes)(x))


@models.register_builder("broken_not_a_model")
def broken_not_a_model(input_shape, num_classes):
    return keras.layers.Dense(num_classes)
