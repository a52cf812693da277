"""Teachers not trained here: a keras-hub preset, a ``keras.applications`` model or a saved file.

A source is one string, parsed here and nowhere else:

- ``keras_hub:PRESET``: ``keras_hub.models.ImageClassifier.from_preset(PRESET)``; PRESET is a
  keras-hub preset name (``resnet_50_imagenet``), a Hugging Face or Kaggle handle
  (``hf://timm/resnet34.a1_in1k``: keras-hub converts timm checkpoints) or a local preset
  directory (``save_to_preset``). Its own image converter decides the preprocessing.
- ``keras_applications:NAME``: ``keras.applications.NAME`` with ImageNet weights; the family's
  ``preprocess_input`` mode is held in ``_APPLICATION_MODES``.
- ``saved_model:PATH``: a ``.keras`` file or a TF SavedModel directory, taking [0, 1] RGB images
  (the way this package's own models and exports take them) unless ``preprocessing`` says else.

Options follow a ``?``: ``weights=none`` (keras_applications: random initialization, with as
many classes as the dataset: how offline tests build the architecture), ``image_size=N`` (the
side the model sees; default: its own) and ``preprocessing=MODE`` (one of ``PREPROCESSING``).

The source's identity (``identity``) is known without loading anything: kind, name, options,
the preprocessing rule, and for local files the hash of their bytes. So a study knows a
pretrained teacher's spec hash, and every student's, before the teacher is imported. The
numbers the rule gives (resize, channel order, scale, offset) are the ``InputAdapter``'s config,
recorded in the teacher's result when it is imported.
"""

import hashlib
import os

import keras

from kd_efficacy.errors import ConfigError

KINDS = ("keras_hub", "keras_applications", "saved_model")
# How a model wants its input, given our [0, 1] RGB images x: x[..., channels] * scale + offset.
_IMAGENET_MEAN, _IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
PREPROCESSING = {
    "caffe": ("bgr", 255.0, (-103.939, -116.779, -123.68)),  # keras.applications ResNet, VGG
    "tf": ("rgb", 2.0, -1.0),  # [-1, 1]: MobileNet(V2), ResNetV2, Inception, Xception, NASNet
    "torch": (
        "rgb",
        tuple(1 / s for s in _IMAGENET_STD),
        tuple(-m / s for m, s in zip(_IMAGENET_MEAN, _IMAGENET_STD)),
    ),
    "0_255": ("rgb", 255.0, 0.0),  # models that normalize inside (EfficientNet, ConvNeXt, ...)
    "0_1": ("rgb", 1.0, 0.0),  # this package's own models and exports
}
# keras.applications families by name prefix -> their preprocess_input mode (longest first).
_APPLICATION_MODES = (
    ("ResNet50V2", "tf"), ("ResNet101V2", "tf"), ("ResNet152V2", "tf"), ("ResNet", "caffe"),
    ("VGG", "caffe"), ("MobileNetV3", "0_255"), ("MobileNet", "tf"), ("EfficientNet", "0_255"),
    ("ConvNeXt", "0_255"), ("RegNet", "0_255"), ("DenseNet", "torch"), ("Inception", "tf"),
    ("Xception", "tf"), ("NASNet", "tf"),
)  # fmt: skip
_OPTIONS = ("weights", "image_size", "preprocessing")


def is_source(text):
    """True when ``text`` names a pretrained source (``kind:...``), not a model to train here."""
    return isinstance(text, str) and text.partition(":")[0] in KINDS


def parse(source):
    """(kind, name, options) of a source string; one ConfigError line for a malformed one."""
    kind, _, rest = source.partition(":")
    if kind not in KINDS or not rest:
        raise ConfigError(
            f"teacher source {source!r} is not one of {', '.join(k + ':...' for k in KINDS)}; "
            "e.g. 'keras_hub:resnet_50_imagenet' or 'saved_model:/path/teacher.keras'"
        )
    name, _, query = rest.partition("?")
    options = {}
    for item in filter(None, query.split("&")):
        key, _, value = item.partition("=")
        if key not in _OPTIONS or not value:
            raise ConfigError(
                f"teacher source {source!r}: option {item!r} is not one of "
                f"{', '.join(o + '=...' for o in _OPTIONS)}"
            )
        options[key] = value
    if "image_size" in options:
        if not options["image_size"].isdigit() or int(options["image_size"]) < 1:
            raise ConfigError(f"teacher source {source!r}: image_size must be a positive integer")
        options["image_size"] = int(options["image_size"])
    if options.get("preprocessing", "0_1") not in PREPROCESSING:
        raise ConfigError(
            f"teacher source {source!r}: preprocessing must be one of {sorted(PREPROCESSING)}"
        )
    if options.get("weights", "imagenet") not in ("imagenet", "none"):
        raise ConfigError(f"teacher source {source!r}: weights must be 'imagenet' or 'none'")
    if "weights" in options and kind != "keras_applications":
        raise ConfigError(
            f"teacher source {source!r}: weights= applies to keras_applications only (a "
            "keras-hub preset or a saved file brings its own weights)"
        )
    return kind, name, options


def check(source):
    """Checks a source without loading it (names, local paths); returns its identity."""
    kind, name, options = parse(source)
    if kind == "keras_applications" and not callable(getattr(keras.applications, name, None)):
        raise ConfigError(
            f"teacher source {source!r}: keras.applications has no model {name!r}; use one of "
            "its names, e.g. ResNet50, ResNet101, ResNet152, MobileNetV3Small"
        )
    unknown = kind == "keras_applications" and _application_mode(name) is None
    if unknown and "preprocessing" not in options:
        raise ConfigError(
            f"teacher source {source!r}: the preprocessing of {name} is not known here; "
            f"add ?preprocessing=MODE (one of {sorted(PREPROCESSING)})"
        )
    if kind == "saved_model":
        if not (os.path.isdir(name) or (os.path.isfile(name) and name.endswith(".keras"))):
            raise ConfigError(
                f"teacher source {source!r}: {name} is neither a .keras file nor a SavedModel "
                "directory; fix the path"
            )
        if os.path.isdir(name) and not os.path.isfile(os.path.join(name, "saved_model.pb")):
            raise ConfigError(f"teacher source {source!r}: {name} holds no saved_model.pb")
    return identity(source)


def identity(source):
    """The source's part of a teacher spec: what decides the teacher's weights and inputs."""
    kind, name, options = parse(source)
    ident = {
        "kind": kind,
        "name": name,
        "options": options,
        "preprocessing": _rule(kind, name, options),
    }
    if kind == "saved_model" or (kind == "keras_hub" and os.path.isdir(name)):
        ident["name"] = os.path.abspath(name)
        ident["file_hash"] = _hash_files(name)
    return ident


def _rule(kind, name, options):
    if "preprocessing" in options:
        return options["preprocessing"]
    if kind == "keras_hub":
        return "preset"  # the preset's own image converter (read when the preset is loaded)
    if kind == "keras_applications":
        return _application_mode(name)
    return "0_1"


def _application_mode(name):
    return next((mode for prefix, mode in _APPLICATION_MODES if name.startswith(prefix)), None)


def _hash_files(path):
    """sha256 over a file's bytes, or over a directory's files (relative names and bytes)."""
    digest = hashlib.sha256()
    files = [path] if os.path.isfile(path) else sorted(
        os.path.join(here, f) for here, _, names in os.walk(path) for f in names
    )  # fmt: skip
    for file in files:
        digest.update(os.path.relpath(file, path).encode())
        with open(file, "rb") as f:
            for block in iter(lambda: f.read(2**20), b""):
                digest.update(block)
    return digest.hexdigest()[:16]
