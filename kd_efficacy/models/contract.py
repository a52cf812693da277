"""The contract every model must keep, checked on the model itself: a batch of [0, 1] images in,
one float tensor of logits (batch, num_classes) out, finite, and not probabilities.

The zoo's tests (tests/models/conftest.py) and the build of every user-registered builder
(``custom.py``, before anything is trained) run this same check, so "your own model" is held to
the zoo's rules. A broken model gives one ``ConfigError`` naming what broke and the fix.
"""

import keras
import numpy as np

from kd_efficacy.errors import ConfigError

_BATCH = 2
# keras.activations functions whose outputs are probabilities, not logits.
_PROBABILITY_ACTIVATIONS = {"softmax", "sigmoid"}


def random_images(input_shape, batch=_BATCH, seed=0) -> np.ndarray:
    """A fixed batch of uniform [0, 1] float32 images, the input every model must take."""
    rng = np.random.default_rng(seed)
    return rng.uniform(0.0, 1.0, size=(batch, *input_shape)).astype("float32")


def check_logits(model, input_shape, num_classes, *, who, images=None) -> np.ndarray:
    """Runs ``model`` on ``images`` (default ``random_images``); returns its logits as numpy.

    ``who`` names the model in the error (e.g. "model builder 'my_cnn' (my_models.my_cnn)").
    """
    fix = f"return keras.Model(inputs, logits) with logits of shape (batch, {num_classes})"
    if not isinstance(model, keras.Model):
        raise ConfigError(f"{who} returned {type(model).__name__}, not a keras.Model; {fix}")
    images = random_images(input_shape) if images is None else images
    try:
        outputs = model(images, training=False)
    except Exception as error:  # noqa: BLE001  (any failure here is the builder's contract)
        reason = " ".join(str(error).split())[:200]
        raise ConfigError(
            f"{who} does not take a batch of images of shape {tuple(input_shape)} "
            f"({type(error).__name__}: {reason}); build it for input_shape={tuple(input_shape)}"
        ) from None
    if isinstance(outputs, (list, tuple, dict)):
        raise ConfigError(f"{who} returns a {type(outputs).__name__} of outputs; {fix}")
    shape = tuple(outputs.shape)
    if shape != (len(images), num_classes):
        raise ConfigError(
            f"{who} returns outputs of shape {shape[1:]} per image, not ({num_classes},) "
            f"for the dataset's {num_classes} classes; end the model with "
            f"keras.layers.Dense(num_classes) (no activation)"
        )
    if "float" not in keras.backend.standardize_dtype(outputs.dtype):  # bfloat16 included
        raise ConfigError(f"{who} returns {outputs.dtype} outputs; logits must be floats")
    logits = np.asarray(keras.ops.convert_to_numpy(outputs), dtype="float64")
    if not np.all(np.isfinite(logits)):
        raise ConfigError(f"{who} returns non-finite outputs for [0, 1] images; {fix}")
    activation = final_activation(model)
    probabilities = (
        np.all(logits >= 0) and np.all(logits <= 1) and np.allclose(logits.sum(-1), 1, atol=1e-3)
    )
    if activation in _PROBABILITY_ACTIVATIONS or probabilities:
        final = activation in _PROBABILITY_ACTIVATIONS
        what = f"a final {activation}" if final else "outputs that sum to 1 per image"
        raise ConfigError(
            f"{who} outputs probabilities ({what}), but distillation needs logits; "
            "drop the final softmax/sigmoid (end with keras.layers.Dense(num_classes))"
        )
    return logits


def final_activation(model) -> str | None:
    """The name of the activation applied last, when the last layer has one (nested models and
    Activation/Softmax layers included); None when it cannot be told."""
    layer = model
    while isinstance(layer, keras.Model) and layer.layers:
        layer = layer.layers[-1]
    if isinstance(layer, keras.layers.Softmax):
        return "softmax"
    function = getattr(layer, "activation", None)
    return getattr(function, "__name__", None) if callable(function) else None
