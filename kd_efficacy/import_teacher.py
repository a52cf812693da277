"""``import_teacher``: a pretrained model (pretrained.py) turned into a complete teacher run.

The run directory it writes is what every study and ``distill`` read of a teacher: ``run.json``
(the spec: name, source identity, recipe, seed), ``teacher.keras`` (``InputAdapter -> model``,
the whole teacher), the ``last`` and ``best`` snapshots (the same weights: an imported teacher
has one state), and ``result.json`` with the model info (classes, our input shape, parameters,
the adapter) and its accuracy and loss measured on our validation and test splits. It has no
metrics.jsonl rows, checkpoints or epoch snapshots: it was not trained here, so a student can
use it for full KD and ESKD but not as an early-stopped teacher (teachers.describe refuses).

Nothing is downloaded here beyond what the source's own loader fetches: keras-hub caches
presets under ``$KAGGLEHUB_CACHE`` (Kaggle handles) or the Hugging Face cache (``hf://``),
keras.applications under ``~/.keras/models``.
"""

import os
import shutil
import time
import warnings

import gin
import keras
import numpy as np
import tensorflow as tf

from kd_efficacy import data, hardware, models, pretrained, run_dir, run_lock
from kd_efficacy.errors import ConfigError
from kd_efficacy.input_adapter import InputAdapter, ProbabilitiesToLogits
from kd_efficacy.recipe import Recipe

TASK = "import_teacher"
_POLL_SECONDS = 2.0  # how often another worker looks for the chief's finished import


@gin.register
def import_teacher(
    ctx, source: str = gin.REQUIRED, recipe: Recipe = gin.REQUIRED, name: str = "teacher"
):
    """Imports ``source`` as a teacher run in ``ctx.model_dir`` (TEACHER_DIR for ``distill``)."""
    spec = import_spec(name, source, recipe, ctx.seed)
    if not run_dir.is_complete(ctx.model_dir, spec):
        data.build(recipe.dataset, **recipe.data_args())  # the data's names and folders, first
    return execute(ctx, spec)


def import_spec(name, source, recipe, seed=0):
    """The spec of an imported teacher; checks the source (no download) and fixes its hash."""
    return {
        "task": TASK,
        "model": name,
        "source": pretrained.check(source),
        "recipe": recipe.as_dict(),  # the data it is evaluated on
        "seed": int(seed),
        "snapshot_epochs": [],
        "teachers": [],
    }


def is_imported(result_or_spec):
    return bool(result_or_spec) and result_or_spec.get("task") == TASK


def execute(ctx, spec, wait_for_lock=None):
    """Imports into ``ctx.model_dir`` under its lease; a complete import is a no-op."""
    directory = ctx.model_dir
    if not ctx.is_chief:  # the chief's files are the teacher: other workers wait for them
        while not run_dir.is_complete(directory, spec):
            time.sleep(_POLL_SECONDS)
        return run_dir.read_result(directory)
    run_dir.check_same(directory, spec)
    with run_lock.holding(directory, wait=wait_for_lock):
        if run_dir.claim(directory, spec):
            print(f"[kd_efficacy] {directory}: complete run of the same config, nothing to do")
            return run_dir.read_result(directory)
        return _import(ctx, spec, directory)


