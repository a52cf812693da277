"""Every architecture family honours the model contract (see conftest.py): logits, config round
trip and SavedModel round trip. Exporting is slow, so each family is represented by its smallest
member, on the 8x8x1 shape of the embedded digits and once on 32x32x3 CIFAR-shaped inputs."""

import pytest

DIGITS_SHAPE = (8, 8, 1)
CIFAR_SHAPE = (32, 32, 3)


@pytest.mark.parametrize(
    "name",
    [
        "resnet8",  # resnet_cifar
        "resnet8x4",  # resnet_cifar, wide variant (projection in the first stage)
        "wrn_10_1",  # wide_resnet, identity and projection shortcuts
        "densenet10_4",  # densenet
        "densenet_bc_10_4",  # densenet, bottleneck + compression
        "vgg8",  # vgg
        "imagenet_resnet18",  # resnet_imagenet: 7x7/2 stem and max-pool on an 8x8 input
    ],
)
def test_family_contract_on_digits(assert_model_contract, name):
    assert_model_contract(name, DIGITS_SHAPE, 10)


def test_contract_on_cifar_shape_with_input_normalization(assert_model_contract):
    model = assert_model_contract(
        "resnet14", CIFAR_SHAPE, 100, mean=(0.5071, 0.4865, 0.4409), std=(0.2673, 0.2564, 0.2762)
    )
    assert model.layers[1].name == "normalize"
