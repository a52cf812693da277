"""The exported student as a user meets it: named outputs, class names beside the SavedModel and
the TFLite file, and the README's example (docs/examples/classify.py), run as written."""

import os
import re
import subprocess
import sys

import keras
import numpy as np
import pytest
import tensorflow as tf
from kd_testing import REPO_ROOT, cli_env
from PIL import Image
from sklearn.datasets import load_digits

from kd_efficacy import data, export, models, run_dir

EXAMPLE = os.path.join(REPO_ROOT, "docs", "examples", "classify.py")
README_MARKER = "<!-- tested: docs/examples/classify.py -->"
NAMES = ("ant", "bee", "cat")


def _tiny_model(shape=(6, 6, 3), classes=3):
    inputs = keras.Input(shape, name="images")
    x = keras.layers.Dense(classes, name="logits")(keras.layers.Flatten()(inputs))
    return keras.Model(inputs, x)


def _normalized_model(shape=(6, 6, 3), classes=3):
    inputs = keras.Input(shape, name="images")
    x = keras.layers.BatchNormalization(name="bn")(inputs)  # non-trainable statistics too
    x = keras.layers.Dense(classes, name="logits")(keras.layers.Flatten()(x))
    return keras.Model(inputs, x)


def test_export_serves_named_outputs_and_writes_class_names_for_both_formats(tmp_path):
    student = _normalized_model()
    images = np.random.default_rng(0).uniform(size=(4, 6, 6, 3)).astype("float32")
    directory = str(tmp_path / "export")
    error = export.export_student(student, directory, images, NAMES, tflite=True)
    assert error <= 1e-4
    assert sorted(os.listdir(directory)) == sorted(
        [run_dir.SAVED_MODEL, run_dir.TFLITE, run_dir.CLASS_NAMES]
    )
    with open(os.path.join(directory, run_dir.CLASS_NAMES), encoding="utf-8") as f:
        assert f.read() == "ant\nbee\ncat\n"
    logits = student(images).numpy()
    expected = {"logits": logits, "probabilities": tf.nn.softmax(logits).numpy()}

    loaded = tf.saved_model.load(os.path.join(directory, run_dir.SAVED_MODEL))
    for collection in ("variables", "trainable_variables", "non_trainable_variables"):
        ours, reloaded = getattr(student, collection), getattr(loaded, collection)
        assert len(reloaded) == len(ours) > 0, collection
        for mine, theirs in zip(ours, reloaded):
            np.testing.assert_array_equal(theirs.numpy(), np.asarray(mine))
    signature = loaded.signatures["serving_default"]
    assert set(signature.structured_outputs) == set(expected)  # no "output_0"
    for served in (loaded.serve(images), signature(images=tf.constant(images))):
        for key, value in expected.items():
            np.testing.assert_allclose(served[key], value, rtol=1e-5, atol=1e-6)

    interpreter = tf.lite.Interpreter(model_path=os.path.join(directory, run_dir.TFLITE))
    runner = interpreter.get_signature_runner()
    assert interpreter.get_signature_list()["serving_default"]["outputs"] == sorted(expected)
    served = runner(images=images)
    for key, value in expected.items():
        np.testing.assert_allclose(served[key], value, rtol=1e-4, atol=1e-5)


def test_class_names_must_match_the_logits():
    with pytest.raises(ValueError, match="2 class names for 3 logits"):
        export.export_student(_tiny_model(), "/nonexistent/export", np.zeros((1, 6, 6, 3)), "ab")


@pytest.fixture(scope="module")
def quickstart_export(tmp_path_factory):
    """A digits student exported where the README example looks: runs/quickstart/student/export.

    Exported by the run's own export step, untrained: what the example meets is the export's
    format (a run's export is checked by assert_run_contract, labels.txt included)."""
    root = tmp_path_factory.mktemp("user")
    info = data.describe("digits")
    student = models.build(
        "resnet8",
        input_shape=info.image_shape,
        num_classes=info.num_classes,
        mean=info.mean,
        std=info.std,
    )
    sample = np.random.default_rng(0).uniform(size=(2, *info.image_shape)).astype("float32")
    target = root / "runs" / "quickstart" / "student" / run_dir.EXPORT_DIR
    export.export_student(student, str(target), sample, info.class_names)
    return root


def test_the_readme_example_classifies_an_image_file_as_written(quickstart_export):
    image = tf.image.convert_image_dtype(tf.constant(_digit_png_pixels()), tf.uint8)
    png = tf.io.encode_png(image).numpy()
    (quickstart_export / "digit.png").write_bytes(png)
    done = subprocess.run(
        [sys.executable, EXAMPLE],
        cwd=quickstart_export,
        env=cli_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    name, probability = done.stdout.split()

    # The same answer, computed here from the PNG's bytes decoded by another library.
    pixels = np.asarray(Image.open(quickstart_export / "digit.png"), np.float32)[..., None] / 255
    export_dir = quickstart_export / "runs/quickstart/student/export"
    loaded = tf.saved_model.load(str(export_dir / "saved_model"))
    probabilities = loaded.serve(pixels[None])["probabilities"][0].numpy()
    names = (export_dir / "labels.txt").read_text().splitlines()
    assert names == [str(i) for i in range(10)]
    assert name == names[probabilities.argmax()]
    np.testing.assert_allclose(float(probability), probabilities.max(), rtol=1e-4)


def _digit_png_pixels():
    return (load_digits().images[0] / 16.0)[..., None].astype("float32")  # a 0, 8x8 grayscale


def test_the_readme_shows_the_example_as_tested():
    with open(os.path.join(REPO_ROOT, "README.md"), encoding="utf-8") as f:
        readme = f.read()
    if README_MARKER not in readme:
        pytest.skip(f"README.md has no {README_MARKER} block yet")
    block = re.search(r"```python\n(.*?)```", readme[readme.index(README_MARKER) :], re.S)
    with open(EXAMPLE, encoding="utf-8") as f:
        assert block and block.group(1) == f.read(), "README's example differs from the file"
