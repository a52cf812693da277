"""Your own Keras model as student or teacher: register its builder under a name, use the name.

    # my_models.py (anywhere on PYTHONPATH)
    import keras
    from kd_efficacy import models

    @models.register_builder("my_cnn")
    def my_cnn(input_shape, num_classes):
        inputs = keras.Input(input_shape)
        x = keras.layers.Conv2D(32, 3, activation="relu")(inputs)
        x = keras.layers.GlobalAveragePooling2D()(x)
        return keras.Model(inputs, keras.layers.Dense(num_classes)(x))  # logits: no softmax

    # my_run.gin
    import my_models                  # gin imports the module, which registers the name
    MODEL = 'my_cnn'                  # or STUDENT = 'my_cnn'; a teacher run of it works the same

A builder takes ``(input_shape, num_classes)`` (plus any keyword options it declares) and returns
a ``keras.Model`` mapping [0, 1]-scaled, already normalized images (H, W, C) to logits
(batch, num_classes). ``models.build`` wraps it like a zoo model: an ``images`` input, the
dataset's ``Normalization`` first, a float32 ``logits`` layer last (so mixed precision, the
export and the teacher loader see the same thing), named after the registered name. The spec
records only the name, so run identities stay plain JSON. Before anything trains,
``contract.check_logits`` runs the built model once and refuses a wrong output shape or
probabilities with one line naming the builder and the fix.

``sync_batchnorm`` applies to zoo models only: a builder chooses its own layers (use
``keras.layers.BatchNormalization(synchronized=True)`` there).
"""

import inspect
import re

import keras

from kd_efficacy.errors import ConfigError
from kd_efficacy.models import contract, registry

_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_.-]*")  # a study names run directories after models
_BUILDERS: dict = {}


def register_builder(name: str):
    """Decorator registering ``builder(input_shape, num_classes, **options)`` as model ``name``."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"model name {name!r}: use letters, digits, '_', '.', '-'")
    try:
        registry.resolve(name)
    except ConfigError:
        pass
    else:
        raise ValueError(f"model name {name!r} is a zoo model; register yours under another name")

    def decorator(builder):
        previous = _BUILDERS.get(name)
        if previous is not None and _qualified(previous) != _qualified(builder):
            raise ValueError(
                f"model name {name!r} is already registered by {_qualified(previous)}; "
                f"pick another name for {_qualified(builder)}"
            )
        _BUILDERS[name] = builder
        return builder

    return decorator


def lookup(name):
    """The builder registered as ``name``, or None."""
    return _BUILDERS.get(name) if isinstance(name, str) else None


def hint() -> str:
    """For "unknown model" errors: how a user's own builder becomes known in this process."""
    registered = ", ".join(sorted(_BUILDERS)) or "none"
    return (
        f"your own builders: {registered} (register one with @models.register_builder and "
        "import its module in the gin file, e.g. `import my_models`)"
    )


def build_logits(name, inputs, *, input_shape, num_classes, options):
    """Builds the registered model ``name``, checks its contract and applies it to ``inputs``."""
    builder = _BUILDERS[name]
    who = f"model builder {name!r} ({_qualified(builder)})"
    accepted = inspect.signature(builder).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in accepted.values())
    unknown = sorted(k for k in options if not takes_any and k not in accepted)
    if unknown:
        raise ConfigError(f"{who} does not take option(s) {unknown}; add them to its signature")
    model = builder(tuple(input_shape), num_classes, **options)
    contract.check_logits(model, input_shape, num_classes, who=who)
    # float32 whatever the policy: the losses and the export read float32 logits.
    return keras.layers.Identity(dtype="float32", name="logits")(model(inputs))


def _qualified(builder) -> str:
    return f"{getattr(builder, '__module__', '?')}.{getattr(builder, '__qualname__', builder)}"
