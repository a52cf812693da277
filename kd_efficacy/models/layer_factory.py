"""The layer conventions every architecture in the zoo shares.

Keeping them in one place keeps the families comparable (a teacher and a student differ only in
their topology) and lets one switch, ``sync_batchnorm``, reach every BatchNormalization layer.

- Convolutions use ``'same'`` padding, so spatial size is ``ceil(size / stride)`` and never drops
  below 1: every model accepts any input size, down to the 8x8 embedded digits. With stride 2,
  TensorFlow pads on the bottom/right only, unlike PyTorch's symmetric padding; parameter counts
  and accuracy are unaffected.
- Convolution kernels use He initialization with ``fan_out`` (He et al. 2015), as the PyTorch
  reference implementations of the KD literature do.
- BatchNormalization uses PyTorch's defaults (momentum 0.1 in PyTorch's convention, i.e. 0.9 in
  Keras's; epsilon 1e-5) because the training recipes we reproduce were tuned with them.
- The classifier is a float32 Dense producing logits, so outputs are float32 under a mixed-precision
  global policy (softmax/KL in the losses stay numerically safe).
- Weight decay is not attached to layers; it belongs to the optimizer.
"""

import dataclasses

import keras

BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5


@dataclasses.dataclass(frozen=True)
class LayerFactory:
    """Creates layers following the zoo's conventions."""

    sync_batchnorm: bool = False

    def conv(
        self, filters: int, kernel_size: int, *, name: str, strides: int = 1, use_bias: bool = False
    ) -> keras.layers.Conv2D:
        # A fresh initializer per layer: unseeded Keras initializers draw new values on each call.
        initializer = keras.initializers.VarianceScaling(
            scale=2.0, mode="fan_out", distribution="untruncated_normal"
        )
        return keras.layers.Conv2D(
            filters,
            kernel_size,
            strides=strides,
            padding="same",
            use_bias=use_bias,
            kernel_initializer=initializer,
            name=name,
        )

    def batch_norm(self, *, name: str) -> keras.layers.BatchNormalization:
        return keras.layers.BatchNormalization(
            momentum=BN_MOMENTUM,
            epsilon=BN_EPSILON,
            synchronized=self.sync_batchnorm,
            name=name,
        )

    def bn_relu(self, x, *, name: str):
        """BatchNormalization followed by ReLU, the pair every family uses."""
        x = self.batch_norm(name=f"{name}_bn")(x)
        return keras.layers.ReLU(name=f"{name}_relu")(x)

    def classifier(self, x, num_classes: int):
        """Global average pooling and a float32 Dense layer producing the logits."""
        x = keras.layers.GlobalAveragePooling2D(name="pool")(x)
        return keras.layers.Dense(num_classes, dtype="float32", name="logits")(x)
