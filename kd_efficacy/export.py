"""Export the student alone: a SavedModel whose ``serve`` signature takes [0, 1] images
(normalization is inside the model), optionally a TFLite flatbuffer beside it.

The export is checked before it is published: the reloaded SavedModel must give the in-memory
student's logits. It is written to a temporary directory and renamed into place, so ``export/``
is either absent or whole.
"""

import os
import shutil

import numpy as np
import tensorflow as tf

from kd_efficacy import run_dir


def export_student(student, export_dir, sample_images, tflite=False, atol=1e-4):
    """Writes ``export_dir/saved_model`` (+ ``student.tflite``); returns the max |Δ logits|."""
    staging = export_dir.rstrip("/") + run_dir.EXPORT_STAGING_SUFFIX
    shutil.rmtree(staging, ignore_errors=True)
    os.makedirs(staging)
    saved_model = os.path.join(staging, run_dir.SAVED_MODEL)
    student.export(saved_model, format="tf_saved_model", verbose=False)
    images = tf.convert_to_tensor(sample_images, tf.float32)
    error = max_logit_error(saved_model, student, images)
    if error > atol:
        raise RuntimeError(f"exported student disagrees with the trained one by {error:.2e}")
    if tflite:
        converter = tf.lite.TFLiteConverter.from_saved_model(saved_model)
        with open(os.path.join(staging, run_dir.TFLITE), "wb") as f:
            f.write(converter.convert())
    shutil.rmtree(export_dir, ignore_errors=True)
    os.replace(staging, export_dir)
    return error


def max_logit_error(saved_model_dir, student, images):
    reloaded = tf.saved_model.load(saved_model_dir)
    served = reloaded.serve(images)
    expected = student(images, training=False)
    return float(np.max(np.abs(np.asarray(served) - np.asarray(expected))))
