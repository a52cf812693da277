"""A user's own builder (kd_efficacy/models/custom.py): held to the zoo's contract, refused in
one line naming the builder and the fix when it breaks it. Runs: tests/core/test_own_model_run.py.
"""

import keras
import numpy as np
import pytest

from kd_efficacy import models
from kd_efficacy.errors import ConfigError
from kd_efficacy.models import contract, custom
from tests.models import user_models  # registers the builders, as a gin `import` line does

SHAPE, CLASSES = (8, 8, 1), 10


@pytest.mark.parametrize("name", ["user_cnn", "user_sequential"])
def test_a_user_builder_keeps_the_zoo_contract(assert_model_contract, name):
    model = assert_model_contract(name, SHAPE, CLASSES, mean=(0.3,), std=(0.2,))
    assert model.layers[1].name == "normalize"  # plain [0, 1] images in, as zoo models take


@pytest.mark.parametrize(
    "name, problem, fix",
    [
        ("broken_softmax", "final softmax", "drop the final softmax"),
        ("broken_softmax_layer", "final softmax", "drop the final softmax"),
        ("broken_shape", "shape (11,) per image, not (10,)", "Dense(num_classes)"),
        ("broken_input", "does not take a batch of images of shape (8, 8, 1)", "input_shape="),
        ("broken_not_a_model", "returned Dense, not a keras.Model", "return keras.Model"),
    ],
)
def test_a_broken_builder_is_refused_in_one_line(name, problem, fix):
    with pytest.raises(ConfigError) as raised:
        models.build(name, input_shape=SHAPE, num_classes=CLASSES)
    message = str(raised.value)
    assert "\n" not in message
    assert f"model builder {name!r} (tests.models.user_models.{name})" in message, message
    assert problem in message and fix in message, message


def test_probabilities_are_refused_without_a_softmax_layer():
    """A softmax the layers do not show (an op) is caught by the outputs themselves."""
    inputs = keras.Input(SHAPE)
    logits = keras.layers.Dense(CLASSES)(keras.layers.Flatten()(inputs))
    model = keras.Model(inputs, keras.ops.softmax(logits))
    assert contract.final_activation(model) == "linear"
    with pytest.raises(ConfigError, match="outputs that sum to 1 per image"):
        contract.check_logits(model, SHAPE, CLASSES, who="m")
    # The same model without the softmax passes.
    assert contract.check_logits(keras.Model(inputs, logits), SHAPE, CLASSES, who="m").shape == (
        2,
        CLASSES,
    )


def test_options_reach_the_builder_and_unknown_ones_are_refused():
    narrow = models.build("user_cnn", input_shape=SHAPE, num_classes=CLASSES, width=2)
    wide = models.build("user_cnn", input_shape=SHAPE, num_classes=CLASSES, width=4)
    assert models.trainable_param_count(narrow) < models.trainable_param_count(wide)
    with pytest.raises(ConfigError, match=r"does not take option\(s\) \['depth'\]"):
        models.build("user_cnn", input_shape=SHAPE, num_classes=CLASSES, depth=3)


def test_logits_are_float32_under_mixed_precision():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = models.build("user_cnn", input_shape=SHAPE, num_classes=CLASSES)
        images = contract.random_images(SHAPE)
        assert model(images).dtype == "float32"
    finally:
        keras.mixed_precision.set_global_policy("float32")


def test_unknown_names_say_how_to_register_a_builder():
    with pytest.raises(ConfigError) as raised:
        models.build("nobodys_cnn", input_shape=SHAPE, num_classes=CLASSES)
    message = str(raised.value)
    assert "unknown model 'nobodys_cnn'" in message and "user_cnn" in message
    assert "@models.register_builder" in message and "import its module" in message


def test_registration_refuses_zoo_names_clashes_and_bad_names():
    with pytest.raises(ValueError, match="is a zoo model"):
        models.register_builder("wrn_16_2")
    with pytest.raises(ValueError, match="already registered by tests.models.user_models.user_cnn"):
        models.register_builder("user_cnn")(lambda input_shape, num_classes: None)
    with pytest.raises(ValueError, match="use letters"):
        models.register_builder("my model/1")
    # Re-importing the same builder (a module reloaded) is not a clash.
    assert models.register_builder("user_cnn")(user_models.user_cnn) is user_models.user_cnn
    assert custom.lookup("user_cnn") is user_models.user_cnn
    assert np.all(np.isfinite(contract.random_images(SHAPE)))
