"""The contract every model in the zoo must honour, as a fixture shared by the model tests.

``assert_model_contract(name, input_shape, num_classes, **build_kwargs)`` checks that the model
builds, is named after ``name``, maps a batch of [0, 1] images to float32 logits of shape
(batch, num_classes) (``kd_efficacy.models.contract.check_logits``, the check every
user-registered builder also passes at build time, plus float32 and non-constant outputs),
survives ``get_config``/``from_config`` with the same weights, and survives a SavedModel export
(Keras ExportArchive, endpoint ``serve``) and reload with the same outputs.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf

from kd_efficacy import models
from kd_efficacy.models import contract

_BATCH = 3


def _perturbed_weights(model: keras.Model, rng: np.random.Generator) -> list[np.ndarray]:
    """Random weights everywhere (BN statistics included), so a round trip that drops or reorders
    any weight changes the output instead of hiding behind default initializations."""
    weights = []
    for variable in model.weights:
        value = np.asarray(variable.numpy(), dtype="float64")
        value = value + rng.normal(0.0, 0.1, size=value.shape)
        if "moving_variance" in variable.path:
            value = np.abs(value) + 0.5
        weights.append(value.astype(variable.dtype))
    return weights


@pytest.fixture
def assert_model_contract(tmp_path):
    def check(name: str, input_shape: tuple[int, int, int], num_classes: int, **build_kwargs):
        rng = np.random.default_rng(0)
        model = models.build(name, input_shape=input_shape, num_classes=num_classes, **build_kwargs)
        assert isinstance(model, keras.Model) and model.name == name
        # Logits: the classifier is linear, nothing (softmax) follows it.
        assert model.layers[-1].name == "logits"
        # Linear (zoo) or no activation (the float32 Identity a user's builder is wrapped in).
        assert model.layers[-1].get_config().get("activation", "linear") == "linear"
        model.set_weights(_perturbed_weights(model, rng))

        images = rng.uniform(0.0, 1.0, size=(_BATCH, *input_shape)).astype("float32")
        assert model(images, training=False).dtype == "float32"
        logits = contract.check_logits(
            model, input_shape, num_classes, who=f"model {name!r}", images=images
        )
        # Different images give different logits (the model is not constant).
        assert not np.allclose(logits[0], logits[1])

        # Eager and traced graphs may order float32 reductions differently: compare to 1e-5 of the
        # logits' scale (a wrong or missing weight changes them by far more).
        tolerance = dict(rtol=1e-5, atol=1e-5 * max(1.0, float(np.max(np.abs(logits)))))

        clone = keras.Model.from_config(model.get_config())
        assert [type(layer) for layer in clone.layers] == [type(layer) for layer in model.layers]
        clone.set_weights(model.get_weights())
        np.testing.assert_allclose(clone(images, training=False), logits, **tolerance)

        export_dir = str(tmp_path / f"{name}_export")
        model.export(export_dir, verbose=False)
        # Keep the loaded object alive: its variables die with it.
        reloaded = tf.saved_model.load(export_dir)
        served = reloaded.serve(tf.constant(images))
        np.testing.assert_allclose(served.numpy(), logits, **tolerance)
        return model

    return check
