"""Model names: what ``names()`` lists, that each of them builds, and the errors for bad names."""

import numpy as np
import pytest

from kd_efficacy import models
from kd_efficacy.errors import ConfigError

EXPECTED_NAMES = {
    *(f"resnet{depth}" for depth in (8, 14, 20, 32, 44, 56, 110)),
    "resnet8x4",
    "resnet32x4",
    *(f"wrn_{depth}_{width}" for depth in (16, 28, 40) for width in (1, 2, 4, 8, 10)),
    "densenet40_12",
    "densenet_bc_100_12",
    *(f"vgg{depth}" for depth in (8, 11, 13, 16, 19)),
    *(f"imagenet_resnet{depth}" for depth in (18, 34, 50, 101, 152)),
}


def test_names_are_sorted_canonical_and_complete():
    listed = models.names()
    assert listed == sorted(listed)
    assert set(listed) == EXPECTED_NAMES and len(listed) == len(EXPECTED_NAMES)


@pytest.mark.parametrize("name", sorted(EXPECTED_NAMES))
def test_every_listed_model_builds_on_digits_and_outputs_logits(name):
    model = models.build(name, input_shape=(8, 8, 1), num_classes=10)
    assert model.name == name
    images = np.random.default_rng(0).uniform(size=(2, 8, 8, 1)).astype("float32")
    logits = model(images, training=False)
    assert tuple(logits.shape) == (2, 10) and logits.dtype == "float32"
    assert model.layers[-1].get_config()["activation"] == "linear"


@pytest.mark.parametrize("name", ["wrn_22_3", "resnet26", "resnet14x4", "densenet13_6"])
def test_open_families_accept_unlisted_members(name):
    model = models.build(name, input_shape=(8, 8, 1), num_classes=3)
    assert model.output.shape == (None, 3)


@pytest.mark.parametrize("name", ["resnet21", "resnet", "resnet18_imagenet", "ResNet20", "", None])
def test_unknown_name_lists_the_known_models(name):
    with pytest.raises(ConfigError) as error:
        models.build(name, input_shape=(8, 8, 1), num_classes=10)
    message = str(error.value)
    assert f"unknown model {name!r}" in message
    assert "known models: " + ", ".join(models.names()) in message
    assert "wrn_<depth>_<width> for any depth = 6n+4" in message
    assert "\n" not in message


@pytest.mark.parametrize(
    "name, reason",
    [
        ("wrn_15_2", "WRN depth must be 6n+4"),
        ("wrn_4_2", "WRN depth must be 6n+4"),
        ("resnet18", "imagenet_resnet18"),  # a depth that is not 6n+2 points to the ImageNet ResNet
        ("resnet2", "CIFAR ResNet depth must be 6n+2 with n >= 1"),
        ("resnet9x4", "CIFAR ResNet depth must be 6n+2"),
        ("densenet41_12", "DenseNet depth must be 3n+4"),
        ("densenet_bc_40_12x", None),  # no family matches: unknown
        ("densenet_bc_41_12", "DenseNet-BC depth must be 6n+4"),
        ("vgg12", "VGG depth must be one of [8, 11, 13, 16, 19]"),
        ("imagenet_resnet20", "ImageNet ResNet depth must be one of [18, 34, 50, 101, 152]"),
    ],
)
def test_bad_family_parameters_say_what_is_valid(name, reason):
    with pytest.raises(ConfigError) as error:
        models.build(name, input_shape=(8, 8, 1), num_classes=10)
    message = str(error.value)
    assert (reason or "unknown model") in message
    assert "known models: " in message and "\n" not in message


def test_numpy_and_list_arguments_from_dataset_metadata_are_accepted():
    model = models.build("resnet8", input_shape=[np.int64(8), 8, 1], num_classes=np.int64(4))
    assert model.input_shape == (None, 8, 8, 1) and model.output_shape == (None, 4)


@pytest.mark.parametrize(
    "kwargs, fragment",
    [
        (dict(input_shape=(8, 8), num_classes=10), "input_shape"),
        (dict(input_shape=(8, 0, 1), num_classes=10), "input_shape"),
        (dict(input_shape=(8, 8, 1), num_classes=0), "num_classes"),
        (dict(input_shape=(8, 8, 1), num_classes=2.5), "num_classes"),
        (dict(input_shape=None, num_classes=10), "input_shape"),
        (dict(input_shape=(8, 8, 1), num_classes=10, dropout_rate=0.3), "dropout_rate"),
        (dict(input_shape=(8, 8, 1), num_classes=10, depth=20), "depth"),
    ],
)
def test_bad_build_arguments_raise_config_error(kwargs, fragment):
    with pytest.raises(ConfigError, match=fragment):
        models.build("resnet8", **kwargs)
