"""Test helper: run an experiment in-process through the same gin parsing as the CLI."""

import gin

from kd_efficacy import experiment, gin_errors, run

TINY = [
    "EPOCHS = 2",
    "GLOBAL_BATCH_SIZE = 32",
    "recipe.max_train_examples = 128",
    "experiment.verbose = 0",
]


def run_experiment(gin_files, bindings=(), model_dir=None, tiny=True):
    """Parses like ``python -m kd_efficacy.run`` and runs; returns the task's result."""
    gin.clear_config()
    run.parse_gin(list(gin_files), (TINY if tiny else []) + list(bindings))
    kwargs = {"model_dir": str(model_dir)} if model_dir else {}
    try:
        with gin_errors.as_config_errors():
            return experiment.run(**kwargs)
    finally:
        gin.clear_config()
