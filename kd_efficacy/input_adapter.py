"""InputAdapter: our [0, 1] RGB images -> the input a pretrained model expects.

Every dataset here yields float images in [0, 1], RGB, at the dataset's size; models built here
normalize inside themselves. A pretrained model wants its own size, channel order and scaling
(keras.applications' ``preprocess_input`` modes, a keras-hub preset's image converter), so a
pretrained teacher is ``InputAdapter -> model``. The adapter is plain arithmetic (resize, channel
flip, ``x * scale + offset``) with no weights, serializable so the whole teacher saves as one
``.keras`` file; its config is recorded in the teacher's result.json.
"""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="kd_efficacy")
class InputAdapter(keras.layers.Layer):
    """``size``: (height, width) to resize to, or None; ``to_rgb``: repeat a gray channel three
    times; ``bgr``: reverse the channels; ``scale``/``offset``: a number or one per channel,
    applied after the flip."""

    def __init__(self, size=None, to_rgb=False, bgr=False, scale=1.0, offset=0.0, **kwargs):
        super().__init__(**kwargs)
        self.size = None if size is None else tuple(int(s) for s in size)
        self.to_rgb = bool(to_rgb)
        self.bgr = bool(bgr)
        self.scale = _floats(scale)
        self.offset = _floats(offset)

    def call(self, images):
        x = ops.cast(images, "float32")
        if self.size is not None and tuple(x.shape[1:3]) != self.size:
            x = ops.image.resize(x, self.size, interpolation="bilinear", antialias=True)
        if self.to_rgb:
            x = ops.repeat(x, 3, axis=-1)
        if self.bgr:
            x = ops.flip(x, axis=-1)
        return x * ops.convert_to_tensor(self.scale) + ops.convert_to_tensor(self.offset)

    def compute_output_shape(self, input_shape):
        size = self.size or tuple(input_shape[1:3])
        return (input_shape[0], *size, 3 if self.to_rgb else input_shape[3])

    def get_config(self):
        return {
            **super().get_config(),
            "size": None if self.size is None else list(self.size),
            "to_rgb": self.to_rgb,
            "bgr": self.bgr,
            "scale": self.scale,
            "offset": self.offset,
        }


@keras.saving.register_keras_serializable(package="kd_efficacy")
class ProbabilitiesToLogits(keras.layers.Layer):
    """log(p), for a model that ends in softmax: logits up to a per-example constant, which
    softmax at any temperature ignores, so KD sees the teacher it was given."""

    def call(self, probabilities):
        return ops.log(ops.maximum(ops.cast(probabilities, "float32"), 1e-12))


def _floats(value):
    return [float(v) for v in value] if isinstance(value, (list, tuple)) else float(value)