def _import(ctx, spec, directory):
    started = time.time()
    recipe = Recipe.from_dict(spec["recipe"])
    dataset = data.build(recipe.dataset, **recipe.data_args(), seed=spec["seed"])
    info = dataset.info
    source = spec["source"]
    if _is_saved_model_dir(source):  # Keras cannot save a TFSMLayer: keep the SavedModel itself
        copy = os.path.join(directory, run_dir.IMPORTED_SAVED_MODEL)
        shutil.rmtree(copy, ignore_errors=True)  # a killed import's partial copy
        shutil.copytree(source["name"], copy)
        source = {**source, "name": copy}
    teacher, adapter = build(source, info.image_shape, info.num_classes, spec["model"])
    params = models.trainable_param_count(teacher)
    val, test = _evaluate(teacher, dataset.eval), _evaluate(teacher, dataset.test)
    if not _is_saved_model_dir(source):
        teacher.save(os.path.join(directory, run_dir.IMPORTED_MODEL))
    snapshots = os.path.join(directory, run_dir.SNAPSHOTS_DIR)
    os.makedirs(snapshots, exist_ok=True)
    for which in ("last", "best"):  # one state: the weights a student's snapshot key hashes
        teacher.save_weights(run_dir.snapshot_path(snapshots, which))
    row = {"epoch": 0, "val_accuracy": val["accuracy"], "val_loss": val["loss"]}
    fields = {
        "task": TASK,
        "model": {
            "name": spec["model"],
            "params": params,
            "input_shape": list(info.image_shape),
            "num_classes": info.num_classes,
            "mean": list(info.mean),
            "std": list(info.std),
            "source": spec["source"],
            "adapter": adapter,
        },
        "dataset": info.name,
        "splits": {"train": info.num_train, "validation": info.num_eval, "test": info.num_test},
        "selection_split": "validation",
        "teachers": [],
        "seed": spec["seed"],
        "epochs": 0,
        "last": row,
        "best": row,
        "test": test,
        "train_seconds": 0.0,
        "session_seconds": time.time() - started,
        "replicas": ctx.strategy.num_replicas_in_sync,
        "teacher_val_accuracy": None,
        "teacher_test_accuracy": None,
        "hardware": hardware.describe(),
    }
    print(
        f"[kd_efficacy] {directory}: imported {spec['source']['kind']}:{spec['source']['name']}, "
        f"val acc {val['accuracy']:.4f} (test {test['accuracy']:.4f})"
    )
    return run_dir.write_result(directory, spec, "complete", **fields)


def build(source, image_shape, num_classes, name="teacher"):
    """(``InputAdapter -> model`` taking our images and giving logits, the adapter's config).

    ``source``: a source identity (``pretrained.identity``). Raises one ConfigError line when
    the model's classes are not the dataset's.
    """
    model, size, rule = _load(source, num_classes)
    outputs = int(model.output_shape[-1])
    if outputs != num_classes:
        raise ConfigError(
            f"teacher {name} ({source['kind']}:{source['name']}) predicts {outputs} classes but "
            f"the dataset has {num_classes}; use a teacher trained on this dataset's classes "
            "(ImageNet presets need the 1000 ImageNet classes, in their order)"
        )
    to_rgb = image_shape[-1] == 1 and model.input_shape[-1] == 3  # gray data, an RGB model
    adapter = InputAdapter(size=size, to_rgb=to_rgb, **rule, name="input_adapter")
    inputs = keras.Input(tuple(image_shape), name="images")
    logits = model(adapter(inputs))
    if _ends_in_softmax(model):
        logits = ProbabilitiesToLogits(name="to_logits")(logits)
    teacher = keras.Model(inputs, logits, name=name)
    return teacher, {
        k: adapter.get_config()[k] for k in ("size", "to_rgb", "bgr", "scale", "offset")
    }


def load(teacher_dir):
    """The imported teacher of ``teacher_dir`` (its ``teacher.keras``, or the adapter around
    its SavedModel copy), not compiled; its snapshot weights are loaded by the caller."""
    info = run_dir.read_result(teacher_dir)["model"]
    source = info["source"]
    copy = {**source, "name": os.path.join(teacher_dir, run_dir.IMPORTED_SAVED_MODEL)}
    if _is_saved_model_dir(copy):  # the original may have moved since: the copy decides
        return build(copy, info["input_shape"], info["num_classes"], info["name"])[0]
    if source["kind"] == "keras_hub":
        import keras_hub  # noqa: F401  (registers keras-hub's layers for deserialization)
    with warnings.catch_warnings():  # keras-hub tasks are saved compiled; a teacher needs none
        warnings.filterwarnings("ignore", message=".*compile.*was not called")
        path = os.path.join(teacher_dir, run_dir.IMPORTED_MODEL)
        return keras.saving.load_model(path, compile=False)


