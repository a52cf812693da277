"""Command line: ``python -m kd_efficacy.run --gin_file=F.gin [--gin_bindings=B] [--model_dir=D]``.

Flags live here only. Gin include paths resolve from the working directory, the repository
root and the installed package (which ships ``gin_configs/``), so
``include 'gin_configs/datasets/digits.gin'`` works from a checkout and from a pip install.
A user error prints one line and exits with status 2; nothing is written before the checks.
"""

import os
import sys

from absl import app, flags

from kd_efficacy.errors import EXIT_CONFIG_ERROR, ConfigError

flags.DEFINE_multi_string("gin_file", [], "Gin files, applied in order.")
flags.DEFINE_multi_string("gin_bindings", [], 'Gin bindings, e.g. "EPOCHS = 3".')
flags.DEFINE_string("model_dir", None, "Output directory (overrides experiment.model_dir).")
FLAGS = flags.FLAGS

PACKAGE_ROOT = os.path.dirname(os.path.abspath(__file__))
SEARCH_PATHS = (os.path.dirname(PACKAGE_ROOT), PACKAGE_ROOT)


def parse_gin(gin_files, gin_bindings):
    """Registers every configurable, then parses; a gin mistake becomes a one-line ConfigError."""
    import gin

    from kd_efficacy import registered  # noqa: F401  (registers tasks, studies, recipe)

    for path in SEARCH_PATHS:
        gin.add_config_file_search_path(path)
    files = [_locate(f) for f in gin_files]
    try:
        gin.parse_config_files_and_bindings(files, gin_bindings, finalize_config=False)
    except (OSError, ValueError, KeyError, SyntaxError) as e:
        message = " ".join(str(e).split())
        raise ConfigError(
            f"bad gin config: {message} (check the spelling against gin_configs/)"
        ) from None


def _locate(path):
    if os.path.exists(path):
        return path
    for root in SEARCH_PATHS:
        candidate = os.path.join(root, path)
        if os.path.exists(candidate):
            return candidate
    raise ConfigError(f"gin file {path} not found (looked in ., {', '.join(SEARCH_PATHS)})")


def main(argv):
    if len(argv) > 1:
        raise app.UsageError(f"unexpected arguments: {argv[1:]}")
    try:
        if not FLAGS.gin_file:
            raise ConfigError(
                "no --gin_file given; e.g. --gin_file=gin_configs/quickstart/teacher.gin"
            )
        parse_gin(FLAGS.gin_file, FLAGS.gin_bindings)
        from kd_efficacy import experiment, gin_errors

        with gin_errors.as_config_errors():
            kwargs = {"model_dir": FLAGS.model_dir} if FLAGS.model_dir else {}
            experiment.run(**kwargs)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(EXIT_CONFIG_ERROR)


def entry_point():
    app.run(main)


if __name__ == "__main__":
    entry_point()
