"""Build options: input normalization, synchronized BatchNorm, mixed precision and WRN dropout."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kd_efficacy import models
from kd_efficacy.errors import ConfigError

SHAPE = (8, 8, 3)
MEAN = (0.5, 0.4, 0.3)
STD = (0.2, 0.25, 0.3)


def _images(batch=2, shape=SHAPE):
    return np.random.default_rng(0).uniform(size=(batch, *shape)).astype("float32")


def _batch_norms(model):
    return [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]


def test_mean_std_normalize_the_input_inside_the_model():
    normalized = models.build("resnet8", input_shape=SHAPE, num_classes=5, mean=MEAN, std=STD)
    plain = models.build("resnet8", input_shape=SHAPE, num_classes=5)
    assert not any(isinstance(layer, keras.layers.Normalization) for layer in plain.layers)
    first = normalized.layers[1]
    assert isinstance(first, keras.layers.Normalization)
    np.testing.assert_allclose(first.get_config()["variance"], np.square(STD), rtol=1e-6)

    plain.set_weights(normalized.get_weights())
    images = _images()
    expected = plain((images - np.array(MEAN)) / np.array(STD), training=False)
    np.testing.assert_allclose(normalized(images, training=False), expected, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "mean, std, fragment",
    [
        (MEAN, None, "both mean and std"),
        (None, STD, "both mean and std"),
        ((0.5,), (0.2,), "one value per input channel"),
        (MEAN, (0.2, 0.0, 0.3), "std must be positive"),
    ],
)
def test_bad_statistics_raise_config_error(mean, std, fragment):
    with pytest.raises(ConfigError, match=fragment):
        models.build("resnet8", input_shape=SHAPE, num_classes=5, mean=mean, std=std)


@pytest.mark.parametrize("name", ["resnet8", "wrn_10_1", "densenet_bc_10_4", "vgg8"])
def test_sync_batchnorm_reaches_every_batchnorm_layer(name):
    default = models.build(name, input_shape=SHAPE, num_classes=5)
    synced = models.build(name, input_shape=SHAPE, num_classes=5, sync_batchnorm=True)
    assert _batch_norms(default) and not any(bn.synchronized for bn in _batch_norms(default))
    assert len(_batch_norms(synced)) == len(_batch_norms(default))
    assert all(bn.synchronized for bn in _batch_norms(synced))
    clone = keras.Model.from_config(synced.get_config())
    assert all(bn.synchronized for bn in _batch_norms(clone))


@pytest.mark.parametrize("synchronized", [True, False])
def test_sync_batchnorm_uses_global_batch_statistics_across_replicas(synchronized, mirrored_cpus):
    strategy = mirrored_cpus  # shared: a second MirroredStrategy could reuse collective keys
    if strategy.num_replicas_in_sync < 2:
        pytest.skip("needs two logical CPU devices (configured by tests/conftest.py)")
    with strategy.scope():
        replicated = models.build(
            "resnet8", input_shape=SHAPE, num_classes=5, sync_batchnorm=synchronized
        )
    single = models.build("resnet8", input_shape=SHAPE, num_classes=5, sync_batchnorm=True)
    single.set_weights(replicated.get_weights())
    # Replicas see very different halves of the batch, so local and global statistics differ.
    images = _images(batch=4)
    images[2:] = images[2:] * 0.1 + 0.9
    distributed = strategy.experimental_distribute_dataset(
        tf.data.Dataset.from_tensor_slices(images).batch(4)
    )

    @tf.function
    def forward(batch):
        return strategy.run(lambda x: replicated(x, training=True), args=(batch,))

    per_replica = strategy.experimental_local_results(forward(next(iter(distributed))))
    logits = np.concatenate([tensor.numpy() for tensor in per_replica])
    whole_batch = single(images, training=True).numpy()
    # Synchronized BN on two replicas computes what one device computes on the whole batch.
    assert np.allclose(logits, whole_batch, rtol=1e-4, atol=1e-4) == synchronized


@pytest.fixture
def mixed_bfloat16():
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


@pytest.mark.parametrize("name", ["resnet8", "wrn_10_1", "densenet10_4", "imagenet_resnet18"])
def test_logits_are_float32_under_mixed_precision(mixed_bfloat16, name):
    model = models.build(name, input_shape=SHAPE, num_classes=5, mean=MEAN, std=STD)
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert convs[0].compute_dtype == "bfloat16"  # the policy is in effect ...
    assert model.output.dtype == "float32"  # ... yet the logits are float32
    logits = model(_images(), training=False)
    assert logits.dtype == "float32" and np.all(np.isfinite(logits))


def test_wrn_dropout_is_active_in_training_only():
    model = models.build("wrn_10_1", input_shape=SHAPE, num_classes=5, dropout_rate=0.5)
    assert any(isinstance(layer, keras.layers.Dropout) for layer in model.layers)
    plain = models.build("wrn_10_1", input_shape=SHAPE, num_classes=5)
    assert not any(isinstance(layer, keras.layers.Dropout) for layer in plain.layers)
    images = _images()
    np.testing.assert_allclose(model(images), model(images))
    assert not np.allclose(model(images, training=True), model(images, training=True))


def test_wrn_rejects_a_bad_dropout_rate():
    with pytest.raises(ConfigError, match=r"dropout_rate must be in \[0, 1\)"):
        models.build("wrn_10_1", input_shape=SHAPE, num_classes=5, dropout_rate=1.5)