def _is_saved_model_dir(source):
    return source["kind"] == "saved_model" and os.path.isdir(source["name"])


def _load(source, num_classes):
    """(model, the side it wants or None, the adapter rule's bgr/scale/offset)."""
    kind, name, options = source["kind"], source["name"], source["options"]
    side = options.get("image_size")
    if kind == "keras_hub":
        import keras_hub

        task = keras_hub.models.ImageClassifier.from_preset(name)
        converter = getattr(task.preprocessor, "image_converter", None)
        size = tuple(side and (side, side) or (converter and converter.image_size) or ()) or None
        if source["preprocessing"] == "preset":
            return task, size, converter_rule(converter)
        return task, size, preprocessing_rule(source["preprocessing"])
    if kind == "keras_applications":
        build_app = getattr(keras.applications, name)
        weights = None if options.get("weights") == "none" else "imagenet"
        kwargs = {"weights": weights, "classifier_activation": None}
        if weights is None:
            kwargs["classes"] = num_classes
        if side:
            kwargs["input_shape"] = (side, side, 3)
        model = build_app(**kwargs)
        return model, tuple(model.input_shape[1:3]), preprocessing_rule(source["preprocessing"])
    if os.path.isdir(name):
        model = _saved_model(name)
    else:
        model = keras.saving.load_model(name, compile=False)
    fixed = tuple(model.input_shape[1:3]) if None not in model.input_shape[1:3] else None
    return model, (side, side) if side else fixed, preprocessing_rule(source["preprocessing"])


def _saved_model(path):
    """A TF SavedModel as a Keras model (its serving signature, one output)."""
    layer = keras.layers.TFSMLayer(path, call_endpoint="serving_default")
    signature = tf.saved_model.load(path).signatures["serving_default"]
    spec = next(iter(signature.structured_input_signature[1].values()))
    inputs = keras.Input(tuple(spec.shape[1:]))
    outputs = layer(inputs)
    if isinstance(outputs, dict):
        outputs = next(iter(outputs.values()))
    return keras.Model(inputs, outputs)


def preprocessing_rule(mode):
    channels, scale, offset = pretrained.PREPROCESSING[mode]
    return {"bgr": channels == "bgr", "scale": scale, "offset": offset}


def converter_rule(converter):
    """A keras-hub image converter's ``x * scale + offset`` on [0, 255] inputs, for [0, 1]."""
    if converter is None:
        return preprocessing_rule("0_255")
    scale = 1.0 if converter.scale is None else converter.scale
    scale = [255.0 * s for s in scale] if isinstance(scale, (list, tuple)) else 255.0 * scale
    offset = 0.0 if converter.offset is None else converter.offset
    return {"bgr": False, "scale": scale, "offset": offset}


def _ends_in_softmax(model):
    activation = getattr(model, "activation", None) or getattr(model.layers[-1], "activation", None)
    return activation is not None and keras.activations.get(activation) is keras.activations.softmax


def _evaluate(teacher, stream):
    """{'accuracy', 'loss'} (top-1, mean cross-entropy) of the teacher on an eval stream."""
    forward = tf.function(lambda images: teacher(images, training=False))
    correct = total = 0
    loss = 0.0
    for images, labels in stream:
        logits = tf.cast(forward(images), tf.float32)
        labels = tf.reshape(tf.cast(labels, tf.int32), [-1])
        loss += float(
            tf.reduce_sum(
                keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
            )
        )
        correct += int(np.sum(np.argmax(logits.numpy(), -1) == labels.numpy()))
        total += int(labels.shape[0])
    return {"accuracy": correct / total, "loss": loss / total}
