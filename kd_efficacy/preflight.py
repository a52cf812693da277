"""Preflight: a run's inputs are checked before anything is written or trained.

The trainer meets its dataset, model and teachers only after claiming the run directory (and a
study meets a run's inputs only when that run's turn comes, possibly hours in). A typo found
there would leave a claimed directory that then refuses the corrected config, or a study stopped
halfway. So ``train``, ``distill`` and every study first call ``check_spec`` for each run: it
builds what the run would build, minus the training state, and raises the same ConfigErrors.

- data: the dataset's streams are built (lazy, cheap) with the run's batch and hold-out, which
  checks names, folders, classes, fractions and that a batch fits in the data;
- model: a name outside the canonical list (``models.names()``) is built once, which checks the
  family's parameters (a WRN depth not 6n+4, ...);
- teachers: same label space and input shape as the student's data, and a trained teacher's
  architecture buildable here (a user-registered builder's module imported);
- strategy: the global batch splits evenly over the replicas.
"""

from kd_efficacy import data, distribute, models, teachers
from kd_efficacy.errors import ConfigError
from kd_efficacy.recipe import Recipe


def check_spec(spec, strategy, teacher_models=(), cache=None):
    """Raises ConfigError for a bad input of ``spec``; returns its ``DatasetInfo``.

    ``teacher_models``: (teacher run dir, {'num_classes', 'input_shape'}) pairs; ``cache`` (a dict)
    shares datasets and models already checked between the runs of a study.
    """
    cache = {} if cache is None else cache
    recipe = Recipe.from_dict(spec["recipe"])
    distribute.check_batch(recipe.global_batch_size, strategy)
    info = _dataset_info(recipe, cache)
    if "source" not in spec:  # an imported teacher: its source was checked by its spec
        _check_model(spec["model"], info, cache)
    for teacher_dir, model_info in teacher_models:
        teachers.check_compatible(teacher_dir, model_info, info.num_classes, info.image_shape)
        if "name" in model_info:  # a trained teacher: e.g. its own builder must be registered
            try:
                _check_model(model_info["name"], info, cache)
            except ConfigError as error:
                raise ConfigError(f"teacher {teacher_dir}: {error}") from None
    return info


def model_info(dataset_info):
    """What ``teachers.check_compatible`` compares, for a teacher that is not trained yet."""
    return {"num_classes": dataset_info.num_classes, "input_shape": list(dataset_info.image_shape)}


def _dataset_info(recipe, cache):
    args = recipe.data_args()
    key = ("data", recipe.dataset, *(str(v) for v in args.values()))
    if key not in cache:
        cache[key] = data.build(recipe.dataset, **args).info
    return cache[key]


def _check_model(name, info, cache):
    key = ("model", name, tuple(info.image_shape), info.num_classes)
    if key in cache or name in models.names():
        return
    models.build(name, input_shape=tuple(info.image_shape), num_classes=info.num_classes)
    cache[key] = True
