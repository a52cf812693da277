"""Export the student alone: a SavedModel whose ``serve`` signature takes [0, 1] images
(normalization is inside the model) and returns ``logits`` and ``probabilities``, the class names
beside it, optionally a TFLite flatbuffer too.

``export/`` holds ``saved_model/``, ``labels.txt`` (line i names label id i) and, with
``export_tflite``, ``student.tflite``. Both formats serve the same named outputs: in TensorFlow
``loaded.serve(images)["probabilities"]`` (also the ``serving_default`` signature); in TFLite
``interpreter.get_signature_runner()(images=...)["probabilities"]``. The TFLite output *tensors*
keep converter names (``StatefulPartitionedCall:0``, ...); only its signature carries ours.

The export is checked before it is published: the reloaded SavedModel must give the in-memory
student's logits. It is written to a temporary directory and renamed into place, so ``export/``
is either absent or whole.
"""

import os
import shutil

import keras
import numpy as np
import tensorflow as tf

from kd_efficacy import run_dir

LOGITS, PROBABILITIES = "logits", "probabilities"  # the serving outputs


def export_student(student, export_dir, sample_images, class_names, tflite=False, atol=1e-4):
    """Writes ``export_dir/{saved_model, labels.txt}`` (+ ``student.tflite``); returns the max
    |Δ logits| between the reloaded SavedModel and ``student`` on ``sample_images``."""
    if len(class_names) != student.output_shape[-1]:
        raise ValueError(f"{len(class_names)} class names for {student.output_shape[-1]} logits")
    staging = export_dir.rstrip("/") + run_dir.EXPORT_STAGING_SUFFIX
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(staging)
    saved_model = os.path.join(staging, run_dir.SAVED_MODEL)
    _write_saved_model(student, saved_model)
    images = tf.convert_to_tensor(sample_images, tf.float32)
    error = max_logit_error(saved_model, student, images)
    if error > atol:
        raise RuntimeError(f"exported student disagrees with the trained one by {error:.2e}")
    with open(os.path.join(staging, run_dir.CLASS_NAMES), "w", encoding="utf-8") as f:
        f.write("".join(f"{name}\n" for name in class_names))
    if tflite:
        converter = tf.lite.TFLiteConverter.from_saved_model(saved_model)
        with open(os.path.join(staging, run_dir.TFLITE), "wb") as f:
            f.write(converter.convert())
    shutil.rmtree(export_dir, ignore_errors=True)
    os.replace(staging, export_dir)
    return error


def _write_saved_model(student, path):
    # An explicit endpoint instead of model.export(): its outputs get names (Keras' default
    # signature returns one unnamed tensor, served as "output_0").
    archive = keras.export.ExportArchive()
    # The student's variables, not the student: track() also walks every descendant looking for
    # lookup tables (tracing each layer's default save signature on the way), which an image
    # classifier does not hold; that walk was a quarter of each run's export. The reloaded
    # model keeps the same three variable lists.
    for name in ("variables", "trainable_variables", "non_trainable_variables"):
        archive.add_variable_collection(name, getattr(student, name))
    spec = tf.TensorSpec((None, *student.input_shape[1:]), tf.float32, name="images")

    def serve(images):
        logits = tf.cast(student(images, training=False), tf.float32)
        return {LOGITS: logits, PROBABILITIES: tf.nn.softmax(logits)}

    archive.add_endpoint("serve", serve, input_signature=[spec])
    archive.write_out(path, verbose=False)


def max_logit_error(saved_model_dir, student, images):
    reloaded = tf.saved_model.load(saved_model_dir)
    served = reloaded.serve(images)[LOGITS]
    expected = student(images, training=False)
    return float(np.max(np.abs(np.asarray(served) - np.asarray(expected))))
